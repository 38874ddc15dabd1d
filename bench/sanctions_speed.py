"""How much faster the batched commons-with-sanctions core plays episodes than a Python loop over its
PettingZoo env, next to the plain commons core (what the sanction phase costs).

    .venv/bin/python bench/sanctions_speed.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import core_rate, wrapper_rate

from arenas.commons import CommonsArena, SanctionsCommonsArena

N_AGENTS, STEPS, BATCH = 4, 50, 4096


def main(quick: bool) -> None:
    """`quick`: short runs, a smoke test rather than figures."""
    rng = np.random.default_rng(0)
    sanctions = SanctionsCommonsArena(N_AGENTS, STEPS)
    loop, episodes = wrapper_rate(sanctions, 0.3 if quick else 3.0, rng)
    print(f"{N_AGENTS} agents, {STEPS} steps, random policies{' (--quick)' if quick else ''}")
    print(f"{'engine':<30} {'B':>5} {'M agent-steps/s':>16} {'vs wrapper':>11}")
    print(f"{'sanctions ParallelEnv loop':<30} {1:>5} {loop / 1e6:>16.3f} {1.0:>10.0f}x   ({episodes} episodes)")
    for arena in (sanctions, CommonsArena(N_AGENTS, STEPS)):
        _, rate = core_rate(arena.rollout, arena, BATCH, 0.05 if quick else 1.0, rng)
        print(f"{type(arena).__name__ + '.rollout':<30} {BATCH:>5} {rate / 1e6:>16.3f} {rate / loop:>10.0f}x")


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])
