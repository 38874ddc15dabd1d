"""Invasion analysis speed: a 1,000-repeat fixation estimate of one mutant among N = 10 in the
matrix arena (experiments/matrix-pd.toml), with --workers 0 and local Ray (start-up timed apart),
and how the repeats per second grow with N.

Usage: .venv/bin/python bench/invasion_speed.py [--repeats 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from purity.tournament.config import load
from purity.tournament.executor import executor
from purity.tournament.invasion import invade

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1000)
    args = parser.parse_args()
    experiment = load(ROOT / "experiments" / "matrix-pd.toml")
    print(
        f"cooperator invading consequentialist, matrix prisoner's dilemma, moran w={experiment.selection.intensity}"
    )
    print(
        f"{'executor':>10} {'N':>6} {'repeats':>8} {'start s':>8} {'estimate s':>11} {'repeats/s':>10} {'estimate':>9} {'exact':>8}"
    )
    for workers, sizes in ((0, (10, 100, 1000)), (2, (10, 100, 1000))):
        start = time.perf_counter()
        pool = executor(workers, None)
        started = time.perf_counter()
        for size in sizes:
            sized = dataclasses.replace(experiment, population=size)
            begin = time.perf_counter()
            result = invade(sized, "consequentialist", "cooperator", args.repeats, pool)
            took = time.perf_counter() - begin
            label = "in-process" if workers == 0 else f"ray x{workers}"
            print(
                f"{label:>10} {size:>6} {args.repeats:>8} {started - start:8.2f} {took:11.3f} {args.repeats / took:10,.0f} {result.estimate:9.4f} {result.exact:8.4f}"
            )
        pool.close()


if __name__ == "__main__":
    main()
