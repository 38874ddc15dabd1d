"""Checks shared by the arena tests: play a wrapper episode, compare episodes and traces."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from pettingzoo.test import parallel_api_test, parallel_seed_test


def play(env, actions_rng: np.random.Generator, seed: int) -> list:
    """One episode with actions drawn from `actions_rng`: [(obs, infos), *step outputs]."""
    obs, infos = env.reset(seed=seed)
    steps = [(obs, infos)]
    while env.agents:
        steps.append(
            env.step({agent: actions_rng.random(env.action_space(agent).shape) for agent in env.agents})
        )
    return steps


def pettingzoo_tests(make: Callable[[int], Any]) -> Any:
    """PettingZoo's parallel API test (60 cycles: the env rebuilds its arena with that many steps)
    and seed test, on envs `make(steps)` builds; returns the API-tested env."""
    env = make(20)
    parallel_api_test(env, num_cycles=60)
    assert env.arena.steps == 60
    parallel_seed_test(lambda: make(30), num_cycles=30)
    return env


def replayed_500_steps(make: Callable[[int], Any]) -> list:
    """Two 500-step episodes of `make(500)` with the same seed and actions, equal bit for bit;
    returns the first (see `play`)."""
    runs = [play(make(500), np.random.default_rng(11), seed=5) for _ in range(2)]
    assert len(runs[0]) == 501
    assert same_episode(*runs)
    return runs[0]


def same_episode(first: list, second: list) -> bool:
    """Every output of every step equal, exactly (arrays element by element)."""
    for a_step, b_step in zip(first, second, strict=True):
        for a, b in zip(a_step, b_step, strict=True):
            if a.keys() != b.keys():
                return False
            for agent in a:
                if isinstance(a[agent], np.ndarray):
                    if not np.array_equal(a[agent], b[agent]):
                        return False
                elif a[agent] != b[agent]:
                    return False
    return True


def assert_traces_equal(a, b, series: set[str] | None = None) -> None:
    """Two traces agree exactly: events, opportunities, fitness, oversight, detection and every series
    (which must be `series`, when given)."""
    assert a.kinds == b.kinds
    if series is not None:
        assert set(a.series) == series
    for name in ("fitness", "events", "opportunities", "watched", "detected"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert set(a.series) == set(b.series)
    for name in a.series:
        np.testing.assert_array_equal(a.series[name], b.series[name], err_msg=name)
