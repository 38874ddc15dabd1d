"""Cost of the null replicates per report: the nulls as simulated now (numpy, and the compiled
events of `PURITY_BACKEND=numba` when numba is installed) against the same modules at an earlier
commit (`--against`) and, with `--reference`, the per-event loop of bench/null_reference.py.

For each experiment (as shipped, or with `--seeds K`): one run in this process, its nulls
(`record_nulls`) timed apart from the rest; then every implementation simulates the same nulls
(the same replicate count, seed and recorded fitness as the run's report), interleaved
(`bench/timing.py`: one call each per round, order rotated, medians of CPU and wall seconds). All
are checked equal, figure for figure, before anything is timed. `--against REV` loads
purity/tournament/null.py and batch_selection.py as they were at REV, as modules of their own
(the rest of the package shared). Share of the run = nulls / (the run without its nulls +
nulls), with the nulls at each implementation's median CPU (simulation only: writing their
tables is left in the run).

Usage: .venv/bin/python bench/null_cost.py [--experiment FILE] [--seeds K ...] [--rounds 5]
       [--against REV] [--reference]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import null_reference  # noqa: E402
from bench.timing import Engine, interleave, load, machine  # noqa: E402
from purity.tournament import config, null, record, runner  # noqa: E402

FIGURES = ("start", "end", "selection", "mutation", "lock_in", "generations", "curve")


def _timed_run(experiment, folder: Path) -> tuple[Path, float, float, float]:
    """Run in this process; (run dir, CPU s of the whole run, CPU s of its nulls, wall s)."""
    spent = {"nulls": 0.0}
    real = runner.record_nulls

    def timed(*args, **kwargs):
        began = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent["nulls"] += time.process_time() - began

    runner.record_nulls = timed
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        run_dir = runner.run(experiment, folder, workers=0, progress=False)
        return run_dir, time.process_time() - cpu, spent["nulls"], time.perf_counter() - wall
    finally:
        runner.record_nulls = real


def before(rev: str, folder: Path):
    """`null` as it was at commit `rev`, with the `batch_selection` of that commit."""
    for name in ("batch_selection", "null"):
        text = subprocess.run(
            ["git", "show", f"{rev}:purity/tournament/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / f"_before_{name}.py").write_text(
            text.replace("purity.tournament.batch_selection", "_before_batch_selection")
        )
    sys.path.insert(0, str(folder))
    importlib.import_module("_before_batch_selection")
    return importlib.import_module("_before_null")


def _on(backend: str, call):
    """`call` with `PURITY_BACKEND` set to `backend` (the nulls read it when they start)."""
    os.environ["PURITY_BACKEND"] = backend
    try:
        return call()
    finally:
        os.environ.pop("PURITY_BACKEND")


def implementations(experiment, against) -> dict[str, callable]:
    """label -> simulate(replicates, seed, kind, fitness) of each implementation timed."""
    spec = null.spec(experiment)
    found = {}
    if against is not None:
        label, module = against
        found[f"at {label}"] = functools.partial(module.simulate, module.spec(experiment))
    found["numpy now"] = lambda *a: _on("numpy", functools.partial(null.simulate, spec, *a))
    if importlib.util.find_spec("numba") is not None:
        found["numba now"] = lambda *a: _on("numba", functools.partial(null.simulate, spec, *a))
    return found


def measure(path: Path, seeds: int | None, rounds: int, against, reference: bool) -> None:
    experiment = config.load(path)
    if seeds is not None:
        experiment = dataclasses.replace(experiment, seeds=seeds)
    with tempfile.TemporaryDirectory() as scratch:
        run_dir, run_cpu, null_cpu, wall = _timed_run(experiment, Path(scratch))
        notes = json.loads((run_dir / record.NULL_MANIFEST).read_text(encoding="utf-8"))
        fitness = null.recorded_fitness(null.run_dirs(run_dir))
    spec = null.spec(experiment)
    print(
        f"\n{experiment.name}, {experiment.seeds} seed(s): N={experiment.population}, "
        f"G={experiment.generations}, {experiment.selection.kind}, {len(spec.keys)} process terms"
    )
    print(f"  whole run: {run_cpu:.2f} CPU s ({wall:.2f} s wall), of which its nulls {null_cpu:.2f} CPU s")
    rest = run_cpu - null_cpu
    found = implementations(experiment, against)
    if reference:
        found = {"per-event loop": functools.partial(null_reference.simulate, spec), **found}
    total = dict.fromkeys(found, 0.0)
    for kind, note in notes.items():
        reps, seed = note["replicates"], note["seed"]
        f = fitness if kind == "shuffle" else None
        first, *others = [simulate(reps, seed, kind, f) for simulate in found.values()]
        for other in others:
            assert all(np.array_equal(getattr(first, k), getattr(other, k)) for k in FIGURES), kind
        engines = [
            Engine(label, reps, reps, functools.partial(simulate, reps, seed, kind, f))
            for label, simulate in found.items()
        ]
        timings = interleave(engines, rounds, seconds=0.0)
        cpu = {t.engine.label: statistics.median(t.cpu) / t.calls for t in timings}
        walls = {t.engine.label: statistics.median(t.wall) / t.calls for t in timings}
        slowest = max(cpu, key=cpu.get)
        for label in cpu:
            print(
                f"  {kind:>7} {reps:>6} replicates  {label:<18} CPU {cpu[label]:6.2f} s  wall {walls[label]:6.2f} s"
                f"  ({cpu[slowest] / cpu[label]:.2f}x less CPU than {slowest})"
            )
            total[label] += cpu[label]
        print(f"  {kind:>7} identical figures from all {len(found)}")
    print(f"  the run without its nulls: {rest:.2f} CPU s")
    for label, seconds in total.items():
        print(f"  nulls by {label}: {seconds:.2f} CPU s, {seconds / (rest + seconds):.1%} of the run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "default.toml")
    parser.add_argument(
        "--seeds", type=int, nargs="*", default=[1, None], help="seed counts (none: as shipped)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", help="a git revision whose null.py and batch_selection.py to time too")
    parser.add_argument("--reference", action="store_true", help="time the per-event loop too (slow)")
    args = parser.parse_args()
    print(f"{machine()}; load {load()}")
    with tempfile.TemporaryDirectory() as folder:
        against = None if args.against is None else (args.against, before(args.against, Path(folder)))
        for seeds in args.seeds:
            measure(args.experiment, seeds, args.rounds, against, args.reference)
    print(f"load at the end {load()}")


if __name__ == "__main__":
    main()
