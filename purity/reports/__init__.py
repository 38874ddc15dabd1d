"""Survival reports: read a run directory (files only), compute survival metrics, write Markdown,
HTML and JSON.

`reports` reads the files a run wrote, and imports from the rest of purity only the run-file
format (`purity.tournament.record`): a report is rebuilt from the run directory alone. Importing
this package is cheap (polars loads only when a run is read), because the CLI imports it to build
`--help`.

A directory holds one of three layouts, which `kind_of` tells apart, and each has one report kind:

- a single-seed run (`load` → `Run`; `run_report`, drawn by `run_page`);
- for `[experiment] seeds = K > 1`, one complete run per seed in `seed=<s>/` folders
  (`load_replicates` → `Replicates`; `replicates_report`, drawn by `replicates_page`);
- a sweep: `sweep.json`, `sweep.parquet` and `runs/<name>/` run directories (`load_sweep` →
  `Sweep`; `sweep_report`, drawn by `sweep_page`).

Each kind's `collect` computes every figure once; its page (Markdown and HTML, built with the
`page` toolkit) and its JSON (`to_json`) render that same data. `report(path)` is the one entry
point for all three: it writes report.md and report.html, or returns the report as a JSON-ready
dict (`format="json"`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .load import (
    Replicates,
    ReportError,
    Run,
    is_replicates,
    is_sweep,
    kind_of,
    load,
    load_replicates,
)
from .sweep_load import Sweep, SweepRun, load_sweep

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
    "sweep_figures",
    "to_json",
    "write_report",
    "write_sweep_report",
]

FORMATS = ("html", "json")


def load_any(path: str | Path) -> Run | Replicates | Sweep:
    """`load_sweep` for a sweep directory, `load_replicates` for a replicates directory, else `load`."""
    kind = kind_of(path)
    return (
        load_sweep(path) if kind == "sweep" else load_replicates(path) if kind == "replicates" else load(path)
    )


def report(
    path: str | Path, format: str = "html", *, run_reports: bool = False
) -> list[Path] | dict[str, Any]:
    """Report on the run, replicates set or sweep at `path`, whichever it holds.

    format "html": write report.md and report.html into `path` (atomically) and return
    [md_path, html_path]. format "json": write nothing and return the report as a dict of plain
    JSON types in a stable key order (dump it with `json.dumps(d, indent=2)` or
    `purity.reports.export.dumps(d)`). run_reports=True (sweeps, format "html" only) also writes every
    run's own report first, so the sweep report links to each. Raises `ReportError` (message
    "<file>: expected …") for a directory that is none of the three, `ValueError` for an unknown
    format.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    path = Path(path)
    from . import training_study

    if training_study.is_study(path) or training_study.is_study_sweep(path):
        return training_study.to_json(path) if format == "json" else list(training_study.write(path))
    if format == "json":
        return to_json(path)
    if is_sweep(path):
        return list(write_sweep_report(path, run_reports=run_reports))
    return list(write_report(path))


def write_report(path: str | Path, *, lock_in_share: float | None = None) -> tuple[Path, Path]:
    """Write report.md and report.html of a single-seed run or of a replicates directory (the
    report over seeds) into it, atomically; return both paths. The lock-in threshold is the
    experiment's `lock_in` (0.9 if the manifest has none) unless given here."""
    from .page import write_page

    options = {"lock_in_share": lock_in_share}
    if is_replicates(path):
        from . import replicates_page, replicates_report

        reps = load_replicates(path)
        return write_page(reps.path, replicates_page.page(replicates_report.collect(reps, **options)))
    from . import run_page, run_report

    run = load(path)
    return write_page(run.path, run_page.page(run_report.collect(run, **options)))


def write_sweep_report(sweep_dir: str | Path, *, run_reports: bool = False) -> tuple[Path, Path]:
    """Read a sweep directory, write report.md and report.html into it atomically, return both paths.

    run_reports=True first writes every run's own report (`write_report(runs/<name>)`), so each
    entry of the run list links to one; otherwise only reports already there are linked.
    """
    from . import sweep_page, sweep_report
    from .page import write_page

    sweep = load_sweep(sweep_dir)
    problems: list[str] = []
    for run in sweep.runs if run_reports else ():
        if run.exists:
            try:
                write_report(run.path)
            except ReportError as exc:
                problems.append(f"{run.name}: no report written ({exc})")
    return write_page(sweep.path, sweep_page.page(sweep_report.collect(sweep, problems=problems)))


def sweep_figures(sweep_dir: str | Path) -> Any:
    """A polars DataFrame with one row per single-seed run of the sweep at `sweep_dir`: run, seed,
    `set:<key>` settings and every figure of its last generation, read from the run directories
    (`sweep_report.figures_frame`)."""
    from . import sweep_report

    return sweep_report.figures_frame(sweep_report.collect(load_sweep(sweep_dir)))


def to_json(path: str | Path, *, lock_in_share: float | None = None) -> dict[str, Any]:
    """The report of the run, replicates set or sweep at `path` as a JSON-ready dict (`export`).

    Top-level keys: format, version, kind ("run" | "replicates" | "sweep"), name, path, then the
    kind's own sections (`run_report.to_json`, `replicates_report.to_json`, `sweep_report.to_json`).
    Raises `ReportError` for a directory that is none of the three.
    """
    kind = kind_of(path)
    if kind == "sweep":
        from . import sweep_report

        return sweep_report.to_json(sweep_report.collect(load_sweep(path)))
    options = {"lock_in_share": lock_in_share}
    if kind == "replicates":
        from . import replicates_report

        return replicates_report.to_json(replicates_report.collect(load_replicates(path), **options))
    from . import run_report

    return run_report.to_json(run_report.collect(load(path), **options))
