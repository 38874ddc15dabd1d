"""Survival reports: read a run directory (files only), compute survival metrics, write Markdown + HTML.

`reports` never imports `tournament`, `agents` or `arenas`: a report is rebuilt from the run
directory alone. Importing this package is cheap (polars loads only when a run is read), because
the CLI imports it to build `--help`.

A run directory holds either one seed (`load` → `Run`) or, for `[experiment] seeds = K > 1`, one
complete run per seed in `seed=<s>/` folders (`load_replicates` → `Replicates`); `is_replicates`
tells them apart and `write_report` handles both.
"""

from __future__ import annotations

from typing import Any

from .load import (
    Replicates,
    ReportError,
    Run,
    is_replicates,
    load,
    load_any,
    load_replicates,
)

__all__ = [
    "Replicates",
    "ReportError",
    "Run",
    "is_replicates",
    "load",
    "load_any",
    "load_replicates",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from .render import write_report

        return write_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
