"""Which swept key decides: paired contrasts between neighbouring grid points.

Every grid point of an atlas sweep runs the same seeds (common random numbers), so the focal
values (`atlas_cells.PER_SEED`) of two points alike in every key but one can be compared seed by
seed. A step of a key from one of its values to the next (in grid order) is tested on its average
over the other keys' combinations: per seed, the mean over those pairs of (value after − value
before), an exact two-sided sign-flip test against 0, Holm over every step of the argument.

Averaging before testing makes one test per step, so the family stays small enough to decide
with the seeds the atlas runs (8 seeds: the floor is 2/2^8 a step). The price: a key whose effect
changes sign across the other keys can average out, so "we can't tell" about a key does not mean
it does nothing anywhere; the page lists every step with its pairs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import polars as pl

from purity.statistics import ALPHA, holm, mean_interval, sign_flip_pvalue, smallest_p

from .atlas_figure import num, varying
from .sweep_report import value_label

STEPS = {
    "key": pl.String,
    "before": pl.String,
    "after": pl.String,
    "pairs": pl.Int64,
    "seeds": pl.Int64,
    "mean": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "p": pl.Float64,
    "p_holm": pl.Float64,
}


def _pairs(key: str, before: str, after: str, keys: Sequence[str], settings: Sequence[dict], points) -> list:
    """(a, b): points with `key` at `before` and at `after`, alike in every other key, both with values."""
    others = [k for k in keys if k != key]

    def at(point: int, value: str) -> bool:
        return point in points and json.dumps(settings[point].get(key)) == value

    return [
        (a, b)
        for a in range(len(settings))
        if at(a, before)
        for b in range(len(settings))
        if at(b, after) and all(settings[a].get(k) == settings[b].get(k) for k in others)
    ]


def steps(keys: Sequence[str], settings: Sequence[dict], per_seed: pl.DataFrame) -> pl.DataFrame:
    """One row per step of a swept key (`STEPS`): the pairs and seeds it averages over, the mean
    paired change of the focal value with its 95% interval over seeds, p and Holm p."""
    values: dict[int, dict[int, float]] = {}
    for point, seed, value in per_seed.select("point", "seed", "value").iter_rows():
        values.setdefault(point, {})[seed] = value
    rows = []
    for key in varying(keys, settings):
        order = list(dict.fromkeys(json.dumps(s.get(key)) for s in settings))
        for before, after in zip(order, order[1:]):
            pairs = _pairs(key, before, after, keys, settings, values)
            shared = (
                set.intersection(*(set(values[a]) & set(values[b]) for a, b in pairs)) if pairs else set()
            )
            if len(shared) < 2:
                continue
            seeds = sorted(shared)
            change = np.array([np.mean([values[b][s] - values[a][s] for a, b in pairs]) for s in seeds])
            mean, low, high = mean_interval(change)
            rows.append(
                {
                    "key": key,
                    "before": value_label(json.loads(before)),
                    "after": value_label(json.loads(after)),
                    "pairs": len(pairs),
                    "seeds": len(seeds),
                    "mean": mean,
                    "low": low,
                    "high": high,
                    "p": sign_flip_pvalue(change),
                }
            )
    for row, p in zip(rows, holm([r["p"] for r in rows]) if rows else []):
        row["p_holm"] = float(p)
    return pl.DataFrame(rows, schema=STEPS)


def force(table: pl.DataFrame, measure: str) -> str:
    """The keys whose one-step change moves the focal value beyond chance (Holm), each with its
    decided steps, most significant first; or that we can't tell, and why."""
    if table.height == 0:
        return "we can't tell: no two grid points alike in every other key share seeds"
    decided = table.filter(pl.col("p_holm") < ALPHA).sort(
        "p_holm", pl.col("mean").abs(), descending=[False, True]
    )
    if decided.height == 0:
        seeds = int(table["seeds"].max())
        if floor(table) >= ALPHA:
            return (
                f"we can't tell, and by construction could not: with {seeds} seeds a step's smallest "
                f"p is 2/2^{seeds}, and Holm over {table.height} steps makes it "
                f"{num(floor(table), p=True)} ≥ {ALPHA} ({seeds_needed(table.height)} seeds would be needed)"
            )
        return (
            f"we can't tell: no one-step change of a swept key moves {measure} beyond chance "
            f"(smallest p (Holm) {num(table['p_holm'].min(), p=True)} over {table.height} paired steps)"
        )
    parts: dict[str, list[str]] = {}
    for r in decided.iter_rows(named=True):
        parts.setdefault(r["key"], []).append(
            f"{r['before']} → {r['after']}: {num(r['mean'], True)} [{num(r['low'], True)}, "
            f"{num(r['high'], True)}], p (Holm) {num(r['p_holm'], p=True)}"
        )
    return "; ".join(f"{key} ({'; '.join(texts)})" for key, texts in parts.items()) + f", in {measure}"


def floor(table: pl.DataFrame) -> float:
    """The smallest Holm p-value an argument's steps can give: the family's size times the
    smallest exact sign-flip p of its best-seeded step."""
    return min(1.0, table.height * smallest_p(int(table["seeds"].max()))) if table.height else 1.0


def seeds_needed(steps: int, alpha: float = ALPHA) -> int:
    """The fewest seeds with which Holm over `steps` steps can reach below `alpha`."""
    seeds = 1
    while steps * smallest_p(seeds) >= alpha:
        seeds += 1
    return seeds
