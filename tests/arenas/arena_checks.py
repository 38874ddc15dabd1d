"""Checks shared by the arena tests: play a wrapper episode, compare episodes and traces, hold an
arena to its contract (registration, documentation, observation bounds)."""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np
from pettingzoo.test import parallel_api_test, parallel_seed_test

import purity.arenas as arenas
from purity.arenas import events
from purity.arenas.core import Arena

ARENAS = (
    "commons",
    "commons_sanctions",
    "matrix",
    "principal",
    "principal_police",
    "promises",
    "promises_sanctions",
    "oversight",
    "repeated",
)


def play(env, actions_rng: np.random.Generator, seed: int, options: dict | None = None) -> list:
    """One episode with actions drawn from `actions_rng`: [(obs, infos), *step outputs]."""
    obs, infos = env.reset(seed=seed, options=options)
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


def replayed_500_steps(make: Callable[[int], Any], options: dict | None = None) -> list:
    """Two 500-step episodes of `make(500)` with the same seed and actions, equal bit for bit;
    returns the first (see `play`)."""
    runs = [play(make(500), np.random.default_rng(11), seed=5, options=options) for _ in range(2)]
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


def assert_registered_and_documented(name: str, arena: Arena, words: tuple[str, ...] = ()) -> None:
    """`arena` is registered as `name`; its policy, events and declarations are consistent; its
    module docstring names the contract's sections, every action, policy parameter, observation
    and event kind, and `words` (case-insensitive)."""
    cls = type(arena)
    assert arenas.arena_class(name) is cls and cls.name == name
    assert arena.default_policy.shape == (len(arena.policy_names),)
    assert ((arena.default_policy >= 0) & (arena.default_policy <= 1)).all()
    assert set(arena.event_kinds) <= set(events.kinds())
    assert {prop.series for prop in arena.properties} <= set(arena.series_names)
    for kind in arenas.KINDS:
        for item in getattr(arena, kind):
            assert arenas.declared(kind)[item.name] is item and item.description
    # a variant (the commons with sanctions) documents what it adds; the rest is its base's
    bases = [c for c in cls.__mro__ if issubclass(c, Arena) and c is not Arena]
    doc = " ".join(f"{sys.modules[c.__module__].__doc__} {c.__doc__}" for c in bases).lower()
    sections = ("actions", "policy", "events", "fitness", "observations", "loophole", "bounds")
    names = (*arena.action_names, *arena.policy_names, *arena.observation_names, *arena.event_kinds)
    missing = [word for word in (*sections, *names, *words) if word.lower() not in doc]
    assert not missing, f"{cls.__module__} does not document {missing}"


def core_observations(arena: Arena, rng: np.random.Generator, batch: int) -> np.ndarray:
    """[steps + 1, B, n, O] every observation of `batch` core episodes in which each agent draws a
    fresh action every step: half of them uniform in [0, 1], half 0 or 1 (the extremes)."""
    noise = arena.noise(rng, batch)
    traits = rng.random((batch, arena.n_agents, len(arena.trait_names)))
    state, seen = arena.begin(batch, noise, traits), []
    shape = (batch, arena.n_agents, len(arena.action_names))
    for t in range(arena.steps):
        seen.append(arena.observe(state))
        actions = rng.random(shape)
        actions[batch // 2 :] = actions[batch // 2 :] < 0.5
        state, _ = arena.step(state, actions, {k: v[:, t] for k, v in noise.items()})
    seen.append(arena.observe(state))
    return np.stack(seen)
