"""Runs an experiment: its generations (`generation.step`), recorded as they happen, with its
neutral-drift twin or its seed replicates (docs/architecture.md, docs/run-files.md).

Everything the report needs is written to the run directory as it happens; nothing lives only
in memory. The run's neutral-drift twin, when asked for, is the same experiment and seed family
with selection intensity 0, written to `<run>/drift/`.

A run resumes from its last complete generation (`resume`): the experiment comes back from the
copy the run captured at its start (`capture`), and the population from the last agents table
(`restore`), so the tables end up those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from purity.tournament import capture, generalise, generation, null, record, restore, stop, storage
from purity.tournament.config import Experiment
from purity.tournament.executor import executor
from purity.tournament.progress import Progress, say

# Seconds between the manifest's writes inside a run's generations (and one at its end). The
# manifest is what resuming and a sweep's progress read; tables written after its last count are
# dropped and played again on resume, so a kill loses at most this much work, and short
# generations no longer pay a file's write each (BENCHMARKS.md, 2026-12-07).
MANIFEST_EVERY = 1.0


def run(
    experiment: Experiment,
    out: Path,
    workers: int | None = None,
    address: str | None = None,
    force: bool = False,
    progress: bool = True,
    pool=None,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """Run the experiment (and its drift twin) into `out/<name>`; return the run directory.

    `pool` reuses a started executor (it is then left open); otherwise one is started from
    `workers` and `address` and closed at the end. `finish(run_dir)` (writing the report) runs
    while the run still holds its lock, so nobody can replace the directory under it.
    """
    run_dir = Path(out) / experiment.name
    storage.check_target(run_dir, force)  # fail fast, before Ray starts
    if generalise.generalises(experiment):
        generalise.check(experiment)
    with _executor(workers, address, pool) as pool:
        storage.prepare(run_dir, force)  # only once Ray is up: a failed connection leaves nothing
        with _writing(run_dir, finish, progress):
            if generalise.generalises(experiment):
                generalise.start(experiment, run_dir, pool)
                return run_dir
            if experiment.seeds == 1:
                _run_with_twin(experiment, run_dir, pool, progress)
            else:
                _run_replicates(experiment, run_dir, pool, progress)
            record_nulls(experiment, run_dir, progress)
    return run_dir


def record_nulls(experiment: Experiment, run_dir: Path, show: bool = False) -> None:
    """The nulls `[control] null` asks for (`null_replicates` each, or as many as the verdicts'
    corrected tests need), written beside the finished run or seed-replicate set."""
    if experiment.nulls:
        say("simulating the nulls", show)
        null.record_nulls(
            run_dir, experiment, replicates=experiment.null_replicates or None, kinds=experiment.nulls
        )


@contextmanager
def _executor(workers: int | None, address: str | None, pool):
    """The given executor, or one started here and closed when the work is done."""
    if pool is not None:
        yield pool
        return
    pool = executor(workers, address)
    try:
        yield pool
    finally:
        pool.close()


@contextmanager
def _writing(run_dir: Path, finish: Callable[[Path], object] | None, show: bool = False):
    """Hold the run's lock, sweep crash leftovers, do the work, then `finish` (the report)."""
    with storage.locked(run_dir):
        storage.sweep_temporaries(run_dir)
        yield
        if finish is not None:
            say("writing the report", show)
            finish(run_dir)


def resume(
    run_dir: Path,
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    pool=None,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """Continue a run directory from its last complete generation; return it.

    The experiment is the copy the run captured when it started, never the file it came from.
    Leftovers of the generation that was cut off (and every temporary file) are deleted first;
    the tables then end up exactly those of an uninterrupted run. A complete run is left as it is.
    The run's lock is taken before Ray starts: a run another process still writes is refused at once.
    """
    run_dir = Path(run_dir)
    if storage.read_manifest(run_dir).get("role") == generalise.ROLE and not is_complete(run_dir):
        manifest = storage.read_manifest(run_dir)
        capture.recall(run_dir, manifest)  # fail fast, before Ray starts
        with _writing(run_dir, finish, progress), _executor(workers, address, pool) as pool:
            generalise.resume(run_dir, pool, manifest)
        return run_dir
    if is_complete(run_dir):
        if storage.read_manifest(run_dir).get("role") == generalise.ROLE:
            return run_dir
        if not (run_dir / record.NULL_MANIFEST).is_file():  # cut off after its tables, before its nulls
            with storage.locked(run_dir):
                record_nulls(capture.recall(run_dir, storage.read_manifest(run_dir)), run_dir)
        return run_dir
    manifest = storage.read_manifest(run_dir)
    experiment = capture.recall(run_dir, manifest)  # fail fast, before Ray starts
    with _writing(run_dir, finish, progress), _executor(workers, address, pool) as pool:
        if manifest.get("role") == "replicates":
            _resume_replicates(experiment, run_dir, manifest, pool, progress)
        else:
            _resume_with_twin(experiment, run_dir, pool, progress)
        record_nulls(experiment, run_dir, progress)
    return run_dir


def is_complete(run_dir: Path) -> bool:
    """Whether the run directory (with its drift twin, or all its seeds) has finished."""
    manifest = storage.read_manifest(Path(run_dir))
    if manifest.get("status") != "complete":
        return False
    if manifest.get("role") == "replicates":
        return True
    twin = Path(run_dir) / record.DRIFT
    if manifest.get("experiment", {}).get("control", {}).get("neutral_drift"):
        return (twin / record.MANIFEST).is_file() and is_complete(twin)
    return True


def _resume_with_twin(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    manifest = storage.read_manifest(run_dir)
    twin = run_dir / record.DRIFT
    if manifest["status"] != "complete":
        if twin.exists():  # a twin starts only after its main run completed: this one is stale
            shutil.rmtree(twin)
        _run_one(experiment, run_dir, pool, manifest.get("role", "main"), progress, manifest)
    if experiment.neutral_drift:
        if (twin / record.MANIFEST).is_file():
            previous = storage.read_manifest(twin)
            if previous["status"] != "complete":
                _run_one(experiment.drift_twin(), twin, pool, "drift", progress, previous)
        else:
            _fresh_dir(twin)
            _run_one(experiment.drift_twin(), twin, pool, "drift", progress)


def _resume_replicates(experiment: Experiment, run_dir: Path, manifest: dict, pool, progress: bool) -> None:
    capture.check_recorded(experiment, manifest, run_dir)
    complete = [
        name
        for name in manifest["runs"]
        if (run_dir / name / record.MANIFEST).is_file() and is_complete(run_dir / name)
    ]
    manifest.update(status="running", finished=None)
    manifest.setdefault("resumed", []).append(
        {"runs_complete": len(complete), "at": capture.now(), "git_revision": capture.git_revision()}
    )
    storage.write_json(manifest, run_dir / record.MANIFEST)
    _each_seed(experiment, run_dir, manifest, pool, progress)


def _each_seed(experiment: Experiment, run_dir: Path, manifest: dict, pool, progress: bool) -> None:
    """Run (or resume, where a seed's run already started) every seed of a replicate set, and
    keep the set's manifest status in step."""
    with _status(manifest, run_dir):
        for replicate, name in zip(experiment.replicates(), manifest["runs"]):
            if (run_dir / name / record.MANIFEST).is_file():
                _resume_with_twin(replicate, run_dir / name, pool, progress)
            else:
                _fresh_dir(run_dir / name)
                _run_with_twin(replicate, run_dir / name, pool, progress)


@contextmanager
def _status(manifest: dict, run_dir: Path):
    """Record in the manifest how the work inside ended: complete, interrupted (Ctrl-C) or failed
    (and re-raise)."""
    try:
        yield
    except BaseException as error:
        pressed = isinstance(error, KeyboardInterrupt) or stop.STOP.is_set()  # a library may eat the key
        manifest["status"] = "interrupted" if pressed else "failed"
        storage.write_json(manifest, run_dir / record.MANIFEST)
        raise
    manifest.update(status="complete", finished=capture.now())
    storage.write_json(manifest, run_dir / record.MANIFEST)


def _fresh_dir(path: Path) -> None:
    """An empty folder for a run that had not written its manifest yet."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()


def _run_with_twin(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    _run_one(experiment, run_dir, pool, "main", progress)
    if experiment.neutral_drift:
        (run_dir / record.DRIFT).mkdir()
        _run_one(experiment.drift_twin(), run_dir / record.DRIFT, pool, "drift", progress)


def _run_replicates(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    """`seeds` single-seed runs in `seed=<s>/` below one directory, whose manifest lists them."""
    manifest = capture.replicates_manifest(experiment)
    storage.write_json(manifest, run_dir / record.MANIFEST)
    capture.capture(experiment, run_dir, manifest)
    _each_seed(experiment, run_dir, manifest, pool, progress)


def _run_one(
    experiment: Experiment, run_dir: Path, pool, role: str, show: bool, previous: dict | None = None
) -> None:
    """Run generations into `run_dir`: all of them, or (with the `previous` manifest of a run
    that was cut off) those after its last complete generation."""
    context, pop = generation.begin(experiment, pool)
    start = 0
    if previous is None:
        manifest = capture.manifest(experiment, context.terms, context.arena, role)
        storage.write_json(manifest, run_dir / record.MANIFEST)
        capture.capture(experiment, run_dir, manifest)
    else:
        manifest, start = previous, int(previous["generations_done"])
        context, pop = _pick_up(context, pop, run_dir, manifest, start)
    finished = "stopped" in manifest or start >= experiment.generations
    label = f"{experiment.name} seed {experiment.seed}{' (drift)' if role == 'drift' else ''}{f' from gen {start}' if start else ''}"
    bar = Progress(
        experiment.generations - start,
        label,
        experiment.population * experiment.arena.episodes,
        enabled=show and not finished,
    )
    written = time.monotonic()
    with _status(manifest, run_dir):
        for g in range(start, experiment.generations if not finished else start):
            stop.check(f"generation {g}")
            done = generation.step(context, pop, g)
            for table, filed, rows in done.tables:
                storage.write_parquet(rows, storage.table_path(run_dir, table, filed))
            pop = done.population
            manifest["generations_done"] = g + 1
            if done.fixed:
                manifest["stopped"] = {"reason": "fixation", "generation": g}
            if done.fixed or time.monotonic() - written >= MANIFEST_EVERY:
                storage.write_json(manifest, run_dir / record.MANIFEST)
                written = time.monotonic()
            bar.advance()
            if done.fixed:
                bar.finish()
                break


def _pick_up(context: generation.Context, pop, run_dir: Path, manifest: dict, start: int):
    """The context and population a run cut off after `start` generations continues with; what
    the cut-off generation left is deleted, and the manifest says the run goes on."""
    capture.check_recorded(context.experiment, manifest, run_dir)
    storage.drop_generations(run_dir, start)
    founders = dict(zip(pop.ids.tolist(), context.names(pop)))
    context = dataclasses.replace(context, lineage=restore.lineage(run_dir, founders, start))
    if start > 0 and "stopped" not in manifest and start < context.experiment.generations:
        pop = restore.population(context, run_dir, start)
    if not manifest.get("experiment_file"):  # cut off before it captured its experiment
        capture.capture(context.experiment, run_dir, manifest)
    manifest.update(status="running", finished=None)
    manifest.setdefault("resumed", []).append(
        {"generation": start, "at": capture.now(), "git_revision": capture.git_revision()}
    )
    storage.write_json(manifest, run_dir / record.MANIFEST)
    return context, pop
