"""Does squashing fall as a numeric swept key rises? Along each numeric key of a reflection sweep
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

from . import inference
from .reflection_metrics import falling_trend

SQUASHED = "squashed:"  # the figure of `sweep_report` (one per observation and term)
FALLS = "falls"
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
    "the key's values), Holm-corrected over every row. A fall is read only at p (Holm) ≤ 0.05."
)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def trends(keys: Sequence[str], observations: Sequence[Any], alpha: float = 0.05) -> pl.DataFrame:
    """One row per (numeric key, setting of the other keys, term) with at least two of the
    key's values and three (value, share) pairs: see `NOTE`. `observations` carry `settings`
    and `figures` (`sweep_report.Observation`)."""
    rows = []
    for key in keys:
        slices: dict[tuple[str, str], list[tuple[float, float]]] = {}
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
                }
            )
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    adjusted = inference.holm([r["p"] for r in rows])
    for row, q in zip(rows, adjusted):
        row |= {"p_adjusted": float(q), "verdict": FALLS if q <= alpha else NOT_SHOWN}
    return pl.DataFrame(rows, schema=SCHEMA)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def trends_json(table: pl.DataFrame) -> dict[str, Any]:
    """The trend tests as the sweep's JSON carries them, with how to read them."""
    return {"note": NOTE, "correction": "holm over every row", "rows": table.to_dicts()}
