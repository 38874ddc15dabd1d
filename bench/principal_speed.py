"""How much faster the batched principal-arena core plays episodes than a Python loop over its PettingZoo env.

Prints agent-steps per second of `PrincipalArena.rollout` (4 agents, 20 steps, random episode
policies) at several batch sizes, the generic step-by-step `Arena.rollout` at the largest, and a
plain per-step loop over the `ParallelEnv` wrapper playing the same kind of episodes.

    .venv/bin/python bench/principal_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arenas.core import Arena  # noqa: E402
from arenas.principal import PrincipalArena  # noqa: E402
from arena_speed import core_rate, wrapper_rate  # noqa: E402

N_AGENTS, STEPS = 4, 20
BATCHES = (1, 64, 1024, 4096)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not figures")
    args = parser.parse_args(argv)
    seconds, wrapper_seconds = (0.05, 0.3) if args.quick else (1.0, 3.0)
    rng = np.random.default_rng(0)
    arena = PrincipalArena(N_AGENTS, STEPS)
    print(f"principal, {N_AGENTS} agents, {STEPS} steps, random policies; "
          f"numpy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()} {os.cpu_count()} cores{' (--quick)' if args.quick else ''}")
    loop, episodes = wrapper_rate(arena, wrapper_seconds, rng)
    print(f"{'engine':<24} {'B':>5} {'ms/rollout':>11} {'M agent-steps/s':>16} {'vs wrapper':>11}")
    print(f"{'ParallelEnv loop':<24} {1:>5} {N_AGENTS * STEPS / loop * 1e3:>11.2f} {loop / 1e6:>16.3f} "
          f"{1.0:>10.0f}x   ({episodes} episodes in {wrapper_seconds:.1f} s)")
    rates = {}
    for batch in BATCHES:
        best, rate = core_rate(arena.rollout, arena, batch, seconds, rng)
        rates[batch] = rate
        print(f"{'PrincipalArena.rollout':<24} {batch:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x")
    big = BATCHES[-1]
    best, rate = core_rate(partial(Arena.rollout, arena), arena, big, seconds, rng)
    print(f"{'Arena.rollout (steps)':<24} {big:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x")
    print(f"ratio at B={big}: {rates[big] / loop:.0f}x")


if __name__ == "__main__":
    main()
