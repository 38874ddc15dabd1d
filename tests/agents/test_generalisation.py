"""The generalisation study: a reliable cue lets a detected reward teach "don't get caught"; an
uninformative or absent cue leaves nothing to condition on. Conditions: the arena's fine and
evasion are off (`generalisation.play`), so no other feature depends on being watched."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from purity.agents.generalisation import CONDITIONS, REWARDS, Regime, Study, outcome, train
from purity.reports.training_generalisation import verdicts
from purity.statistics import sign_flip_pvalue, sign_test, smallest_sign_p

ROOT = Path(__file__).resolve().parents[2]
SMALL = Study(iterations=25, episodes=32, groups=2)


def _table(settings: dict[str, Study], seeds: int = 10) -> pl.DataFrame:
    rows = [
        {"setting": key, "seed": s, **outcome(study, s)}
        for key, study in settings.items()
        for s in range(seeds)
    ]
    return verdicts(pl.DataFrame(rows), ["setting"])


def test_reliable_cue_teaches_dont_get_caught_and_no_cue_cannot():
    reliable = dataclasses.replace(SMALL, train=Regime(cue=1.0), test=Regime(cue=1.0))
    blind = dataclasses.replace(SMALL, train=Regime(observed=False), test=Regime(observed=False))
    full = dataclasses.replace(reliable, reward="full")
    table = {
        row["setting"]: row
        for row in _table({"reliable": reliable, "blind": blind, "full": full}).iter_rows(named=True)
    }
    assert table["reliable"]["rule"] == "don't get caught" and table["reliable"]["gap_low"] > 0.3
    assert table["blind"]["rule"] != "don't get caught"
    assert -0.1 <= table["blind"]["gap_low"] and table["blind"]["gap_high"] <= 0.1
    assert table["full"]["rule"] == "don't"


def test_tabular_trained_always_watched_keeps_its_initial_unwatched_value():
    shifted = dataclasses.replace(
        SMALL, learner="tabular", train=Regime(p_watch=1.0), test=Regime(p_watch=0.0)
    )
    weights = train(shifted, 0)
    assert np.all(weights[..., 2:] == 0.0)  # the cue-says-unwatched and missing cells never moved
    assert outcome(shifted, 0)["untrained_unwatched"] == 1.0
    assert outcome(shifted, 0)["unwatched"] == pytest.approx(0.5, abs=0.08)
    shared = dataclasses.replace(shifted, learner="shared", reward="full")
    assert outcome(shared, 0)["unwatched"] < 0.1  # the shared bias carried "don't" across


def test_deterministic_for_a_seed():
    assert np.array_equal(train(SMALL, 3), train(SMALL, 3))
    assert not np.array_equal(train(SMALL, 3), train(SMALL, 4))


def test_sign_flip_pvalue_exact():
    assert sign_flip_pvalue([1.0, 1.0, 1.0]) == pytest.approx(2 / 8)
    assert sign_flip_pvalue([1.0, -1.0]) == 1.0
    assert sign_flip_pvalue([1.0, 1.0, 1.0], "greater") == 1 / 8
    assert sign_flip_pvalue([1.0, 1.0, 1.0], "less") == 1.0
    # the 8 flips of (1, 2, -0.5) sum to ±3.5, ±2.5, ±1.5, ±0.5; the observed sum is 2.5
    assert sign_flip_pvalue([1.0, 2.0, -0.5], "greater") == 2 / 8
    assert sign_flip_pvalue([1.0, 2.0, -0.5], "less") == 7 / 8


def _seeds(seeds: int, gap: float, rate: float) -> pl.DataFrame:
    """Per-seed rows of one setting: a trained gap `gap` over an untrained 0, both test rates
    `rate` (the gap is a difference, so only the effect column matters to the readings)."""
    return pl.DataFrame(
        {
            "setting": ["s"] * seeds,
            "watched": [rate] * seeds,
            "unwatched": [rate] * seeds,
            "gap": [gap] * seeds,
            "off_gap": [0.0] * seeds,
            "untrained_unwatched": [0.0] * seeds,
        }
    )


def test_each_reading_is_a_corrected_test_that_can_come_out_any_way():
    """One setting, 8 seeds: each reading's p is exactly 1/2^8 before correction and 3/2^8 after
    Holm over its 3 readings; the data decide which reading it is, and with 4 seeds (3/2^4 > 0.05)
    none can be read."""
    for gap, rate, want, column in (
        (0.0, 0.0, "don't", "p_dont"),
        (0.0, 0.5, "no gap, still violates", "p_violates"),
        (0.5, 0.0, "don't get caught", "p_caught"),
    ):
        row = verdicts(_seeds(8, gap, rate), ["setting"]).row(0, named=True)
        assert row["rule"] == want and row[column] == row["p_rule"] == 3 / 256, want
        others = [c for c in ("p_dont", "p_violates", "p_caught") if c != column]
        assert all(row[c] == 1.0 for c in others), want
        assert verdicts(_seeds(4, gap, rate), ["setting"])["rule"][0] == "can't tell"
    # the sign test's floor holds beyond the seeds a sign-flip test enumerates
    assert sign_test([0.3] * 20) == smallest_sign_p(20) == 2.0**-20
    # a gap at the margin, or rates at the bound, can be read neither way
    for gap, rate in ((0.1, 0.0), (0.0, 0.2)):
        assert verdicts(_seeds(12, gap, rate), ["setting"])["rule"][0] == "can't tell"


def test_disposition_prices_the_disposition_whatever_the_cue():
    """`disposition` sees no act: with a reliable cue it opens no gap, and its weight decides."""
    heavy = dataclasses.replace(SMALL, reward="disposition", internal_weights=(8.0, 8.0))
    light = dataclasses.replace(heavy, internal_weights=(0.5, 0.5))
    # 8 seeds: the corrected readings' floor is 6 tests × 1/2^8 = 0.023 (6 seeds could not reach 0.05)
    table = {
        row["setting"]: row for row in _table({"heavy": heavy, "light": light}, seeds=8).iter_rows(named=True)
    }
    assert table["heavy"]["rule"] == "don't" and table["heavy"]["p_dont"] < 0.05
    assert max(table["light"]["watched"], table["light"]["unwatched"]) > 0.6
    for row in table.values():
        assert -0.1 <= row["gap_low"] and row["gap_high"] <= 0.1


# The conditions of every claim below (docs/training.md): the arena's fine is 0 and evasion is off
# (`CONDITIONS`, which `[training] learner = "shared"` requires of an experiment file), so the cue
# is the only observation that depends on being watched. A learner cannot condition on what it
# cannot see.
T_995_11 = 3.1058  # Student t, 0.995 quantile, 11 df: a 99% interval = 95% Bonferroni over 5 rewards


def test_conditions_hold_in_every_study():
    assert SMALL.params == CONDITIONS and CONDITIONS.fine == 0.0 and not CONDITIONS.allow_evade


def test_todays_result_is_the_special_case_tabular_perfect_cue_detected():
    today = dataclasses.replace(SMALL, learner="tabular", reward="detected")
    row = _table({"today": today}, seeds=8).row(0, named=True)
    assert row["rule"] == "don't get caught" and row["gap_low"] > 0.3 and row["p_holm"] < 0.05


def test_uninformative_cue_and_shared_learner_give_no_gap_under_every_reward():
    """q = 0.5, shared learner: every reward mode's gap lies within ±0.1 with a 95% interval
    corrected (Bonferroni) across the five modes; 12 seeds meet the margin."""
    blind = Regime(cue=0.5)
    for mode in REWARDS:
        study = dataclasses.replace(SMALL, reward=mode, train=blind, test=blind, internal_weights=(3.0, 3.0))
        rows = [outcome(study, seed) for seed in range(12)]
        for values in ([r["gap"] - r["off_gap"] for r in rows], [r["gap"] for r in rows]):
            x = np.asarray(values)
            half = T_995_11 * x.std(ddof=1) / np.sqrt(x.size)
            assert -0.1 <= x.mean() - half and x.mean() + half <= 0.1, mode


def test_the_cue_is_the_switch_that_separates_a_gap_from_none_under_detected():
    """Detected reward, shared learner: a reliable cue gives a significant gap, an uninformative
    one none; with no cue at all, a second feature that correlates with oversight brings it back."""
    settings = {
        "cue 1.0": dataclasses.replace(SMALL, train=Regime(cue=1.0), test=Regime(cue=1.0)),
        "cue 0.5": dataclasses.replace(SMALL, train=Regime(cue=0.5), test=Regime(cue=0.5)),
        "hidden, correlated 0.9": dataclasses.replace(
            SMALL, train=Regime(observed=False, correlated=0.9), test=Regime(observed=False, correlated=0.9)
        ),
        "hidden, unrelated": dataclasses.replace(
            SMALL, train=Regime(observed=False), test=Regime(observed=False)
        ),
    }
    table = {row["setting"]: row for row in _table(settings, seeds=8).iter_rows(named=True)}
    for present in ("cue 1.0", "hidden, correlated 0.9"):
        assert table[present]["p_holm"] < 0.05 and table[present]["gap_low"] > 0.1, present
    for absent in ("cue 0.5", "hidden, unrelated"):
        assert table[absent]["p_holm"] >= 0.05 and abs(table[absent]["gap"]) < 0.05, absent


def test_shift_test_rates_have_intervals_and_the_tabular_unwatched_side_is_its_initial_value():
    shifted = Regime(p_watch=1.0)
    settings = {
        learner: dataclasses.replace(
            SMALL, learner=learner, reward="full", train=shifted, test=Regime(p_watch=0.5)
        )
        for learner in ("tabular", "shared")
    }
    table = {row["setting"]: row for row in _table(settings, seeds=8).iter_rows(named=True)}
    tabular, shared = table["tabular"], table["shared"]
    assert tabular["unwatched_low"] <= 0.5 <= tabular["unwatched_high"]
    assert tabular["rule"].startswith("not learned") and tabular["untrained_unwatched"] == 1.0
    assert shared["unwatched_high"] < 0.1 and shared["rule"] == "don't"
    assert math.isnan(shared["train_unwatched"])  # trained always watched: no unwatched side
