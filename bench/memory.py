"""Peak memory of a run against N (1,000 / 3,000 / 10,000 agents) and of a 200-run sweep on
2 cores, each in a fresh process (peak resident set size of that process and its children).

Usage: .venv/bin/python bench/memory.py [--sizes 1000 3000 10000] [--runs 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = """
[experiment]
name = "load"
seed = 1
generations = 3
population = {n}

[arena]
name = "commons"
episodes = 1
group_size = 4
steps = 20

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = {{ candidates = 4, rollouts = 2 }}

[[population.mix]]
profile = "lineage-keeper"
share = 0.5
capability = {{ candidates = 4, rollouts = 2 }}
"""
SWEEP = """
[sweep]
name = "load"
experiment = "{base}"
seeds = {seeds}

[grid]
"selection.intensity" = [0.05, 0.2]
"""


def peak(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of a command, measured as a child of a fresh interpreter."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"r = subprocess.run({command!r}, capture_output=True, text=True); "
        "assert r.returncode == 0, r.stderr[-2000:]; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(done.stderr)
    mib, seconds = done.stdout.split()
    return float(mib), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    purity = str(Path(sys.executable).parent / "purity")
    print(f"{'what':<34} {'peak MiB':>9} {'seconds':>8} {'KiB per agent':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for n in args.sizes:
            exp = scratch / f"load{n}.toml"
            exp.write_text(RUN.format(n=n))
            mib, seconds = peak(
                [purity, "run", str(exp), "--out", str(scratch / f"r{n}"), "--workers", "0", "--quiet"]
            )
            print(f"{f'run N = {n:,} (in-process)':<34} {mib:9.0f} {seconds:8.1f} {mib * 1024 / n:14.1f}")
        sweep = scratch / "sweep.toml"
        sweep.write_text(SWEEP.format(base=ROOT / "experiments" / "matrix-pd.toml", seeds=args.runs // 2))
        mib, seconds = peak(
            [purity, "sweep", str(sweep), "--out", str(scratch / "s"), "--workers", "2", "--quiet"]
        )
        print(f"{f'sweep of {args.runs} runs (Ray, 2 workers)':<34} {mib:9.0f} {seconds:8.1f} {'':>14}")


if __name__ == "__main__":
    main()
