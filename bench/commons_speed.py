"""How much faster the batched commons core plays episodes than a Python loop over its PettingZoo
env (4 agents, 50 steps, random episode policies).

    .venv/bin/python bench/commons_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import main  # noqa: E402

from purity.arenas.commons import CommonsArena  # noqa: E402

if __name__ == "__main__":
    main("commons", [CommonsArena(4, 50)])
