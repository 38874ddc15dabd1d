"""Cost of the null replicates per report: the batched Moran replay against the per-event loop it
replaced (bench/null_reference.py), and the nulls' share of a whole run.

For each experiment (as shipped, or with `--seeds K`): one run in this process, its nulls
(`record_nulls`) timed apart from the rest; then both implementations simulate the same nulls
(the same replicate count, seed and recorded fitness as the run's report), interleaved
(`bench/timing.py`: one call each per round, order rotated, medians of CPU and wall seconds). The
two are checked equal, figure for figure, before anything is timed. Share of the run = nulls /
(the run without its nulls + nulls), with the nulls at each implementation's median CPU
(simulation only: writing their tables is left in the run).

Usage: .venv/bin/python bench/null_cost.py [--experiment FILE] [--seeds K ...] [--rounds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import statistics
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


def measure(path: Path, seeds: int | None, rounds: int) -> None:
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
    total = {"per-event loop": 0.0, "batched replay": 0.0}
    for kind, note in notes.items():
        reps, seed = note["replicates"], note["seed"]
        f = fitness if kind == "shuffle" else None
        new = null.simulate(spec, reps, seed, kind, f)
        old = null_reference.simulate(spec, reps, seed, kind, f)
        assert all(np.array_equal(getattr(new, k), getattr(old, k)) for k in FIGURES), kind
        call = functools.partial
        engines = [
            Engine("per-event loop", reps, reps, call(null_reference.simulate, spec, reps, seed, kind, f)),
            Engine("batched replay", reps, reps, call(null.simulate, spec, reps, seed, kind, f)),
        ]
        timings = interleave(engines, rounds, seconds=0.0)
        cpu = {t.engine.label: statistics.median(t.cpu) / t.calls for t in timings}
        walls = {t.engine.label: statistics.median(t.wall) / t.calls for t in timings}
        for label in cpu:
            print(
                f"  {kind:>7} {reps:>6} replicates  {label:<15} CPU {cpu[label]:6.2f} s  wall {walls[label]:6.2f} s"
            )
        old_cpu, new_cpu = cpu["per-event loop"], cpu["batched replay"]
        print(
            f"  {kind:>7} identical figures; batched / loop: CPU {old_cpu / new_cpu:.2f}x faster, "
            f"wall {walls['per-event loop'] / walls['batched replay']:.2f}x"
        )
        for label in total:
            total[label] += cpu[label]
    print(f"  the run without its nulls: {rest:.2f} CPU s")
    for label, seconds in total.items():
        print(
            f"  nulls simulated by the {label}: {seconds:.2f} CPU s, {seconds / (rest + seconds):.1%} of the run"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "default.toml")
    parser.add_argument(
        "--seeds", type=int, nargs="*", default=[1, None], help="seed counts (none: as shipped)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{machine()}; load {load()}")
    for seeds in args.seeds:
        measure(args.experiment, seeds, args.rounds)
    print(f"load at the end {load()}")


if __name__ == "__main__":
    main()
