"""Timing helpers shared by the arena benchmarks: the batched core against a Python loop over
its PettingZoo wrapper, on the same kind of episodes (random episode policies)."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from arenas.core import Arena
from arenas.wrapper import ParallelArenaEnv


def core_rate(rollout: Callable, arena: Arena, batch: int, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
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
