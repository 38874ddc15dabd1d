"""The whole successors sweep (experiments/successors.toml: 144 runs) on this machine's cores, as
a researcher runs it (`purity sweep`, executor left to choose), by the code of an earlier git
revision and by this tree, and every table of the two compared.

Usage: .venv/bin/python bench/successors_sweep.py [--before 6b34fd0] [--order now,before,now]
[--before-backend numpy]

Each sweep is a fresh `python -m purity sweep … --quiet` process; the earlier revision's package
comes from `git archive REV purity`, first on PYTHONPATH (a Ray instance it starts imports the same
files). Both read this tree's experiment files. Wall seconds and the CPU of the process and its
children are printed per sweep; then the Parquet tables of the last sweep of each code are
compared file by file (polars `equals`), sweep.parquet's rows included.
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


def _sweep(out: Path, source: Path | None, backend: str) -> tuple[float, float]:
    """Wall and CPU seconds (this child and what it started) of one whole sweep."""
    env = {key: value for key, value in os.environ.items() if key != "PURITY_BACKEND"}
    if backend != "default":
        env["PURITY_BACKEND"] = backend
    if source is not None:
        env["PYTHONPATH"] = str(source)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "purity",
            "sweep",
            str(ROOT / "experiments" / "successors.toml"),
            "--out",
            str(out),
            "--quiet",
        ],
        env=env,
        cwd=ROOT,
        check=True,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
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
            wall, cpu = _sweep(out, source, backend)
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
