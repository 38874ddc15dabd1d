"""Inference for verdicts: p-values, corrections, verdict words, forces against the null."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from purity import statistics
from purity.reports import inference
from purity.reports.inference import (
    DECLINED,
    EXTINCT,
    NEUTRAL,
    NO_FORCE,
    SPREAD,
    NullTooSmall,
)


def frame(values: dict[str, np.ndarray], **figures: np.ndarray) -> pl.DataFrame:
    """Figures frame: one row per replicate and term; `values` maps term → end shares."""
    rows = []
    for term, ends in values.items():
        for r, end in enumerate(ends):
            rows.append(
                {
                    "replicate": r,
                    "term": term,
                    "start": 0.25,
                    "end": float(end),
                    **{name: float(col[term][r]) for name, col in figures.items()},
                }
            )
    return pl.DataFrame(rows)


# ---------------------------------------------------------------- corrections and p-values


def test_holm_by_hand() -> None:
    np.testing.assert_allclose(statistics.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_benjamini_yekutieli_by_hand() -> None:
    c = 1 + 1 / 2 + 1 / 3 + 1 / 4
    expected = [0.01 * 4 * c / 2, 0.04 * c, 0.03 * 4 * c / 3, 0.005 * 4 * c]
    expected = [
        min(expected[0], expected[3]),
        max(expected[1], expected[2]),
        max(expected[1], expected[2]),
        min(expected[0], expected[3]),
    ]
    np.testing.assert_allclose(statistics.benjamini_yekutieli([0.01, 0.04, 0.03, 0.005]), expected)
    assert statistics.benjamini_yekutieli([0.9])[0] == 0.9


def test_monte_carlo_p_value_counts_ties_and_is_never_zero() -> None:
    null = np.arange(99, dtype=float)  # 0 … 98
    assert statistics.mc_pvalue(-1.0, null) == pytest.approx(2 / 100)
    assert statistics.mc_pvalue(0.0, null) == pytest.approx(2 * 2 / 100)
    assert statistics.mc_pvalue(49.0, null) == 1.0


def test_monte_carlo_p_values_are_valid_under_the_null() -> None:
    """Statistics drawn from the null itself: P(p ≤ α) ≤ α, also for a discrete null with a mass
    at 0 (extinction) and for seed-means."""
    rng = np.random.default_rng(0)
    null = np.where(rng.random(4000) < 0.4, 0.0, rng.random(4000))
    means = statistics.seed_means(null, 5)
    trials = [
        statistics.mc_pvalue(float(np.mean(np.where(rng.random(5) < 0.4, 0.0, rng.random(5)))), means)
        for _ in range(3000)
    ]
    rate = np.mean(np.array(trials) <= 0.05)
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 3000)


def test_seed_means_are_disjoint_groups() -> None:
    np.testing.assert_allclose(statistics.seed_means(np.arange(10.0), 3), [1.0, 4.0, 7.0])


def test_required_replicates() -> None:
    assert statistics.required_replicates(6, 1) == 240
    assert statistics.required_replicates(6, 5) == 1200
    assert statistics.required_replicates(4, 1, method="by") == math.ceil(2 * 4 * (25 / 12) / 0.05)
    with pytest.raises(ValueError, match="correction method"):
        statistics.required_replicates(1, method="bh")


@pytest.mark.parametrize("method", ["holm", "by"])
@pytest.mark.parametrize("tests", [1, 2, 3, 6, 7, 20, 49])
def test_required_replicates_let_the_two_sided_p_value_reach_the_first_corrected_threshold(
    tests: int, method: str
) -> None:
    """With M = required null means, a value beyond every null draw is rejected after correction
    among `tests` tests (the others p = 1); with M two fewer it cannot be, whatever it is."""
    need = statistics.required_replicates(tests, 1, method=method)
    for size, rejects in ((need, True), (need - 2, False)):
        p = statistics.mc_pvalue(1.0, np.zeros(size))
        adjusted = statistics.adjust([p] + [1.0] * (tests - 1), method)[0]
        assert bool(adjusted <= 0.05) is rejects, (size, p, adjusted)


def test_decision_scales_turn_holm_into_raw_tests_exactly() -> None:
    """Holm by hand on (0.01, 0.04, 0.03, 0.005): 0.005·4 and 0.01·3 pass, 0.03·2 stops."""
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_array_equal(statistics.decision_scales(p), [3.0, 2.0, 2.0, 4.0])
    rng = np.random.default_rng(11)
    for method in ("holm", "by"):
        for _ in range(300):
            p = rng.choice([rng.random(8) * 0.05, rng.random(8)])
            scales = statistics.decision_scales(p, 0.05, method)
            assert ((scales * p <= 0.05) == (statistics.adjust(p, method) <= 0.05)).all()


def test_the_accepted_range_is_the_raw_test_inverted() -> None:
    """Every value the range accepts has scale·p > α, every value outside it scale·p ≤ α."""
    rng = np.random.default_rng(12)
    null = np.round(rng.normal(0.0, 1.0, 399), 1)  # ties, as shares of a finite population have
    for scale in (1.0, 3.0, 8.0):
        low, high = statistics.accepted_range(null, scale)
        for x in np.unique(np.concatenate([null, null + 0.05, null - 0.05])):
            assert (low <= x <= high) == (scale * statistics.mc_pvalue(x, null) > 0.05), (scale, x)
    assert statistics.accepted_range(null, 30.0) == (-math.inf, math.inf)  # 30·2/400 > α: nothing rejects


def test_mean_interval() -> None:
    mean, low, high = statistics.mean_interval([0.1, 0.3])
    assert mean == pytest.approx(0.2) and high - mean == pytest.approx(
        12.706 * 0.1, rel=1e-4
    )  # sd/sqrt(2) = 0.1
    assert math.isnan(statistics.mean_interval([0.4])[1])


# ---------------------------------------------------------------- verdict words


def null_frame(rng, reps: int = 3000) -> pl.DataFrame:
    """A null where term a drifts around 0.25 and dies out in 30% of replicates."""
    a = np.where(rng.random(reps) < 0.3, 0.0, np.clip(rng.normal(0.35, 0.15, reps), 0, 1))
    return frame({"a": a, "b": np.clip(rng.normal(0.25, 0.1, reps), 0, 1)})


def test_verdict_words_follow_the_corrected_test() -> None:
    rng = np.random.default_rng(1)
    null = null_frame(rng)
    observed = frame({"a": np.zeros(5), "b": np.full(5, 0.9)})
    out = inference.verdicts(observed, null).sort("term")
    assert out["verdict"].to_list() == [DECLINED, SPREAD]
    assert out["tone"].to_list() == ["declined", "spread"]
    assert (out["p_adjusted"] <= 0.05).all() and out["note"].is_null().all()
    assert out["effect"][1] == pytest.approx(0.9 - null.filter(pl.col("term") == "b")["end"].mean())

    near = frame({"a": np.array([0.2, 0.3, 0.0, 0.5, 0.3]), "b": np.array([0.2, 0.3, 0.25, 0.2, 0.3])})
    assert inference.verdicts(near, null)["verdict"].to_list() == [NEUTRAL, NEUTRAL]


def test_extinct_everywhere_and_under_drift_too() -> None:
    """Two seeds that both lost term a: 0.3² of null pairs did too, so that is drift's doing."""
    rng = np.random.default_rng(2)
    out = inference.verdicts(frame({"a": np.zeros(2), "b": np.array([0.2, 0.3])}), null_frame(rng))
    assert out.sort("term")["verdict"].to_list() == [EXTINCT, NEUTRAL]


def test_extinct_everywhere_but_not_under_drift_says_the_test_cannot_tell() -> None:
    """Three seeds all lost term a, which drift does in 1/64 of 3-seed means (its band stays above
    0): alone that rejects; corrected over twenty grid points it cannot, and the word says so
    without blaming drift."""
    rng = np.random.default_rng(5)
    # a replicate loses a with chance 1/4, so a 3-seed mean is 0 with chance 1/64 < 2.5%
    lost = rng.random(3000) < 0.25
    null = frame({"a": np.where(lost, 0.0, np.clip(rng.normal(0.4, 0.1, 3000), 0.01, 1))})
    grid = pl.concat([frame({"a": np.zeros(3)}).with_columns(point=pl.lit(k)) for k in range(20)])
    nulls = pl.concat([null.with_columns(point=pl.lit(k)) for k in range(20)])
    out = inference.verdicts(grid.head(3), null)  # alone: rejected
    assert out["verdict"].to_list() == [DECLINED]
    few = inference.verdicts(grid, nulls, ["point"])
    assert (few["p_adjusted"] > 0.05).all() and (few["band_low"] > 0).all()
    assert set(few["verdict"]) == {inference.EXTINCT_HERE}
    assert inference.verdict_word(1.0, -0.4, 3, 3, 0, band=(0.0, 0.8)) == EXTINCT  # band reaches 0
    assert inference.verdict_word(1.0, 0.4, 3, 0, 3, band=(0.2, 0.9)) == inference.FIXED_HERE


def test_one_seed_gets_a_verdict_and_a_plain_note() -> None:
    rng = np.random.default_rng(3)
    out = inference.verdicts(frame({"a": np.zeros(1), "b": np.array([0.99])}), null_frame(rng)).sort("term")
    assert out["verdict"].to_list() == [EXTINCT, SPREAD]
    assert all("One seed" in note and "[" in note for note in out["note"])


def test_correction_covers_terms_and_grid_points() -> None:
    """A p-value that passes alone fails once corrected over twenty grid points."""
    rng = np.random.default_rng(4)
    null = frame({"b": np.clip(rng.normal(0.25, 0.1, 4000), 0, 1)})
    observed = frame({"b": np.array([0.47])})
    alone = inference.verdicts(observed, null)
    assert alone["p"][0] < 0.05 and alone["verdict"][0] == SPREAD
    grid = pl.concat([observed.with_columns(point=pl.lit(k)) for k in range(20)])
    nulls = pl.concat([null.with_columns(point=pl.lit(k)) for k in range(20)])
    out = inference.verdicts(grid, nulls, keys=("point",))
    assert out.height == 20 and (out["p_adjusted"] > 0.05).all() and set(out["verdict"]) == {NEUTRAL}
    by = inference.verdicts(grid, nulls, keys=("point",), method="by")
    assert (by["p_adjusted"] >= by["p"]).all()


def test_too_small_a_null_is_refused() -> None:
    rng = np.random.default_rng(5)
    null = frame({"a": rng.random(100), "b": rng.random(100)})
    with pytest.raises(NullTooSmall, match="need at least 80 independent null means"):
        inference.verdicts(frame({"a": [0.1] * 5, "b": [0.2] * 5}), null)


# ---------------------------------------------------------------- Price forces against the null


def test_selection_beyond_drift_and_moved_most() -> None:
    """Term a: selection far beyond drift's, mutation as under drift → moved most by selection.
    Term b: mutation pushed as under the null and selection within drift → no force named."""
    rng = np.random.default_rng(6)
    reps = 3000
    sel = {"a": rng.normal(0, 0.1, reps), "b": rng.normal(0, 0.1, reps)}
    mut = {"a": rng.normal(-0.01, 0.002, reps), "b": rng.normal(0.0, 0.05, reps)}
    null = frame({"a": rng.random(reps), "b": rng.random(reps)}, selection=sel, mutation=mut)
    obs_sel = {"a": np.full(4, -0.3), "b": np.array([0.05, -0.05, 0.02, 0.0])}
    obs_mut = {"a": np.full(4, -0.01), "b": np.array([0.01, -0.02, 0.0, 0.03])}
    observed = frame({"a": np.zeros(4), "b": np.full(4, 0.3)}, selection=obs_sel, mutation=obs_mut)
    forces = inference.force_tests(observed, null)
    beyond = inference.selection_beyond_drift(forces).sort("term")
    assert beyond["beyond"][0] == pytest.approx(-0.3 - sel["a"].mean())
    assert beyond["beyond_low"][0] < beyond["beyond"][0] < beyond["beyond_high"][0] < 0
    assert beyond["p_adjusted"][0] <= 0.05 and beyond["p_adjusted"][1] > 0.05
    moved = inference.moved_most(forces).sort("term")
    assert moved["moved_most"].to_list() == ["selection", NO_FORCE]
    assert moved["moved_value"][0] == pytest.approx(-0.3)


def test_selection_beyond_the_null_excludes_zero_exactly_when_its_corrected_test_rejects() -> None:
    """Many terms with selection near the null's edge: some rejected, some not after Holm over the
    terms and forces; the interval and the corrected p-value agree on every one of them, where the
    null's uncorrected 95% band would call more."""
    rng = np.random.default_rng(8)
    reps, terms = 4000, [f"t{i}" for i in range(12)]
    null = frame(
        {t: rng.random(reps) for t in terms},
        selection={t: rng.normal(0, 0.1, reps) for t in terms},
        mutation={t: rng.normal(0, 0.01, reps) for t in terms},
    )
    shifts = np.linspace(0.0, 0.25, len(terms))
    observed = frame(
        {t: rng.random(4) for t in terms},
        selection={t: rng.normal(s, 0.1, 4) for t, s in zip(terms, shifts)},
        mutation={t: rng.normal(0, 0.01, 4) for t in terms},
    )
    forces = inference.force_tests(observed, null)
    assert forces.height == 2 * len(terms) and forces["force"].unique().sort().to_list() == [
        "mutation",
        "selection",
    ]
    beyond = inference.selection_beyond_drift(forces)
    excludes = (beyond["beyond_low"] > 0) | (beyond["beyond_high"] < 0)
    rejects = beyond["p_adjusted"] <= 0.05
    assert (excludes == rejects).all()
    outside_band = (beyond["mean"] > beyond["band_high"]) | (beyond["mean"] < beyond["band_low"])
    assert 0 < rejects.sum() < outside_band.sum()  # both ways, and the uncorrected band calls more


def test_a_push_the_null_has_too_is_no_force_beyond_it() -> None:
    """Mutation pushes every share down by about 0.6 under the null as well (invaders are born as
    mutants). Seeds drawn from the null itself name a force about as rarely as α allows; the same
    seeds with mutation pushing 0.4 further are called mutation. (Tested against zero instead,
    the null's own push was named mutation in nearly every draw.)"""
    rng = np.random.default_rng(11)
    reps, seeds, draws = 4000, 8, 200
    sel, mut = rng.normal(0, 0.1, reps), rng.normal(-0.6, 0.25, reps)
    null = frame({"a": rng.random(reps)}, selection={"a": sel}, mutation={"a": mut})
    named, pushed = 0, 0
    for _ in range(draws):
        pick = rng.integers(0, reps, seeds)
        same = {"selection": {"a": sel[pick]}, "mutation": {"a": mut[pick]}}
        further = {"selection": {"a": sel[pick]}, "mutation": {"a": mut[pick] - 0.4}}
        named += (
            inference.moved_most(inference.force_tests(frame({"a": np.zeros(seeds)}, **same), null))[
                "moved_most"
            ][0]
            != NO_FORCE
        )
        pushed += (
            inference.moved_most(inference.force_tests(frame({"a": np.zeros(seeds)}, **further), null))[
                "moved_most"
            ][0]
            == "mutation"
        )
    assert named <= 0.05 * draws + 3 * math.sqrt(0.05 * 0.95 * draws)  # at most α, up to 3 sd
    assert pushed >= 0.9 * draws


def test_a_force_the_null_never_shows_is_beyond_drift() -> None:
    """Design moved the share in every seed; under the cheap null design is 0: it is named."""
    rng = np.random.default_rng(7)
    reps = 3000
    zeros = {"a": np.zeros(reps)}
    null = frame({"a": rng.random(reps)}, selection={"a": rng.normal(0, 0.1, reps)}, design=zeros)
    observed = frame(
        {"a": np.zeros(3)}, selection={"a": np.array([0.05, -0.02, 0.0])}, design={"a": np.full(3, -0.2)}
    )
    forces = inference.force_tests(observed, null)
    assert inference.moved_most(forces)["moved_most"].to_list() == ["design"]


# ---------------------------------------------------------------- the run's own figures


def test_run_figures_of_the_hand_built_run(run_dir) -> None:
    """The toy run's shares (see conftest) and Price parts that add up to the observed change."""
    import purity.reports as reports
    from purity.reports import nulls

    figures = nulls.run_figures(reports.load(run_dir)).sort("term")
    assert figures["term"].to_list() == sorted(
        ["constraint:take:self", "constraint:take:world", "constraint:take:lineage", "standing:commons_above"]
    )
    ends = dict(zip(figures["term"], zip(figures["start"], figures["end"])))
    assert ends["constraint:take:self"] == (0.75, 0.25) and ends["standing:commons_above"] == (0.5, 0.75)
    parts = figures.select(pl.sum_horizontal("selection", "mutation", "design", "self_modify"))
    np.testing.assert_allclose(parts.to_series(), figures["end"] - figures["start"], atol=1e-12)
    assert nulls.load_null(run_dir) is None and nulls.null_info(run_dir) == {}


def test_lock_in_against_the_null() -> None:
    """Every seed locked in, where a fifth of null runs do: lock-in beyond drift."""
    rng = np.random.default_rng(8)
    reps = 2000
    null = frame({"a": rng.random(reps), "b": rng.random(reps)}).with_columns(
        lock_in=pl.when(pl.col("replicate") % 5 == 0).then(12).otherwise(None).cast(pl.Int64)
    )
    observed = frame({"a": np.zeros(6), "b": np.zeros(6)}).with_columns(lock_in=pl.lit(30, dtype=pl.Int64))
    out = inference.lock_in_tests(observed, null)
    assert out.height == 1 and out["term"][0] == "lock-in"
    assert out["mean"][0] == 1.0 and out["null_mean"][0] == pytest.approx(0.2)
    assert out["p"][0] < 0.01
