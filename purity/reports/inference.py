"""Verdicts from replicates: each figure of a run tested against its null distribution.

Pure functions over numpy arrays and polars frames (nothing from `tournament`): the observed
figures of K seeds (one row per seed and process term) and the figures of R null replicates (the
same columns, `record.NULL_FIGURES`) go in; per term come out the mean over seeds with a 95%
interval, the null's 95% band for that same mean, a Monte-Carlo p-value, an effect size, the
p-value corrected over every test of the report, and a verdict word chosen from the corrected
test alone. The array arithmetic (p-values, corrections, intervals) is `purity.statistics`.

The statistic is the mean over the K seeds. Its null distribution is the means of disjoint groups
of K null replicates (M = R // K of them, independent draws of the statistic), so the Monte-Carlo
p-value (1 + k)/(1 + M) is valid (Davison & Hinkley 1997, §4.2) and never 0. Two-sided:
twice the smaller tail, at most 1, so never below 2/(1 + M). Corrections: Holm (1979) controls the family-wise error under
any dependence; Benjamini & Yekutieli (2001) control the false discovery rate under any
dependence. Term shares are compositional (they compete for the same N slots) and so negatively
dependent, which is where plain Benjamini–Hochberg is not guaranteed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from purity.statistics import (
    ALPHA,
    accepted_range,
    adjust,
    decision_scales,
    mc_pvalue,
    mean_interval,
    required_replicates,
    seed_means,
)

FIGURES = ("end", "selection", "mutation", "design", "self_modify")
FORCES = ("selection", "mutation", "design", "self_modify")

SPREAD = "spread beyond drift"
DECLINED = "declined beyond drift"
NEUTRAL = "indistinguishable from drift"
EXTINCT = "extinct in every run and under drift too"
FIXED = "carried by every agent in every run and under drift too"
# the runs agree, drift rarely would, yet the corrected test cannot reject (too few seeds or tests)
EXTINCT_HERE = "extinct in every run, indistinguishable from drift"
FIXED_HERE = "carried by every agent in every run, indistinguishable from drift"
VERDICTS = (SPREAD, DECLINED, NEUTRAL, EXTINCT, FIXED, EXTINCT_HERE, FIXED_HERE)
TONES = {SPREAD: "spread", DECLINED: "declined"} | {word: "neutral" for word in VERDICTS[2:]}
NO_FORCE = "no force beyond drift"


class NullTooSmall(ValueError):
    """The null has too few replicates for the smallest corrected threshold to be reachable."""


def _group_keys(frame: pl.DataFrame, keys: Sequence[str]) -> list[tuple]:
    return frame.select(*keys, "term").unique(maintain_order=True).rows()


def _by_group(frame: pl.DataFrame, keys: Sequence[str], figure: str) -> dict[tuple, np.ndarray]:
    """The figure's values per (keys…, term), in replicate order."""
    parts = frame.sort("replicate").partition_by([*keys, "term"], as_dict=True, maintain_order=True)
    return {key: part[figure].to_numpy().astype(np.float64) for key, part in parts.items()}


def _references(
    observed: pl.DataFrame, null: pl.DataFrame, figure: str, keys: Sequence[str]
) -> dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per (keys…, term): the observed seeds' values, the null's values, and the null draws of the
    K-seed mean the observed mean is tested against."""
    seen, drawn = _by_group(observed, keys, figure), _by_group(null, keys, figure)
    out = {}
    for key in _group_keys(observed, keys):
        x, y = seen[key], drawn.get(key, np.empty(0))
        if y.size == 0:
            raise NullTooSmall(f"no null replicates for {dict(zip([*keys, 'term'], key))}")
        means = seed_means(y, x.size)
        out[key] = (x, y, means)
    return out


def figure_tests(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    figure: str = "end",
    keys: Sequence[str] = (),
) -> pl.DataFrame:
    """Per (keys…, term): the figure's mean over the observed seeds with its interval, the null's
    mean, sd (of one run) and 95% band of the K-seed mean, the raw Monte-Carlo p-value and the
    effect (observed mean − null mean, and in null sds)."""
    rows = []
    for key, (x, y, means) in _references(observed, null, figure, keys).items():
        centre = float(y.mean())
        mean, low, high = mean_interval(x)
        sd = float(y.std())
        effect = mean - centre
        rows.append(
            {
                **dict(zip([*keys, "term"], key)),
                "seeds": int(x.size),
                "mean": mean,
                "low": low,
                "high": high,
                "null_mean": centre,
                "null_sd": sd,
                "band_low": float(np.quantile(means, 0.025)),
                "band_high": float(np.quantile(means, 0.975)),
                "null_means": int(means.size),
                "p": mc_pvalue(mean, means),
                "effect": effect,
                "effect_sd": _standardised(effect, sd),
                "zeros": int(np.count_nonzero(x == 0)),
                "ones": int(np.count_nonzero(x == 1)),
            }
        )
    return pl.DataFrame(rows)


def _standardised(effect: float, sd: float) -> float:
    """The effect in null standard deviations (±inf when the null does not vary at all)."""
    if sd > 0:
        return effect / sd
    return 0.0 if effect == 0 else math.copysign(math.inf, effect)


def _check_power(tests: pl.DataFrame, alpha: float, method: str, total: int) -> None:
    need = required_replicates(total, 1, alpha, method)
    short = tests.filter(pl.col("null_means") < need)
    if short.height:
        row = short.row(0, named=True)
        raise NullTooSmall(
            f"{total} corrected tests at α = {alpha} ({method}) need at least {need} independent "
            f"null means, i.e. {need * row['seeds']} null replicates for means over {row['seeds']} "
            f"seeds; term {row['term']!r} has {row['null_means']}"
        )


def corrected(tests: pl.DataFrame, alpha: float = ALPHA, method: str = "holm") -> pl.DataFrame:
    """The tests with `p_adjusted` over all their rows (terms × grid points × figures), and the
    `scale` that turns each corrected decision into a raw test at level α/scale
    (`statistics.decision_scales`), after checking that the null is large enough for every
    corrected threshold to be reachable."""
    _check_power(tests, alpha, method, tests.height)
    p = tests["p"].to_numpy()
    return tests.with_columns(
        p_adjusted=pl.Series(adjust(p, method)), scale=pl.Series(decision_scales(p, alpha, method))
    )


def verdict_word(
    p_adjusted: float,
    effect: float,
    seeds: int,
    zeros: int,
    ones: int,
    alpha: float = ALPHA,
    band: tuple[float, float] = (0.0, 1.0),
) -> str:
    """The verdict from the corrected test alone: spread or declined beyond drift when it rejects,
    else how the term ended where the runs agree (extinct or carried by all everywhere), else
    indistinguishable from drift. "Under drift too" only where the null's 95% band of the K-seed
    mean (`band`) reaches that end; otherwise the runs agree but the test cannot tell."""
    if p_adjusted <= alpha and effect != 0:
        return SPREAD if effect > 0 else DECLINED
    if zeros == seeds:
        return EXTINCT if band[0] <= 0.0 else EXTINCT_HERE
    if ones == seeds:
        return FIXED if band[1] >= 1.0 else FIXED_HERE
    return NEUTRAL


def row_verdict(row: dict, alpha: float = ALPHA) -> str:
    """`verdict_word` of one row of `corrected` tests."""
    band = (row["band_low"], row["band_high"])
    return verdict_word(
        row["p_adjusted"], row["effect"], row["seeds"], row["zeros"], row["ones"], alpha, band
    )


def verdicts(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    keys: Sequence[str] = (),
    alpha: float = ALPHA,
    method: str = "holm",
) -> pl.DataFrame:
    """The end-share test of every (keys…, term), corrected over all of them, with its verdict
    (`verdict`), its colour (`tone`) and, for a single seed, a note saying how little it shows."""
    tests = corrected(figure_tests(observed, null, "end", keys), alpha, method)
    tests = tests.with_columns(pl.col("low").clip(0.0, 1.0), pl.col("high").clip(0.0, 1.0))  # shares
    starts = observed.group_by(*keys, "term").agg(start=pl.col("start").mean())
    words = [row_verdict(r, alpha) for r in tests.iter_rows(named=True)]
    tests = tests.join(starts, on=[*keys, "term"], how="left", maintain_order="left")
    return tests.with_columns(
        verdict=pl.Series(words, dtype=pl.String),
        tone=pl.Series([TONES[w] for w in words], dtype=pl.String),
        note=pl.Series([one_seed_note(r, null) for r in tests.iter_rows(named=True)], dtype=pl.String),
    )


def one_seed_note(row: dict, null: pl.DataFrame | None = None) -> str | None:
    """What one seed can show (None for several seeds): the band a single run falls in under the
    null, and that nothing measures how runs of this experiment vary."""
    if row["seeds"] != 1:
        return None
    return (
        f"One seed: this compares a single run with {row['null_means']} null runs. Without "
        f"selection, one run's end share falls anywhere in [{row['band_low']:.2f}, "
        f"{row['band_high']:.2f}] (95%), so only an end share outside that band can be called, "
        "and one run says nothing about how much runs of this experiment vary. "
        "`purity power` says how many seeds an effect needs."
    )


def active_forces(observed: pl.DataFrame, null: pl.DataFrame) -> list[str]:
    """The forces worth a test: those that moved something in the runs or in the null (mutation at
    rate 0, or design without reflection, is 0 in both and is left out of the correction)."""
    return [
        force
        for force in FORCES
        if force in observed.columns
        and force in null.columns
        and ((observed[force] != 0).any() or (null[force] != 0).any())
    ]


def force_tests(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    keys: Sequence[str] = (),
    alpha: float = ALPHA,
    method: str = "holm",
) -> pl.DataFrame:
    """Every active force of the Price decomposition × term (× keys) tested against the null and
    corrected as one family, so "selection beyond the null" and "moved most by" of a row never
    disagree. Each force is tested against the null's own draws of it: a force counts only where
    it moved the share otherwise than it does without selection (mutation pushes under the null
    too, e.g. where invaders are born). A force the null never shows (design, self-modification
    under a cheap null) is beyond it as soon as it moved anything: that follows from the null.

    Each row also carries `beyond` (the force beyond the null's mean) and the shifts of the
    observed mean that the corrected test does not reject (`beyond_low`, `beyond_high`): the
    interval excludes 0 exactly when the corrected test rejects."""
    forces = active_forces(observed, null)
    if not forces:
        return pl.DataFrame()
    parts, references = [], {}
    for force in forces:
        parts.append(figure_tests(observed, null, force, keys).with_columns(force=pl.lit(force)))
        references[force] = _references(observed, null, force, keys)
    tests = corrected(pl.concat(parts), alpha, method)
    bounds = []
    for r in tests.iter_rows(named=True):
        reference = references[r["force"]][tuple(r[c] for c in [*keys, "term"])][2]
        low, high = accepted_range(reference, r["scale"], alpha)
        bounds.append((r["mean"] - high, r["mean"] - low))
    return tests.with_columns(
        beyond=pl.col("effect"),
        beyond_low=pl.Series([b[0] for b in bounds], dtype=pl.Float64),
        beyond_high=pl.Series([b[1] for b in bounds], dtype=pl.Float64),
    )


def selection_beyond_drift(forces: pl.DataFrame) -> pl.DataFrame:
    """The Price selection term of every term's carrier share beyond drift, from `force_tests`:
    the observed mean over seeds minus the null's mean, the interval of the corrected test, and
    its corrected p-value."""
    if forces.height == 0:
        return forces
    return forces.filter(pl.col("force") == "selection")


def moved_most(forces: pl.DataFrame, keys: Sequence[str] = (), alpha: float = ALPHA) -> pl.DataFrame:
    """Per (keys…, term) of `force_tests` the force that moved the carrier share most among those
    distinguishable from drift, or `NO_FORCE`."""
    out = []
    for key in _group_keys(forces, keys):
        mine = forces.filter(pl.all_horizontal([pl.col(c) == v for c, v in zip([*keys, "term"], key)]))
        named = mine.filter((pl.col("p_adjusted") <= alpha) & (pl.col("mean") != 0))
        best = named.sort(pl.col("effect").abs(), descending=True).head(1)
        row = best.row(0, named=True) if best.height else None
        out.append(
            {
                **dict(zip([*keys, "term"], key)),
                "moved_most": row["force"] if row else NO_FORCE,
                "moved_value": row["mean"] if row else None,
                "moved_beyond": row["effect"] if row else None,
                "moved_p": row["p_adjusted"] if row else None,
            }
        )
    return pl.DataFrame(
        out, schema_overrides={"moved_value": pl.Float64, "moved_beyond": pl.Float64, "moved_p": pl.Float64}
    )


def lock_in_tests(observed: pl.DataFrame, null: pl.DataFrame, keys: Sequence[str] = ()) -> pl.DataFrame:
    """Whether one lineage took over (`lock_in` not null) more or less often than under the null:
    the share of seeds that locked in (`mean`), the null's (`null_mean`), and the raw p-value;
    one row per (keys…), `term` reading "lock-in"."""

    def locked(frame: pl.DataFrame) -> pl.DataFrame:
        once = frame.unique([*keys, "replicate"], keep="first", maintain_order=True)
        return once.select(
            *keys, "replicate", term=pl.lit("lock-in"), end=pl.col("lock_in").is_not_null().cast(pl.Float64)
        )

    return figure_tests(locked(observed), locked(null), "end", keys)
