"""How much faster the batched commons-with-sanctions core plays episodes than a Python loop over
its PettingZoo env, next to the plain commons core (what the sanction phase costs).

    .venv/bin/python bench/sanctions_speed.py [--quick]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import main  # noqa: E402

from purity.arenas.commons import CommonsArena  # noqa: E402
from purity.arenas.commons_sanctions import SanctionsCommonsArena  # noqa: E402

if __name__ == "__main__":
    main("commons with sanctions", [SanctionsCommonsArena(4, 50), CommonsArena(4, 50)])
