"""A task's numbers do not depend on how groups are cut into tasks (per-group streams)."""

import dataclasses

import numpy as np

from purity.agents.deciders import Capability
from purity.agents.preferences import term_universe
from purity.agents.profiles import library, load
from purity.arenas.commons import CommonsParams
from purity.tournament.config import ArenaSpec
from purity.tournament.play import GroupBatch, Setup, play_groups


def _setup(episodes):
    profiles = [
        load(library()[name]) for name in ("consequentialist", "self-keeper", "universalizer", "steward")
    ]
    terms = term_universe(profiles)
    weights = np.stack([p.weight_row(terms) for p in profiles])
    arena = ArenaSpec("commons", episodes, 4, 15, CommonsParams())
    planners = (Capability(6, 2), Capability(5, 3, horizon=10), Capability(4, 1), None)
    return Setup(seed=12, arena=arena, terms=terms, planners=planners), weights


def _batch(groups, weights, rng_seed=0, episodes=2):
    rng = np.random.default_rng(rng_seed)
    entries = np.stack([rng.permutation(4) for _ in range(8)])[groups]
    policies = np.random.default_rng(1).random((8, 4, 5))[groups]
    kin = np.repeat(np.eye(4)[None], len(groups), axis=0)
    planning = np.ones(entries.shape, dtype=bool)
    return GroupBatch(
        generation=3,
        groups=np.asarray(groups),
        entries=entries,
        weights=weights[entries],
        policies=policies,
        kin=kin,
        planning=planning,
        episodes=episodes,
    )


def test_one_task_or_one_task_per_group_give_identical_results():
    for episodes, learners in ((1, ()), (3, ()), (3, (False, False, False, True))):
        setup, weights = _setup(episodes)
        setup = dataclasses.replace(setup, learners=learners)
        whole = play_groups(setup, _batch(list(range(8)), weights, episodes=episodes))
        parts = [play_groups(setup, _batch([g], weights, episodes=episodes)) for g in range(8)]
        for field in dataclasses.fields(whole):
            joined = np.concatenate([getattr(part, field.name) for part in parts])
            assert np.array_equal(getattr(whole, field.name), joined, equal_nan=True), (episodes, field.name)


def test_fixed_agents_keep_their_policy_and_planners_may_move():
    setup, weights = _setup(2)
    batch = _batch(list(range(8)), weights)
    result = play_groups(setup, batch)
    fixed = batch.entries == 3
    assert np.array_equal(result.policies[fixed], batch.policies[fixed])
    assert not np.array_equal(result.policies[~fixed], batch.policies[~fixed])
    assert result.fitness.shape == (8, 2, 4) and result.own.shape == (8, 2, 4, 3)
