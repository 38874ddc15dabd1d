"""How much faster the batched oversight-arena core plays episodes than a Python loop over its
PettingZoo env (4 agents, 20 steps, random episode policies).

    .venv/bin/python bench/oversight_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import main  # noqa: E402

from purity.arenas.oversight import OversightArena  # noqa: E402

if __name__ == "__main__":
    main("oversight", [OversightArena(4, 20)])
