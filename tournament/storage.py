"""The run directory (design §7): atomic writes of Parquet and JSON, and its layout.

Every file is written under a temporary name `.<name>.<uuid>.tmp` in its final folder and then
renamed, so a reader (or a crash) never sees half a file; readers glob `**/*.parquet`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import polars as pl

from arenas.inputs import InputError

TABLES = ("agents", "episodes", "lineage")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    _atomic(path, frame.write_parquet)


def _plain(value: Any) -> Any:
    """JSON has no infinity: hard weights are written as the string "inf"."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def write_json(data: dict, path: Path) -> None:
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"
    _atomic(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_text(text: str, path: Path) -> None:
    _atomic(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def table_path(run_dir: Path, table: str, generation: int) -> Path:
    return run_dir / table / f"gen={generation}" / "part-0.parquet"


def check_target(run_dir: Path, force: bool) -> None:
    """Refuse a run directory that exists (unless `force` may replace it) before any work starts."""
    if run_dir.is_symlink():
        raise InputError(run_dir, "--out", "a run directory that is not a symbolic link")
    if not run_dir.exists():
        return
    if not force:
        raise InputError(run_dir, "", "a run directory that does not exist yet (pass --force to replace it)")
    if any(run_dir.iterdir()) and not (run_dir / "manifest.json").is_file():
        raise InputError(run_dir, "--force", "a purity run directory (manifest.json) to replace; refusing to delete another folder")


def prepare(run_dir: Path, force: bool) -> None:
    """Create an empty run directory, replacing an old run only when `force` allows it."""
    check_target(run_dir, force)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
