"""Survival reports: read a run directory (files only), compute survival metrics, write Markdown + HTML.

`reports` never imports `tournament`, `agents` or `arenas`: a report is rebuilt from the run
directory alone. Importing this package is cheap (polars loads only when a run is read), because
the CLI imports it to build `--help`.

A directory holds one of three layouts, which `kind_of` tells apart:

- a single-seed run (`load` → `Run`);
- for `[experiment] seeds = K > 1`, one complete run per seed in `seed=<s>/` folders
  (`load_replicates` → `Replicates`);
- a sweep: `sweep.json`, `sweep.parquet` and `runs/<name>/` run directories (`load_sweep` → `Sweep`).

`report(path)` is the one entry point for all three: it writes report.md and report.html, or
returns the report as a JSON-ready dict (`format="json"`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .load import (
    Replicates,
    ReportError,
    Run,
    Sweep,
    SweepRun,
    is_replicates,
    is_sweep,
    kind_of,
    load,
    load_any,
    load_replicates,
    load_sweep,
)

__all__ = [
    "FORMATS",
    "Replicates",
    "ReportError",
    "Run",
    "Sweep",
    "SweepRun",
    "is_replicates",
    "is_sweep",
    "kind_of",
    "load",
    "load_any",
    "load_replicates",
    "load_sweep",
    "report",
    "to_json",
    "write_report",
    "write_sweep_report",
]

FORMATS = ("html", "json")


def report(
    path: str | Path, format: str = "html", *, run_reports: bool = False
) -> list[Path] | dict[str, Any]:
    """Report on the run, replicates set or sweep at `path`, whichever it holds.

    format "html": write report.md and report.html into `path` (atomically) and return
    [md_path, html_path]. format "json": write nothing and return the report as a dict of plain
    JSON types in a stable key order (`purity.reports.export`; dump it with `json.dumps(d, indent=2)` or
    `purity.reports.export.dumps(d)`). run_reports=True (sweeps, format "html" only) also writes every
    run's own report first, so the sweep report links to each. Raises `ReportError` (message
    "<file>: expected …") for a directory that is none of the three, `ValueError` for an unknown
    format.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    path = Path(path)
    if format == "json":
        from .export import to_json

        return to_json(path)
    if is_sweep(path):
        from .sweep_report import write_sweep_report

        return list(write_sweep_report(path, run_reports=run_reports))
    from .render import write_report

    return list(write_report(path))


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from .render import write_report

        return write_report
    if name == "write_sweep_report":
        from .sweep_report import write_sweep_report

        return write_sweep_report
    if name == "to_json":
        from .export import to_json

        return to_json
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
