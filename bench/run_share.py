"""Share of a whole run's CPU time spent in the arena core, i.e. the run's agent-step rate as a
share of the core's rate at the same batch sizes.

Every simulated agent-step (planner rollouts, reflection futures, played episodes) goes through an
arena's `rollout`; the script wraps each `rollout`, counts B × n × steps and the CPU time inside,
and runs the experiment in-process. Share = CPU inside the core / CPU of the whole run. The
run's nulls (`[control] null`, simulated without the arena after the run) are timed apart, and
the share is also given without them. `PURITY_BACKEND=numba` measures the compiled core.

Usage: .venv/bin/python bench/run_share.py [--experiment FILE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import tempfile
import time
from pathlib import Path

import purity.arenas
from purity.arenas.core import Arena
from purity.tournament.config import load
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"steps": 0, "cpu": 0.0, "depth": 0, "nulls": 0.0}


def _arenas(cls=Arena):
    for sub in cls.__subclasses__():
        yield sub
        yield from _arenas(sub)


def _counted(rollout):
    def wrapped(self, policy, noise, steps=None, *args, **kwargs):
        COUNTS["depth"] += 1
        start = time.process_time()
        try:
            return rollout(self, policy, noise, steps, *args, **kwargs)
        finally:
            COUNTS["depth"] -= 1
            if COUNTS["depth"] == 0:
                COUNTS["cpu"] += time.process_time() - start
                COUNTS["steps"] += policy.shape[0] * self.n_agents * (self.steps if steps is None else steps)

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "default.toml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    experiment = load(args.experiment)
    for module in pkgutil.iter_modules(purity.arenas.__path__):
        importlib.import_module(f"purity.arenas.{module.name}")
    for cls in {Arena, *_arenas()}:
        if "rollout" in vars(cls):
            cls.rollout = _counted(vars(cls)["rollout"])
    from purity.tournament import runner

    real_nulls = runner.record_nulls

    def timed_nulls(*a, **k):
        start = time.process_time()
        try:
            return real_nulls(*a, **k)
        finally:
            COUNTS["nulls"] += time.process_time() - start

    runner.record_nulls = timed_nulls
    shares, totals, rates, nulls, bare = [], [], [], [], []
    for _ in range(args.repeat):
        COUNTS.update(steps=0, cpu=0.0, nulls=0.0)
        with tempfile.TemporaryDirectory() as folder:
            start = time.process_time()
            run(experiment, Path(folder) / "run", workers=0, progress=False)
            total = time.process_time() - start
        shares.append(COUNTS["cpu"] / total)
        totals.append(total)
        rates.append(COUNTS["steps"] / total)
        nulls.append(COUNTS["nulls"])
        bare.append(COUNTS["cpu"] / (total - COUNTS["nulls"]))
    print(
        f"{experiment.name}: {COUNTS['steps'] / 1e6:.1f} M agent-steps per run; median of {args.repeat}: "
        f"run CPU {statistics.median(totals):.2f} s, {statistics.median(rates) / 1e6:.2f} M agent-steps per "
        f"CPU-second, core share {statistics.median(shares):.1%} (runs: "
        + ", ".join(f"{s:.1%}" for s in shares)
        + f"); nulls {statistics.median(nulls):.2f} CPU s, core share without them "
        + f"{statistics.median(bare):.1%}"
    )


if __name__ == "__main__":
    main()
