"""A sweep's runs at work: small runs whole inside tasks (several to a task on Ray), large runs cut
into generations like any run, and each run's outcome recorded in the sweep's manifest as it ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import traceback
import uuid
from pathlib import Path

from purity.tournament import config, storage
from purity.tournament.record import MANIFEST


def run_whole(_: None, experiment: config.Experiment) -> dict[str, bytes]:
    """Run a small experiment in one task (in that worker's process) and return its files.

    Small runs spend most of their time in the driver's own work (selection, writes); as whole
    tasks that work is spread over the workers too, and the files travel back with the result,
    so worker nodes need no shared filesystem.
    """
    from purity.tournament import runner

    with tempfile.TemporaryDirectory() as scratch:
        run_dir = runner.run(experiment, Path(scratch), workers=0, progress=False)
        return {
            str(path.relative_to(run_dir)): path.read_bytes()
            for path in sorted(run_dir.rglob("*"))
            if path.is_file()
        }


def run_pack(_: None, experiments: list[config.Experiment]) -> list[dict[str, bytes] | str]:
    """Several small runs in one task (`sweep_plan.packs`): each run's files, or its error's text
    (one failing run does not lose the others)."""
    out: list[dict[str, bytes] | str] = []
    for experiment in experiments:
        try:
            out.append(run_whole(None, experiment))
        except Exception as exc:
            out.append(_error_text(exc))
    return out


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


class Work:
    """Runs packs of a sweep's runs (`(point, path, experiment)` items) on `pool`, recording each
    run's status in `manifest` (sweep.json) as it ends; `one` is called from several threads."""

    def __init__(self, sweep_dir: Path, manifest: dict, pool, split: int, resume: bool):
        self.sweep_dir, self.manifest, self.pool, self.split, self.resume = (
            sweep_dir,
            manifest,
            pool,
            split,
            resume,
        )
        self._lock = threading.Lock()

    def packs(self, todo: list) -> list[list]:
        """Small runs in packs on Ray (`sweep_plan.packs`), one to a pack in this process (no task
        to save, and progress per run); large runs one each."""
        from purity.tournament import sweep_plan
        from purity.tournament.executor import RayExecutor

        small = [item for item in todo if item[2].population < self.split]
        if isinstance(self.pool, RayExecutor):
            work = sweep_plan.packs(small, self.pool.workers)
        else:
            work = [[item] for item in small]
        return work + [[item] for item in todo if item[2].population >= self.split]

    def record(self, item, error: str | None) -> None:
        with self._lock:
            self.manifest["runs"][item[0].name].update(status="failed" if error else "complete", error=error)
            storage.write_json(self.manifest, self.sweep_dir / "sweep.json")

    def one(self, pack: list) -> None:
        runs = self.sweep_dir / "runs"
        if self.resume:
            for point, _, _ in pack:
                _discard_half_made(runs / point.name)
        if pack[0][2].population < self.split:  # small: whole runs, several to a task
            try:
                results = self.pool.map(run_pack, None, [[e for _, _, e in pack]])[0]
            except Exception as exc:  # the task itself failed: every run of it did
                results = [_error_text(exc)] * len(pack)
            for item, result in zip(pack, results):
                if not isinstance(result, str):
                    try:
                        _place(result, runs / item[0].name)
                        result = None
                    except Exception as exc:
                        result = _error_text(exc)
                self.record(item, result)
            return
        self.record(pack[0], self._large(pack[0]))

    def _large(self, item) -> str | None:
        """A large run, its generations cut into tasks like any run's; its error's text or None."""
        from purity.tournament import runner

        run_dir = self.sweep_dir / "runs" / item[0].name
        try:
            if self.resume and (run_dir / MANIFEST).is_file():
                runner.resume(run_dir, pool=self.pool, progress=False)
            else:
                runner.run(item[2], self.sweep_dir / "runs", pool=self.pool, force=True, progress=False)
        except Exception as exc:  # a failing run is recorded; the others go on
            return _error_text(exc)
        return None


def _place(files: dict[str, bytes], run_dir: Path) -> None:
    """Write a run's files under a hidden temporary folder and rename it into place: a kill
    leaves either no run folder or a whole one, never a folder without its manifest."""
    staging = run_dir.parent / f".{run_dir.name}.{uuid.uuid4().hex}.tmp"
    try:
        # the staging folder's rename is what makes the run whole, so its files are written plainly
        for folder in sorted({(staging / relative).parent for relative in files}):
            folder.mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            (staging / relative).write_bytes(data)
        storage.prepare(run_dir, force=True)
        run_dir.rmdir()
        os.replace(staging, run_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _discard_half_made(run_dir: Path) -> None:
    """A sweep's own run folder left without a manifest (a kill before the run wrote it) holds
    nothing to keep: remove it before running again."""
    if run_dir.is_dir() and not run_dir.is_symlink() and not (run_dir / MANIFEST).is_file():
        shutil.rmtree(run_dir)
