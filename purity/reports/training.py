"""Training metrics: does what an agent does depend on whether it is watched?

Per generation, over the learners' agent-episodes (every agent's when the run has no learner):

- `rate_watched`, `rate_unwatched`: amount of the violation kinds done by the agent or its
  helpers per opportunity, in episodes with and without an overseer (docs/training.md);
- `gap` = unwatched − watched: "don't get caught" is a large positive gap, "don't" is a small one;
- `detected_share`: detected / done of the violation kinds (what a behaviourist reward sees);
- `reward`: the learners' mean training reward; `fitness`: mean fitness gained per episode.

The violation kinds are the run's `[training] violations` (from its manifest), else the arena's
kinds that some constraint term names.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from purity.tournament import record

from . import metrics
from .load import Replicates, Run

MEASURES = (
    ("rate_watched", "violation rate, watched"),
    ("rate_unwatched", "violation rate, unwatched"),
    ("gap", "gap (unwatched − watched)"),
    ("detected_share", "share of violations detected"),
    ("reward", "training reward"),
    ("fitness", "fitness"),
)
PREFIX = "train:"  # of the sweep figures
SCHEMA = {
    "generation": pl.Int64,
    "measure": pl.String,
    "mean": pl.Float64,
    "min": pl.Float64,
    "max": pl.Float64,
}


def applies(run: Run) -> bool:
    """A run gets a training section when it has learners or an arena with oversight."""
    return applies_to(run.manifest)


def applies_to(manifest: dict[str, Any]) -> bool:
    """`applies` from a run's manifest alone (before its tables are read)."""
    population = _section(manifest, "population")
    mix = population.get("mix") if isinstance(population.get("mix"), list) else []
    oversight = bool((manifest.get("arena") or {}).get("has_oversight", False))
    return oversight or any(isinstance(entry, dict) and entry.get("decider") == "learner" for entry in mix)


def _section(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """A table of the run's resolved experiment, or {} (older or hand-written manifests)."""
    experiment = manifest.get("experiment")
    section = experiment.get(name) if isinstance(experiment, dict) else None
    return section if isinstance(section, dict) else {}


def violation_kinds(run: Run) -> list[str]:
    listed = _section(run.manifest, "training").get("violations")
    kinds = (
        [k for k in listed if k in run.event_kinds]
        if isinstance(listed, list)
        else metrics.constrained_events(run)
    )
    return [k for k in kinds if record.event("own", k) in run.episodes.columns]


def curves(run: Run) -> pl.DataFrame:
    """One row per generation with every measure of MEASURES (null where undefined)."""
    schema = {"generation": pl.Int64, **{name: pl.Float64 for name, _ in MEASURES}}
    episodes = run.episodes
    if episodes.height == 0:
        return pl.DataFrame(schema=schema)
    has_reward = "reward" in episodes.columns
    if has_reward and episodes.get_column("reward").is_not_null().any():
        episodes = episodes.filter(pl.col("reward").is_not_null())
    kinds = violation_kinds(run)
    done = _total([pl.col(record.event("own", k)) + pl.col(record.event("helper", k)) for k in kinds])
    detected = [record.event("detected", k) for k in kinds]
    seen = _total([pl.col(c) for c in detected if c in episodes.columns])
    open_ = _total([pl.col(record.event("opportunity", k)) for k in kinds])
    watched = pl.col("watched").fill_null(False)

    def rate(mask: pl.Expr) -> pl.Expr:
        return _ratio(done.filter(mask).sum(), open_.filter(mask).sum())

    table = episodes.group_by("generation").agg(
        rate(watched).alias("rate_watched"),
        rate(~watched).alias("rate_unwatched"),
        _ratio(seen.sum(), done.sum()).alias("detected_share"),
        (pl.col("reward").mean() if has_reward else pl.lit(None, dtype=pl.Float64)).alias("reward"),
        pl.col("fitness_gain").mean().alias("fitness"),
    )
    return (
        table.with_columns((pl.col("rate_unwatched") - pl.col("rate_watched")).alias("gap"))
        .sort("generation")
        .select(list(schema))
        .cast(schema)
    )


def _total(columns: list[pl.Expr]) -> pl.Expr:
    return pl.sum_horizontal(columns) if columns else pl.lit(0.0)


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def long(run: Run) -> pl.DataFrame:
    """`curves` as rows (generation, measure, mean, min, max), min = max = mean: one seed."""
    wide = curves(run)
    if wide.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    rows = wide.unpivot(
        index="generation", on=[name for name, _ in MEASURES], variable_name="measure", value_name="mean"
    )
    return (
        rows.with_columns(pl.col("mean").alias("min"), pl.col("mean").alias("max"))
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )


def spread(reps: Replicates) -> pl.DataFrame:
    """Every measure per generation over the seeds of a replicate set: mean, min, max."""
    frames = [curves(run) for run in reps.runs if applies(run)]
    frames = [frame for frame in frames if frame.height]
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    rows = pl.concat(frames).unpivot(
        index="generation", on=[name for name, _ in MEASURES], variable_name="measure", value_name="value"
    )
    value = pl.col("value")
    return (
        rows.group_by("generation", "measure")
        .agg(mean=value.mean(), min=value.min(), max=value.max())
        .sort("measure", "generation")
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )


def final(run: Run) -> dict[str, float]:
    """The last generation's measures, as sweep figures `train:<measure>` (empty: no training;
    a measure undefined there, such as the unwatched rate when every episode was watched, is left out)."""
    if not applies(run):
        return {}
    wide = curves(run)
    if wide.height == 0:
        return {}
    last = wide.row(-1, named=True)
    return {
        PREFIX + name: float(last[name])
        for name, _ in MEASURES
        if last[name] is not None and math.isfinite(last[name])
    }


def rows(data: pl.DataFrame, measure: str) -> pl.DataFrame:
    return data.filter(pl.col("measure") == measure).sort("generation")


def as_json(data: pl.DataFrame) -> dict[str, Any]:
    """{measure: {generation, mean, min, max} lists} for `--format json`."""
    out: dict[str, Any] = {}
    for name, label in MEASURES:
        part = rows(data, name)
        out[name] = {
            "label": label,
            **{col: part.get_column(col).to_list() for col in ("generation", "mean", "min", "max")},
        }
    return out
