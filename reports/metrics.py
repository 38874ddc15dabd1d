"""Survival metrics (DESIGN §10) computed from a loaded `Run`, vectorised in polars.

Every function takes a `Run` and returns a polars DataFrame (or a small dataclass), so the same
numbers feed the Markdown tables, the HTML charts and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .load import Run

SCOPES = ("self", "lineage", "world")

VERDICT_SCHEMA = {
    "term": pl.String, "label": pl.String, "kind": pl.String, "scope": pl.String,
    "start": pl.Float64, "end": pl.Float64, "drift_end": pl.Float64,
    "verdict": pl.String, "vs_drift": pl.String,
}


def term_label(term: dict[str, Any]) -> str:
    return str(term.get("label") or term["key"])


def carries(weight: pl.Expr, threshold: float) -> pl.Expr:
    """An agent carries a term while its weight is above the threshold; inf (hard) counts, NaN/null do not."""
    return ((weight > threshold) & weight.is_not_nan()).fill_null(False)


def survival(run: Run) -> pl.DataFrame:
    """Share of agents carrying each process term, per generation (long: generation, term, label, share, …)."""
    terms = run.process_terms
    schema = {"generation": pl.Int64, "term": pl.String, "label": pl.String,
              "carriers": pl.Int64, "agents": pl.Int64, "share": pl.Float64}
    if not terms or run.agents.height == 0:
        return pl.DataFrame(schema=schema)
    cols = [f"w:{t['key']}" for t in terms]
    labels = pl.DataFrame({"term": [t["key"] for t in terms], "label": [term_label(t) for t in terms]})
    long = run.agents.select("generation", *cols).unpivot(
        index="generation", on=cols, variable_name="column", value_name="weight")
    out = (
        long.with_columns(pl.col("column").str.strip_prefix("w:").alias("term"))
        .group_by("generation", "term")
        .agg(carriers=carries(pl.col("weight"), run.threshold).sum().cast(pl.Int64),
             agents=pl.len().cast(pl.Int64))
        .with_columns(share=pl.col("carriers") / pl.col("agents"))
        .join(labels, on="term", how="left")
    )
    order = pl.DataFrame({"term": [t["key"] for t in terms], "_order": list(range(len(terms)))})
    return (out.join(order, on="term").sort("_order", "generation")
            .select(list(schema)).cast(schema))


def process_share(run: Run, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> pl.DataFrame:
    """Mean and quantiles of the agents' process share per generation."""
    ps = pl.col("process_share")
    qs = [ps.quantile(q, interpolation="linear").alias(quantile_name(q)) for q in quantiles]
    return (run.agents.group_by("generation")
            .agg(*qs, agents=pl.len().cast(pl.Int64), mean=ps.mean())
            .sort("generation")
            .select("generation", "agents", "mean", *[quantile_name(q) for q in quantiles]))


def quantile_name(q: float) -> str:
    return f"q{q * 100:g}"


def fitness_by_profile(run: Run) -> pl.DataFrame:
    """Mean payoff and selection fitness of each founding profile, per generation."""
    return (run.agents.group_by("generation", "profile")
            .agg(agents=pl.len().cast(pl.Int64), payoff=pl.col("payoff").mean(),
                 fitness=pl.col("fitness").mean())
            .sort("generation", "profile"))


def constrained_events(run: Run) -> list[str]:
    """Event kinds some constraint term names and the arena records, in manifest order."""
    kinds = run.event_kinds
    named = {t.get("event") for t in run.terms if t.get("kind") == "constraint"}
    return [k for k in kinds if k in named]


def _safe_rate(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def violations(run: Run) -> pl.DataFrame:
    """Revealed violation rate per profile and constrained event kind, next to the declared weights.

    rate = Σ own:k / Σ opportunity:k, delegated_rate = Σ helper:k / Σ opportunity:k over all the
    profile's episodes; declared_<scope> = mean over the profile's agent-generations of the summed
    weight on constraint terms about k with that scope (null: the run has no such term). With
    oversight, the same rates split by watched / unwatched episodes.
    """
    kinds = constrained_events(run)
    schema: dict[str, Any] = {
        "profile": pl.String, "event": pl.String, "own": pl.Float64, "helper": pl.Float64,
        "opportunity": pl.Float64, "rate": pl.Float64, "delegated_rate": pl.Float64,
        **{f"declared_{s}": pl.Float64 for s in SCOPES},
    }
    if run.has_oversight:
        schema |= {c: pl.Float64 for c in ("rate_watched", "rate_unwatched",
                                            "delegated_watched", "delegated_unwatched")}
    if not kinds or run.episodes.height == 0:
        return pl.DataFrame(schema=schema)

    watched = pl.col("watched").fill_null(False)
    aggs: list[pl.Expr] = []
    for k in kinds:
        own, helper, opp = pl.col(f"own:{k}"), pl.col(f"helper:{k}"), pl.col(f"opportunity:{k}")
        aggs += [own.sum().alias(f"own|{k}"), helper.sum().alias(f"helper|{k}"),
                 opp.sum().alias(f"opportunity|{k}")]
        if run.has_oversight:
            for tag, mask in (("watched", watched), ("unwatched", ~watched)):
                aggs += [own.filter(mask).sum().alias(f"own_{tag}|{k}"),
                         helper.filter(mask).sum().alias(f"helper_{tag}|{k}"),
                         opp.filter(mask).sum().alias(f"opportunity_{tag}|{k}")]
    sums = run.episodes.group_by("profile").agg(aggs)

    declared_aggs: list[pl.Expr] = []
    for k in kinds:
        for s in SCOPES:
            cols = [f"w:{t['key']}" for t in run.terms
                    if t.get("kind") == "constraint" and t.get("event") == k and t.get("scope") == s]
            expr = pl.sum_horizontal(cols).mean() if cols else pl.lit(None, dtype=pl.Float64)
            declared_aggs.append(expr.alias(f"declared_{s}|{k}"))
    declared = run.agents.group_by("profile").agg(declared_aggs)

    wide = sums.join(declared, on="profile", how="full", coalesce=True)
    value_cols = [c for c in wide.columns if "|" in c]
    long = (wide.unpivot(index="profile", on=value_cols, variable_name="column", value_name="value")
            .with_columns(pl.col("column").str.split_exact("|", 1)
                          .struct.rename_fields(["measure", "event"]).alias("_parts"))
            .unnest("_parts")
            .pivot(on="measure", index=["profile", "event"], values="value"))
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
    return (long.with_columns(rates).join(order, on="event")
            .filter(pl.col("opportunity").is_not_null() | pl.any_horizontal(
                [pl.col(f"declared_{s}").is_not_null() for s in SCOPES]))
            .sort("profile", "_order")
            .select(list(schema)).cast(schema))


def lineage_share(run: Run) -> pl.DataFrame:
    """Largest lineage (agents sharing a founder) per generation: its size, share and mean process share."""
    totals = run.agents.group_by("generation").agg(agents=pl.len().cast(pl.Int64))
    return (run.agents.group_by("generation", "founder")
            .agg(size=pl.len().cast(pl.Int64), process_share=pl.col("process_share").mean(),
                 profile=pl.col("profile").mode().sort().first())
            .sort("generation", "size", "founder", descending=[False, True, False])
            .unique(subset="generation", keep="first", maintain_order=True)
            .join(totals, on="generation")
            .with_columns(share=pl.col("size") / pl.col("agents"))
            .select("generation", "founder", "profile", "size", "agents", "share", "process_share"))


@dataclass(frozen=True)
class LockIn:
    """The first generation at which one lineage holds more than `threshold` of the population."""

    generation: int
    founder: int
    profile: str
    share: float
    process_share: float
    threshold: float


def lock_in(run: Run, threshold: float = 0.9) -> LockIn | None:
    """First generation whose largest lineage share exceeds `threshold`; None if it never does."""
    hit = lineage_share(run).filter(pl.col("share") > threshold).head(1)
    if hit.height == 0:
        return None
    row = hit.row(0, named=True)
    return LockIn(int(row["generation"]), int(row["founder"]), str(row["profile"]),
                  float(row["share"]), float(row["process_share"]), threshold)


def births(run: Run) -> pl.DataFrame:
    """Number of children born per generation and kind (inherit | design | self_modify)."""
    return (run.lineage.group_by("generation", "kind").agg(births=pl.len().cast(pl.Int64))
            .sort("generation", "kind"))


def origins(run: Run) -> pl.DataFrame:
    """Agents alive per generation by origin (founder | inherit | design | self_modify)."""
    return (run.agents.group_by("generation", "origin").agg(agents=pl.len().cast(pl.Int64))
            .sort("generation", "origin"))


def _end_shares(run: Run) -> pl.DataFrame:
    surv = survival(run)
    if surv.height == 0:
        return pl.DataFrame(schema={"term": pl.String, "start": pl.Float64, "end": pl.Float64})
    return surv.group_by("term").agg(
        start=pl.col("share").sort_by("generation").first(),
        end=pl.col("share").sort_by("generation").last(),
    )


def verdict(run: Run, tolerance: float = 0.05) -> pl.DataFrame:
    """Per process term: share carrying it at the first and last generation, and a verdict word.

    verdict: "extinct" (nobody carries it at the end), else "declined" / "spread" when the end share
    is more than `tolerance` below / above the start share, else "held". With a drift twin,
    vs_drift says whether the end share is below, near or above the twin's end share (same tolerance).
    """
    terms = run.process_terms
    if not terms or run.agents.height == 0:
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    base = pl.DataFrame({
        "term": [t["key"] for t in terms],
        "label": [term_label(t) for t in terms],
        "kind": [str(t.get("kind") or "") for t in terms],
        "scope": [t.get("scope") for t in terms],
    }, schema={"term": pl.String, "label": pl.String, "kind": pl.String, "scope": pl.String})
    out = base.join(_end_shares(run), on="term", how="left", maintain_order="left")
    if run.drift is not None:
        drift = _end_shares(run.drift).select("term", drift_end=pl.col("end"))
        out = out.join(drift, on="term", how="left", maintain_order="left")
    else:
        out = out.with_columns(drift_end=pl.lit(None, dtype=pl.Float64))
    start, end, dend = pl.col("start"), pl.col("end"), pl.col("drift_end")
    word = (pl.when(end == 0).then(pl.lit("extinct"))
            .when(end < start - tolerance).then(pl.lit("declined"))
            .when(end > start + tolerance).then(pl.lit("spread"))
            .otherwise(pl.lit("held")))
    vs = (pl.when(dend.is_null()).then(pl.lit(None, dtype=pl.String))
          .when(end < dend - tolerance).then(pl.lit("below"))
          .when(end > dend + tolerance).then(pl.lit("above"))
          .otherwise(pl.lit("near")))
    return out.with_columns(verdict=word, vs_drift=vs).select(list(VERDICT_SCHEMA)).cast(VERDICT_SCHEMA)
