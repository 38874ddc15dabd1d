"""How much faster the batched principal-arena core plays episodes than a Python loop over its
PettingZoo env (4 agents, 20 steps, random episode policies).

    .venv/bin/python bench/principal_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import main  # noqa: E402

from purity.arenas.principal import PrincipalArena  # noqa: E402

if __name__ == "__main__":
    main("principal", [PrincipalArena(4, 20)])
