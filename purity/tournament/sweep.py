"""Sweeps: a grid over experiment keys × seeds, run as many runs under one sweep directory.

```
sweeps/<name>/
  sweep.toml, sweep.json          the sweep file as given, and its manifest (runs, settings, status)
  experiments/run-0001.toml       each run's full experiment file (base + its grid point + seed)
  runs/<run name>/                ordinary run directories (docs/run-files.md)
  sweep.parquet                   one row per run: settings, seed, status, error, generations done
```

Runs execute concurrently (up to `max_concurrent`) in threads of this process. A small run
(fewer agents than `split_above`) is one whole run inside a Ray task, several to a task
(`sweep_plan.packs`); a large one cuts its generations into Ray tasks on the shared executor, so a
laptop's two cores and a cluster's nodes are both kept busy. Without `--workers` or `--address`,
the sweep starts in this process and starts Ray only when the first run's time says it pays
(`sweep_plan.ray_pays`). A run that fails is recorded with its error and the others go on.

The sweep records only what it knows itself; every figure of a run is computed by the sweep report
from the run's own directory (`purity.reports`), so the sweep needs nothing from the reports.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purity.agents import profiles
from purity.inputs import InputError, Table, load_json, load_toml
from purity.tournament import config, stop, storage
from purity.tournament.record import MANIFEST, swept
from purity.tournament.sweep_work import run_pack, run_whole  # noqa: F401  (tasks by their old names)

log = logging.getLogger("purity")

MAX_RUNS = 10_000  # runs in one sweep (seeds × grid points): each is a folder and a thread's work
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its name, grid settings and seed."""

    name: str
    settings: tuple[tuple[str, Any], ...]
    seed: int


@dataclass(frozen=True)
class Sweep:
    name: str
    base: Path  # the base experiment file
    points: tuple[Point, ...]
    max_concurrent: int | None
    source: Path
    split_above: int = 1024  # runs with at least this many agents are cut into group tasks


def load(path: str | Path) -> Sweep:
    """Read and check a sweep file (the runs' experiments are checked by `materialize`)."""
    path = Path(path)
    top = Table(load_toml(path), path)
    head = top.table("sweep", required=True)
    name = head.folder_name("name", "sweep directory")
    base = path.parent / head.string("experiment")
    if not base.is_file():
        raise head.error(
            "experiment", "the path of an experiment file, relative to the sweep file", str(base)
        )
    seeds_value = head._raw("seeds", 1)
    if isinstance(seeds_value, bool) or not isinstance(seeds_value, (int, list)):
        raise head.error("seeds", "a number of seeds or a list of seeds", seeds_value)
    if isinstance(seeds_value, int):
        if not 1 <= seeds_value <= MAX_RUNS:
            raise head.error("seeds", f"a number of seeds in [1, {MAX_RUNS}]", seeds_value)
        first = config.load(base).seed
        seeds = [first + k for k in range(seeds_value)]
    else:
        if not seeds_value or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in seeds_value
        ):
            raise head.error("seeds", f"a non-empty list of whole numbers in [0, {MAX_SEED}]", seeds_value)
        seeds = list(seeds_value)
    max_concurrent = (
        head.integer("max_concurrent", default=None, low=1, high=100_000)
        if head.has("max_concurrent")
        else None
    )
    head._seen.add("max_concurrent")
    split_above = head.integer("split_above", default=1024, low=2, high=10_000_000)
    # "shared": every grid point runs the same seeds (common random numbers, for paired
    # comparisons); "independent": each grid point its own seeds, so points are independent draws
    streams = head.string("streams", default="shared", choices=("shared", "independent"))
    head.done()
    grid = top.table("grid")
    axes = []
    for key, values in grid.data.items():
        if not isinstance(values, list) or not values:
            raise grid.error(key, "a non-empty list of values", values)
        axes.append((key, values))
    grid._seen.update(grid.data)
    top.done()
    total = len(seeds) * math.prod(len(values) for _, values in axes)
    if total > MAX_RUNS:
        raise grid.error("", f"at most {MAX_RUNS} runs (seeds × grid points)", total)
    points = []
    for index, combo in enumerate(itertools.product(*(values for _, values in axes)) if axes else [()]):
        shift = index * (max(seeds) - min(seeds) + 1) if streams == "independent" else 0
        for seed in (s + shift for s in seeds):
            settings = tuple((key, value) for (key, _), value in zip(axes, combo))
            points.append(Point(f"run-{len(points) + 1:04d}", settings, seed))
    return Sweep(name, base, tuple(points), max_concurrent, path, split_above)


def _set(data: dict, dotted: str, value: Any, file: Path) -> None:
    """Set `a.b.0.c` in nested TOML data; integers index arrays of tables."""
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise InputError(
                    file, f"grid.{dotted}", f"an index below {len(node)} at {'.'.join(parts[: i + 1])}", part
                )
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise InputError(file, f"grid.{dotted}", f"a table at {'.'.join(parts[: i + 1])}", node)
    if isinstance(node, list):
        raise InputError(file, f"grid.{dotted}", "a key of a table, not an array", parts[-1])
    node[parts[-1]] = value


def _absolute_profiles(data: dict, base_dir: Path) -> None:
    """Profile paths in the base are relative to it; the runs' files live elsewhere."""
    for entry in data.get("population", {}).get("mix", []):
        reference = entry.get("profile")
        if isinstance(reference, str) and reference not in profiles.library():
            entry["profile"] = str((base_dir / reference).resolve())


def materialize(sweep: Sweep, sweep_dir: Path) -> list[tuple[Point, Path, config.Experiment]]:
    """Write every run's experiment file and check it; nothing runs before all are valid."""
    out = []
    for point in sweep.points:
        data = load_toml(sweep.base)
        _absolute_profiles(data, sweep.base.parent)
        for key, value in point.settings:
            _set(data, key, value, sweep.source)
        _set(data, "experiment.seed", point.seed, sweep.source)
        _set(data, "experiment.name", point.name, sweep.source)
        path = sweep_dir / "experiments" / f"{point.name}.toml"
        storage.write_text(storage.toml_text(data), path)
        try:
            experiment = config.load(path)
        except InputError as error:
            settings = ", ".join(f"{k} = {v!r}" for k, v in point.settings) or "no grid settings"
            raise InputError(
                sweep.source, error.field, f"{error.expected} (in {point.name}: {settings})", error.got
            ) from None
        out.append((point, path, experiment))
    return out


class _Monitor(threading.Thread):
    """Draws the sweep's progress bar from the runs' manifests (generations done, all runs).

    It reads only the manifests' own places (a run's, its drift twin's, each seed's), never walks
    a run's tables, and counts a run the sweep has recorded as ended only once: a walk of every
    file every half second grew with the sweep until it took a core from the runs
    (BENCHMARKS.md, 2026-12-07)."""

    PLACES = ("", "drift/", "seed=*/", "seed=*/drift/")

    def __init__(self, runs: list[Path], records: dict[str, dict], bar):
        super().__init__(daemon=True)
        self.runs, self.records, self.bar = runs, records, bar
        self.stop = threading.Event()
        self.ended: dict[Path, int] = {}

    def done(self) -> int:
        return sum(self.ended[run] if run in self.ended else self._count(run) for run in self.runs)

    def _count(self, run_dir: Path) -> int:
        ended = self.records[run_dir.name]["status"] in ("complete", "failed")  # before reading
        total = 0
        for place in self.PLACES:
            for manifest in run_dir.glob(f"{place}{MANIFEST}"):
                try:
                    total += json.loads(manifest.read_text()).get("generations_done", 0)
                except (OSError, ValueError):
                    pass
        if ended:
            self.ended[run_dir] = total
        return total

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.bar.advance(self.done() - self.bar.done)
            self.bar.tick()


def run_sweep(
    sweep_file: Path,
    out: Path,
    workers: int | None = None,
    address: str | None = None,
    max_concurrent: int | None = None,
    force: bool = False,
    progress: bool = True,
    resume: bool = False,
) -> Path:
    """Run (or resume) every run of a sweep; return the sweep directory."""
    from purity.tournament import capture, sweep_plan
    from purity.tournament.executor import InProcess, executor
    from purity.tournament.progress import Progress
    from purity.tournament.sweep_work import Work

    if resume:
        sweep_dir = Path(out)
        sweep, plan = _recorded(sweep_dir)
        for stale in (sweep_dir / "runs").glob(".*.tmp"):  # staging folders of killed runs
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
    else:
        sweep = load(sweep_file)
        sweep_dir = Path(out) / sweep.name
        storage.check_target(sweep_dir, force)
        with tempfile.TemporaryDirectory() as scratch:  # every run checked before anything is written
            materialize(sweep, Path(scratch))
    # Left to choose, the sweep starts in this process and starts Ray only once it pays (sweep_plan).
    choose = workers is None and address is None
    pool = InProcess() if choose else executor(workers, address)
    try:
        if not resume:
            storage.prepare(sweep_dir, force)
            storage.write_text(Path(sweep_file).read_text(encoding="utf-8"), sweep_dir / "sweep.toml")
            plan = materialize(sweep, sweep_dir)
        manifest = _sweep_manifest(sweep, sweep_dir, plan)
        storage.write_json(manifest, sweep_dir / "sweep.json")
        todo = _unfinished(plan, manifest, sweep_dir)
        for point, _, _ in todo:  # run again on resume: to do until its new end is recorded
            manifest["runs"][point.name].update(status="pending", error=None)
        copies = [(2 if e.neutral_drift else 1) * e.seeds * e.generations for _, _, e in plan]
        bar = Progress(sum(copies), f"sweep {sweep.name}", 1, enabled=progress, unit="generations")
        monitor = _Monitor([sweep_dir / "runs" / p.name for p, _, _ in plan], manifest["runs"], bar)
        monitor.start()
        work = Work(sweep_dir, manifest, pool, sweep.split_above, resume)

        if choose and todo:
            first, todo = todo[0], todo[1:]
            started, elsewhere = time.perf_counter(), sweep_plan.Elsewhere()
            work.one([first])
            seconds = time.perf_counter() - started
            left = seconds * sum(sweep_plan.weight(e) for _, _, e in todo) / sweep_plan.weight(first[2])
            load_now, cpus = elsewhere.load(), os.cpu_count() or 1
            pays = sweep_plan.ray_pays(left, cpus, load_now)
            why = "starting Ray" if pays else "staying in this process"
            log.info(
                "first run %.1f s, %.0f s left, load %.2f, %d CPUs: %s", seconds, left, load_now, cpus, why
            )
            if pays:
                pool = work.pool = executor(None, None)
        # Enough tasks in flight that a worker finishing one finds the next waiting.
        concurrent = max_concurrent or sweep.max_concurrent or 2 * max(pool.workers, 1)
        _run_all(work, work.packs(todo), concurrent)
        monitor.stop.set()
        monitor.join()
        bar.advance(monitor.done() - bar.done)
        if bar.done < bar.total:  # runs that stopped at fixation ended early
            bar.finish()
        failed = [name for name, record in manifest["runs"].items() if record["status"] != "complete"]
        manifest.update(status="failed" if failed else "complete", finished=capture.now())
        storage.write_json(manifest, sweep_dir / "sweep.json")
        _write_table(sweep_dir, manifest)
    finally:
        pool.close()
    return sweep_dir


def _run_all(work, packs: list, concurrent: int) -> None:
    """`work.one` of every pack in `concurrent` threads, waited for a quarter-second at a time:
    Ctrl-C may land in another thread, and then only wakes a main thread that does not wait
    forever. On Ctrl-C (or an error) no pack starts, and the runs going stop at their next
    generation (`stop.STOP`); they end as cut-off runs, which a resume continues."""
    with ThreadPoolExecutor(max_workers=concurrent) as threads:
        try:
            futures = [threads.submit(work.one, pack) for pack in packs]
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.25)
            for future in futures:
                future.result()
        except BaseException:
            stop.STOP.set()
            while True:  # the key pressed again while they stop: they are stopping already
                try:
                    threads.shutdown(wait=True, cancel_futures=True)
                    break
                except KeyboardInterrupt:
                    continue
            stop.STOP.clear()  # only once no run of this sweep is left
            raise


def _unfinished(plan, manifest: dict, sweep_dir: Path) -> list:
    """The runs still to do: a run is done when its record and its own files say so (a deleted
    run directory is run again)."""
    return [
        item
        for item in plan
        if manifest["runs"][item[0].name]["status"] != "complete"
        or not _complete(sweep_dir / "runs" / item[0].name)
    ]


def _complete(run_dir: Path) -> bool:
    from purity.tournament import runner

    return (run_dir / "manifest.json").is_file() and runner.is_complete(run_dir)


def _recorded(sweep_dir: Path) -> tuple[Sweep, list[tuple[Point, Path, config.Experiment]]]:
    """The sweep as it was started, from its own directory: its manifest and run files (the
    base experiment may have changed or moved since)."""
    if not (sweep_dir / "sweep.json").is_file():
        raise InputError(sweep_dir, "--resume", "a sweep directory (with sweep.json)")
    manifest = _read_manifest(sweep_dir / "sweep.json")
    plan = []
    for name, record in manifest["runs"].items():
        point = Point(name, tuple(record["settings"].items()), record["seed"])
        path = sweep_dir / record["experiment"]
        if not path.resolve().is_relative_to(sweep_dir.resolve()):
            raise InputError(
                sweep_dir / "sweep.json",
                f"runs.{name}.experiment",
                "a file inside the sweep directory",
                record["experiment"],
            )
        plan.append((point, path, config.load(path)))
    sweep = Sweep(
        manifest["name"],
        Path(manifest["base"]),
        tuple(p for p, _, _ in plan),
        manifest.get("max_concurrent"),
        sweep_dir / "sweep.toml",
        manifest.get("split_above", 1024),
    )
    return sweep, plan


def _read_manifest(file: Path) -> dict:
    """sweep.json, checked: a damaged one is one clear error, never a traceback."""
    manifest = load_json(file)
    runs = manifest.get("runs") if isinstance(manifest, dict) else None
    if not isinstance(runs, dict) or not runs or not isinstance(manifest.get("name"), str):
        raise InputError(file, "", "a sweep manifest (an object with name, base and runs)")
    for name, record in runs.items():
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("settings"), dict)
            or not isinstance(record.get("experiment"), str)
            or isinstance(record.get("seed"), bool)
            or not isinstance(record.get("seed"), int)
            or not isinstance(record.get("status"), str)
            or not all(c.isalnum() or c in "-_." for c in name)
            or name.startswith(".")
        ):
            raise InputError(file, f"runs.{name}", "a run record (settings, seed, experiment, status)")
    if not isinstance(manifest.get("base"), str):
        raise InputError(file, "base", "the path of the base experiment")
    return manifest


def _sweep_manifest(sweep: Sweep, sweep_dir: Path, plan) -> dict:
    """A new manifest, or the recorded one with its finished runs kept (resume)."""
    previous = _read_manifest(sweep_dir / "sweep.json") if (sweep_dir / "sweep.json").is_file() else {}
    known = previous.get("runs", {})
    return {
        "name": sweep.name,
        "role": "sweep",
        "base": str(sweep.base.resolve()),
        "status": "running",
        "started": previous.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "finished": None,
        "keys": [key for key, _ in sweep.points[0].settings],
        "max_concurrent": sweep.max_concurrent,
        "split_above": sweep.split_above,
        "runs": {
            point.name: known.get(point.name)
            or {
                "settings": dict(point.settings),
                "seed": point.seed,
                "experiment": str(path.relative_to(sweep_dir)),
                "status": "pending",
                "error": None,
            }
            for point, path, _ in plan
        },
    }


def _write_table(sweep_dir: Path, manifest: dict) -> None:
    """sweep.parquet: per run its name, seed, status and error, its value of each grid key
    (`set:<key>`) and the generations its main run completed. Figures are the sweep report's."""
    import polars as pl

    rows = []
    for name, record in manifest["runs"].items():
        row = {"run": name, "seed": record["seed"], "status": record["status"], "error": record["error"]}
        row |= {
            swept(key): value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
            for key, value in record["settings"].items()
        }
        row["generations_done"] = _generations_done(sweep_dir / "runs" / name)
        rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("generations_done").cast(pl.Int64)
    )
    storage.write_parquet(table, sweep_dir / "sweep.parquet")


def _generations_done(run_dir: Path) -> int | None:
    """The generations a single-seed run's manifest counts as complete; None without that count
    (a run that failed before writing its manifest, or a seed-replicates run: its seeds count)."""
    try:
        done = json.loads((run_dir / MANIFEST).read_text()).get("generations_done")
    except (OSError, ValueError):
        return None
    return done if isinstance(done, int) and not isinstance(done, bool) else None
