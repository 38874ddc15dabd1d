"""Which swept key decides: paired contrasts between neighbouring grid points.

Every grid point of an atlas sweep runs the same seeds (common random numbers), so the focal
values (`atlas_cells.PER_SEED`) of two points alike in every key but one can be compared seed by
seed. A step of a key from one of its values to the next (in grid order) is tested on its average
over the other keys' combinations: per seed, the mean over those pairs of (value after − value
before), an exact two-sided sign-flip test against 0, Holm over every step of the argument (one
family per argument: the page's error rate is 0.05 per family, not over the page).

Only points whose focal value measures the same term are paired: a key that changes the focal
term (the keeper's profile) changes what is measured, so it has no step. Averaging before testing
makes one test per step, so the family stays small enough to decide with the seeds the atlas runs.
The price: a key whose effect changes sign across the other keys can average out, so "we can't
tell" about a key does not mean it does nothing anywhere; the page lists every step. A seed whose
change is exactly 0 (two identical runs) cannot help the test, so a step's floor is 2/2^k over
the k seeds that changed. Intervals are Student-t over seeds, unadjusted, clipped to what the
measure can take.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

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
    "changed": pl.Int64,  # seeds whose averaged change is not 0
    "same_sign": pl.Int64,  # seeds on the side of the mean
    "control": pl.Int64,  # pairs with a point in the grid's control (`atlas_verdicts.CONTROLS`)
    "mean": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "p": pl.Float64,
    "p_holm": pl.Float64,
}


def _pairs(key: str, before: str, after: str, keys: Sequence[str], settings: Sequence[dict], terms) -> list:
    """(a, b): points with `key` at `before` and at `after`, alike in every other key, both with
    values of the same focal term."""
    others = [k for k in keys if k != key]

    def at(point: int, value: str) -> bool:
        return point in terms and json.dumps(settings[point].get(key)) == value

    return [
        (a, b)
        for a in range(len(settings))
        if at(a, before)
        for b in range(len(settings))
        if at(b, after)
        and terms[a] == terms[b]
        and all(settings[a].get(k) == settings[b].get(k) for k in others)
    ]


def steps(
    keys: Sequence[str],
    settings: Sequence[dict],
    per_seed: pl.DataFrame,
    bound: float | None = None,
    control: Callable[[dict], bool] = lambda s: False,
) -> pl.DataFrame:
    """One row per step of a swept key (`STEPS`): the pairs and seeds it averages over, the mean
    paired change of the focal value with its 95% interval over seeds (clipped to ±`bound`), p
    and Holm p."""
    values: dict[int, dict[int, float]] = {}
    terms: dict[int, str] = {}
    for point, seed, term, value in per_seed.select("point", "seed", "term", "value").iter_rows():
        values.setdefault(point, {})[seed] = value
        terms[point] = term
    rows = []
    for key in varying(keys, settings):
        order = list(dict.fromkeys(json.dumps(s.get(key)) for s in settings))
        for before, after in zip(order, order[1:]):
            pairs = _pairs(key, before, after, keys, settings, terms)
            shared = (
                set.intersection(*(set(values[a]) & set(values[b]) for a, b in pairs)) if pairs else set()
            )
            if len(shared) < 2:
                continue
            change = np.array(
                [np.mean([values[b][s] - values[a][s] for a, b in pairs]) for s in sorted(shared)]
            )
            mean, low, high = mean_interval(change)
            if bound is not None:
                low, high = max(low, -bound), min(high, bound)
            rows.append(
                {
                    "key": key,
                    "before": value_label(json.loads(before)),
                    "after": value_label(json.loads(after)),
                    "pairs": len(pairs),
                    "seeds": len(shared),
                    "changed": int(np.count_nonzero(change)),
                    "same_sign": int(np.count_nonzero(change > 0 if mean >= 0 else change < 0)),
                    "control": sum(any(control(settings[p]) for p in pair) for pair in pairs),
                    "mean": mean,
                    "low": low,
                    "high": high,
                    "p": sign_flip_pvalue(change),
                }
            )
    for row, p in zip(rows, holm([r["p"] for r in rows]) if rows else []):
        row["p_holm"] = float(p)
    return pl.DataFrame(rows, schema=STEPS)


def force(table: pl.DataFrame, measure: str, margin: float = 0.0, control: str = "") -> str:
    """The keys whose one-step change moves the focal value beyond chance (Holm) and by more than
    `margin`, each with its decided steps, most significant first (a step from the grid's control
    says why the control is one: `control`); or that we can't tell, and why."""
    if table.height == 0:
        return (
            "we can't tell: no two grid points alike in every other key measure the same term on shared seeds"
        )
    decided = table.filter(pl.col("p_holm") < ALPHA).sort(
        "p_holm", pl.col("mean").abs(), descending=[False, True]
    )
    large = decided.filter(pl.col("mean").abs() > margin)
    if decided.height == 0:
        best = int(table["changed"].max())
        if floor(table) >= ALPHA:
            return (
                f"we can't tell, and could not with these seeds: at most {best} of a step's seeds changed "
                f"at all, so a step's smallest p is 2/2^{best}, and Holm over {table.height} steps makes it "
                f"{num(floor(table), p=True)} ≥ {ALPHA} ({seeds_needed(table.height)} seeds that change would be needed)"
            )
        return (
            f"we can't tell: no one-step change of a swept key moves {measure} beyond chance "
            f"(smallest p (Holm) {num(table['p_holm'].min(), p=True)} over {table.height} paired steps)"
        )
    parts: dict[str, list[str]] = {}
    for r in large.iter_rows(named=True):
        parts.setdefault(r["key"], []).append(_step_text(r, control))
    text = "; ".join(f"{key} ({'; '.join(texts)})" for key, texts in parts.items())
    text = f"{text}, in {measure}" if text else f"no key moves {measure} by more than ±{margin}"
    small = decided.filter(pl.col("mean").abs() <= margin)
    if small.height:
        text += f". Beyond chance but within ±{margin}, which the readings call no gap: " + "; ".join(
            f"{r['key']} ({_step_text(r, control)})" for r in small.iter_rows(named=True)
        )
    return text


def _step_text(r: dict, why: str) -> str:
    control = (
        f" ({r['control']} of its {r['pairs']} pairs touch the grid's control: {why})" if r["control"] else ""
    )
    return (
        f"{r['before']} → {r['after']}{control}: {num(r['mean'], True)} [{num(r['low'], True)}, "
        f"{num(r['high'], True)}], {r['same_sign']} of {r['seeds']} seeds on its side, "
        f"p (Holm) {num(r['p_holm'], p=True)}"
    )


def floor(table: pl.DataFrame) -> float:
    """The smallest Holm p-value an argument's steps could give with their seeds: the family's
    size times the smallest exact sign-flip p of the step with the most seeds that changed."""
    return min(1.0, table.height * smallest_p(int(table["changed"].max()))) if table.height else 1.0


def seeds_needed(steps: int, alpha: float = ALPHA) -> int:
    """The fewest seeds with which Holm over `steps` steps can reach below `alpha`."""
    seeds = 1
    while steps * smallest_p(seeds) >= alpha:
        seeds += 1
    return seeds
