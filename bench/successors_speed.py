"""One run of the successors sweep (experiments/successors.toml: successors-base.toml, 64 agents,
30 generations, reflecting) by the code of an earlier git revision and by this tree, interleaved:
medians of CPU (user + sys, all threads) and wall seconds per run, and per phase.

Usage: .venv/bin/python bench/successors_speed.py [--before main] [--rounds 5] [--points base world]
[--backend default|numpy|numba] [--before-backend numpy|numba|default]

`--backend` is this tree's (default: purity's own choice, the compiled loops), `--before-backend`
the earlier revision's (default: numpy, which was the default before 2026-12-07).

Each run is a fresh process (`--child`) importing `purity` from the revision's files
(`git archive REV purity`, first on PYTHONPATH) or from this tree; it plays a tiny warm-up run
first (imports, numba's cache), then the measured run in-process (`--workers 0`, its nulls
included, no drift twin), as a sweep's worker does. Both read the experiment files of this tree.
Phases: reflection (`generation._reflect`: candidate changes, planning and rolling out every
change's future, the table), play (`play_groups`: planning and the episodes), the run's nulls
(`runner.record_nulls`), and the rest (selection, tables, Parquet and JSON writes, manifest).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# grid points of successors.toml: (keeper profile, rule, selection intensity); `--points sample`
# takes the six named after their keeper: every keeper once, every rule and intensity alike often
POINTS = {
    "base": ("self-keeper", "realistic", 0.1),
    "world": ("world-integrity", "hedonistic", 0.0),
    "lineage-keeper": ("lineage-keeper", "ignorant", 0.1),
    "integrity": ("integrity", "realistic", 0.0),
    "lineage-integrity": ("lineage-integrity", "hedonistic", 0.1),
    "world-keeper": ("world-keeper", "ignorant", 0.0),
}
SAMPLE = ("base", "world", "lineage-keeper", "integrity", "lineage-integrity", "world-keeper")
PHASES = ("reflect", "play", "nulls")


def _experiment(point: str, scratch: Path):
    """The first seed's experiment of grid point `point`, as the sweep writes it."""
    from purity.tournament import sweep

    profile, rule, intensity = POINTS[point]
    wanted = {
        "population.mix.0.profile": profile,
        "reflection.rule": rule,
        "selection.intensity": intensity,
    }
    plan = sweep.materialize(sweep.load(ROOT / "experiments" / "successors.toml"), scratch)
    return next(experiment for spot, _, experiment in plan if dict(spot.settings) == wanted)


def _timed(module, name: str, spent: dict, phase: str) -> None:
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        start = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[phase] += time.process_time() - start

    setattr(module, name, wrapped)


def child(point: str) -> None:
    """One warm-up run, then the measured one; prints its seconds as JSON."""
    import purity
    from purity.tournament import generation, runner

    with tempfile.TemporaryDirectory() as out:
        experiment = _experiment(point, Path(out))
        small = dataclasses.replace(experiment, generations=2, population=16)
        runner.run(small, Path(out) / "warm-up", workers=0, progress=False)
    spent = dict.fromkeys(PHASES, 0.0)
    _timed(runner, "record_nulls", spent, "nulls")
    _timed(generation, "_reflect", spent, "reflect")
    _timed(generation, "play_groups", spent, "play")
    with tempfile.TemporaryDirectory() as out:
        cpu, wall = time.process_time(), time.perf_counter()
        runner.run(experiment, Path(out), workers=0, progress=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    spent["rest"] = cpu - sum(spent.values())
    print(json.dumps({"cpu": cpu, "wall": wall, "phases": spent, "source": purity.__file__}))


def _source(revision: str) -> Path:
    """The `purity` package of `revision`, unpacked into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="purity-before-"))
    archive = subprocess.run(
        ["git", "archive", revision, "purity"], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _measure(point: str, source: Path | None, backend: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "PURITY_BACKEND"}
    if backend != "default":
        env["PURITY_BACKEND"] = backend
    if source is not None:
        env["PYTHONPATH"] = str(source)
    done = subprocess.run(
        [sys.executable, __file__, "--child", point], env=env, check=True, capture_output=True, text=True
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    expected = source if source is not None else ROOT
    if not Path(measured["source"]).resolve().is_relative_to(expected.resolve()):
        raise RuntimeError(f"the run imported {measured['source']}, not the code under {expected}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--points", nargs="+", default=["base"], choices=[*sorted(POINTS), "sample"])
    parser.add_argument("--backend", default="default", choices=("default", "numpy", "numba"))
    parser.add_argument("--before-backend", default="numpy", choices=("default", "numpy", "numba"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from bench.timing import load, machine

    print(
        f"{machine()}; backend {args.before_backend} before, {args.backend} now; load average before: {load()}"
    )
    before = _source(args.before)
    try:
        _compare(args, before)
    finally:
        shutil.rmtree(before)


def _compare(args, before: Path) -> None:
    """Every point's runs by `before`'s code and this tree's, interleaved; medians printed."""
    from bench.timing import load

    sources = {f"before ({args.before})": before, "now": None}
    points = SAMPLE if args.points == ["sample"] else args.points
    totals: dict[str, list[float]] = {label: [] for label in sources}
    for point in points:
        runs: dict[str, list[dict]] = {label: [] for label in sources}
        for round_ in range(args.rounds):
            order = list(sources) if round_ % 2 == 0 else list(reversed(sources))
            for label in order:
                backend = args.backend if sources[label] is None else args.before_backend
                runs[label].append(_measure(point, sources[label], backend))
        print(f"\n{point} {POINTS[point]}: {args.rounds} runs each, interleaved; load average now: {load()}")
        print(
            f"{'code':>16} {'CPU s':>7} {'wall s':>7} "
            + " ".join(f"{phase:>8}" for phase in (*PHASES, "rest"))
        )
        medians = {}
        for label, measured in runs.items():
            medians[label] = {key: statistics.median(m[key] for m in measured) for key in ("cpu", "wall")}
            phases = {
                phase: statistics.median(m["phases"][phase] for m in measured) for phase in (*PHASES, "rest")
            }
            print(
                f"{label:>16} {medians[label]['cpu']:7.2f} {medians[label]['wall']:7.2f} "
                + " ".join(f"{phases[phase]:8.2f}" for phase in (*PHASES, "rest"))
            )
        old, new = medians.values()
        print(f"{'before / now':>16} {old['cpu'] / new['cpu']:6.2f}x {old['wall'] / new['wall']:6.2f}x")
        for label in sources:
            totals[label].append(medians[label]["cpu"])
    if len(points) > 1:
        old, new = (statistics.mean(cpu) for cpu in totals.values())
        print(
            f"\nmean over the {len(points)} points, CPU s per run: {old:.2f} before, {new:.2f} now: {old / new:.2f}x"
        )


if __name__ == "__main__":
    main()
