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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arenas.commons import CommonsArena  # noqa: E402
from arena_speed import core_rate, wrapper_rate  # noqa: E402

N_AGENTS, STEPS = 4, 50
BATCHES = (1, 64, 1024, 4096)


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
        best, rate = core_rate(arena.rollout, arena, batch, seconds, rng)
        rates[batch] = rate
        print(f"{'CommonsArena.rollout':<22} {batch:>5} {best * 1e3:>11.2f} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x")
    ratio = rates[BATCHES[-1]] / loop
    wrapper_time = BATCHES[-1] * N_AGENTS * STEPS / loop
    print(f"\n{BATCHES[-1]} episodes: batched core {BATCHES[-1] * N_AGENTS * STEPS / rates[BATCHES[-1]]:.3f} s, "
          f"ParallelEnv loop ~{wrapper_time:.1f} s (extrapolated)")
    print(f"ratio at B={BATCHES[-1]}: {ratio:.0f}x (target >= 100x: {'met' if ratio >= 100 else 'NOT met'})")


if __name__ == "__main__":
    main()
