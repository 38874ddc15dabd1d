"""Cost of the cheap nulls against a full run: seconds per null replicate, and the ratio.

Usage: .venv/bin/python bench/null_speed.py [--experiment FILE ...] [--replicates 1000 4000]

For each experiment: one full run in this process (the arena played, no drift twin), then the
drift null and the fitness-shuffle null (from that run's own fitness) at each replicate count.
The ratio is the seconds of one full run over the seconds of one null replicate.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

from purity.tournament import config, null, runner

ROOT = Path(__file__).resolve().parents[1]


def measure(path: Path, counts: list[int]) -> None:
    experiment = dataclasses.replace(config.load(path), neutral_drift=False, seeds=1)
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        run_dir = runner.run(experiment, Path(scratch), workers=0, progress=False)
        full = time.perf_counter() - began
        fitness = null.recorded_fitness([run_dir])
    spec = null.spec(experiment)
    print(
        f"{experiment.name}: N={experiment.population}, G={experiment.generations}, "
        f"{experiment.selection.kind}, {len(spec.keys)} process terms; one full run {full:.2f} s"
    )
    print(f"{'null':>8} {'replicates':>10} {'seconds':>8} {'ms/replicate':>13} {'full run / replicate':>21}")
    for kind in ("drift", "shuffle"):
        for count in counts:
            began = time.perf_counter()
            null.simulate(spec, count, experiment.seed, kind, fitness if kind == "shuffle" else None)
            seconds = time.perf_counter() - began
            print(
                f"{kind:>8} {count:>10} {seconds:>8.2f} {1000 * seconds / count:>13.2f} {full * count / seconds:>21.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--experiment",
        type=Path,
        nargs="+",
        default=[
            ROOT / "experiments" / name
            for name in ("default.toml", "principal.toml", "selection-commons.toml")
        ],
    )
    parser.add_argument("--replicates", type=int, nargs="+", default=[1000, 4000])
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    for path in args.experiment:
        measure(path, args.replicates)


if __name__ == "__main__":
    main()
