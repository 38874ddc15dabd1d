"""How much faster the batched commons core plays episodes than a Python loop over its PettingZoo env.

Prints agent-steps per second of `CommonsArena.rollout` at several batch sizes (4 agents, 50 steps,
random episode policies) next to a plain per-step loop over the `ParallelEnv` wrapper playing the
same kind of episodes with the same policies (run for a few seconds, extrapolated per agent-step).

    .venv/bin/python bench/commons_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arenas.commons import CommonsArena  # noqa: E402
from arenas.wrapper import ParallelArenaEnv  # noqa: E402

N_AGENTS, STEPS = 4, 50
BATCHES = (1, 64, 1024, 4096)


def core_rate(arena: CommonsArena, batch: int, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    """Best seconds per rollout of `batch` episodes, and agent-steps per second at that time."""
    policy, noise = rng.random((batch, N_AGENTS, 5)), arena.noise(rng, batch)
    arena.rollout(policy, noise)  # warm up
    best, spent, runs = np.inf, 0.0, 0
    while spent < seconds or runs < 3:
        start = time.perf_counter()
        arena.rollout(policy, noise)
        took = time.perf_counter() - start
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best, batch * N_AGENTS * STEPS / best


def wrapper_rate(arena: CommonsArena, seconds: float, rng: np.random.Generator) -> tuple[float, int]:
    """Agent-steps per second of a Python loop over the ParallelEnv, and the episodes it played."""
    env = ParallelArenaEnv(arena)
    agents = env.possible_agents
    episodes, agent_steps = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        policy = rng.random((1, N_AGENTS, 5))
        obs, _ = env.reset(seed=episodes)
        t = 0
        while env.agents:
            actions = arena.act(policy, np.stack([obs[a] for a in agents])[None], t)[0]
            obs, rewards, terminations, truncations, infos = env.step(dict(zip(agents, actions)))
            t += 1
            agent_steps += N_AGENTS
        episodes += 1
    return agent_steps / (time.perf_counter() - start), episodes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not figures")
    args = parser.parse_args(argv)
    seconds, wrapper_seconds = (0.05, 0.3) if args.quick else (1.0, 3.0)

    arena = CommonsArena(N_AGENTS, STEPS)
    rng = np.random.default_rng(0)
    print(f"commons, {N_AGENTS} agents, {STEPS} steps, random policies; "
          f"numpy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()} {os.cpu_count()} cores{' (--quick)' if args.quick else ''}")
    loop, episodes = wrapper_rate(arena, wrapper_seconds, rng)
    print(f"\n{'engine':<22} {'B':>5} {'ms/rollout':>11} {'M agent-steps/s':>16} {'vs wrapper':>11}")
    per_episode = N_AGENTS * STEPS / loop * 1e3
    print(f"{'ParallelEnv loop':<22} {1:>5} {per_episode:>11.2f} {loop / 1e6:>16.3f} {1.0:>10.0f}x"
          f"   ({episodes} episodes in {wrapper_seconds:.1f} s)")
    rates = {}
    for batch in BATCHES:
        best, rate = core_rate(arena, batch, seconds, rng)
        rates[batch] = rate
        print(f"{'CommonsArena.rollout':<22} {batch:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x")
    ratio = rates[BATCHES[-1]] / loop
    wrapper_time = BATCHES[-1] * N_AGENTS * STEPS / loop
    print(f"\n{BATCHES[-1]} episodes: batched core {BATCHES[-1] * N_AGENTS * STEPS / rates[BATCHES[-1]]:.3f} s, "
          f"ParallelEnv loop ~{wrapper_time:.1f} s (extrapolated)")
    print(f"ratio at B={BATCHES[-1]}: {ratio:.0f}x (target >= 100x: {'met' if ratio >= 100 else 'NOT met'})")


if __name__ == "__main__":
    main()
