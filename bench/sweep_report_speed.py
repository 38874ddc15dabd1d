"""The report of a finished sweep read in one process and on every CPU (`reports.processes`),
interleaved: wall seconds of each (its child processes included), medians over rounds, and
whether the two pages are byte for byte the same.

Usage: .venv/bin/python bench/sweep_report_speed.py SWEEP_DIR [--rounds 3]

Each report is a fresh process (`purity report` as a researcher runs it, or the same with
`reports.processes.ITEMS_PER_PROCESS` set beyond the sweep's size, which keeps every run in the
one process). Make SWEEP_DIR with e.g. `purity sweep experiments/successors.toml --out /tmp/s`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import load, machine  # noqa: E402

REPORT = (
    "import sys; from pathlib import Path; import purity.reports as r, purity.reports.processes as p; "
    "p.ITEMS_PER_PROCESS = int(sys.argv[2]); r.report(Path(sys.argv[1]), 'html')"
)
WAYS = {"one process": 10**9, "every CPU": None}


def _report(sweep: Path, per_process: int | None) -> tuple[float, bytes]:
    """Wall seconds of one report, and the page it wrote."""
    from purity.reports import processes

    count = per_process or processes.ITEMS_PER_PROCESS
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", REPORT, str(sweep), str(count)], check=True, cwd=ROOT)
    return time.perf_counter() - started, (sweep / "report.html").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{machine()}; load average before: {load()}")
    walls: dict[str, list[float]] = {way: [] for way in WAYS}
    pages: dict[str, set[bytes]] = {way: set() for way in WAYS}
    for k in range(args.rounds):
        order = list(WAYS) if k % 2 == 0 else list(WAYS)[::-1]
        for way in order:
            wall, page = _report(args.sweep, WAYS[way])
            walls[way].append(wall)
            pages[way].add(page)
    for way in WAYS:
        print(
            f"{way:>12}: median {statistics.median(walls[way]):6.1f} s wall ({', '.join(f'{w:.1f}' for w in walls[way])})"
        )
    one, every = (statistics.median(walls[way]) for way in WAYS)
    same = len(pages["one process"] | pages["every CPU"]) == 1
    print(f"one process / every CPU: {one / every:.2f}x; pages identical: {same}; load average now: {load()}")


if __name__ == "__main__":
    main()
