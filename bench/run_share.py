"""Share of a whole run's CPU time spent in the arena core, i.e. the run's agent-step rate as a
share of the core's rate at the same batch sizes.

Every simulated agent-step (planner rollouts, reflection futures, played episodes) goes through an
arena's `rollout`; the script wraps each `rollout`, counts B × n × steps and the CPU time inside,
and runs the experiment in-process. Share = CPU inside the core / CPU of the whole run. The
run's nulls (`[control] null`, simulated without the arena after the run) are timed apart, and
the share is also given without them. `PURITY_BACKEND=numpy` measures the numpy core.

`--floor` asks what the share could reach with the tables as they are. One more run records, and
after it replays in a tight loop:
- every random generator the run builds from its streams (`play.stream`, one at a time,
  `play.streams`, a batch of groups at once, and `play.together`, a batch of groups drawn from
  together), and every draw made from it, timed apart: building
  the generators (as the run built them), and drawing (the draws' values fix the tables;
  their cost per call does not);
- every Parquet table the run writes, as the run writes them (one file per table and
  generation), and as one file per table (the contents the same, the layout not).
It checks that the replay leaves every generator in the state the run left it (no draw missed),
and counts the `np.random.default_rng` calls outside the streams and the nulls (generators built
elsewhere, not replayed). The nulls count as timed. The core's rate is its CPU inside the run's
own `rollout` calls, at the run's batch sizes, not a standalone benchmark's. The
ceilings are the core's share if everything else in the run cost nothing, with and without each
of these costs that a different layout, generators free to build, or nulls moved out of the run
could shed. The replay has warm caches and no bookkeeping between calls; it is assumed (not
measured) to cost no more than in the run. Joining the rows into one file per table is not timed.

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
import polars as pl

import purity.arenas
from purity.arenas.core import Arena
from purity.tournament import play, record, runner, seeding, storage
from purity.tournament.config import load
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]
COUNTS = {"steps": 0, "cpu": 0.0, "depth": 0, "nulls": 0.0}
RECORD: dict = {"streams": [], "builds": [], "tables": [], "elsewhere": 0}  # filled by the --floor run only
STREAM, STREAMS, WRITE, DEFAULT_RNG = play.stream, play.streams, storage.write_parquet, np.random.default_rng
TOGETHER = play.together
SOME = "some streams"  # a logged draw from some of a `Streams`' streams: (which, method, args)


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
    """A run's generator that logs each draw the run asks for (method and arguments) for the
    replay; a method that calls another (`choice` calls `permutation`) is logged once, as called."""

    def __init__(self, bit_generator, log: list):
        super().__init__(bit_generator)
        self._log, self._inside = log, False

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        if name.startswith("_") or not callable(value) or super().__getattribute__("_inside"):
            return value

        def logged(*args, **kwargs):
            self._log.append((name, args, kwargs))
            self._inside = True
            try:
                return value(*args, **kwargs)
            finally:
                self._inside = False

        return logged


def _recorded_generator(key: tuple, bit_generator) -> np.random.Generator:
    draws: list = []
    rng = _Recording(bit_generator, draws)
    RECORD["streams"].append((key, draws, rng))
    return rng


def _recording_stream(seed: int, generation: int, group: int, purpose: str) -> np.random.Generator:
    RECORD["builds"].append((STREAM, (seed, generation, group, purpose)))
    return _recorded_generator(
        (seed, generation, group, purpose), STREAM(seed, generation, group, purpose).bit_generator
    )


def _recording_streams(seed: int, generation: int, groups, purpose: str) -> list[np.random.Generator]:
    groups = np.array(groups)  # a copy: the replay builds from the groups the run asked for
    RECORD["builds"].append((STREAMS, (seed, generation, groups, purpose)))
    built = STREAMS(seed, generation, groups, purpose)
    return [
        _recorded_generator((seed, generation, int(g), purpose), rng.bit_generator)
        for g, rng in zip(groups, built)
    ]


class _RecordingStreams:
    """A run's `Streams` that logs each draw, with the streams it drew from, for the replay."""

    def __init__(self, streams, log: list, which: np.ndarray | None = None):
        self._streams, self._log, self._which = streams, log, which

    def __len__(self) -> int:
        return len(self._streams)

    def subset(self, which) -> _RecordingStreams:
        which = np.array(which)
        rows = which if self._which is None else self._which[which]
        return _RecordingStreams(self._streams.subset(which), self._log, rows)

    def __getattr__(self, name: str):
        method = getattr(self._streams, name)

        def logged(*args):
            self._log.append((SOME, (self._which, name, args), {}))
            return method(*args)

        return logged


def _recording_together(seed: int, generation: int, groups, purpose: str, compiled: bool):
    groups = np.array(groups)
    RECORD["builds"].append((TOGETHER, (seed, generation, groups, purpose, compiled)))
    streams, draws = TOGETHER(seed, generation, groups, purpose, compiled), []
    RECORD["streams"].append(((seed, generation, tuple(groups.tolist()), purpose), draws, streams))
    return _RecordingStreams(streams, draws)


def _state(rng) -> object:
    """Where a generator, or every stream of a `Streams`, stands."""
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator.state
    if hasattr(rng, "states"):
        return rng.states.tobytes()
    return [generator.bit_generator.state for generator in rng.generators]


def _recording_write(frame, path) -> None:
    if record.NULL not in Path(path).parts:  # the nulls' tables are in the nulls' time already
        RECORD["tables"].append((Path(path).parent.parent, frame))  # the table's folder
    WRITE(frame, path)


def _counting_rng(*args, **kwargs):
    """`np.random.default_rng`, counting the generators built outside the streams and the nulls."""
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller not in ("purity.tournament.play", "purity.tournament.null"):
        RECORD["elsewhere"] += 1
    return DEFAULT_RNG(*args, **kwargs)


def _recorded(experiment) -> dict[str, float]:
    """Run `experiment` once with its streams and table writes recorded (and its core and nulls
    timed, where `main` wraps them), then replay them (`--floor`)."""
    RECORD.update(streams=[], builds=[], tables=[], elsewhere=0)
    COUNTS.update(steps=0, cpu=0.0, nulls=0.0)
    patches = {
        "stream": (STREAM, _recording_stream),
        "streams": (STREAMS, _recording_streams),
        "together": (TOGETHER, _recording_together),
    }
    users = [
        (m, name)
        for m in list(sys.modules.values())
        for name, (real, _) in patches.items()
        if m.__name__.startswith("purity.") and vars(m).get(name) is real
    ]
    for module, name in users:
        setattr(module, name, patches[name][1])
    storage.write_parquet, np.random.default_rng = _recording_write, _counting_rng
    try:
        with tempfile.TemporaryDirectory() as folder:
            start = time.process_time()
            run(experiment, Path(folder) / "run", workers=0, progress=False)
            spent = time.process_time() - start
    finally:
        for module, name in users:
            setattr(module, name, patches[name][0])
        storage.write_parquet, np.random.default_rng = WRITE, DEFAULT_RNG
    return {
        "run": spent,
        "core": COUNTS["cpu"],
        "nulls": COUNTS["nulls"],
        **_replayed_streams(),
        **_replayed_tables(),
    }


def _replayed_streams() -> dict[str, float]:
    seeding._pool.cache_clear()  # the replay starts as cold as the run did
    seeding._steps.cache_clear()
    start = time.process_time()
    fresh = []
    for build, args in RECORD["builds"]:  # as the run built them: one at a time, or a batch of groups at once
        built = build(*args)
        fresh.extend(built if build is STREAMS else [built])
    built = time.process_time() - start
    start = time.process_time()
    for rng, (_, draws, _) in zip(fresh, RECORD["streams"]):
        for name, args, kwargs in draws:
            target = rng
            if name == SOME:
                which, name, args = args
                target = rng if which is None else rng.subset(which)
            getattr(target, name)(*args, **kwargs)
    drawn = time.process_time() - start
    same = all(_state(a) == _state(b) for a, (_, _, b) in zip(fresh, RECORD["streams"]))
    return {
        "build": built,
        "draws": drawn,
        "generators": sum(1 if isinstance(rng, np.random.Generator) else len(rng) for rng in fresh),
        "draw calls": sum(len(draws) for _, draws, _ in RECORD["streams"]),
        "complete": same,
        "elsewhere": RECORD["elsewhere"],
    }


def _replayed_tables() -> dict[str, float]:
    by_table: dict[Path, list] = {}
    for folder, frame in RECORD["tables"]:
        by_table.setdefault(folder, []).append(frame)
    joined = [pl.concat(frames, how="diagonal_relaxed") for frames in by_table.values()]
    with tempfile.TemporaryDirectory() as folder:
        start = time.process_time()
        for k, (_, frame) in enumerate(RECORD["tables"]):
            WRITE(frame, Path(folder) / f"{k}.parquet")
        files = time.process_time() - start
        start = time.process_time()
        for k, frame in enumerate(joined):
            WRITE(frame, Path(folder) / f"joined-{k}.parquet")
        one = time.process_time() - start
    return {"writes": files, "files": len(RECORD["tables"]), "one file each": one, "tables": len(joined)}


def _ceilings(floor: dict[str, float]) -> str:
    """The core's share if nothing but the listed costs remained."""
    core, fixed = floor["core"], floor["draws"]

    def share(*costs: float) -> str:
        return f"{core / (core + fixed + sum(costs)):.1%}"

    return (
        f"ceilings: as the run is {share(floor['build'], floor['writes'], floor['nulls'])}; "
        f"one file per table {share(floor['build'], floor['one file each'], floor['nulls'])}; "
        f"and no cost to build the generators {share(floor['one file each'], floor['nulls'])}; "
        f"and no nulls in the run {share(floor['one file each'])}. Everything else in that run "
        f"(the recording's own cost included): "
        f"{floor['run'] - core - floor['build'] - fixed - floor['writes'] - floor['nulls']:.2f} s"
    )


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
        print(
            f"floor (one recorded run, {floor['run']:.2f} CPU s): core {floor['core']:.2f} s; "
            f"{floor['generators']} generators built {floor['build']:.2f} s, their {floor['draw calls']} "
            f"draws {floor['draws']:.2f} s (replay complete: {floor['complete']}; "
            f"{floor['elsewhere']} other default_rng calls, not replayed); {floor['files']} files written "
            f"{floor['writes']:.2f} s, as {floor['tables']} files {floor['one file each']:.2f} s; "
            f"nulls {floor['nulls']:.2f} s"
        )
        print(_ceilings(floor))


if __name__ == "__main__":
    main()
