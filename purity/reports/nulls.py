"""A run's figures and its null distributions, as the frames `inference` compares.

The null files are written by the run (`<run>/null/<kind>.parquet`, one row per null replicate and
process term, in the columns of `record.NULL_FIGURES`); this module reads them, and computes the
same figures for the run's own seeds from its tables, so a verdict is rebuilt from files alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from purity.tournament import record

from . import metrics, price
from .load import MANIFEST, REPLICATES_ROLE, Run, per_run

FIGURE_SCHEMA = {
    "replicate": pl.Int64,
    "term": pl.String,
    "start": pl.Float64,
    "end": pl.Float64,
    "selection": pl.Float64,
    "mutation": pl.Float64,
    "design": pl.Float64,
    "self_modify": pl.Float64,
    "lock_in": pl.Int64,
    "generations": pl.Int64,
}


def null_dir(path: str | Path) -> Path | None:
    """Where the nulls of a run directory are: its own `null/`, or, for one seed of a
    seed-replicate set, the set's (the seeds share one experiment, so one null)."""
    path = Path(path)
    for candidate in (path, path.parent):
        if (candidate / record.NULL).is_dir():
            if candidate == path or _role(candidate) == REPLICATES_ROLE:
                return candidate / record.NULL
    return None


def _role(path: Path) -> str | None:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("role")
    except (OSError, ValueError, AttributeError):
        return None


def load_null(path: str | Path, kind: str = "drift") -> pl.DataFrame | None:
    """The null's figures (None if the run has no such null)."""
    folder = null_dir(path)
    file = None if folder is None else folder.parent / record.null_table(kind)
    if file is None or not file.is_file():
        return None
    return pl.read_parquet(file).select(list(FIGURE_SCHEMA)).cast(FIGURE_SCHEMA)


def load_null_curve(path: str | Path, kind: str = "drift") -> pl.DataFrame | None:
    """The null's carrier share per generation and term: mean, low, median, high (None if absent)."""
    folder = null_dir(path)
    file = None if folder is None else folder.parent / record.null_curve(kind)
    return pl.read_parquet(file) if file is not None and file.is_file() else None


def null_info(path: str | Path) -> dict:
    """Per kind of null: replicates, seed, seconds it took, tests it was sized for, what it holds."""
    folder = null_dir(path)
    file = None if folder is None else folder.parent / record.NULL_MANIFEST
    return json.loads(file.read_text(encoding="utf-8")) if file is not None and file.is_file() else {}


@per_run
def run_figures(run: Run, replicate: int = 0) -> pl.DataFrame:
    """The run's own figures, one row per process term, in the null's columns: carrier share at
    the first and last generation, the cumulative Price parts of that share (mutation with exact
    copies, as `price.force_values`), the lock-in generation and the generations recorded."""
    terms = [t["key"] for t in run.process_terms]
    if not terms or run.agents.height == 0:
        return pl.DataFrame(schema=FIGURE_SCHEMA)
    shares = metrics.survival(run).sort("generation")
    ends = shares.group_by("term", maintain_order=True).agg(
        start=pl.col("share").first(), end=pl.col("share").last()
    )
    totals = price.totals(price.decompose(run)).filter(pl.col("kind") == "carriers")
    forces = {row["term"]: price.force_values(row) for row in totals.iter_rows(named=True)}
    locked = metrics.lock_in(run)
    generations = int(run.agents["generation"].n_unique())
    rows = []
    for row in ends.iter_rows(named=True):
        force = forces.get(row["term"], dict.fromkeys(price.FORCES, 0.0))
        rows.append(
            {
                "replicate": replicate,
                "term": row["term"],
                "start": row["start"],
                "end": row["end"],
                **{name: force[name] for name in price.FORCES},
                "lock_in": None if locked is None else locked.generation,
                "generations": generations,
            }
        )
    return pl.DataFrame(rows, schema=FIGURE_SCHEMA)


def seed_figures(runs: Sequence[Run]) -> pl.DataFrame:
    """`run_figures` of every seed, the seed as `replicate` (its position when it has none)."""
    frames = [run_figures(run, run.seed if run.seed is not None else i) for i, run in enumerate(runs)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=FIGURE_SCHEMA)
