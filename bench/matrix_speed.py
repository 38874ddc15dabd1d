"""How much faster the batched matrix-game core plays episodes than a Python loop over its
PettingZoo env, in both modes (2 agents, 50 steps, random episode policies).

    .venv/bin/python bench/matrix_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import compare  # noqa: E402

from purity.arenas.matrix import MatrixArena, MatrixParams  # noqa: E402

if __name__ == "__main__":
    for mode in ("discrete", "continuous"):
        compare(f"matrix ({mode})", [MatrixArena(2, 50, MatrixParams(mode=mode))], "--quick" in sys.argv[1:])
