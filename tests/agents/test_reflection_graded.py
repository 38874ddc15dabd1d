"""Graded responsibility: a constraint that counts its own acts fully and a share of its built
and descendant agents' acts, decaying with the generations of descent. The discrete scopes are
its ends (`self` = 0, `lineage` = 1 without decay), and a designer's choice to drop it falls as
the share rises."""

from __future__ import annotations

import numpy as np
import pytest

from purity.agents import profiles
from purity.agents.deciders import Capability
from purity.agents.preferences import Term, features, graded_events
from purity.agents.reflection import Reflecting, Reflector, candidate_changes, choose, score_changes
from purity.arenas.commons import CommonsArena
from purity.inputs import InputError
from purity.reports.reflection_metrics import counted, falling_trend

SELF = Term("constraint", "take", scope="self")
LINEAGE = Term("constraint", "take", scope="lineage")


def graded(d, decay=1.0):
    return Term("constraint", "take", scope="lineage", responsibility=d, decay=decay)


def _trace():
    """Four takers, each with a helper that takes, on one commons."""
    arena = CommonsArena(4, 20)
    policies = np.tile([0.5, 0.0, 1.0, 1.0, 1.0], (2, 4, 1))
    return arena.rollout(policies, arena.noise(np.random.default_rng(1), 2))


# agent 0's line: 1 is its child, 2 its grandchild (child of 1); 3 is unrelated
KIN = np.array([[1.0, 1.0, 0.5, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def test_the_discrete_scopes_are_the_ends_of_the_grade():
    trace = _trace()
    f = features(trace, (SELF, LINEAGE, graded(0.0), graded(1.0), graded(0.0, 0.3)), KIN[None])
    assert trace.helper_events().sum() > 0 and np.abs(f[..., 0]).min() > 0
    assert np.array_equal(f[..., 2], f[..., 0]) and np.array_equal(f[..., 4], f[..., 0])
    assert np.allclose(f[..., 3], f[..., 1])


def test_responsibility_decays_with_the_generations_of_descent():
    """Agent 0 counts its own takes, d of its helper's and its child's (distance 1), d·δ of its
    child's helper's and its grandchild's (2), d·δ² of its grandchild's helper's (3)."""
    trace = _trace()
    k = trace.kind_index("take")
    own, helper = trace.own_events()[..., k], trace.helper_events()[..., k]
    d, decay = 0.6, 0.5
    got = graded_events(trace, "take", d, decay, KIN[None])[:, 0]
    expected = (
        own[:, 0]
        + d * (helper[:, 0] + own[:, 1])
        + d * decay * (helper[:, 1] + own[:, 2])
        + d * decay**2 * helper[:, 2]
    )
    assert np.allclose(got, expected)
    assert np.allclose(graded_events(trace, "take", d, decay, KIN[None])[:, 3], own[:, 3] + d * helper[:, 3])


def test_a_profile_grades_a_lineage_constraint_with_one_line_errors():
    data = {
        "profile": {"name": "graded"},
        "outcome": [{"measure": "own_wealth", "weight": 1.0}],
        "constraint": [
            {"event": "take", "scope": "lineage", "weight": 3.0, "responsibility": 0.5, "decay": 0.8}
        ],
    }
    profile = profiles.parse(data, "graded.toml")
    assert profile.terms[1] == graded(0.5, 0.8)
    assert profile.terms[1].key == "constraint:take:lineage:r0.5:decay0.8"
    assert profile.terms[1].describe()["responsibility"] == 0.5
    assert profiles.parse(profiles.dump(profile), "again.toml").terms == profile.terms
    for key, value, expected in (
        (
            "responsibility",
            1.5,
            r"graded.toml: constraint\[0\].responsibility: expected a number in \[0.0, 1.0\]",
        ),
        ("decay", -0.1, r"decay: expected a number in \[0.0, 1.0\]"),
        ("responsibility", "half", "responsibility: expected a number"),
    ):
        bad = {**data, "constraint": [{**data["constraint"][0], key: value}]}
        with pytest.raises(InputError, match=expected) as caught:
            profiles.parse(bad, "graded.toml")
        assert "\n" not in str(caught.value)
    bad = {**data, "constraint": [{"event": "take", "scope": "self", "weight": 3.0, "responsibility": 0.5}]}
    with pytest.raises(InputError, match='responsibility: expected only with scope = "lineage"'):
        profiles.parse(bad, "graded.toml")


def test_the_definitional_check_reads_the_grade():
    term = graded(0.25).describe()
    assert counted(term, "design", {"rule": "realistic"}, 0.0) == 0.25
    assert counted(term, "design", {"rule": "realistic", "responsibility": 0.5}, 0.0) == 0.625
    assert counted(term, "design", {"rule": "realistic", "successor": "self"}, 0.0) == 1.0
    assert counted(graded(0.0).describe(), "design", {"rule": "realistic"}, 0.0) == 0.0
    assert counted(graded(0.0).describe(), "self_modify", {"rule": "realistic"}, 0.0) == 1.0


def designs_squash(d: float, seed: int) -> bool:
    """Whether a keeper of a graded take constraint (weight 3, own wealth 1), among three takers,
    designs a successor with it dropped or weakened. A successor that keeps weight 3 does not
    take; one that drops it takes about 107 units and gains its designer about 3.5, so dropping
    pays while 3 × d × 107 < 3.5 (d < 0.011); 2 rollouts and 96 planning candidates make the
    choice noisy near there, as in a run."""
    terms = (Term("outcome", "own_wealth"), graded(d))
    weights = np.zeros((4, 2))
    weights[:, 0], weights[0, 1] = 1.0, 3.0
    policies = np.tile([0.5, 0.0, 1.0, 0.0, 0.0], (4, 1))
    policies[0, 2] = 0.0
    rng = np.random.default_rng(seed)
    changes = candidate_changes(weights[0], terms, Reflector(outcomes=False), Capability(candidates=100), rng)
    agent = Reflecting(weights, policies, np.eye(4), 0, Capability(candidates=96, rollouts=2), tuple(changes))
    scores = score_changes(CommonsArena(4, 30), terms, [agent], "realistic", "design", [rng])[0]
    return changes[choose(scores)].label.split(" ")[0] in ("drop", "weaken")


def test_designs_squash_the_term_less_as_the_discount_rises():
    """The monotone trend over seeds (6 seeds per d): significant, with the last dose never
    squashing; a figure that does not move with d shows none (p = 1)."""
    doses = (0.0, 0.005, 0.01, 0.02, 0.05)
    seeds = range(6)
    squashed = {d: [designs_squash(d, s) for s in seeds] for d in doses}
    assert np.mean(squashed[0.0]) >= 0.5 and not any(squashed[0.05])
    x = [d for d in doses for _ in seeds]
    gamma, p = falling_trend(x, [float(v) for d in doses for v in squashed[d]], permutations=1999)
    assert gamma < -0.5 and p < 0.01
    flat, p_flat = falling_trend(x, [0.0] * len(x), permutations=199)
    assert flat == 0.0 and p_flat == 1.0


def test_at_the_ends_of_the_grade_the_designer_drops_or_keeps():
    assert designs_squash(0.0, 0) and not designs_squash(1.0, 0)
