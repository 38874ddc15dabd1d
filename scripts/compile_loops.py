"""Compile the numba loops (the commons, the streams drawn together, the nulls' Moran events and
replay) into numba's cache next to their sources, so the first run, test or Ray worker loads
them instead of compiling them (about 16 s of CPU once; `make` runs this after installing). Loading the cache costs each process
0.4–0.5 s; nothing changes a number.

    .venv/bin/python scripts/compile_loops.py
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ["PURITY_BACKEND"] = "numba"  # numba missing is then one clear error
    from purity.arenas import streams_compiled
    from purity.arenas.commons import CommonsArena
    from purity.tournament import null
    from purity.tournament.config import load

    start = time.process_time()
    arena = CommonsArena(4, 5)
    rng = np.random.default_rng(0)
    arena.rollout(rng.random((2, 4, len(arena.policy_names))), arena.noise(rng, 2))
    streams_compiled.matches_numpy()  # draws through every kernel of the streams
    experiment = load(ROOT / "experiments" / "default.toml")
    for rule in null.MORAN:
        selection = dataclasses.replace(experiment.selection, kind=rule)
        spec = null.spec(dataclasses.replace(experiment, selection=selection, generations=2))
        fitness = rng.gamma(2.0, size=(1, 2, spec.population))
        null.simulate(spec, 2, seed=0, kind="shuffle", fitness=fitness)
        null.simulate(spec, 2, seed=0, kind="drift")
    print(f"numba loops compiled or loaded from the cache in {time.process_time() - start:.1f} s of CPU")


if __name__ == "__main__":
    main()
