"""Scaling on Ray: per-task overhead at the chosen task size, and parallel efficiency of a 64-run
sweep and of one large run (N = 4096) with 1 vs 2 workers — on a private local instance, or with
`--address HOST:PORT` on an existing cluster (e.g. a two-node local cluster).

Usage: .venv/bin/python bench/scaling.py [--address HOST:PORT] [--skip-large] [--sweep-only]
    [--seeds 32] [--rounds 1] [--simulated-cluster]

`--simulated-cluster` starts a private two-node cluster on this machine (`ray.cluster_utils.Cluster`:
a head and a worker node, one CPU each, their own raylets and ports) and times the sweep on the head
alone and with the worker node joined; the driver reaches it by address, as on a real cluster.

The sweep is also timed in this process (`--workers 0`) and left to choose (no `--workers`:
`purity.tournament.sweep_plan`); with `--rounds` > 1 the layouts take turns, order rotated, and
the medians are reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from purity.tournament import runner
from purity.tournament.config import load
from purity.tournament.executor import InProcess, executor
from purity.tournament.play import play_groups
from purity.tournament.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """
[sweep]
name = "bench"
experiment = "{base}"
seeds = {seeds}

[grid]
"selection.intensity" = [0.05, 0.2]
"""


def task_overhead(address: str | None, sizes=(128, 512, 2048)) -> None:
    """One generation as one task (one worker): time inside the task vs the driver's round trip."""
    pool = executor(1, address)
    try:
        floor = min(_timed(lambda: pool.map(_nothing, None, [None])) for _ in range(20))
        print(f"empty task round trip: {floor * 1e3:.1f} ms (Ray's floor here)")
        for size in sizes:
            experiment = dataclasses.replace(
                load(ROOT / "experiments" / "default.toml"),
                population=size,
                generations=1,
                neutral_drift=False,
            )
            captured = {}

            class Capture(InProcess):
                def map(self, fn, shared, items, captured=captured):
                    captured.setdefault(fn.__name__, (shared, items))
                    return super().map(fn, shared, items)

            with tempfile.TemporaryDirectory() as out:
                runner.run(experiment, Path(out), pool=Capture(), progress=False)
            shared, items = captured["play_groups"]
            pool.map(_clocked, shared, items)  # warm
            shares = []
            for _ in range(5):  # the task times itself in the worker; the rest of the trip is overhead
                start = time.perf_counter()
                (inside,) = pool.map(_clocked, shared, items)
                trip = time.perf_counter() - start
                shares.append(((trip - inside) / trip, inside, trip))
            share, inside, trip = sorted(shares)[2]  # the median
            print(
                f"  N = {size:>5}: task of {len(items[0].groups):>4} groups, inside {inside * 1e3:7.1f} ms, "
                f"round trip {trip * 1e3:7.1f} ms, overhead {share:6.1%} of task time"
            )
    finally:
        pool.close()


def _nothing(shared, item):
    return None


def _clocked(shared, item):
    start = time.perf_counter()
    play_groups(shared, item)
    return time.perf_counter() - start


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _layouts(address: str | None) -> list[tuple[str, int | None, str | None]]:
    if address:
        return [(f"cluster {address}", None, address)]
    return [("1 worker", 1, None), ("2 workers", 2, None)]


def _report(what: str, times: dict[str, float]) -> None:
    text = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in times.items())
    if len(times) == 2:
        one, two = times.values()
        text += f", speed-up {one / two:.2f}x, parallel efficiency {one / two / 2:.0%}"
    print(f"{what}: {text}")


def _sweep_file(scratch: str, seeds: int, run_seeds: int) -> Path:
    """The benchmark sweep over a copy of matrix-pd with `run_seeds` seeds a run and the default
    nulls (the shipped file holds 160 seeds and 32,000 null replicates a run): one seed makes runs
    of under a second, where Ray's start decides; a few seeds make the runs a sweep waits on."""
    import tomllib

    from purity.tournament import storage

    with open(ROOT / "experiments" / "matrix-pd.toml", "rb") as f:
        data = tomllib.load(f)
    data["experiment"]["seeds"] = run_seeds
    data["control"].pop("null_replicates", None)
    base = Path(scratch) / "matrix-pd.toml"
    storage.write_text(storage.toml_text(data), base)
    sweep_file = Path(scratch) / "sweep.toml"
    sweep_file.write_text(SWEEP.format(base=base, seeds=seeds))
    return sweep_file


def sweep_speedup(address: str | None, seeds: int = 32, rounds: int = 1, run_seeds: int = 1) -> None:
    import os
    import statistics

    layouts = _layouts(address)
    if not address:
        layouts = [("in-process", 0, None), ("left to choose", None, None), *layouts]
    times: dict[str, list[float]] = {label: [] for label, _, _ in layouts}
    with tempfile.TemporaryDirectory() as scratch:
        sweep_file = _sweep_file(scratch, seeds, run_seeds)
        for r in range(rounds):
            for k, (label, workers, addr) in enumerate(
                layouts[r % len(layouts) :] + layouts[: r % len(layouts)]
            ):
                print(f"  {label}: load {os.getloadavg()[0]:.1f}", flush=True)
                start = time.perf_counter()
                out = Path(scratch) / f"out{r}-{k}"
                run_sweep(sweep_file, out, workers=workers, address=addr, progress=False)
                times[label].append(time.perf_counter() - start)
    medians = {label: statistics.median(values) for label, values in times.items()}
    text = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in medians.items())
    if "2 workers" in medians:
        one, two, serial = medians["1 worker"], medians["2 workers"], medians["in-process"]
        text += (
            f"; 2 workers vs 1: speed-up {one / two:.2f}x, efficiency {one / two / 2:.0%}; "
            f"2 workers vs in-process: {serial / two:.2f}x, efficiency {serial / two / 2:.0%}"
        )
    print(
        f"{2 * seeds}-run sweep (matrix-pd, {run_seeds} seeds a run, 2 intensities x {seeds} seeds, drift twins; Ray start included, median of {rounds}): {text}"
    )


def simulated_cluster(seeds: int, rounds: int, run_seeds: int = 1) -> None:
    """The sweep on a head of one CPU, then with a second one-CPU node joined (module docstring)."""
    import statistics

    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    times: dict[str, list[float]] = {"head only (1 CPU)": [], "head + worker node (2 CPUs)": []}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            sweep_file = _sweep_file(scratch, seeds, run_seeds)
            for k, label in enumerate(times):
                if k == 1:
                    cluster.add_node(num_cpus=1)
                    cluster.wait_for_nodes()
                for r in range(rounds):
                    start = time.perf_counter()
                    run_sweep(
                        sweep_file, Path(scratch) / f"c{k}-{r}", address=cluster.address, progress=False
                    )
                    times[label].append(time.perf_counter() - start)
    finally:
        cluster.shutdown()
    medians = {label: statistics.median(values) for label, values in times.items()}
    one, two = medians.values()
    print(
        f"{2 * seeds}-run sweep ({run_seeds} seeds a run) on a simulated 2-node cluster (median of {rounds}): "
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in medians.items())
        + f", speed-up {one / two:.2f}x, parallel efficiency {one / two / 2:.0%}"
    )


def large_run(address: str | None) -> None:
    experiment = dataclasses.replace(
        load(ROOT / "experiments" / "default.toml"), population=4096, generations=3, neutral_drift=False
    )
    times = {}
    for label, workers, addr in _layouts(address):
        pool = executor(workers, addr)
        try:
            with tempfile.TemporaryDirectory() as out:  # a first generation warms the workers
                runner.run(
                    dataclasses.replace(experiment, generations=1),
                    Path(out) / "warm",
                    pool=pool,
                    progress=False,
                )
                start = time.perf_counter()
                runner.run(experiment, Path(out), pool=pool, progress=False)
                times[label] = time.perf_counter() - start
        finally:
            pool.close()
    _report("one run, N = 4096, 3 generations (Ray start and a warm-up generation excluded)", times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=None)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--run-seeds", type=int, default=1, help="seeds within each run of the sweep")
    parser.add_argument("--simulated-cluster", action="store_true")
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.simulated_cluster:
        simulated_cluster(args.seeds, args.rounds, args.run_seeds)
        return
    if args.sweep_only:
        sweep_speedup(args.address, args.seeds, args.rounds, args.run_seeds)
        return
    task_overhead(args.address)
    sweep_speedup(args.address, args.seeds, args.rounds, args.run_seeds)
    if not args.skip_large:
        large_run(args.address)


if __name__ == "__main__":
    main()
