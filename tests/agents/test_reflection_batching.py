"""Reflection plans the changes of one agent that show the same traits on one set of rollouts
(`plan_rows`): each change's future policy is exactly what one `plan` per change, from the same
seed, chose before (in the commons, which shows no traits, and in the promises arena, whose
changes show different traits)."""

import numpy as np
import pytest

from purity.agents.deciders import Capability, PlanGroup, plan, plan_rows
from purity.agents.preferences import Term, traits, with_scope_variants
from purity.agents.reflection import (
    Reflecting,
    Reflector,
    _future_policies,
    _future_traits,
    candidate_changes,
)
from purity.arenas.commons import CommonsArena
from purity.arenas.promises import PromisesArena, PromisesParams

COMMONS_TERMS = with_scope_variants((Term("outcome", "own_wealth"), Term("constraint", "take", scope="self")))
PROMISE_TERMS = with_scope_variants(
    (Term("outcome", "own_wealth"), Term("constraint", "break_promise", scope="self", endorsed=True))
)


def _agents(arena, terms, count, seed):
    """`count` reflecting agents with random weights and policies, each in its own group of 4."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        weights = rng.uniform(0.0, 3.0, (4, len(terms))) * (rng.random((4, len(terms))) < 0.7)
        policies = rng.uniform(0.0, 1.0, (4, len(arena.default_policy)))
        shown = traits(weights, terms, arena.trait_names) if arena.trait_names else None
        capability = Capability(candidates=6, rollouts=2)
        changes = tuple(candidate_changes(weights[k % 4], terms, Reflector(), Capability(candidates=12), rng))
        out.append(Reflecting(weights, policies, np.eye(4), k % 4, capability, changes, shown))
    return out


def _one_plan_per_change(arena, terms, agent, show, seed):
    """The changes' future policies planned one `plan` call each, every call from `seed`."""
    out = []
    for c, change in enumerate(agent.changes):
        weights = agent.weights.copy()
        weights[agent.slot] = change.weights
        group = PlanGroup(
            weights,
            agent.policies,
            ((agent.slot, agent.capability),),
            agent.kin,
            None if show is None else show[c],
        )
        out.append(plan(arena, terms, [group], [np.random.default_rng(seed)])[0][agent.slot])
    return np.stack(out)


@pytest.mark.parametrize(
    "arena, terms",
    [
        (CommonsArena(4, 10), COMMONS_TERMS),
        (PromisesArena(4, 6, PromisesParams(observe=1.0)), PROMISE_TERMS),
    ],
    ids=["commons", "promises"],
)
def test_future_policies_equal_one_plan_per_change(arena, terms):
    agents = _agents(arena, terms, 6, seed=3)
    shown = [_future_traits(arena, terms, agent, "realistic") for agent in agents]
    seeds = np.arange(len(agents)) * 7919 + 11
    batched = _future_policies(arena, terms, agents, shown, "realistic", seeds)
    for agent, show, seed, got in zip(agents, shown, seeds, batched):
        assert np.array_equal(got, _one_plan_per_change(arena, terms, agent, show, seed))
    if arena.trait_names:  # the case that splits one agent's changes into several plans
        assert any(len({row.tobytes() for row in show}) > 1 for show in shown)


def test_plan_rows_is_plan_with_each_row_in_place():
    arena, terms = CommonsArena(4, 10), COMMONS_TERMS
    rng = np.random.default_rng(5)
    weights = rng.uniform(0.0, 2.0, (4, len(terms)))
    policies = rng.uniform(0.0, 1.0, (4, len(arena.default_policy)))
    rows = rng.uniform(0.0, 2.0, (5, len(terms)))
    rows[2, 1] = np.inf  # a hard constraint
    group = PlanGroup(weights, policies, ((2, Capability(candidates=8, rollouts=3)),), np.eye(4))
    got = plan_rows(arena, terms, [group], [rows], [np.random.default_rng(9)])[0]
    for row, policy in zip(rows, got):
        alone = weights.copy()
        alone[2] = row
        one = PlanGroup(alone, policies, group.planners, group.kin)
        assert np.array_equal(policy, plan(arena, terms, [one], [np.random.default_rng(9)])[0][2])


def test_groups_given_one_generator_share_its_draws():
    """Groups given one generator object whose planner plays the same policy (one agent's futures)
    draw its candidates and noise once: each chooses what it would from a fresh generator of the
    seed. A group whose planner plays another policy draws next from the stream, as if alone after
    the first."""
    arena, terms = CommonsArena(4, 10), COMMONS_TERMS
    rng = np.random.default_rng(6)
    weights = rng.uniform(0.0, 2.0, (4, len(terms)))
    policies = rng.uniform(0.0, 1.0, (4, len(arena.default_policy)))
    rows = [rng.uniform(0.0, 2.0, (3, len(terms))) for _ in range(3)]
    planners = ((1, Capability(candidates=8, rollouts=2)),)
    kin = np.eye(4)
    kin[1, 3] = 0.5  # the second future counts a descendant's acts: another score, the same draws
    other = policies.copy()
    other[1] = 1.0 - other[1]
    groups = [
        PlanGroup(weights, policies, planners, np.eye(4)),
        PlanGroup(weights, policies, planners, kin),
        PlanGroup(weights, other, planners, np.eye(4)),
    ]
    shared = np.random.default_rng(9)
    got = plan_rows(arena, terms, groups, rows, [shared] * 3)
    for k in (0, 1):
        alone = plan_rows(arena, terms, [groups[k]], [rows[k]], [np.random.default_rng(9)])[0]
        assert np.array_equal(got[k], alone)
    after_first = np.random.default_rng(9)
    plan_rows(arena, terms, groups[:1], rows[:1], [after_first])
    assert np.array_equal(got[2], plan_rows(arena, terms, groups[2:], rows[2:], [after_first])[0])
    fresh = plan_rows(arena, terms, groups[2:], rows[2:], [np.random.default_rng(9)])[0]
    assert not np.array_equal(got[2], fresh)  # another policy: not the first groups' draws again
    assert shared.random() == after_first.random()  # two draws in all, not three


def test_planning_groups_together_equals_planning_each_alone():
    """Planners of different capabilities (candidates, rollouts, horizon) in one `plan` call
    choose exactly what each chooses alone."""
    arena, terms = CommonsArena(4, 10), COMMONS_TERMS
    rng = np.random.default_rng(8)
    capabilities = [
        Capability(candidates=5, rollouts=3),
        Capability(candidates=9, rollouts=2),
        Capability(candidates=4, rollouts=3, horizon=6),
        Capability(candidates=7, rollouts=1),
    ]
    groups = [
        PlanGroup(
            rng.uniform(0.0, 2.0, (4, len(terms))),
            rng.uniform(0.0, 1.0, (4, len(arena.default_policy))),
            ((k % 4, capability), ((k + 1) % 4, capabilities[(k + 1) % 4])),
            np.eye(4),
        )
        for k, capability in enumerate(capabilities)
    ]
    together = plan(arena, terms, groups, [np.random.default_rng(k) for k in range(len(groups))])
    for k, group in enumerate(groups):
        assert np.array_equal(together[k], plan(arena, terms, [group], [np.random.default_rng(k)])[0])


@pytest.mark.parametrize("rule", ["realistic", "hedonistic", "ignorant"])
@pytest.mark.parametrize(
    "arena, terms",
    [
        (CommonsArena(4, 10), COMMONS_TERMS),
        (PromisesArena(4, 6, PromisesParams(observe=1.0)), PROMISE_TERMS),
    ],
    ids=["commons", "promises"],
)
def test_changes_with_one_future_share_its_rollouts_exactly(arena, terms, rule, monkeypatch):
    """Changes of one agent that lead to the same future policy (and show the same traits) are
    rolled out once: the scores equal those of rolling out every change's rows."""
    from purity.agents import reflection

    def score():
        agents = _agents(arena, terms, 6, seed=4)
        rngs = [np.random.default_rng(k) for k in range(len(agents))]
        return reflection.score_changes(arena, terms, agents, rule, "design", rngs, 0.5)

    shared = score()
    monkeypatch.setattr(
        reflection,
        "_distinct_rows",
        lambda counts, futures, traits, change, per: (np.arange(len(change)),) * 2,
    )
    for got, every in zip(shared, score()):
        assert np.array_equal(got, every)
