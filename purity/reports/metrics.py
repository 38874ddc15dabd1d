"""Survival metrics (docs/run-files.md#what-the-report-computes-from-these-files) computed from a loaded `Run`, vectorised in polars.

Every function takes a `Run` and returns a polars DataFrame (or a small dataclass), so the same
numbers feed the Markdown tables, the HTML charts and the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from purity.tournament import record

from .load import Run, per_run

SCOPES = ("self", "lineage", "world")

VERDICT_SCHEMA = {
    "term": pl.String,
    "label": pl.String,
    "kind": pl.String,
    "scope": pl.String,
    "start": pl.Float64,
    "end": pl.Float64,
    "drift_end": pl.Float64,
    "verdict": pl.String,  # filled by the corrected test (`verdict_inference`)
}


def term_label(term: dict[str, Any]) -> str:
    return str(term.get("label") or term["key"])


def carries(weight: pl.Expr, threshold: float) -> pl.Expr:
    """An agent carries a term while its weight is above the threshold; inf (hard) counts, NaN/null do not."""
    return ((weight > threshold) & weight.is_not_nan()).fill_null(False)


@per_run
def survival(run: Run) -> pl.DataFrame:
    """Share of agents carrying each process term, per generation (long: generation, term, label, share, …)."""
    terms = run.process_terms
    schema = {
        "generation": pl.Int64,
        "term": pl.String,
        "label": pl.String,
        "carriers": pl.Int64,
        "agents": pl.Int64,
        "share": pl.Float64,
    }
    if not terms or run.agents.height == 0:
        return pl.DataFrame(schema=schema)
    cols = [record.weight(t["key"]) for t in terms]
    labels = pl.DataFrame({"term": [t["key"] for t in terms], "label": [term_label(t) for t in terms]})
    long = run.agents.select("generation", *cols).unpivot(
        index="generation", on=cols, variable_name="column", value_name="weight"
    )
    out = (
        long.with_columns(pl.col("column").str.strip_prefix(record.WEIGHT).alias("term"))
        .group_by("generation", "term")
        .agg(
            carriers=carries(pl.col("weight"), run.threshold).sum().cast(pl.Int64),
            agents=pl.len().cast(pl.Int64),
        )
        .with_columns(share=pl.col("carriers") / pl.col("agents"))
        .join(labels, on="term", how="left")
    )
    order = pl.DataFrame({"term": [t["key"] for t in terms], "_order": list(range(len(terms)))})
    return out.join(order, on="term").sort("_order", "generation").select(list(schema)).cast(schema)


def process_share(run: Run, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pl.DataFrame:
    """Mean and quantiles of the agents' process share per generation."""
    ps = pl.col("process_share")
    qs = [ps.quantile(q, interpolation="linear").alias(quantile_name(q)) for q in quantiles]
    return (
        run.agents.group_by("generation")
        .agg(*qs, agents=pl.len().cast(pl.Int64), mean=ps.mean())
        .sort("generation")
        .select("generation", "agents", "mean", *[quantile_name(q) for q in quantiles])
    )


def quantile_name(q: float) -> str:
    return f"q{q * 100:g}"


def fitness_by_profile(run: Run) -> pl.DataFrame:
    """Mean payoff and selection fitness of each founding profile, per generation."""
    return (
        run.agents.group_by("generation", "profile")
        .agg(agents=pl.len().cast(pl.Int64), payoff=pl.col("payoff").mean(), fitness=pl.col("fitness").mean())
        .sort("generation", "profile")
    )


def constrained_events(run: Run) -> list[str]:
    """Event kinds some constraint term names and the arena records, in manifest order."""
    kinds = run.event_kinds
    named = {t.get("event") for t in run.terms if t.get("kind") == "constraint"}
    return [k for k in kinds if k in named]


def _safe_rate(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def event_sums(kinds: Sequence[str], oversight: bool) -> list[pl.Expr]:
    """Aggregations summing, per event kind k, the agents' own events, their helpers' and the
    opportunities (`own|k`, `helper|k`, `opportunity|k`); with oversight also over the watched and
    the unwatched episodes alone (`own_watched|k`, …)."""
    watched = pl.col("watched").fill_null(False)
    aggs: list[pl.Expr] = []
    for k in kinds:
        counts = {source: pl.col(record.event(source, k)) for source in ("own", "helper", "opportunity")}
        aggs += [col.sum().alias(f"{source}|{k}") for source, col in counts.items()]
        if oversight:
            for tag, mask in (("watched", watched), ("unwatched", ~watched)):
                aggs += [
                    col.filter(mask).sum().alias(f"{source}_{tag}|{k}") for source, col in counts.items()
                ]
    return aggs


def violations(run: Run) -> pl.DataFrame:
    """Revealed violation rate per profile and constrained event kind, next to the declared weights.

    rate = Σ own:k / Σ opportunity:k, delegated_rate = Σ helper:k / Σ opportunity:k over all the
    profile's episodes; declared_<scope> = mean over the profile's agent-generations of the summed
    weight on constraint terms about k with that scope (null: the run has no such term). With
    oversight, the same rates split by watched / unwatched episodes.
    """
    kinds = constrained_events(run)
    schema: dict[str, Any] = {
        "profile": pl.String,
        "event": pl.String,
        "own": pl.Float64,
        "helper": pl.Float64,
        "opportunity": pl.Float64,
        "rate": pl.Float64,
        "delegated_rate": pl.Float64,
        **{f"declared_{s}": pl.Float64 for s in SCOPES},
    }
    if run.has_oversight:
        schema |= {
            c: pl.Float64
            for c in ("rate_watched", "rate_unwatched", "delegated_watched", "delegated_unwatched")
        }
    if not kinds or run.episodes.height == 0:
        return pl.DataFrame(schema=schema)
    aggs = event_sums(kinds, run.has_oversight)
    sums = run.episodes.group_by("profile").agg(aggs)

    declared_aggs: list[pl.Expr] = []
    for k in kinds:
        for s in SCOPES:
            cols = [
                record.weight(t["key"])
                for t in run.terms
                if t.get("kind") == "constraint" and t.get("event") == k and t.get("scope") == s
            ]
            expr = pl.sum_horizontal(cols).mean() if cols else pl.lit(None, dtype=pl.Float64)
            declared_aggs.append(expr.alias(f"declared_{s}|{k}"))
    declared = run.agents.group_by("profile").agg(declared_aggs)

    wide = sums.join(declared, on="profile", how="full", coalesce=True)
    value_cols = [c for c in wide.columns if "|" in c]
    long = (
        wide.unpivot(index="profile", on=value_cols, variable_name="column", value_name="value")
        .with_columns(
            pl.col("column")
            .str.split_exact("|", 1)
            .struct.rename_fields(["measure", "event"])
            .alias("_parts")
        )
        .unnest("_parts")
        .pivot(on="measure", index=["profile", "event"], values="value")
    )
    rates = [
        _safe_rate(pl.col("own"), pl.col("opportunity")).alias("rate"),
        _safe_rate(pl.col("helper"), pl.col("opportunity")).alias("delegated_rate"),
    ]
    if run.has_oversight:
        for tag in ("watched", "unwatched"):
            rates += [
                _safe_rate(pl.col(f"own_{tag}"), pl.col(f"opportunity_{tag}")).alias(f"rate_{tag}"),
                _safe_rate(pl.col(f"helper_{tag}"), pl.col(f"opportunity_{tag}")).alias(f"delegated_{tag}"),
            ]
    order = pl.DataFrame({"event": kinds, "_order": list(range(len(kinds)))})
    return (
        long.with_columns(rates)
        .join(order, on="event")
        .filter(
            pl.col("opportunity").is_not_null()
            | pl.any_horizontal([pl.col(f"declared_{s}").is_not_null() for s in SCOPES])
        )
        .sort("profile", "_order")
        .select(list(schema))
        .cast(schema)
    )


def violation_curves(run: Run) -> pl.DataFrame:
    """Per generation, constrained event kind and profile (and all profiles together, "*"): the
    revealed violation rate, the delegated rate and the opportunities; with oversight also the
    watched and unwatched rates (columns generation, profile, event, rate, delegated_rate,
    opportunity[, rate_watched, rate_unwatched])."""
    kinds = constrained_events(run)
    if not kinds or run.episodes.height == 0:
        schema = {"generation": pl.Int64, "profile": pl.String, "event": pl.String, "opportunity": pl.Float64}
        return pl.DataFrame(schema=schema)
    aggs = event_sums(kinds, run.has_oversight)
    by_profile = run.episodes.group_by("generation", "profile").agg(aggs)
    together = run.episodes.group_by("generation").agg(aggs).with_columns(profile=pl.lit("*"))
    sums = pl.concat([together.select(by_profile.columns), by_profile])
    frames = []
    for k in kinds:
        cols = {
            "rate": _safe_rate(pl.col(f"own|{k}"), pl.col(f"opportunity|{k}")),
            "delegated_rate": _safe_rate(pl.col(f"helper|{k}"), pl.col(f"opportunity|{k}")),
            "opportunity": pl.col(f"opportunity|{k}"),
        }
        if run.has_oversight:
            for tag in ("watched", "unwatched"):
                cols[f"rate_{tag}"] = _safe_rate(pl.col(f"own_{tag}|{k}"), pl.col(f"opportunity_{tag}|{k}"))
        frames.append(sums.select("generation", "profile", pl.lit(k).alias("event"), **cols))
    return pl.concat(frames)


@per_run
def lineage_share(run: Run) -> pl.DataFrame:
    """Largest lineage (agents sharing a founder) per generation: its size, share and mean process share."""
    totals = run.agents.group_by("generation").agg(agents=pl.len().cast(pl.Int64))
    return (
        run.agents.group_by("generation", "founder")
        .agg(
            size=pl.len().cast(pl.Int64),
            process_share=pl.col("process_share").mean(),
            profile=pl.col("profile").mode().sort().first(),
        )
        .sort("generation", "size", "founder", descending=[False, True, False])
        .unique(subset="generation", keep="first", maintain_order=True)
        .join(totals, on="generation")
        .with_columns(share=pl.col("size") / pl.col("agents"))
        .select("generation", "founder", "profile", "size", "agents", "share", "process_share")
    )


@dataclass(frozen=True)
class LockIn:
    """The first generation at which one lineage holds more than `threshold` of the population."""

    generation: int
    founder: int
    profile: str
    share: float
    process_share: float
    threshold: float


@per_run
def lock_in(run: Run, threshold: float | None = None) -> LockIn | None:
    """First generation whose largest lineage share exceeds `threshold` (default: the experiment's
    `lock_in`, else 0.9); None if it never does."""
    threshold = run.lock_in_share if threshold is None else threshold
    hit = lineage_share(run).filter(pl.col("share") > threshold).head(1)
    if hit.height == 0:
        return None
    row = hit.row(0, named=True)
    return LockIn(
        int(row["generation"]),
        int(row["founder"]),
        str(row["profile"]),
        float(row["share"]),
        float(row["process_share"]),
        threshold,
    )


Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k / n (95 % by default); (nan, nan) when n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at k = 0 (k = n) the bound is exactly 0 (1); rounding would leave 1e-17
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def wilson_exprs(k: pl.Expr, n: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """`wilson` as polars expressions (null where n = 0)."""
    nf = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / nf
    z2 = z * z
    centre = (p + z2 / (2 * nf)) / (1 + z2 / nf)
    half = z * (p * (1 - p) / nf + z2 / (4 * nf * nf)).sqrt() / (1 + z2 / nf)
    low = pl.when(n <= 0).then(None).when(k == 0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(n <= 0).then(None).when(k == n).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return low, high


def _end_shares(run: Run) -> pl.DataFrame:
    surv = survival(run)
    if surv.height == 0:
        return pl.DataFrame(schema={"term": pl.String, "start": pl.Float64, "end": pl.Float64})
    return surv.group_by("term").agg(
        start=pl.col("share").sort_by("generation").first(),
        end=pl.col("share").sort_by("generation").last(),
    )


def verdict(run: Run) -> pl.DataFrame:
    """Per process term: share carrying it at the first and last generation (and at the drift
    twin's last, one draw of the drift null). `verdict` is left empty: a word comes only from the
    corrected test against the run's null (`verdict_inference.infer`), never from a threshold."""
    terms = run.process_terms
    if not terms or run.agents.height == 0:
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    base = pl.DataFrame(
        {
            "term": [t["key"] for t in terms],
            "label": [term_label(t) for t in terms],
            "kind": [str(t.get("kind") or "") for t in terms],
            "scope": [t.get("scope") for t in terms],
        },
        schema={"term": pl.String, "label": pl.String, "kind": pl.String, "scope": pl.String},
    )
    out = base.join(_end_shares(run), on="term", how="left", maintain_order="left")
    if run.drift is not None:
        drift = _end_shares(run.drift).select("term", drift_end=pl.col("end"))
        out = out.join(drift, on="term", how="left", maintain_order="left")
    else:
        out = out.with_columns(drift_end=pl.lit(None, dtype=pl.Float64))
    return (
        out.with_columns(verdict=pl.lit(None, dtype=pl.String))
        .select(list(VERDICT_SCHEMA))
        .cast(VERDICT_SCHEMA)
    )
