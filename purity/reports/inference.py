"""Verdicts from replicates: each figure of a run tested against its null distribution.

Pure functions over numpy arrays and polars frames (nothing from `tournament`): the observed
figures of K seeds (one row per seed and process term) and the figures of R null replicates (the
same columns, `record.NULL_FIGURES`) go in; per term come out the mean over seeds with a 95%
interval, the null's 95% band for that same mean, a Monte-Carlo p-value, an effect size, the
p-value corrected over every test of the report, and a verdict word chosen from the corrected
test alone.

The statistic is the mean over the K seeds. Its null distribution is the means of disjoint groups
of K null replicates (M = R // K of them, independent draws of the statistic), so the Monte-Carlo
p-value (1 + k)/(1 + M) is valid (Davison & Hinkley 1997, §4.2) and never 0. Two-sided:
twice the smaller tail, at most 1. Corrections: Holm (1979) controls the family-wise error under
any dependence; Benjamini & Yekutieli (2001) control the false discovery rate under any
dependence. Term shares are compositional (they compete for the same N slots) and so negatively
dependent, which is where plain Benjamini–Hochberg is not guaranteed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

ALPHA = 0.05
METHODS = ("holm", "by")
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

# Two-sided t quantiles t_{0.975, df} for df = 1..30; above 30 the normal 1.96 is within 3%.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
)
_T975 += (
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


class NullTooSmall(ValueError):
    """The null has too few replicates for the smallest corrected threshold to be reachable."""


def required_replicates(tests: int, seeds: int = 1, alpha: float = ALPHA, method: str = "holm") -> int:
    """Null replicates needed so that a Monte-Carlo p-value can reach the smallest corrected
    threshold: at least tests/α disjoint seed-means under Holm (tests·H(tests)/α under
    Benjamini–Yekutieli, H the harmonic number), each mean taking `seeds` replicates."""
    _check_method(method)
    factor = sum(1.0 / i for i in range(1, tests + 1)) if method == "by" else 1.0
    return int(seeds) * math.ceil(tests * factor / alpha)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"correction method {method!r}: one of {METHODS}")


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error under any dependence)."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_yekutieli(p: Sequence[float]) -> np.ndarray:
    """Benjamini–Yekutieli step-up adjusted p-values (false discovery rate under any dependence)."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    c = np.sum(1.0 / np.arange(1, m + 1))
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m * c / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def adjust(p: Sequence[float], method: str = "holm") -> np.ndarray:
    _check_method(method)
    return holm(p) if method == "holm" else benjamini_yekutieli(p)


def seed_means(null: np.ndarray, seeds: int) -> np.ndarray:
    """Means of disjoint groups of `seeds` null replicates, in replicate order: independent draws
    of the K-seed mean under the null."""
    null = np.asarray(null, dtype=np.float64)
    groups = null.size // int(seeds)
    return null[: groups * seeds].reshape(groups, seeds).mean(axis=1)


def mc_pvalue(observed: float, null: np.ndarray) -> float:
    """Two-sided Monte-Carlo p-value of `observed` against null draws of the same statistic."""
    null = np.asarray(null, dtype=np.float64)
    lower = (1 + np.count_nonzero(null <= observed)) / (1 + null.size)
    upper = (1 + np.count_nonzero(null >= observed)) / (1 + null.size)
    return min(1.0, 2 * min(lower, upper))


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean over seeds with a 95% Student-t interval (clipped to the range a share can take is
    the caller's business); the interval is (nan, nan) for one seed."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    t = _T975[x.size - 2] if x.size - 1 <= len(_T975) else 1.959964
    half = t * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def _group_keys(frame: pl.DataFrame, keys: Sequence[str]) -> list[tuple]:
    return frame.select(*keys, "term").unique(maintain_order=True).rows()


def _by_group(frame: pl.DataFrame, keys: Sequence[str], figure: str) -> dict[tuple, np.ndarray]:
    """The figure's values per (keys…, term), in replicate order."""
    parts = frame.sort("replicate").partition_by([*keys, "term"], as_dict=True, maintain_order=True)
    return {key: part[figure].to_numpy().astype(np.float64) for key, part in parts.items()}


def figure_tests(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    figure: str = "end",
    keys: Sequence[str] = (),
    centred: bool = False,
) -> pl.DataFrame:
    """Per (keys…, term): the figure's mean over the observed seeds with its interval, the null's
    mean, sd (of one run) and 95% band of the K-seed mean, the raw Monte-Carlo p-value and the
    effect (observed mean − null mean, and in null sds). `centred`: test against the null's
    spread around zero instead of its distribution (a force's systematic push, for mutation)."""
    rows = []
    seen, drawn = _by_group(observed, keys, figure), _by_group(null, keys, figure)
    for key in _group_keys(observed, keys):
        x, y = seen[key], drawn.get(key, np.empty(0))
        if y.size == 0:
            raise NullTooSmall(f"no null replicates for {dict(zip([*keys, 'term'], key))}")
        means = seed_means(y, x.size)
        centre = float(y.mean())
        reference = means - centre if centred else means
        mean, low, high = mean_interval(x)
        sd = float(y.std())
        effect = mean - (0.0 if centred else centre)
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
                "p": mc_pvalue(mean, reference),
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
    """The tests with `p_adjusted` over all their rows (terms × grid points × figures), after
    checking that the null is large enough for every corrected threshold to be reachable."""
    _check_power(tests, alpha, method, tests.height)
    return tests.with_columns(p_adjusted=pl.Series(adjust(tests["p"].to_numpy(), method)))


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
    words = [
        verdict_word(
            r["p_adjusted"],
            r["effect"],
            r["seeds"],
            r["zeros"],
            r["ones"],
            alpha,
            (r["band_low"], r["band_high"]),
        )
        for r in tests.iter_rows(named=True)
    ]
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


def selection_beyond_drift(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    keys: Sequence[str] = (),
    alpha: float = ALPHA,
    method: str = "holm",
) -> pl.DataFrame:
    """The Price selection term of every term's carrier share beyond drift: the observed mean over
    seeds minus the null's mean (`beyond`), with the interval the null's 95% band of the seed mean
    gives it, and its corrected test."""
    tests = corrected(figure_tests(observed, null, "selection", keys), alpha, method)
    return tests.with_columns(
        beyond=pl.col("effect"),
        beyond_low=pl.col("mean") - pl.col("band_high"),
        beyond_high=pl.col("mean") - pl.col("band_low"),
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


def moved_most(
    observed: pl.DataFrame,
    null: pl.DataFrame,
    keys: Sequence[str] = (),
    alpha: float = ALPHA,
    method: str = "holm",
) -> pl.DataFrame:
    """Per (keys…, term) the force of the Price decomposition that moved the carrier share most
    among those distinguishable from drift, or `NO_FORCE`. Selection is tested against the null's
    selection term; the other forces against their null spread around zero (a systematic push);
    a force the null never shows (design, self-modification under a cheap null) is beyond drift
    as soon as it moved anything. All forces × terms × grid points are corrected together."""
    parts = [
        figure_tests(observed, null, force, keys, centred=force != "selection").with_columns(
            force=pl.lit(force)
        )
        for force in active_forces(observed, null)
    ]
    tests = corrected(pl.concat(parts), alpha, method)
    out = []
    for key in _group_keys(observed, keys):
        mine = tests.filter(pl.all_horizontal([pl.col(c) == v for c, v in zip([*keys, "term"], key)]))
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


# ---------------------------------------------------------------------------------------------
# power: seeds needed before spending compute

POWER = 0.8


def detection_power(
    null: np.ndarray, shift: float, seeds: int, level: float, rng: np.random.Generator, trials: int = 800
) -> float:
    """Chance that K = `seeds` runs whose end shares are the null's moved by `shift` (clipped to
    [0, 1]: a term cannot fall below extinction) are called different from drift at `level` by
    the Monte-Carlo test of the K-seed mean. The null's K-means are resampled from its draws."""
    null = np.asarray(null, dtype=np.float64)
    reference = np.sort(null[rng.integers(0, null.size, size=(max(4000, 2 * trials), seeds))].mean(axis=1))
    moved = np.clip(null[rng.integers(0, null.size, size=(trials, seeds))] + shift, 0.0, 1.0).mean(axis=1)
    size = reference.size
    lower = (1 + np.searchsorted(reference, moved, side="right")) / (1 + size)
    upper = (1 + size - np.searchsorted(reference, moved, side="left")) / (1 + size)
    return float(np.mean(np.minimum(1.0, 2 * np.minimum(lower, upper)) <= level))


def shift_for(null: np.ndarray, effect: float) -> float | None:
    """The move s of every run's end share (clipped to [0, 1]) that moves the mean end share by
    `effect`; None when no move can (a decline larger than drift's mean end share)."""
    null = np.asarray(null, dtype=np.float64)
    base = float(null.mean())

    def moved(s: float) -> float:
        return float(np.clip(null + s, 0.0, 1.0).mean()) - base

    bound = 1.0 if effect > 0 else -1.0
    if abs(moved(bound)) < abs(effect) - 1e-12:
        return None
    low, high = 0.0, bound
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if abs(moved(mid)) < abs(effect) else (low, mid)
    return high


def seeds_needed(
    null: np.ndarray,
    effect: float,
    tests: int = 1,
    alpha: float = ALPHA,
    power: float = POWER,
    max_seeds: int = 200,
    seed: int = 0,
) -> int | None:
    """The fewest seeds whose mean end share detects a mean end share moved by `effect` from the
    null's (every run's end share moved alike, `shift_for`) with probability `power`, at Holm's
    strictest threshold α/tests; None when no move gives that effect or beyond `max_seeds`."""
    level = alpha / max(tests, 1)
    shift = shift_for(null, effect)
    if shift is None:
        return None

    def enough(k: int) -> bool:
        return detection_power(null, shift, k, level, np.random.default_rng([seed, k])) >= power

    if not enough(max_seeds):
        return None
    low, high = 0, max_seeds  # not enough at low (0 seeds detect nothing), enough at high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high
