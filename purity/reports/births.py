"""Births: how many of each kind (inherit, design), and what mutation changed in them.

A self-modification keeps the agent's id (a lineage row with parent == child): it is no birth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from .load import Run


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
