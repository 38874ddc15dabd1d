"""Survival metrics (DESIGN §10) computed from a loaded `Run`, vectorised in polars.

Every function takes a `Run` and returns a polars DataFrame (or a small dataclass), so the same
numbers feed the Markdown tables, the HTML charts and the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .load import Run

SCOPES = ("self", "lineage", "world")

VERDICT_SCHEMA = {
    "term": pl.String,
    "label": pl.String,
    "kind": pl.String,
    "scope": pl.String,
    "start": pl.Float64,
    "end": pl.Float64,
    "drift_end": pl.Float64,
    "verdict": pl.String,
    "vs_drift": pl.String,
}


def term_label(term: dict[str, Any]) -> str:
    return str(term.get("label") or term["key"])


def carries(weight: pl.Expr, threshold: float) -> pl.Expr:
    """An agent carries a term while its weight is above the threshold; inf (hard) counts, NaN/null do not."""
    return ((weight > threshold) & weight.is_not_nan()).fill_null(False)


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
    cols = [f"w:{t['key']}" for t in terms]
    labels = pl.DataFrame({"term": [t["key"] for t in terms], "label": [term_label(t) for t in terms]})
    long = run.agents.select("generation", *cols).unpivot(
        index="generation", on=cols, variable_name="column", value_name="weight"
    )
    out = (
        long.with_columns(pl.col("column").str.strip_prefix("w:").alias("term"))
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

    watched = pl.col("watched").fill_null(False)
    aggs: list[pl.Expr] = []
    for k in kinds:
        own, helper, opp = pl.col(f"own:{k}"), pl.col(f"helper:{k}"), pl.col(f"opportunity:{k}")
        aggs += [
            own.sum().alias(f"own|{k}"),
            helper.sum().alias(f"helper|{k}"),
            opp.sum().alias(f"opportunity|{k}"),
        ]
        if run.has_oversight:
            for tag, mask in (("watched", watched), ("unwatched", ~watched)):
                aggs += [
                    own.filter(mask).sum().alias(f"own_{tag}|{k}"),
                    helper.filter(mask).sum().alias(f"helper_{tag}|{k}"),
                    opp.filter(mask).sum().alias(f"opportunity_{tag}|{k}"),
                ]
    sums = run.episodes.group_by("profile").agg(aggs)

    declared_aggs: list[pl.Expr] = []
    for k in kinds:
        for s in SCOPES:
            cols = [
                f"w:{t['key']}"
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


def born(lineage: pl.DataFrame) -> pl.DataFrame:
    """The lineage rows that are births: without the self-modification rows (parent == child)."""
    return lineage.filter(pl.col("parent") != pl.col("child"))


def births(run: Run) -> pl.DataFrame:
    """Number of children born per generation and kind (inherit | design). A self-modification
    keeps the agent's id (a lineage row with parent == child): no birth, not counted here."""
    return (
        born(run.lineage)
        .group_by("generation", "kind")
        .agg(births=pl.len().cast(pl.Int64))
        .sort("generation", "kind")
    )


MUTATION_KINDS = ("weights", "add", "remove", "scope")


def mutation_births(agents: pl.DataFrame) -> pl.DataFrame:
    """Every agent that was born in the run (not a founder), once, at its first generation.

    Agents that survive a generation (Moran updates) appear again with the same id and mutation
    label, so counting agent rows would count one mutation many times. With a `seed` column (pooled
    replicates) ids are told apart per seed. Columns: generation, mutation ("" = an exact copy).
    """
    keys = ["seed", "id"] if "seed" in agents.columns else ["id"]
    return (
        agents.filter(pl.col("origin") != "founder")
        .group_by(keys)
        .agg(pl.col("generation").min(), pl.col("mutation").sort_by("generation").first())
        .select("generation", "mutation")
        .sort("generation")
    )


def _changes(births: pl.DataFrame) -> pl.DataFrame:
    """One row per change of a birth's `mutation` label ("weights;add:k" → two rows)."""
    return (
        births.filter(pl.col("mutation").is_not_null() & (pl.col("mutation") != ""))
        .with_columns(change=pl.col("mutation").str.split(";"))
        .explode("change")
        .filter(pl.col("change") != "")
        .with_columns(kind=pl.col("change").str.split(":").list.first())
    )


MAX_TABLE_ROWS = 21


def pick_rows(gens: Sequence[int], limit: int = MAX_TABLE_ROWS) -> list[int]:
    """At most `limit` generations, evenly spaced, always including the first and last."""
    gens = list(gens)
    if len(gens) <= limit:
        return gens
    idx = sorted({round(i * (len(gens) - 1) / (limit - 1)) for i in range(limit)})
    return [gens[i] for i in idx]


def generation_ranges(first: int, last: int, max_rows: int = 10) -> list[tuple[int, int]]:
    """At most `max_rows` consecutive ranges [lo, hi] of equal width covering first..last."""
    width = max(1, math.ceil((last - first + 1) / max_rows))
    return [(lo, min(lo + width - 1, last)) for lo in range(first, last + 1, width)]


def mutation_summary(agents: pl.DataFrame, ranges: Sequence[tuple[int, int]]) -> pl.DataFrame:
    """Births and mutation changes by kind (weights / add / remove / scope) per generation range.

    `births` counts agents born in the range, `copies` those identical to their parent; each kind
    column counts changes (a birth labelled "weights;add:k" adds one to weights and one to add).
    Kinds outside the four known ones get their own column. Null when the run records no mutations.
    """
    if not ranges or "mutation" not in agents.columns:
        return pl.DataFrame()
    births = mutation_births(agents)
    start = pl.DataFrame(
        {"lo": [lo for lo, _ in ranges], "hi": [hi for _, hi in ranges]},
        schema={"lo": pl.Int64, "hi": pl.Int64},
    )

    def binned(df: pl.DataFrame) -> pl.DataFrame:
        return (
            df.sort("generation")
            .join_asof(start, left_on="generation", right_on="lo")
            .filter(pl.col("generation") <= pl.col("hi"))
        )

    b = (
        binned(births)
        .group_by("lo")
        .agg(
            births=pl.len().cast(pl.Int64),
            copies=(pl.col("mutation") == "").sum().cast(pl.Int64),
            recorded=pl.col("mutation").is_not_null().sum(),
        )
    )
    changes = binned(_changes(births))
    kinds = list(MUTATION_KINDS) + sorted(set(changes.get_column("kind").to_list()) - set(MUTATION_KINDS))
    counts = (
        changes.group_by("lo", "kind").agg(n=pl.len().cast(pl.Int64)).pivot(on="kind", index="lo", values="n")
    )
    for k in kinds:
        if k not in counts.columns:
            counts = counts.with_columns(pl.lit(0, dtype=pl.Int64).alias(k))
    out = (
        start.join(b, on="lo", how="left")
        .join(counts, on="lo", how="left")
        .with_columns(pl.col("births", "copies", *kinds).fill_null(0))
        .with_columns(pl.col("births", "copies", *kinds).cast(pl.Int64))
    )
    return out.select("lo", "hi", "births", "copies", *kinds).sort("lo")


def mutation_changes(agents: pl.DataFrame, limit: int = 10) -> pl.DataFrame:
    """The most frequent structural changes (add / remove / scope of a term) over all births."""
    if "mutation" not in agents.columns:
        return pl.DataFrame(schema={"change": pl.String, "count": pl.Int64})
    return (
        _changes(mutation_births(agents))
        .filter(pl.col("kind") != "weights")
        .group_by("change")
        .agg(count=pl.len().cast(pl.Int64))
        .sort("count", "change", descending=[True, False])
        .head(limit)
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


def origins(run: Run) -> pl.DataFrame:
    """Agents alive per generation by origin (founder | inherit | design | self_modify)."""
    return (
        run.agents.group_by("generation", "origin")
        .agg(agents=pl.len().cast(pl.Int64))
        .sort("generation", "origin")
    )


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
    word, vs = verdict_words(pl.col("start"), pl.col("end"), pl.col("drift_end"), tolerance)
    return out.with_columns(verdict=word, vs_drift=vs).select(list(VERDICT_SCHEMA)).cast(VERDICT_SCHEMA)


def verdict_words(
    start: pl.Expr, end: pl.Expr, drift_end: pl.Expr, tolerance: float
) -> tuple[pl.Expr, pl.Expr]:
    """The verdict word (extinct / declined / spread / held) and vs drift (below / near / above,
    null without a twin) from start, end and drift-end shares."""
    word = (
        pl.when(end == 0)
        .then(pl.lit("extinct"))
        .when(end < start - tolerance)
        .then(pl.lit("declined"))
        .when(end > start + tolerance)
        .then(pl.lit("spread"))
        .otherwise(pl.lit("held"))
    )
    vs = (
        pl.when(drift_end.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(end < drift_end - tolerance)
        .then(pl.lit("below"))
        .when(end > drift_end + tolerance)
        .then(pl.lit("above"))
        .otherwise(pl.lit("near"))
    )
    return word, vs


# ---------------------------------------------------------------------------------------------
# reflection

SQUASHING = ("drop", "weaken")  # the changes that lower a term's weight


def _keyed(df: pl.DataFrame, *cols: str) -> list[str]:
    return (["seed"] if "seed" in df.columns else []) + list(cols)


def reflection_choices(run: Run) -> pl.DataFrame:
    """Per mode and chosen change: how often agents chose it, the mean score of that change and
    of keeping as is, on the same simulated futures — why a term was dropped, in numbers."""
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    if r.height == 0:
        return pl.DataFrame(
            schema={
                "mode": pl.String,
                "change": pl.String,
                "times": pl.Int64,
                "score": pl.Float64,
                "keep": pl.Float64,
                "gain": pl.Float64,
            }
        )
    on = _keyed(r, "generation", "id", "mode")
    keep = r.filter(pl.col("candidate") == 0).select(*on, keep=pl.col("score"))
    return (
        r.filter(pl.col("chosen"))
        .join(keep, on=on)
        .group_by("mode", "change")
        .agg(
            times=pl.len().cast(pl.Int64),
            score=pl.col("score").mean(),
            keep=pl.col("keep").mean(),
            gain=(pl.col("score") - pl.col("keep")).mean(),
        )
        .sort(["mode", "times", "change"], descending=[True, True, False])
    )


def designed_births(run: Run) -> pl.DataFrame:
    """Per generation and process term: births designed by an agent that carried the term (weight
    not 0 in the generation it designed in), and how many of them had that designer drop or weaken
    it (columns generation, term, designed, squashed). Counting only the carriers' designs makes the
    share read "of the designers who had the term, how many passed it on lowered"."""
    schema = {"generation": pl.Int64, "term": pl.String, "designed": pl.Int64, "squashed": pl.Int64}
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    born = run.lineage.filter(pl.col("kind") == "design") if run.lineage.height else run.lineage
    keys = [t["key"] for t in run.process_terms]
    if r.height == 0 or born.height == 0 or not keys:
        return pl.DataFrame(schema=schema)
    designs = r.filter(pl.col("chosen") & (pl.col("mode") == "design")).select(
        *_keyed(r),
        generation=pl.col("generation") + 1,
        parent=pl.col("id"),
        verb=pl.col("change").str.split(" ").list.first(),
        changed=pl.col("term"),
    )
    designers = run.agents.select(
        *_keyed(run.agents),
        *[pl.col(f"w:{k}").alias(k) for k in keys],
        generation=pl.col("generation") + 1,
        parent=pl.col("id"),
    )
    on = _keyed(born, "generation", "parent")
    carried = (
        born.join(designs, on=on, how="left")
        .join(designers, on=on, how="left")
        .unpivot(index=[*on, "verb", "changed"], on=keys, variable_name="term", value_name="weight")
        .filter(pl.col("weight").is_not_null() & (pl.col("weight") != 0))
    )
    grid = born.select(pl.col("generation").unique()).join(pl.DataFrame({"term": keys}), how="cross")
    counts = carried.group_by("generation", "term").agg(
        designed=pl.len(),
        squashed=(pl.col("verb").is_in(SQUASHING) & (pl.col("changed") == pl.col("term"))).sum(),
    )
    return (
        grid.join(counts, on=["generation", "term"], how="left")
        .with_columns(pl.col("designed", "squashed").fill_null(0))
        .select(list(schema))
        .cast(schema)
        .sort("generation", "term")
    )


def squashed_share(run: Run) -> float | None:
    """Share of the designed births that lowered a term their designer carried, over every
    (birth, carried term) pair (None without designs by carriers)."""
    d = designed_births(run)
    total = int(d["designed"].sum()) if d.height else 0
    return float(d["squashed"].sum() / total) if total else None


def squashed_by_term(run: Run) -> dict[str, float]:
    """Process term key → share of the births designed by carriers of the term whose designer
    dropped or weakened it (terms no designer carried are left out)."""
    d = designed_births(run)
    if d.height == 0:
        return {}
    totals = (
        d.group_by("term")
        .agg(pl.col("designed").sum(), pl.col("squashed").sum())
        .filter(pl.col("designed") > 0)
    )
    return {row["term"]: row["squashed"] / row["designed"] for row in totals.iter_rows(named=True)}
