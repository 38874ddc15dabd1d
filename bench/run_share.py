"""Share of a whole run's CPU time spent in the arena core, i.e. the run's agent-step rate as a
share of the core's rate at the same batch sizes.

Every simulated agent-step (planner rollouts, reflection futures, played episodes) goes through an
arena's `rollout`; the script wraps each `rollout`, counts B × n × steps and the CPU time inside,
and runs the experiment in-process. Share = CPU inside the core / CPU of the whole run. The
run's nulls (`[control] null`, simulated without the arena after the run) are timed apart, and
the share is also given without them. `PURITY_BACKEND=numba` measures the compiled core.

`--floor` bounds the share from above. One more run records what a run with the same tables
cannot shed, and replays it after the run in a tight loop:
- every random generator the run builds from its streams (`play.stream`), with every draw it makes
  from them (the streams fix the tables, so the draws stay);
- every Parquet table the run writes (the tables must be written).
The nulls are already compiled and count as they are. The ceiling is the core's share if
everything else in the run cost nothing. The replay runs with warm caches and no bookkeeping
between calls, so it costs no more than in the run, and the ceiling is generous.

Usage: .venv/bin/python bench/run_share.py [--experiment FILE] [--repeat 3] [--floor]
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import purity.arenas
from purity.arenas.core import Arena
from purity.tournament import play, record, runner, storage
from purity.tournament.config import load
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"steps": 0, "cpu": 0.0, "depth": 0, "nulls": 0.0}
RECORD: dict[str, list] = {"streams": [], "tables": []}  # filled by the --floor run only
STREAM, WRITE = play.stream, storage.write_parquet


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


def _timed_nulls(real):
    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            COUNTS["nulls"] += time.process_time() - start

    return timed


class _Recording(np.random.Generator):
    """A run's generator that logs each draw (method and arguments) for the replay."""

    def __init__(self, bit_generator, log: list):
        super().__init__(bit_generator)
        self._log = log

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        if name.startswith("_") or not callable(value):
            return value
        log = super().__getattribute__("_log")

        def logged(*args, **kwargs):
            log.append((name, args, kwargs))
            return value(*args, **kwargs)

        return logged


def _recording_stream(seed: int, generation: int, group: int, purpose: str) -> np.random.Generator:
    draws: list = []
    RECORD["streams"].append(((seed, generation, group, purpose), draws))
    return _Recording(STREAM(seed, generation, group, purpose).bit_generator, draws)


def _recording_write(frame, path) -> None:
    if record.NULL not in Path(path).parts:  # the nulls' tables are in the nulls' time already
        RECORD["tables"].append(frame)
    WRITE(frame, path)


def _recorded(experiment) -> dict[str, float]:
    """Run `experiment` once with its streams and table writes recorded, then replay them: the CPU
    seconds of the generators with their draws and of the Parquet writes."""
    RECORD.update(streams=[], tables=[])
    users = [
        m
        for m in list(sys.modules.values())
        if m.__name__.startswith("purity.") and vars(m).get("stream") is STREAM
    ]
    for module in users:
        module.stream = _recording_stream
    storage.write_parquet = _recording_write
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(experiment, Path(folder) / "run", workers=0, progress=False)
    finally:
        for module in users:
            module.stream = STREAM
        storage.write_parquet = WRITE
    start = time.process_time()
    for key, draws in RECORD["streams"]:
        rng = STREAM(*key)
        for name, args, kwargs in draws:
            getattr(rng, name)(*args, **kwargs)
    streams = time.process_time() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.process_time()
        for k, frame in enumerate(RECORD["tables"]):
            WRITE(frame, Path(folder) / f"{k}.parquet")
        tables = time.process_time() - start
    return {
        "streams": streams,
        "draw calls": sum(len(draws) for _, draws in RECORD["streams"]),
        "generators": len(RECORD["streams"]),
        "tables": tables,
        "files": len(RECORD["tables"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "default.toml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--floor", action="store_true", help="also bound the share from above (one more run)")
    args = parser.parse_args()
    experiment = load(args.experiment)
    for module in pkgutil.iter_modules(purity.arenas.__path__):
        importlib.import_module(f"purity.arenas.{module.name}")
    for cls in {Arena, *_arenas()}:
        if "rollout" in vars(cls):
            cls.rollout = _counted(vars(cls)["rollout"])
    runner.record_nulls = _timed_nulls(runner.record_nulls)
    shares, totals, rates, nulls, bare, cores = [], [], [], [], [], []
    for _ in range(args.repeat):
        COUNTS.update(steps=0, cpu=0.0, nulls=0.0)
        with tempfile.TemporaryDirectory() as folder:
            start = time.process_time()
            run(experiment, Path(folder) / "run", workers=0, progress=False)
            total = time.process_time() - start
        shares.append(COUNTS["cpu"] / total)
        totals.append(total)
        cores.append(COUNTS["cpu"])
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
    if args.floor:
        floor = _recorded(experiment)
        core, null = statistics.median(cores), statistics.median(nulls)
        kept = core + null + floor["streams"] + floor["tables"]
        print(
            f"floor: core {core:.2f} s; {floor['generators']} generators with {floor['draw calls']} draws "
            f"{floor['streams']:.2f} s; {floor['files']} tables written {floor['tables']:.2f} s; nulls {null:.2f} s. "
            f"Ceiling: core share {core / kept:.1%}, {core / (kept - null):.1%} without the nulls "
            f"(everything else in the run {statistics.median(totals) - kept:.2f} s)"
        )


if __name__ == "__main__":
    main()
