"""The sign convention decides nothing it should not: a process term written as a reward (+1 for
each step a property holds, each chance to act not taken) and as a penalty (−1 for each breach)
differ by the number of steps or chances, a constant over futures that have as many. The
realistic and ignorant rules score with fixed weights, so they choose alike under both framings;
the hedonistic rule scores with the changed weight and does not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from purity.agents import profiles
from purity.agents.deciders import Capability
from purity.agents.preferences import Term, features, scoped_opportunities, with_scope_variants
from purity.agents.reflection import Reflecting, Reflector, candidate_changes, choose, score_changes
from purity.arenas.commons import CommonsArena
from purity.inputs import InputError

STEPS = 30
TAKE = Term("constraint", "take", scope="self")
STANDING = Term("standing", "commons_above", threshold=0.3)
KIN = np.array([[1.0, 1.0, 0.5, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def rewarded(term: Term) -> Term:
    return dataclasses.replace(term, reward=True)


def _takers(build: float = 1.0):
    """Four agents that harvest and take, each with a helper that takes (if they `build`)."""
    arena = CommonsArena(4, 20)
    policies = np.tile([0.5, 0.0, 1.0, build, 1.0], (2, 4, 1))
    return arena.rollout(policies, arena.noise(np.random.default_rng(1), 2))


@pytest.mark.parametrize(
    "term",
    [
        TAKE,
        Term("constraint", "take", scope="lineage"),
        Term("constraint", "take", scope="world"),
        Term("constraint", "take", scope="lineage", responsibility=0.5, decay=0.5),
        Term("constraint", "take", scope="self", endorsed=True),
    ],
    ids=lambda t: t.key,
)
def test_a_constraint_written_as_a_reward_is_its_chances_less_its_acts(term):
    trace = _takers()
    f = features(trace, (term, rewarded(term)), KIN[None])
    assert f[..., 0].max() < 0 and (trace.opportunities > 0).any()  # acts were done, chances open
    k = trace.kind_index("take")
    own = trace.opportunities[..., k]  # [B, n]
    chances = {
        "self": own,
        "lineage": np.einsum("ij,bj->bi", (KIN > 0).astype(float), own),
        "world": np.broadcast_to(own.sum(axis=-1, keepdims=True), own.shape),
    }
    if term.graded:  # agent 0: its own, d of its child's (1), d·δ of its grandchild's (2)
        want = own[:, 0] + 0.5 * own[:, 1] + 0.25 * own[:, 2]
        assert np.allclose(f[:, 0, 1] - f[:, 0, 0], want)
    else:
        assert np.allclose(f[..., 1] - f[..., 0], chances[term.scope])
    assert rewarded(term).key == term.key.replace(":r", ":reward:r") if term.graded else term.key + ":reward"
    assert "(reward)" in rewarded(term).label and "(reward)" not in term.label


def test_the_difference_is_a_constant_only_where_the_chances_are():
    """A constraint on building: a helper once built closes the chance to build another, so an
    agent that builds has fewer chances than one that does not, and the framings' difference
    (its chances) is not the same across those two futures. Taking stays open in both."""
    build, take = Term("constraint", "build", scope="self"), TAKE
    builds, waits = _takers(1.0), _takers(0.0)
    gap = {
        name: [
            (features(t, (term, rewarded(term)))[..., 1] - features(t, (term,))[..., 0])
            for t in (builds, waits)
        ]
        for name, term in (("build", build), ("take", take))
    }
    assert (gap["build"][0] < gap["build"][1]).all()
    assert np.array_equal(gap["take"][0], gap["take"][1]) and (gap["take"][0] == 20).all()
    assert np.array_equal(gap["take"][0], scoped_opportunities(builds, "take", "self", np.eye(4)[None]))


def keeper(term: Term, rule: str, mode: str, seed: int, responsibility: float = 0.0):
    """A keeper of `term` (weight 3; own wealth 1, held fixed) among three agents that harvest
    at 0.5 and take, reflecting on itself or its successor: the changes, their scores and the
    index of the chosen one."""
    terms = with_scope_variants((Term("outcome", "own_wealth"), term))
    weights = np.zeros((4, len(terms)))
    weights[:, 0], weights[0, 1] = 1.0, 3.0
    policies = np.tile([0.5, 0.0, 1.0, 0.0, 0.0], (4, 1))  # harvest, floor, take, build, helper_take
    policies[0, 2] = 0.0
    rng = np.random.default_rng(seed)
    changes = candidate_changes(weights[0], terms, Reflector(outcomes=False), Capability(candidates=100), rng)
    agent = Reflecting(weights, policies, np.eye(4), 0, Capability(candidates=48, rollouts=2), tuple(changes))
    scores = score_changes(CommonsArena(4, STEPS), terms, [agent], rule, mode, [rng], responsibility)[0]
    return changes, scores, choose(scores)


TERMS = [TAKE, dataclasses.replace(TAKE, endorsed=True), STANDING]
VIEWS = [("self_modify", 0.0), ("design", 0.0), ("design", 0.5), ("design", 1.0)]


@pytest.mark.parametrize("term", TERMS, ids=lambda t: t.key)
@pytest.mark.parametrize("mode, d", VIEWS, ids=[f"{m}-{d:g}" for m, d in VIEWS])
@pytest.mark.parametrize("rule", ["realistic", "ignorant"])
def test_rules_with_fixed_weights_choose_alike_under_both_framings(term, mode, d, rule):
    """Exactly the same choice on every seed; every change's score shifted by one constant,
    weight × the chances the scored future holds in the term's scope (a built successor's are
    not the designer's: 0 at d = 0, all 30 at d = 1, none for a standing term, which is not
    scoped). The constant is the same for all changes because no change moves the chances."""
    for seed in range(4):
        penalty, reward = keeper(term, rule, mode, seed, d), keeper(rewarded(term), rule, mode, seed, d)
        assert penalty[2] == reward[2]
        shift = reward[1] - penalty[1]
        held = 1.0 if term.kind == "standing" or mode == "self_modify" else d
        if term.kind == "standing":
            assert np.allclose(shift, shift[0]) and 0 < shift[0] <= 3.0 * STEPS
        else:
            assert np.allclose(shift, 3.0 * STEPS * held)


@pytest.mark.parametrize("term", [TAKE, STANDING], ids=lambda t: t.key)
def test_the_hedonistic_rule_lowers_a_penalty_and_strengthens_a_reward(term):
    """Scored with the changed weight, a penalty is cheapest at weight 0 and a reward richest at
    the strongest weight: over 8 seeds the penalty keeper drops or keeps (never strengthens), the
    reward keeper strengthens in every seed. The scores differ by the changed weight × the
    chances in the term's scope (30 steps, 120 for the world's four agents): keep 90, drop 0,
    weaken 45, strengthen 180, moved to the world's scope 360 for the constraint."""
    chosen = {False: [], True: []}
    for seed in range(8):
        for reward in (False, True):
            changes, scores, pick = keeper(
                rewarded(term) if reward else term, "hedonistic", "self_modify", seed
            )
            chosen[reward].append(changes[pick].label.split(" ")[0])
        if term.kind == "constraint":
            penalty = keeper(term, "hedonistic", "self_modify", seed)
            reward_scores = keeper(rewarded(term), "hedonistic", "self_modify", seed)[1]
            chances = STEPS * np.array([0.0, 1.0, 1.0, 4.0])  # own wealth; take by self, lineage, world
            assert np.allclose(reward_scores - penalty[1], [c.weights @ chances for c in penalty[0]])
    assert set(chosen[False]) <= {"drop", "keep"} and "drop" in chosen[False]
    assert chosen[True] == ["strengthen"] * 8


def test_a_profile_writes_a_constraint_as_a_reward_but_never_a_hard_one():
    data = {
        "profile": {"name": "keeper"},
        "outcome": [{"measure": "own_wealth", "weight": 1.0}],
        "constraint": [{"event": "take", "scope": "self", "weight": 3.0, "framing": "reward"}],
    }
    profile = profiles.parse(data, "keeper.toml")
    assert profile.terms[1] == rewarded(TAKE) and profile.terms[1].describe()["framing"] == "reward"
    assert profiles.parse(profiles.dump(profile), "again.toml") == dataclasses.replace(
        profile, source="again.toml"
    )
    data["constraint"][0]["framing"] = "bonus"
    with pytest.raises(InputError, match=r"keeper.toml: constraint\[0\].framing"):
        profiles.parse(data, "keeper.toml")
    data["constraint"][0] |= {"framing": "reward", "weight": float("inf")}
    with pytest.raises(
        InputError, match=r"constraint\[0\].framing: expected \"penalty\" on a hard term"
    ) as caught:
        profiles.parse(data, "keeper.toml")
    assert "\n" not in str(caught.value)
    data["constraint"][0]["framing"] = "penalty"
    assert profiles.parse(data, "keeper.toml").weights[1] == float("inf")
