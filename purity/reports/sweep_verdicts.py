"""A sweep's verdicts: every (grid point, process term) tested against its grid point's null, and
the p-values corrected over the whole sweep at once (Holm over grid points × terms), so a grid
with many points does not pass its luckiest point off as a finding.

A grid point's statistic is the mean end share over its seeds (its observations); its null is the
one its runs recorded (shuffle where they have it, else drift, as `verdict_inference` chooses).
Points without a null are left out of the correction and say "we can't tell: no null recorded";
when the nulls are too small for the corrected thresholds every point says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from purity.statistics import ALPHA

from . import inference, verdict_inference

SCHEMA = {
    "point": pl.Int64,
    "term": pl.String,
    "null": pl.String,
    "seeds": pl.Int64,
    "start": pl.Float64,
    "mean": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "band_low": pl.Float64,
    "band_high": pl.Float64,
    "p": pl.Float64,
    "p_adjusted": pl.Float64,
    "effect": pl.Float64,
    "effect_sd": pl.Float64,
    "verdict": pl.String,
    "tone": pl.String,
}
TESTED = [c for c in SCHEMA if c not in ("point", "term", "null", "verdict", "tone")]


def grid_verdicts(
    points: Sequence[tuple[pl.DataFrame, Any]], alpha: float = ALPHA, method: str = "holm"
) -> pl.DataFrame:
    """One row per (grid point, term) in `SCHEMA`. `points`: per grid point, in order, the seed
    figures of its observations (`nulls.seed_figures`) and the path of one of its runs (where its
    null is read)."""
    tested, untested = [], []
    for i, (observed, path) in enumerate(points):
        if observed.height == 0:
            continue
        kind, null = verdict_inference.chosen_null(path)
        if null is None:
            untested.append(_untested(i, observed, verdict_inference.NO_NULL))
            continue
        try:
            tests = inference.figure_tests(observed, null, "end")
        except inference.NullTooSmall:
            untested.append(_untested(i, observed, verdict_inference.TOO_SMALL))
            continue
        starts = observed.group_by("term").agg(start=pl.col("start").mean())
        tests = tests.join(starts, on="term", how="left", maintain_order="left")
        tested.append(tests.with_columns(point=pl.lit(i, dtype=pl.Int64), null=pl.lit(kind)))
    out = [*untested]
    if tested:
        out.append(_corrected(pl.concat(tested, how="diagonal_relaxed"), alpha, method))
    if not out:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat([f.select(list(SCHEMA)).cast(SCHEMA) for f in out]).sort("point", maintain_order=True)


def _corrected(family: pl.DataFrame, alpha: float, method: str) -> pl.DataFrame:
    """The family's tests corrected together, with their words; all "null too small" when the
    nulls cannot reach the smallest corrected threshold."""
    try:
        family = inference.corrected(family, alpha, method)
    except inference.NullTooSmall:
        blank = {
            c: pl.lit(None, dtype=SCHEMA[c]) for c in ("band_low", "band_high", "p", "effect", "effect_sd")
        }
        return family.with_columns(
            pl.col("low").clip(0.0, 1.0),  # a share's t interval, as below
            pl.col("high").clip(0.0, 1.0),
            **blank,
            p_adjusted=pl.lit(None, dtype=pl.Float64),
            verdict=pl.lit(verdict_inference.TOO_SMALL),
            tone=pl.lit("neutral"),
        )
    words = [inference.row_verdict(r, alpha) for r in family.iter_rows(named=True)]
    return family.with_columns(
        pl.col("low").clip(0.0, 1.0),
        pl.col("high").clip(0.0, 1.0),
        verdict=pl.Series(words, dtype=pl.String),
        tone=pl.Series([inference.TONES[w] for w in words], dtype=pl.String),
    )


def _untested(point: int, observed: pl.DataFrame, word: str) -> pl.DataFrame:
    """Rows that carry no test: the mean end share over seeds and why nothing was tested."""
    frame = observed.group_by("term", maintain_order=True).agg(
        seeds=pl.len(), start=pl.col("start").mean(), mean=pl.col("end").mean()
    )
    blank = {c: pl.lit(None, dtype=SCHEMA[c]) for c in TESTED if c not in frame.columns}
    return frame.with_columns(
        **blank,
        point=pl.lit(point, dtype=pl.Int64),
        null=pl.lit(None, dtype=pl.String),
        verdict=pl.lit(word),
        tone=pl.lit("neutral"),
    )


def tally(verdicts: pl.DataFrame) -> dict[str, int]:
    """How many (grid point, term) tests came out each way."""
    counts = verdicts.group_by("verdict").len().rows()
    return dict(sorted(counts, key=lambda kv: -kv[1]))


NOTE = (
    "Each grid point's mean end share over its seeds, tested against that point's own null "
    "(recorded with its runs; the shuffle null where they have one, else drift): Monte-Carlo "
    "p-values corrected together over every grid point and term of the sweep (Holm, α = 0.05), "
    "so more grid points make each call stricter. spread / declined beyond drift: the corrected "
    "test rejects; indistinguishable from drift: it does not; extinct (or carried by all) in "
    "every run and under drift too: the seeds agree and drift could do the same. A point with "
    "one seed can only be called when its end share falls outside the band one drift run covers."
)
