"""How a generation's cost grows with the population: generations/s and agent-episodes/s at
N = 64, 256, 1024, 4096 in the commons (planners, Moran selection, lineage-scoped terms so the
lineage is consulted), in-process. Each point runs a few generations after a warm-up one.

Usage: .venv/bin/python bench/engine_scaling.py [--sizes 64 256 ...] [--generations 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from purity.tournament.config import load
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--generations", type=int, default=4)
    args = parser.parse_args()
    base = load(ROOT / "experiments" / "default.toml")
    print(
        f"commons, group 4, {base.arena.episodes} episodes x {base.arena.steps} steps, planners 16x4, moran; in-process"
    )
    print(
        f"{'N':>6} {'s/generation':>13} {'generations/s':>14} {'agent-episodes/s':>17} {'s/gen per 1k agents':>20}"
    )
    for size in args.sizes:
        experiment = dataclasses.replace(
            base, population=size, generations=args.generations + 1, neutral_drift=False
        )
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            run(dataclasses.replace(experiment, generations=1), Path(out) / "warm", workers=0, progress=False)
            warm = time.perf_counter() - start
            start = time.perf_counter()
            run(experiment, Path(out), workers=0, progress=False)
            per_generation = (time.perf_counter() - start - warm) / args.generations
        rate = size * experiment.arena.episodes / per_generation
        print(
            f"{size:>6} {per_generation:13.3f} {1 / per_generation:14.2f} {rate:17,.0f} {per_generation / size * 1000:20.3f}"
        )


if __name__ == "__main__":
    main()
