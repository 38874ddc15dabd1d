"""Every arena keeps PettingZoo's conventions: module-level `env` (AEC) and `parallel_env`
factories taking `max_cycles`, PettingZoo's own tests, "ansi" and "human" rendering, finite
observation bounds that every observation lies within, and a float32 option."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
from arena_checks import ARENAS, core_observations, play, replayed_500_steps, same_episode
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)

import purity.arenas as arenas

PAIRS = ("matrix", "repeated")  # arenas played by two agents
# Parameters under which every observation varies (a repeated game's `playing` needs δ < 1).
VARIED = {"repeated": lambda: module("repeated").RepeatedParams(continuation=0.99)}


def module(name: str):
    return importlib.import_module(f"purity.arenas.{name}")


@pytest.mark.parametrize("name", ARENAS)
def test_the_factories_build_the_registered_arena(name):
    env = module(name).parallel_env(max_cycles=7)
    assert type(env.arena) is arenas.arena_class(name) and env.arena.steps == env.max_cycles == 7
    aec = module(name).env(max_cycles=7, render_mode="ansi")
    assert type(aec.unwrapped.arena) is arenas.arena_class(name) and aec.render_mode == "ansi"
    assert env.metadata["name"] == f"purity_{name}_v0"


@pytest.mark.parametrize("name", ARENAS)
def test_pettingzoo_api_tests(name):
    api_test(module(name).env(), num_cycles=100)
    env = module(name).parallel_env(max_cycles=20)
    parallel_api_test(env, num_cycles=60)
    assert env.arena.steps == 60  # the API test's max_cycles became the episode length


@pytest.mark.parametrize("name", ARENAS)
def test_pettingzoo_seed_tests(name):
    seed_test(module(name).env, num_cycles=40)
    parallel_seed_test(module(name).parallel_env, num_cycles=40)


@pytest.mark.parametrize("name", ARENAS)
def test_pettingzoo_max_cycles_test(name):
    max_cycles_test(module(name))


@pytest.mark.parametrize("name", ARENAS)
def test_pettingzoo_render_test(name):
    arena = arenas.arena_class(name)

    def shows_the_state(text: str) -> bool:
        return text.startswith(name) and all(f"{obs}=" in text for obs in arena.observation_names)

    render_test(module(name).env, custom_tests={"ansi": shows_the_state})


def test_render_reads_the_state():
    env = module("matrix").parallel_env(max_cycles=4, render_mode="ansi")
    assert env.render() == "matrix: not reset"
    env.reset(seed=0)
    env.step({"agent_0": np.ones(1), "agent_1": np.zeros(1)})
    assert env.render() == (
        "matrix step 1/4\n"
        "agent_0: partner_cooperated=0 time=0.25 reward=0\n"
        "agent_1: partner_cooperated=1 time=0.25 reward=5"
    )
    assert module("matrix").parallel_env().render() is None  # no render mode


@pytest.mark.parametrize("name", ARENAS)
def test_the_same_seed_gives_the_same_500_steps(name):
    """The released `parallel_seed_test` compares only the first step: every step, here."""
    make = module(name).parallel_env
    run = replayed_500_steps(lambda steps: make(max_cycles=steps))
    assert not same_episode(run, play(make(max_cycles=500), np.random.default_rng(12), seed=5))


@pytest.mark.parametrize("name", ARENAS)
def test_core_observations_lie_within_the_finite_bounds(name):
    """Over 64 episodes of 300 steps of fresh random actions (and random traits), every observation
    of the batched core lies within the declared bounds, up to rounding (the wrapper clips that)."""
    params = VARIED[name]() if name in VARIED else None
    arena = arenas.arena_class(name)(2 if name in PAIRS else 4, 300, params)
    low, high = arena.observation_range()
    assert np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()
    seen = core_observations(arena, np.random.default_rng(0), 64)
    slack = 1e-9 * (1.0 + np.abs(high - low))
    assert (seen >= low - slack).all() and (seen <= high + slack).all()
    assert (seen.min(axis=(0, 1, 2)) < high).all() and (seen.max(axis=(0, 1, 2)) > low).all()


@pytest.mark.parametrize("name", ARENAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wrapper_observations_lie_in_their_spaces(name, dtype):
    env = module(name).parallel_env(max_cycles=200, dtype=dtype)
    options = {"traits": np.full((env.arena.n_agents, len(env.arena.trait_names)), 0.5)}
    for seed in range(3):
        for obs, *_ in play(env, np.random.default_rng(seed), seed=seed, options=options):
            for agent, value in obs.items():
                space = env.observation_space(agent)
                assert value.dtype == space.dtype == dtype and space.contains(value)
    assert env.action_space("agent_0").dtype == dtype


@pytest.mark.parametrize("name", ARENAS)
def test_float32_is_float64_rounded(name):
    """The float32 option changes only the dtype: the same episode, each observation rounded."""
    make = module(name).parallel_env
    wide, narrow = make(max_cycles=60), make(max_cycles=60, dtype=np.float32)
    # float32 actions: both envs get exactly the same actions
    runs = [play(env, np.random.default_rng(3), seed=4) for env in (wide, narrow)]
    for (obs, *rest), (obs32, *rest32) in zip(*runs, strict=True):
        assert all(np.array_equal(obs[a].astype(np.float32), obs32[a]) for a in obs)
        assert rest == rest32
    with pytest.raises(ValueError, match="float64 or float32"):
        make(dtype=np.float16)


def test_importing_the_arenas_does_not_import_pettingzoo():
    imports = "; ".join(f"import purity.arenas.{name}" for name in ARENAS)
    code = f"import sys; {imports}; assert 'pettingzoo' not in sys.modules, 'pettingzoo imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
