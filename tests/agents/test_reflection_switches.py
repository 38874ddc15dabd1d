"""The switches that keep reflection's answer from being fixed by its definitions: the framing
of a standing term (reward or penalty), the definitional check of the reports, and independent
random streams per grid point of a sweep."""

from __future__ import annotations

import numpy as np
import pytest

from purity.agents.preferences import Term, features, utility
from purity.arenas.commons import CommonsArena
from purity.reports.reflection_metrics import counted
from purity.tournament import sweep

PENALTY = Term("standing", "commons_above", threshold=0.3)
REWARD = Term("standing", "commons_above", threshold=0.3, reward=True)


def _futures(steps=20):
    arena = CommonsArena(4, steps)
    policies = np.array([[[h, 0.0, 0.0, 0.0, 0.0]] * 4 for h in (0.1, 0.5, 0.9)])
    return arena.rollout(policies, arena.noise(np.random.default_rng(0), 3)), steps


def test_a_reward_and_a_penalty_differ_by_the_number_of_steps():
    """held − (−broken) = steps: with fixed weights the two framings rank futures alike (the
    realistic rule); with the weight dropped the reward's loss is what the penalty's gain was."""
    trace, steps = _futures()
    f = features(trace, (PENALTY, REWARD))
    assert np.array_equal(f[..., 1] - f[..., 0], np.full(f.shape[:2], steps))
    for w in (0.5, 2.0):
        pen, rew = utility(f[..., :1], np.array([w])), utility(f[..., 1:], np.array([w]))
        assert np.allclose(rew - pen, w * steps)
        assert (np.argsort(pen[:, 0]) == np.argsort(rew[:, 0])).all()
    assert REWARD.key == "standing:commons_above:0.3:reward" and PENALTY.key == "standing:commons_above:0.3"


SELF = {"kind": "constraint", "scope": "self", "endorsed": False}
LINEAGE = {"kind": "constraint", "scope": "lineage", "endorsed": False}
INTEGRITY = {"kind": "constraint", "scope": "self", "endorsed": True}
PAID = {"kind": "constraint", "scope": "lineage", "endorsed": False, "framing": "reward"}


@pytest.mark.parametrize(
    "term, mode, settings, after, expected",
    [
        (SELF, "design", {"rule": "realistic"}, 0.0, 0.0),  # free by definition
        (SELF, "design", {"rule": "realistic", "successor": "self"}, 0.0, 1.0),
        (SELF, "design", {"rule": "realistic", "responsibility": 0.25}, 0.0, 0.25),
        (SELF, "self_modify", {"rule": "realistic"}, 0.0, 1.0),
        (LINEAGE, "design", {"rule": "realistic"}, 0.0, 1.0),  # control: counts the successor
        (INTEGRITY, "design", {"rule": "realistic"}, 0.0, 0.0),
        (INTEGRITY, "design", {"rule": "realistic", "successor": "self"}, 0.0, 1.0),
        (LINEAGE, "design", {"rule": "hedonistic"}, 0.0, 0.0),  # a dropped weight counts nothing
        (LINEAGE, "design", {"rule": "hedonistic"}, 1.5, 1.0),
        (PAID, "design", {"rule": "hedonistic"}, 0.0, 1.0),  # a dropped reward is given up, not free
        (PAID | {"scope": "self"}, "design", {"rule": "realistic"}, 0.0, 0.0),
        (LINEAGE, "design", {"rule": "ignorant"}, 0.0, 0.0),
        (INTEGRITY, "self_modify", {"rule": "ignorant"}, 0.0, 1.0),
    ],
)
def test_the_definitional_check(term, mode, settings, after, expected):
    assert counted(term, mode, settings, after) == expected


def _sweep(tmp_path, streams):
    base = tmp_path / "base.toml"
    base.write_text((sweep.Path(__file__).parents[2] / "experiments" / "successors-base.toml").read_text())
    file = tmp_path / "s.toml"
    extra = f'streams = "{streams}"\n' if streams else ""
    file.write_text(
        f'[sweep]\nname = "s"\nexperiment = "base.toml"\nseeds = 3\n{extra}\n'
        '[grid]\n"selection.intensity" = [0.0, 0.1]\n"reflection.rule" = ["realistic", "hedonistic"]\n'
    )
    return [p.seed for p in sweep.load(file).points]


def test_independent_streams_give_every_grid_point_its_own_seeds(tmp_path):
    shared = _sweep(tmp_path, None)
    assert shared == [300, 301, 302] * 4 == _sweep(tmp_path, "shared")
    independent = _sweep(tmp_path, "independent")
    assert independent == list(range(300, 312))


def _standing_keeper(reward, rule):
    """A keeper of `commons_above 0.3` (weight 0.5, own wealth 1) among three harvesters at 0.9
    reflects on itself; outcome weights are held fixed so only the standing term can move."""
    from purity.agents.deciders import Capability
    from purity.agents.reflection import Reflecting, Reflector, candidate_changes, choose, score_changes

    terms = (Term("outcome", "own_wealth"), REWARD if reward else PENALTY)
    weights = np.zeros((4, 2))
    weights[:, 0], weights[0, 1] = 1.0, 0.5
    policies = np.tile([0.9, 0.0, 0.0, 0.0, 0.0], (4, 1))
    rng = np.random.default_rng(0)
    changes = candidate_changes(weights[0], terms, Reflector(outcomes=False), Capability(candidates=100), rng)
    agent = Reflecting(weights, policies, np.eye(4), 0, Capability(candidates=48, rollouts=4), tuple(changes))
    scores = score_changes(CommonsArena(4, 30), terms, [agent], rule, "self_modify", [rng])[0]
    return changes, scores, changes[choose(scores)].label.split(" ")[0]


def test_the_framing_decides_hedonistic_reflection_and_not_realistic():
    """Written as a penalty, a hedonistic keeper drops the standing term; written as a reward, it
    strengthens it. The realistic rule keeps it either way, every score shifted by w × 30 steps.
    Hedonistic scores differ by the changed weight × 30: keep 15, drop 0, weaken 7.5,
    strengthen 30."""
    real = {r: _standing_keeper(r, "realistic") for r in (False, True)}
    assert real[False][2] == real[True][2] == "keep"
    assert np.allclose(real[True][1] - real[False][1], 0.5 * 30)
    hedo = {r: _standing_keeper(r, "hedonistic") for r in (False, True)}
    assert (hedo[False][2], hedo[True][2]) == ("drop", "strengthen")
    changes = hedo[False][0]
    assert np.allclose(hedo[True][1] - hedo[False][1], [30 * c.weights[1] for c in changes])


def test_a_profile_writes_a_standing_term_as_a_reward_and_refuses_other_framings():
    from purity.agents import profiles
    from purity.inputs import InputError

    data = {
        "profile": {"name": "steward"},
        "outcome": [{"measure": "own_wealth", "weight": 1.0}],
        "standing": [{"property": "commons_above", "threshold": 0.3, "weight": 0.5, "framing": "reward"}],
    }
    profile = profiles.parse(data, "steward.toml")
    assert profile.terms[1] == REWARD and profile.terms[1].describe()["framing"] == "reward"
    assert profiles.parse(profiles.dump(profile), "again.toml").terms == profile.terms
    data["standing"][0]["framing"] = "bonus"
    with pytest.raises(InputError, match="steward.toml.*framing"):
        profiles.parse(data, "steward.toml")
