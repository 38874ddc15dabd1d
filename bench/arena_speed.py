"""Timing helpers shared by the arena benchmarks: the batched core against a Python loop over
its PettingZoo wrapper, on the same kind of episodes (random episode policies)."""

from __future__ import annotations

import argparse
import os
import platform
import time
from functools import partial
from typing import Callable

import numpy as np

from purity.arenas.core import Arena
from purity.arenas.wrapper import ParallelArenaEnv


def core_rate(
    rollout: Callable, arena: Arena, batch: int, seconds: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Best seconds per `rollout` of `batch` episodes, and agent-steps per second at that time."""
    policy = rng.random((batch, arena.n_agents, len(arena.policy_names)))
    noise = arena.noise(rng, batch)
    rollout(policy, noise)  # warm up
    best, spent, runs = np.inf, 0.0, 0
    while spent < seconds or runs < 3:
        start = time.perf_counter()
        rollout(policy, noise)
        took = time.perf_counter() - start
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best, batch * arena.n_agents * arena.steps / best


def wrapper_rate(arena: Arena, seconds: float, rng: np.random.Generator) -> tuple[float, int]:
    """Agent-steps per second of a Python loop over the ParallelEnv, and the episodes it played."""
    env = ParallelArenaEnv(arena)
    agents = env.possible_agents
    episodes, agent_steps = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        policy = rng.random((1, arena.n_agents, len(arena.policy_names)))
        obs, _ = env.reset(seed=episodes)
        t = 0
        while env.agents:
            actions = arena.act(policy, np.stack([obs[a] for a in agents])[None], t)[0]
            obs = env.step(dict(zip(agents, actions)))[0]
            t += 1
            agent_steps += arena.n_agents
        episodes += 1
    return agent_steps / (time.perf_counter() - start), episodes


BATCHES = (1, 64, 1024, 4096)


def compare(title: str, arenas: list[Arena], quick: bool) -> None:
    """Print one table: the first arena's wrapper loop, then each arena's batched core at every
    batch size, the generic step-by-step `Arena.rollout` at the largest, and the ratio."""
    seconds, wrapper_seconds = (0.05, 0.3) if quick else (1.0, 3.0)
    rng = np.random.default_rng(0)
    first = arenas[0]
    per_episode = first.n_agents * first.steps
    print(
        f"\n{title}: {first.n_agents} agents, {first.steps} steps, random policies; numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()} {os.cpu_count()} cores{' (--quick)' if quick else ''}"
    )
    loop, episodes = wrapper_rate(first, wrapper_seconds, rng)
    print(f"{'engine':<32} {'B':>5} {'ms/rollout':>11} {'M agent-steps/s':>16} {'vs wrapper':>11}")
    print(
        f"{'ParallelEnv loop':<32} {1:>5} {per_episode / loop * 1e3:>11.2f} {loop / 1e6:>16.3f} {1.0:>10.0f}x"
        f"   ({episodes} episodes in {wrapper_seconds:.1f} s)"
    )
    big = BATCHES[-1]
    rates = {}
    for arena in arenas:
        for batch in BATCHES:
            best, rate = core_rate(arena.rollout, arena, batch, seconds, rng)
            rates[type(arena).__name__] = rate  # the last, largest batch
            print(
                f"{type(arena).__name__ + '.rollout':<32} {batch:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x"
            )
    best, rate = core_rate(partial(Arena.rollout, first), first, big, seconds, rng)
    print(
        f"{'Arena.rollout (step by step)':<32} {big:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x"
    )
    ratio = rates[type(first).__name__] / loop
    print(
        f"ratio at B={big}: {ratio:.0f}x (target >= 100x: {'met' if ratio >= 100 else 'NOT met'}); "
        f"{big} episodes take {big * per_episode / rates[type(first).__name__]:.3f} s batched, "
        f"~{big * per_episode / loop:.1f} s through the wrapper loop (extrapolated)"
    )


def main(title: str, arenas: list[Arena]) -> None:
    """Command line of every arena benchmark: `[--quick]` for a smoke run rather than figures."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not figures")
    compare(title, arenas, parser.parse_args().quick)
