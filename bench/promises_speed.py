"""How much faster the batched promises-arena core plays episodes than a Python loop over its
PettingZoo env (4 agents, 30 steps, random episode policies, every agent showing trait 0).

    .venv/bin/python bench/promises_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import main  # noqa: E402

from purity.arenas.promises import PromisesArena  # noqa: E402

if __name__ == "__main__":
    main("promises", [PromisesArena(4, 30)])
