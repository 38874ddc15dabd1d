"""What a reflection sweep's report tests over seeds: the figures of each run's reflection
(`reflection_figures`), whether squashing falls along a numeric swept key (`trends`), and whether
designs drop a term more often than self-modifications do (`identity`).

Does squashing fall as a numeric swept key rises? Along each numeric key of a reflection sweep
(a responsibility, a decay, a capability), per slice of the other keys and per process term, the
share of the carriers' designs that dropped or weakened the term (`squashed:<term>`, one figure
per seed) is tested for a monotone fall: Goodman–Kruskal γ and the one-sided permutation p of
`reflection_metrics.falling_trend`, Holm-corrected over every test of the sweep.

Slicing by the other keys keeps a key that changes the squash share (the keeper, the rule) from
passing for a trend of the tested one; the seeds are the replicates, as in the verdicts."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from purity.statistics import holm

from .load import Run
from .reflection_metrics import (
    falling_trend,
    false_by_term,
    free_by_term,
    identity_test,
    lowering_shares,
    squashed_by_term,
)

SQUASHED = "squashed:"  # share of births by design whose designer dropped or weakened the term
FREE = "free:"  # share of the chosen changes lowering the term that were free by definition
FALSE = "false:"  # share of the by-trade-off lowerings the reference evaluation calls no gain
LOWERED = "lowered:"  # lowered:<mode>:<term>: share of the carriers' reflections in a mode lowering it
MODES = ("design", "self_modify")
FALLS = "falls"
# a fall whose every drop cost nothing by definition (`free_by_term`): no finding about competition
BY_DEFINITION = "falls, by definition: every drop was free"
NOT_SHOWN = "no fall shown"
PERMUTATIONS = 9999
SCHEMA = {
    "key": pl.String,
    "others": pl.String,
    "term": pl.String,
    "doses": pl.Int64,
    "seeds": pl.Int64,
    "first": pl.Float64,
    "last": pl.Float64,
    "gamma": pl.Float64,
    "p": pl.Float64,
    "p_adjusted": pl.Float64,
    "verdict": pl.String,
}
NOTE = (
    "Along each numeric swept key, per setting of the other keys and process term: the share of "
    "the carriers' designs that dropped or weakened the term, one figure per seed (first / last: "
    "its mean at the key's lowest and highest value). γ: Goodman–Kruskal gamma of (key, share), −1 "
    "when the share only falls; p: one-sided permutation test of a fall (shares shuffled over "
    "the key's values), Holm-corrected over every row. A fall is read only at p (Holm) ≤ 0.05, and "
    "is said to be by definition when every drop in the row cost its designer nothing by definition "
    "(the squashed table), so it shows no trade-off. runs: the (value, seed) figures tested."
)


def reflection_figures(run: Run) -> dict[str, float]:
    """A run's reflection figures per process term: `squashed:`, `free:`, `false:` and
    `lowered:<mode>:` (`reflection_metrics.lowering_shares`, the identity test's per-seed figure)."""
    out = {SQUASHED + k: v for k, v in squashed_by_term(run).items()}
    out |= {FREE + k: v for k, v in free_by_term(run).items()}
    out |= {FALSE + k: v for k, v in false_by_term(run).items()}
    for term in run.process_terms if run.reflection is not None else []:
        shares = lowering_shares(run, term["key"])
        out |= {f"{LOWERED}{mode}:{term['key']}": shares[mode] for mode in MODES if mode in shares}
    return out


IDENTITY_SCHEMA = {
    "point": pl.Int64,
    "term": pl.String,
    "seeds": pl.Int64,
    "difference": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "verdict": pl.String,
}
IDENTITY_NOTE = (
    "Per grid point and process term, over the seeds in which the term's carriers both designed "
    "successors and modified themselves: the share of designs that dropped or weakened it minus "
    "the share of self-modifications that did, mean with its 95% t interval over seeds. "
    "Non-inferior: the interval's top is at most 0.05 (designs drop it no more than 0.05 more "
    "often), said apart when neither mode ever lowered the term or designs still drop it more "
    "often within the margin; designs drop it more often: the bottom is above 0."
)


def identity(points: Sequence[Sequence[Any]], margin: float = 0.05) -> pl.DataFrame:
    """The identity test (`reflection_metrics.identity_test`) per grid point (`points[i]`: its
    observations) and process term with both modes' figures in at least one seed."""
    rows = []
    for point, observations in enumerate(points):
        terms: dict[str, list[tuple[float, float]]] = {}
        for o in observations:
            for name, value in o.figures.items():
                if name.startswith(f"{LOWERED}design:"):
                    term = name[len(f"{LOWERED}design:") :]
                    other = o.figures.get(f"{LOWERED}self_modify:{term}")
                    if other is not None and math.isfinite(value) and math.isfinite(other):
                        terms.setdefault(term, []).append((value, other))
        for term, pairs in terms.items():
            test = identity_test([d for d, _ in pairs], [m for _, m in pairs], margin)
            rows.append({"point": point, "term": term} | {k: test[k] for k in list(IDENTITY_SCHEMA)[2:]})
    return pl.DataFrame(rows, schema=IDENTITY_SCHEMA) if rows else pl.DataFrame(schema=IDENTITY_SCHEMA)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def trends(keys: Sequence[str], observations: Sequence[Any], alpha: float = 0.05) -> pl.DataFrame:
    """One row per (numeric key, setting of the other keys, term) with at least two of the
    key's values and three (value, share) pairs: see `NOTE`. `observations` carry `settings`
    and `figures` (`sweep_report.Observation`)."""
    rows = []
    for key in keys:
        slices: dict[tuple[str, str], list[tuple[float, float]]] = {}
        free: dict[tuple[str, str], list[float]] = {}
        for o in observations:
            dose = o.settings.get(key)
            if not _number(dose):
                continue
            others = {k: v for k, v in o.settings.items() if k != key}
            label = ", ".join(f"{k} = {_text(v)}" for k, v in others.items()) or "–"
            for name, value in o.figures.items():
                if name.startswith(SQUASHED) and value is not None and math.isfinite(value):
                    term = name[len(SQUASHED) :]
                    slices.setdefault((label, term), []).append((float(dose), float(value)))
                    share = o.figures.get(FREE + term)
                    if share is not None and math.isfinite(share):
                        free.setdefault((label, term), []).append(float(share))
        for (label, term), pairs in slices.items():
            doses = sorted({d for d, _ in pairs})
            if len(doses) < 2 or len(pairs) < 3:
                continue
            x, y = zip(*pairs)
            gamma, p = falling_trend(x, y, permutations=PERMUTATIONS)
            at = {d: [v for dd, v in pairs if dd == d] for d in (doses[0], doses[-1])}
            rows.append(
                {
                    "key": key,
                    "others": label,
                    "term": term,
                    "doses": len(doses),
                    "seeds": len(pairs),
                    "first": sum(at[doses[0]]) / len(at[doses[0]]),
                    "last": sum(at[doses[-1]]) / len(at[doses[-1]]),
                    "gamma": float(gamma),
                    "p": p,
                    "free": bool(free.get((label, term))) and min(free[(label, term)]) == 1.0,
                }
            )
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    adjusted = holm([r["p"] for r in rows])
    for row, q in zip(rows, adjusted):
        falls = BY_DEFINITION if row.pop("free") else FALLS
        row |= {"p_adjusted": float(q), "verdict": falls if q <= alpha else NOT_SHOWN}
    return pl.DataFrame(rows, schema=SCHEMA)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def to_json(trends_table: pl.DataFrame, identity_table: pl.DataFrame, settings: Sequence[Any]) -> dict:
    """The trend and identity tests as the sweep's JSON carries them, with how to read them."""
    points = [
        {"settings": settings[r["point"]].settings} | {k: v for k, v in r.items() if k != "point"}
        for r in identity_table.iter_rows(named=True)
    ]
    return {
        "trends": {"note": NOTE, "correction": "holm over every row", "rows": trends_table.to_dicts()},
        "identity": {"note": IDENTITY_NOTE, "rows": points},
    }
