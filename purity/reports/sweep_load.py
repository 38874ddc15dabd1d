"""Read a sweep directory: its manifest (`sweep.json`), its table (`sweep.parquet`) and where each
run's directory is. The runs themselves are read by the sweep report (`sweep_report.observe`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .load import MANIFEST, SWEEP_MANIFEST, SWEEP_ROLE, ReportError, is_replicates, read_json

if TYPE_CHECKING:
    import polars as pl

SWEEP_TABLE = "sweep.parquet"
SWEEP_RUNS = "runs"
SWEEP_STATUSES = ("pending", "running", "complete", "failed")
SWEEP_TABLE_COLUMNS = ("run", "seed", "status", "error")


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep as its manifest records it: grid settings, seed, status, error, and its
    directory (`runs/<name>`, which may not exist yet)."""

    name: str
    settings: dict[str, Any]
    seed: int | None
    status: str
    error: str | None
    experiment: str | None
    path: Path

    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    @property
    def is_replicates(self) -> bool:
        return is_replicates(self.path)


@dataclass(frozen=True)
class Sweep:
    """A sweep directory: the manifest (`sweep.json`), its runs in manifest order, and `sweep.parquet`
    (None while the sweep is running: the table is written when it ends)."""

    path: Path
    manifest: dict[str, Any]
    keys: tuple[str, ...]
    runs: tuple[SweepRun, ...]
    table: pl.DataFrame | None = None

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def status(self) -> str | None:
        status = self.manifest.get("status")
        return str(status) if status is not None else None

    def __repr__(self) -> str:
        done = sum(run.status == "complete" for run in self.runs)
        keys = f", keys {', '.join(self.keys)}" if self.keys else ""
        return f"<Sweep {self.name!r}: {len(self.runs)} runs ({done} complete){keys}; {self.path}>"

    def values(self, key: str) -> list[Any]:
        """The values `key` takes over the runs, in order of first appearance (the grid's order)."""
        seen: dict[str, Any] = {}
        for run in self.runs:
            if key in run.settings:
                seen.setdefault(json.dumps(run.settings[key], sort_keys=True), run.settings[key])
        return list(seen.values())


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep directory's manifest and table; raise `ReportError` naming the file if it is not one.

    The runs' own directories are not read here (a sweep can hold thousands): `SweepRun.path`
    points at each; `purity.reports.load_any(run.path)` reads one.
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportError(path, "a sweep directory (it does not exist or is not a directory)")
    file = path / SWEEP_MANIFEST
    if not file.is_file():
        raise ReportError(file, "a sweep.json (not a sweep directory, or the sweep never started)")
    manifest = read_json(file)
    if manifest.get("role") != SWEEP_ROLE:
        raise ReportError(file, 'role "sweep"')
    keys = manifest.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ReportError(file, "keys to be a list of experiment keys (strings)")
    records = manifest.get("runs")
    if not isinstance(records, dict):
        raise ReportError(file, "runs to be an object {run name: {settings, seed, status, error}}")
    table = _read_table(path / SWEEP_TABLE)
    runs = tuple(_sweep_run(file, path, name, record) for name, record in records.items())
    return Sweep(path, manifest, tuple(keys), runs, table)


def _sweep_run(file: Path, path: Path, name: str, record: Any) -> SweepRun:
    where = f"runs.{name}"
    if not name or Path(name).name != name or name in (".", ".."):
        raise ReportError(file, f"run names that are plain folder names (got {name!r})")
    if not isinstance(record, dict):
        raise ReportError(file, f"{where} to be an object with settings, seed, status")
    settings = record.get("settings", {})
    if not isinstance(settings, dict):
        raise ReportError(file, f"{where}.settings to be an object {{key: value}}")
    seed = record.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ReportError(file, f"{where}.seed to be an integer")
    status = record.get("status", "pending")
    if status not in SWEEP_STATUSES:
        raise ReportError(file, f"{where}.status to be one of {', '.join(SWEEP_STATUSES)}")
    error, experiment = record.get("error"), record.get("experiment")
    return SweepRun(
        name,
        dict(settings),
        seed,
        str(status),
        None if error is None else str(error),
        str(experiment) if experiment is not None else None,
        path / SWEEP_RUNS / name,
    )


def _read_table(file: Path) -> pl.DataFrame | None:
    if not file.is_file():
        return None
    import polars as pl

    try:
        table = pl.read_parquet(file)
    except Exception as exc:  # noqa: BLE001 - any decode failure is the same fact for the user
        raise ReportError.failed(file, "a readable parquet file", exc) from None
    missing = [c for c in SWEEP_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ReportError(file, f"the columns {', '.join(missing)}")
    return table
