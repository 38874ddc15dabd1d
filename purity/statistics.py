"""Statistics on arrays of replicate figures: Monte-Carlo p-values, multiple-comparison
corrections, Student-t intervals over seeds, and the power of a test before the runs are spent.

Numpy only, so both the reports (which test what a run wrote) and `purity power` (which plans
runs from a simulated null) use the same arithmetic. The Monte-Carlo p-value (1 + k)/(1 + M) is
valid (Davison & Hinkley 1997, §4.2) and never 0; Holm (1979) controls the family-wise error and
Benjamini & Yekutieli (2001) the false discovery rate under any dependence. Paired comparisons
over seeds use the sign-flip permutation test (exact up to 16 seeds), one- or two-sided.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

ALPHA = 0.05
POWER = 0.8
METHODS = ("holm", "by")
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


def required_replicates(tests: int, seeds: int = 1, alpha: float = ALPHA, method: str = "holm") -> int:
    """Null replicates needed so that a Monte-Carlo p-value can reach the smallest corrected
    threshold. The smallest two-sided p-value over M null draws is 2/(1 + M) (`mc_pvalue`), and
    it must reach α/tests under Holm (α/(tests·H(tests)) under Benjamini–Yekutieli, H the harmonic
    number): M ≥ 2·tests/α disjoint seed-means (one more than the bound, so that rounding in the
    corrected product cannot land on the wrong side of α), each taking `seeds` replicates."""
    _check_method(method)
    factor = sum(1.0 / i for i in range(1, tests + 1)) if method == "by" else 1.0
    return int(seeds) * math.ceil(round(2 * tests * factor / alpha, 9))


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


def decision_scales(p: Sequence[float], alpha: float = ALPHA, method: str = "holm") -> np.ndarray:
    """Per test the factor s with: the corrected procedure rejects the test exactly when
    s·p ≤ α (for Holm with the same floating-point products as `adjust`; for BY up to rounding).

    A corrected decision is a raw test at a level of its own, α/s, so an interval built by
    inverting the raw test at that level (`accepted_range`) excludes the null value exactly when
    the corrected test rejects. Holm: a test rejected at rank r (from 0) has s = m − r; the others
    have the s of the rank where the step-down stopped. Benjamini–Yekutieli: s = m·c/r*, r* the
    number rejected (1 when none), for every test."""
    _check_method(method)
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    if method == "holm":
        ranks = m - np.arange(m, dtype=np.float64)
        passed = np.logical_and.accumulate(ranks * p[order] <= alpha)
        stop = int(np.count_nonzero(passed))
        scales_sorted = np.where(passed, ranks, ranks[min(stop, m - 1)])
        out = np.empty(m)
        out[order] = scales_sorted
        return out
    c = np.sum(1.0 / np.arange(1, m + 1))
    rejected = int(np.count_nonzero(benjamini_yekutieli(p) <= alpha))
    return np.full(m, m * c / max(rejected, 1))


def accepted_range(null: np.ndarray, scale: float, alpha: float = ALPHA) -> tuple[float, float]:
    """The observed values the Monte-Carlo test against `null` does not reject at the corrected
    level α/`scale` (`decision_scales`): [k-th smallest, k-th largest] null draw, k the fewest
    draws on the nearer side for which scale·p > α. (−inf, inf) when no value can be rejected."""
    ordered = np.sort(np.asarray(null, dtype=np.float64))
    size = ordered.size
    counts = np.arange(size + 1)
    p = np.minimum(1.0, 2 * ((1 + counts) / (1 + size)))  # `mc_pvalue` with `counts` on one side
    kept = scale * p > alpha
    if kept[0]:
        return -math.inf, math.inf
    k = int(np.argmax(kept))  # ≥ 1; never 0 past the median, where p = 1
    return float(ordered[k - 1]), float(ordered[size - k])


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


def detection_power(
    null: np.ndarray,
    shift: float,
    seeds: int,
    level: float,
    rng: np.random.Generator,
    trials: int = 800,
    means: int = 4000,
    references: int = 40,
) -> float:
    """Chance that K = `seeds` runs whose end shares are the null's moved by `shift` (clipped to
    [0, 1]: a term cannot fall below extinction) are called different from drift at `level` by
    the Monte-Carlo test of the K-seed mean against `means` null K-seed means, as many as the
    test will have (M = R // K of a run's R replicates: the fewer, the coarser its p-values).
    The M means are drawn afresh for each of `references` groups of the trials, so the estimate
    averages over the null sample as well as over the runs."""
    null = np.asarray(null, dtype=np.float64)
    per = max(1, trials // references)
    hits = 0
    for _ in range(references):  # one reference at a time: M × K draws, bounded memory
        reference = np.sort(null[rng.integers(0, null.size, size=(means, seeds))].mean(axis=1))
        moved = np.clip(null[rng.integers(0, null.size, size=(per, seeds))] + shift, 0.0, 1.0).mean(axis=1)
        lower = (1 + np.searchsorted(reference, moved, side="right")) / (1 + means)
        upper = (1 + means - np.searchsorted(reference, moved, side="left")) / (1 + means)
        hits += int(np.count_nonzero(np.minimum(1.0, 2 * np.minimum(lower, upper)) <= level))
    return hits / (per * references)


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
    replicates: Callable[[int], int] | None = None,
) -> int | None:
    """The fewest seeds whose mean end share detects a mean end share moved by `effect` from the
    null's (every run's end share moved alike, `shift_for`) with probability `power`, at Holm's
    strictest threshold α/tests, against as many null means as a run over k seeds will have:
    `replicates(k)` // k (default: the fewest that can reach that threshold, `required_replicates`);
    None when no move gives that effect or beyond `max_seeds`."""
    level = alpha / max(tests, 1)
    shift = shift_for(null, effect)
    if shift is None:
        return None
    replicates = replicates or (lambda k: required_replicates(tests, k, alpha))
    reachable = required_replicates(tests, 1, alpha)  # null means a report asks for (`inference`)
    top = next((k for k in range(max_seeds, 0, -1) if replicates(k) // k >= reachable), 0)

    def enough(k: int) -> bool:
        rng = np.random.default_rng([seed, k])
        return detection_power(null, shift, k, level, rng, means=replicates(k) // k) >= power

    if top == 0 or not enough(top):  # a fixed null of R replicates tests at most R // M seeds
        return None
    low, high = 0, top  # not enough at low (0 seeds detect nothing), enough at high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


# Sign-flip permutation tests over seeds: under the null each seed's value is symmetric about 0.
EXACT = 16  # seeds up to which every sign flip is enumerated; beyond, FLIPS drawn ones
FLIPS = 1 << 16
ALTERNATIVES = ("two-sided", "greater", "less")


def sign_flip_pvalue(values: Sequence[float], alternative: str = "two-sided") -> float:
    """Sign-flip p-value of the mean of `values` against 0 (`greater`: the mean is above 0,
    `less`: below): exact (all 2^k flips) up to EXACT seeds, else from FLIPS random flips (fixed
    seed, the observed one counted)."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative: one of {', '.join(ALTERNATIVES)}, not {alternative!r}")
    x = np.asarray(values, dtype=np.float64)
    observed = float(x.sum())

    def extreme(sums: np.ndarray) -> int:
        if alternative == "greater":
            return int(np.count_nonzero(sums >= observed - 1e-12))
        if alternative == "less":
            return int(np.count_nonzero(sums <= observed + 1e-12))
        return int(np.count_nonzero(np.abs(sums) >= abs(observed) - 1e-12))

    if x.size <= EXACT:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=x.size)))
        return extreme(signs @ x) / signs.shape[0]
    rng, chunk, hits = np.random.default_rng(0), max(1, (1 << 22) // x.size), 0
    for start in range(0, FLIPS, chunk):  # bounded memory whatever the number of seeds
        signs = rng.choice((1.0, -1.0), size=(min(chunk, FLIPS - start), x.size))
        hits += extreme(signs @ x)
    return float((hits + 1) / (FLIPS + 1))


def smallest_p(seeds: int, alternative: str = "two-sided") -> float:
    """The smallest p-value `sign_flip_pvalue` can give over `seeds` seeds: exactly 2/2^k two-sided
    (the observed signs and their mirror) and 1/2^k one-sided; 1/(FLIPS + 1) from drawn flips."""
    if seeds > EXACT:
        return 1.0 / (FLIPS + 1)
    return (2.0 if alternative == "two-sided" else 1.0) / 2**seeds


def sign_test(values: Sequence[float], alternative: str = "greater") -> float:
    """Exact one-sided sign test of the median of `values` against 0 (`greater`: above, `less`:
    below): the chance of at least as many seeds strictly on that side among all of them if each
    seed lands there with probability 1/2. A seed exactly at 0 counts against the alternative, so
    ties make the test conservative. Unlike the sign-flip test it assumes nothing about the shape
    of the values (bounded rates pile up at a floor); its smallest p-value is 1/2^k."""
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative: greater or less, not {alternative!r}")
    x = np.asarray(values, dtype=np.float64)
    k = int(np.count_nonzero(x > 0 if alternative == "greater" else x < 0))
    n = x.size
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def smallest_sign_p(seeds: int) -> float:
    """The smallest p-value `sign_test` can give over `seeds` seeds: every seed on its side."""
    return 0.5**seeds
