"""The whole successors sweep (experiments/successors.toml: 144 runs) on this machine's cores, as
a researcher runs it (`purity sweep`, executor left to choose), by the code of an earlier git
revision and by this tree, and every table of the two compared.

Usage: .venv/bin/python bench/successors_sweep.py [--before 6b34fd0] [--order now,before,now]
[--before-backend numpy] [--workers 2]

`--workers N` gives both the same executor (N Ray workers); without it each sweep chooses its own
(`sweep_plan.ray_pays`), which reads the load average, so a sweep started right after another can
stay in its process where the next one starts Ray.

Each sweep is a fresh `purity sweep … --quiet` process started outside this tree (the working
directory comes first on sys.path); the earlier revision's package comes from `git archive REV
purity`, first on PYTHONPATH, and the script checks which `purity` each sweep ran. Both read this
tree's experiment files. Wall seconds are the figure; the CPU printed beside them is that of the
sweep process and the children it reaped, which may leave out Ray's workers. Then the Parquet
tables of the last sweep of each code are compared file by file (polars `equals`), sweep.parquet's
rows included.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.successors_speed import _source  # noqa: E402
from bench.timing import load, machine  # noqa: E402

# the sweep's command line, saying on stderr which `purity` it ran (Ray's local workers get the
# driver's sys.path, so they import the same)
SWEEP = (
    "import sys, purity; from purity.tournament.cli import main; code = main(sys.argv[1:]); "
    "print(purity.__file__, file=sys.stderr); sys.exit(code)"
)


def _sweep(out: Path, source: Path | None, backend: str, workers: int | None) -> tuple[float, float]:
    """Wall and CPU seconds (this child and the children it reaped) of one whole sweep."""
    env = {key: value for key, value in os.environ.items() if key != "PURITY_BACKEND"}
    if backend != "default":
        env["PURITY_BACKEND"] = backend
    if source is not None:
        env["PYTHONPATH"] = str(source)
    command = [sys.executable, "-c", SWEEP, "sweep", str(ROOT / "experiments" / "successors.toml")]
    command += ["--out", str(out), "--quiet"] + ([] if workers is None else ["--workers", str(workers)])
    out.mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    # run from `out`: the working directory comes first on sys.path, and ROOT holds this tree's purity
    done = subprocess.run(command, env=env, cwd=out, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    imported = Path(done.stderr.strip().splitlines()[-1]).resolve()
    if not imported.is_relative_to((source or ROOT).resolve()):
        raise RuntimeError(f"the sweep imported {imported}, not the code under {source or ROOT}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _same_tables(a: Path, b: Path) -> tuple[int, list[str]]:
    """How many Parquet files were compared, and those that differ or exist on one side only."""
    import polars as pl

    left = {p.relative_to(a) for p in a.rglob("*.parquet")}
    right = {p.relative_to(b) for p in b.rglob("*.parquet")}
    differ = sorted(str(p) for p in left ^ right)
    for path in sorted(left & right):
        if not pl.read_parquet(a / path).equals(pl.read_parquet(b / path)):
            differ.append(str(path))
    return len(left | right), differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="6b34fd0", help="git revision to compare with")
    parser.add_argument("--order", default="now,before,now", help="the sweeps to run, in order")
    parser.add_argument("--before-backend", default="numpy", choices=("default", "numpy", "numba"))
    parser.add_argument(
        "--workers", type=int, default=None, help="Ray workers for both (default: left to choose)"
    )
    args = parser.parse_args()
    print(f"{machine()}; load average before: {load()}", flush=True)
    before = _source(args.before)
    scratch = Path(tempfile.mkdtemp(prefix="successors-sweep-"))
    last: dict[str, Path] = {}
    try:
        for k, label in enumerate(args.order.split(",")):
            source = before if label == "before" else None
            backend = args.before_backend if label == "before" else "default"
            out = scratch / f"{k}-{label}"
            wall, cpu = _sweep(out, source, backend, args.workers)
            last[label] = out / "successors"
            print(
                f"{label:>6} ({args.before if source else 'this tree'}, {backend}): {wall:7.1f} s wall, {cpu:7.1f} s CPU; load average now: {load()}",
                flush=True,
            )
        if {"now", "before"} <= last.keys():
            compared, differ = _same_tables(last["before"], last["now"])
            print(f"tables compared: {compared}; differing or on one side only: {len(differ)} {differ[:5]}")
    finally:
        shutil.rmtree(before)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
