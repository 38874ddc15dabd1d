"""Wall time and agent-episodes per second of the default experiment, in-process vs local Ray.

Usage: .venv/bin/python bench/default_experiment.py [--experiment FILE] [--workers 0 1 2]
Agent-episodes count the main run and its drift twin. Ray's start and stop are timed apart
from the run: the first is what a user waits for once, the second is the steady rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from purity.tournament.config import load
from purity.tournament.executor import executor
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "default.toml")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    experiment = load(args.experiment)
    runs = 2 if experiment.neutral_drift else 1
    agent_episodes = runs * experiment.generations * experiment.population * experiment.arena.episodes
    print(
        f"{experiment.name}: N={experiment.population}, generations={experiment.generations}, "
        f"episodes={experiment.arena.episodes}, steps={experiment.arena.steps}, runs={runs}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'workers':>10} {'start s':>8} {'run s':>7} {'stop s':>7} {'wall s':>7} {'agent-episodes/s (run)':>23} {'run speed-up':>13}"
    )
    base = None
    for workers in args.workers:
        start = time.perf_counter()
        pool = executor(workers, None)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            run(experiment, Path(out), progress=False, pool=pool)
        ran = time.perf_counter()
        pool.close()
        stopped = time.perf_counter()
        run_s = ran - started
        base = base or run_s
        label = "in-process" if workers == 0 else f"ray x{workers}"
        print(
            f"{label:>10} {started - start:8.2f} {run_s:7.2f} {stopped - ran:7.2f} {stopped - start:7.2f} "
            f"{agent_episodes / run_s:23,.0f} {base / run_s:12.2f}x"
        )


if __name__ == "__main__":
    main()
