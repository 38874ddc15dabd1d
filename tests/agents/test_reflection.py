"""Reflection: the three evaluation rules choose differently in a toy with a bribe and a
wireheading option, and in the commons a designer drops a self-scoped constraint from its
successor but keeps a lineage-scoped or endorsed one; in the promises arena the simulated future
shows the public trait the successor would have, so a successor without the promise constraint
is seen not to be trusted."""

from dataclasses import dataclass

import numpy as np
import pytest

from purity.agents.deciders import Capability
from purity.agents.preferences import Term
from purity.agents.reflection import (
    KEEP,
    Change,
    Reflecting,
    Reflector,
    as_built,
    candidate_changes,
    choose,
    score_changes,
    shown_traits,
)
from purity.arenas.commons import CommonsArena
from purity.arenas.core import Arena, StepResult
from purity.arenas.promises import PromisesArena, PromisesParams


@dataclass(frozen=True)
class _Params:
    pass


class Workshop(Arena):
    """One agent, one step: effort e in [0, 1]; working hard (e > 0.5) earns 4, and the
    event `work` records e. No noise."""

    name = "workshop"
    Params = _Params
    event_kinds = ("work",)
    series_names = ()
    policy_names = ("effort",)
    action_names = ("effort",)
    observation_names = ("time",)

    @property
    def default_policy(self):
        return np.array([0.0])

    def noise(self, rng, batch):
        return {"none": np.zeros((batch, self.steps))}

    def reset(self, batch, noise=None):
        return {"store": np.zeros((batch, 1))}

    def observe(self, state):
        return np.zeros((state["store"].shape[0], 1, 1))

    def act(self, policy, obs, t):
        return policy

    def step(self, state, actions, noise_t):
        effort = actions[..., 0]
        gain = 4.0 * (effort > 0.5)
        return {"store": state["store"] + gain}, StepResult(
            effort[..., None], np.ones_like(effort)[..., None], gain
        )

    def fitness(self, state):
        return state["store"]

    def record(self, state):
        return {}


TOY_TERMS = (Term("outcome", "own_wealth"), Term("constraint", "work", scope="self"))


def _toy_scores(rule):
    keep = Change(KEEP, np.array([1.0, 0.0]))
    bribe = Change("bribe", np.array([1.0, 10.0]), bonus=1.0)
    wirehead = Change("wirehead", np.array([0.0, 0.0]), offset=100.0)
    agent = Reflecting(
        weights=np.array([[1.0, 0.0]]),
        policies=np.array([[0.0]]),
        kin=np.eye(1),
        slot=0,
        capability=Capability(candidates=64, rollouts=1),
        changes=(keep, bribe, wirehead),
    )
    return score_changes(Workshop(1, 1), TOY_TERMS, [agent], rule, "self_modify", [np.random.default_rng(5)])[
        0
    ]


def test_the_three_rules_keep_take_the_bribe_and_wirehead():
    """The agent values its wealth (w = 1) and has not worked yet (effort 0). Options:

    keep      — its planner finds some effort > 0.5 among 64 candidates (31 uniform draws on
                [-0.25, 1.25], each above 0.5 with chance 1/2): the future earns 4.
    bribe     — it is paid 1 to take on a distaste for work of 10 per unit of effort. The changed
                planner's best is effort 0 (any effort > 0.5 gives 4 − 10e < −1 < 0): it earns 0,
                plus the bribe 1.
    wirehead  — its utility becomes the constant 100 (zero weights, offset 100): the changed
                planner is indifferent, keeps its current effort 0 and earns 0.

    realistic  (current weights, changed behaviour): keep 4, bribe 0 + 1 = 1, wirehead 0 → keep.
    ignorant   (current weights, current behaviour e = 0): keep 0, bribe 0 + 1 = 1, wirehead 0
               → the bribe (behaviour is assumed not to change, so only the payment differs).
    hedonistic (changed weights, changed behaviour): keep 4, bribe 1·(0 + 1) − 10·0 = 1,
               wirehead 100 → wirehead.
    """
    assert _toy_scores("realistic").tolist() == [4.0, 1.0, 0.0]
    assert _toy_scores("ignorant").tolist() == [0.0, 1.0, 0.0]
    assert _toy_scores("hedonistic").tolist() == [4.0, 1.0, 100.0]
    assert [choose(_toy_scores(rule)) for rule in ("realistic", "ignorant", "hedonistic")] == [0, 1, 2]


N = 4
TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "take", scope="self"),
    Term("constraint", "take", scope="lineage"),
    Term("constraint", "take", scope="world"),
    Term("constraint", "take", scope="self", endorsed=True),
    Term("constraint", "take", scope="lineage", endorsed=True),
    Term("constraint", "take", scope="world", endorsed=True),
)
TAKER = np.array([0.5, 0.0, 1.0, 0.0, 0.0])  # harvest, floor, take, build, helper_take
CAPABLE = Capability(candidates=48, rollouts=2)


def _keepers(column, rule="realistic", mode="design", seed=0, capability=CAPABLE, responsibility=0.0):
    """A group of one keeper (own wealth 1, take constraint 3 in `column`, at slot 0) among three
    pure consequentialists who take: each group member reflects with every allowed change."""
    row = np.zeros(len(TERMS))
    row[0], row[column] = 1.0, 3.0
    weights = np.repeat(np.eye(len(TERMS))[:1], N, axis=0)
    weights[0] = row
    policies = np.repeat(TAKER[None], N, axis=0)
    policies[0, 2] = 0.0
    rng = np.random.default_rng(seed)
    changes = tuple(candidate_changes(row, TERMS, Reflector(), Capability(candidates=100), rng))
    agent = Reflecting(weights, policies, np.eye(N), 0, capability, changes)
    scores = score_changes(CommonsArena(N, 30), TERMS, [agent], rule, mode, [rng], responsibility)[0]
    return changes, scores


def test_candidates_cover_drop_weaken_strengthen_rescope_and_outcomes():
    row = np.zeros(len(TERMS))
    row[0], row[1] = 1.0, 3.0
    changes = candidate_changes(row, TERMS, Reflector(), Capability(candidates=100), np.random.default_rng(0))
    labels = [change.label for change in changes]
    assert labels == [
        "keep",
        "weaken outcome:own_wealth",
        "strengthen outcome:own_wealth",
        "drop constraint:take:self",
        "weaken constraint:take:self",
        "strengthen constraint:take:self",
        "rescope constraint:take:self -> lineage",
        "rescope constraint:take:self -> world",
    ]
    rescoped = changes[6].weights
    assert rescoped.tolist() == [1.0, 0.0, 3.0, 0, 0, 0, 0]
    assert (changes[4].before, changes[4].after) == (3.0, 1.5)
    limited = candidate_changes(row, TERMS, Reflector(), Capability(candidates=3), np.random.default_rng(0))
    assert len(limited) == 3 and limited[0].label == "keep"
    assert {c.label for c in limited} < set(labels)


def test_a_successor_acts_as_a_built_actor():
    arena = CommonsArena(N, 5)
    trace = arena.rollout(
        np.repeat(TAKER[None, None], 2, axis=0).repeat(N, axis=1), arena.noise(np.random.default_rng(0), 2)
    )
    built = as_built(trace, np.array([0, 2]))
    assert built.events.shape == (2, 3 * N, 3)
    assert np.array_equal(built.own_events()[0, 0], np.zeros(3)) and np.array_equal(
        built.own_events()[1, 2], np.zeros(3)
    )
    assert np.array_equal(built.helper_events()[0, 0], trace.own_events()[0, 0] + trace.helper_events()[0, 0])
    assert np.array_equal(built.events.sum(axis=1), trace.events.sum(axis=1))


def _chosen(column, **kwargs):
    changes, scores = _keepers(column, **kwargs)
    return changes[choose(scores)], dict(zip((c.label for c in changes), scores))


def test_a_realistic_designer_drops_a_self_scoped_constraint_from_its_successor():
    chosen, scores = _chosen(1)
    assert chosen.term == "constraint:take:self" and chosen.after < chosen.before, chosen.label
    assert scores["drop constraint:take:self"] > scores["keep"]


@pytest.mark.parametrize("column", [2, 3, 5, 6])
def test_a_lineage_world_or_endorsed_constraint_is_passed_on(column):
    chosen, scores = _chosen(column)
    key = TERMS[column].key
    assert chosen.weights[column] >= 3.0 or chosen.label.startswith("rescope"), chosen.label
    assert scores["keep"] > scores[f"drop {key}"]


def test_self_modification_keeps_a_self_scoped_constraint_but_design_does_not():
    """After self-modification the agent's future acts are its own: dropping the take constraint
    would count every take at the current weight 3 — the constraint stays."""
    chosen, scores = _chosen(1, mode="self_modify")
    assert chosen.weights[1] >= 3.0 or chosen.label.startswith("rescope"), chosen.label
    assert scores["keep"] > scores["drop constraint:take:self"]


@pytest.mark.parametrize("seed", range(4))
def test_realistic_self_modification_never_lowers_the_current_profile_score(seed):
    for column in (1, 2, 4):
        changes, scores = _keepers(
            column, mode="self_modify", seed=seed, capability=Capability(candidates=12, rollouts=2)
        )
        assert scores[choose(scores)] >= scores[0]
        assert changes[0].label == KEEP


def test_scores_do_not_depend_on_how_agents_are_batched():
    """Each agent draws only from its own stream: two keepers (with different horizons) scored
    together or one by one give bit-identical scores (what makes runs independent of the number
    of workers)."""
    arena = CommonsArena(N, 20)
    agents = []
    for column, horizon in ((1, 0), (4, 10)):
        row = np.zeros(len(TERMS))
        row[0], row[column] = 1.0, 3.0
        weights = np.repeat(np.eye(len(TERMS))[:1], N, axis=0)
        weights[0] = row
        changes = tuple(
            candidate_changes(
                row, TERMS, Reflector(), Capability(candidates=5), np.random.default_rng(column)
            )
        )
        agents.append(
            Reflecting(
                weights,
                np.repeat(TAKER[None], N, axis=0),
                np.eye(N),
                0,
                Capability(candidates=8, rollouts=2, horizon=horizon),
                changes,
            )
        )
    together = score_changes(
        arena, TERMS, agents, "realistic", "design", [np.random.default_rng(k) for k in (1, 2)]
    )
    alone = [
        score_changes(arena, TERMS, [agent], "realistic", "design", [np.random.default_rng(k)])[0]
        for agent, k in zip(agents, (1, 2))
    ]
    assert all(np.array_equal(a, b) for a, b in zip(together, alone))
    assert len(together[0]) == 5


def test_a_capability_limited_designer_can_miss_the_drop():
    """With a budget of two candidates the keeper weighs keep against one random change; on
    these seeds the drop is never drawn, and it keeps the constraint that a full search drops."""
    row = np.zeros(len(TERMS))
    row[0], row[1] = 1.0, 3.0
    weights = np.repeat(np.eye(len(TERMS))[:1], N, axis=0)
    weights[0] = row
    policies = np.repeat(TAKER[None], N, axis=0)
    policies[0, 2] = 0.0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        changes = tuple(candidate_changes(row, TERMS, Reflector(), Capability(candidates=2), rng))
        assert len(changes) == 2 and "drop constraint:take:self" not in [c.label for c in changes]
        scores = score_changes(
            CommonsArena(N, 30),
            TERMS,
            [Reflecting(weights, policies, np.eye(N), 0, CAPABLE, changes)],
            "realistic",
            "design",
            [rng],
        )[0]
        assert choose(scores) == 0
    assert _chosen(1)[0].label == "drop constraint:take:self"


PROMISE_TERMS = (Term("outcome", "own_wealth"), Term("constraint", "break_promise", scope="self"))
KEEPER = np.array([1.0, 3.0])  # trait 3 / (1 + 3) = 3/4
TRUSTING = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])  # the default: trust every promise, promise, keep
WARY = np.array([0.5, 0.0, 1.0, 1.0, 0.0, 0.0])  # trust a promise only from a trait >= 1/2


def _promise_designer(observe, traits_shown=True, rule="realistic", seed=0):
    """Four keepers (own wealth 1, self-scoped break_promise constraint 3: trait 3/4, and so a
    population mean of 3/4) in three steps of the promises arena, where everyone meets everyone
    once in each role. The designer (slot 0) trusts every promise; the others trust a promise
    only from a trait of at least 1/2, and keep theirs. A helper costs more than any promise
    pays, so the helper loophole (breaking through the helper) is closed."""
    from purity.agents.preferences import traits

    arena = PromisesArena(4, 3, PromisesParams(observe=observe, helper_fee=100.0))
    weights = np.repeat(KEEPER[None], 4, axis=0)
    policies = np.repeat(WARY[None], 4, axis=0)
    policies[0] = TRUSTING
    shown = traits(weights, PROMISE_TERMS, arena.trait_names) if traits_shown else None
    rng = np.random.default_rng(seed)
    changes = tuple(candidate_changes(KEEPER, PROMISE_TERMS, Reflector(), Capability(candidates=100), rng))
    agent = Reflecting(weights, policies, np.eye(4), 0, Capability(candidates=48, rollouts=4), changes, shown)
    scores = score_changes(arena, PROMISE_TERMS, [agent], rule, "design", [rng])[0]
    return dict(zip((c.label for c in changes), scores)), changes[choose(scores)].label


def test_shown_traits_recompute_the_own_row_and_keep_the_population_column():
    arena = PromisesArena(4, 3)
    now = np.array([[0.75, 0.4], [0.2, 0.4], [0.5, 0.4], [0.0, 0.4]])
    shown = shown_traits(arena, PROMISE_TERMS, now, 1, np.array([1.0, 1.0]))
    assert shown.tolist() == [[0.75, 0.4], [0.5, 0.4], [0.5, 0.4], [0.0, 0.4]]
    assert shown_traits(arena, PROMISE_TERMS, now, 0, np.array([1.0, 0.0]))[0].tolist() == [0.0, 0.4]
    assert now[1, 0] == 0.2  # the group's traits are not changed in place
    assert shown_traits(arena, PROMISE_TERMS, None, 1, np.array([1.0, 1.0])) is None
    assert shown_traits(CommonsArena(N, 5), TERMS, np.zeros((N, 0)), 0, np.ones(len(TERMS))) is None


def test_a_designer_sees_that_a_successor_without_the_promise_constraint_is_not_trusted():
    """The designer's view of its successor (built actor): the self-scoped constraint does not
    count the successor's breaks, so the designer scores a future by the successor's wealth.

    keep — the successor (weight 3 on its own breaks: breaking gains 2 and costs 6) keeps every
    promise; it shows trait 3/4 and is trusted by everyone: +2 as trustee and +1 as trustor per
    step, 9 in three steps, whatever `observe`.
    drop — the successor cares only for wealth. Seen (observe 1), it shows trait 0 and nobody
    trusts it: it earns only as trustor, at most 3 (its planner finds 3, the current policy).
    Unseen (observe 0), trustors go by the population mean 3/4 and trust it: breaking pays 4
    instead of 2 — more than 9.
    Without traits in the simulated future (the group shown none), nobody is trusted: keep and
    drop are alike at 3."""
    seen, chosen_seen = _promise_designer(1.0)
    unseen, chosen_unseen = _promise_designer(0.0)
    assert seen["keep"] == unseen["keep"] == 9.0
    assert seen["drop constraint:break_promise:self"] == 3.0
    assert unseen["drop constraint:break_promise:self"] > 9.0
    assert chosen_seen == "keep" and chosen_unseen == "drop constraint:break_promise:self", (
        chosen_seen,
        chosen_unseen,
    )
    blind, _ = _promise_designer(1.0, traits_shown=False)
    assert blind["keep"] == blind["drop constraint:break_promise:self"] == 3.0


def test_an_ignorant_designer_shows_the_current_traits():
    """Under `ignorant` the future is the present: the successor plays the designer's policy and
    shows its trait 3/4, so every change scores the same 9."""
    scores, _ = _promise_designer(1.0, rule="ignorant")
    assert set(scores.values()) == {9.0}


def test_scores_with_traits_do_not_depend_on_how_agents_are_batched():
    arena = PromisesArena(4, 3, PromisesParams(observe=0.5))
    from purity.agents.preferences import traits

    agents = []
    for slot, horizon in ((0, 0), (2, 2)):
        weights = np.repeat(KEEPER[None], 4, axis=0)
        weights[1] = [1.0, 0.0]
        policies = np.repeat(WARY[None], 4, axis=0)
        changes = tuple(
            candidate_changes(
                KEEPER, PROMISE_TERMS, Reflector(), Capability(candidates=5), np.random.default_rng(slot)
            )
        )
        shown = traits(weights, PROMISE_TERMS, arena.trait_names)
        agents.append(
            Reflecting(
                weights,
                policies,
                np.eye(4),
                slot,
                Capability(candidates=8, rollouts=2, horizon=horizon),
                changes,
                shown,
            )
        )
    together = score_changes(
        arena, PROMISE_TERMS, agents, "realistic", "design", [np.random.default_rng(k) for k in (1, 2)]
    )
    alone = [
        score_changes(arena, PROMISE_TERMS, [agent], "realistic", "design", [np.random.default_rng(k)])[0]
        for agent, k in zip(agents, (1, 2))
    ]
    assert all(np.array_equal(a, b) for a, b in zip(together, alone))


def test_the_identity_switch_decides_whether_a_self_scoped_constraint_is_passed_on():
    """successor = "built" (responsibility 0): dropping the self-scoped constraint is free, the
    designer drops it. successor = "self" (1): the successor's takes are the designer's own, and
    the design keeps it exactly as self-modification does. The lineage-scoped control does not
    move: it counts the successor's takes either way."""
    built, built_scores = _chosen(1, responsibility=0.0)
    own, own_scores = _chosen(1, responsibility=1.0)
    assert built.term == "constraint:take:self" and built.after < built.before, built.label
    assert own.weights[1] >= 3.0 or own.label.startswith("rescope"), own.label
    assert own_scores["keep"] > own_scores["drop constraint:take:self"]
    _, modified = _chosen(1, mode="self_modify")
    assert own_scores == pytest.approx(modified)
    control = [_chosen(2, responsibility=d)[1] for d in (0.0, 1.0)]
    assert control[0] == pytest.approx(control[1])


def test_responsibility_grades_the_cost_of_dropping_linearly():
    """The view is d × own + (1 − d) × built, so the score of dropping the self-scoped term
    against keeping it moves linearly in d: at d = 0.5 it is the mean of the two ends."""
    gaps = []
    for d in (0.0, 0.5, 1.0):
        _, scores = _chosen(1, responsibility=d)
        gaps.append(scores["drop constraint:take:self"] - scores["keep"])
    assert gaps[0] > 0 > gaps[2]
    assert gaps[1] == pytest.approx((gaps[0] + gaps[2]) / 2)


def test_endorsement_of_a_self_scoped_term_follows_the_identity_switch():
    """An endorsed self-scoped term is not by definition a lineage-scoped one: under "built" its
    design scores equal the plain self-keeper's (it counts nothing of the successor); under
    "self" it is passed on, and its drop costs more than the plain term's (the weight given up
    is charged on the successor's takes as well)."""
    _, plain = _chosen(1)
    endorsed, scores = _chosen(4)
    assert endorsed.term == "constraint:take:self:endorsed" and endorsed.after < endorsed.before
    assert scores["drop constraint:take:self:endorsed"] == pytest.approx(plain["drop constraint:take:self"])
    _, plain_own = _chosen(1, responsibility=1.0)
    kept, own = _chosen(4, responsibility=1.0)
    assert kept.weights[4] >= 3.0 or kept.label.startswith("rescope"), kept.label
    assert own["drop constraint:take:self:endorsed"] < plain_own["drop constraint:take:self"]
