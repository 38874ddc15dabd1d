"""Survival reports: read a run directory (files only), compute survival metrics, write Markdown + HTML.

`reports` never imports `tournament`, `agents` or `arenas`: a report is rebuilt from the run
directory alone. Importing this package is cheap (polars loads only when a run is read), because
the CLI imports it to build `--help`.
"""

from __future__ import annotations

from typing import Any

from .load import ReportError, Run, load

__all__ = ["ReportError", "Run", "load", "write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from .render import write_report

        return write_report
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
