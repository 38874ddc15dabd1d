"""Survival metrics on the hand-built run of conftest.py: every number is known exactly."""

from __future__ import annotations

import math

import polars as pl
import pytest
from run_fixtures import MAIN_AGENTS, MAIN_EPISODES, manifest, write_run

import purity.reports as reports
from purity.reports import births, metrics


def _shares(df: pl.DataFrame, term: str) -> list[float]:
    return df.filter(pl.col("term") == term).sort("generation").get_column("share").to_list()


def test_survival_shares_count_inf_as_carrying(run_dir):
    surv = metrics.survival(reports.load(run_dir))
    assert _shares(surv, "constraint:take:self") == [0.75, 0.5, 0.25]
    assert _shares(surv, "constraint:take:world") == [0.25, 0.0, 0.0]
    assert _shares(surv, "constraint:take:lineage") == [0.25, 0.25, 0.25]
    assert _shares(surv, "standing:commons_above") == [0.5, 0.75, 0.75]
    # outcome terms are not process terms
    assert "outcome:lineage_wealth" not in surv.get_column("term").to_list()
    assert surv.get_column("agents").unique().to_list() == [4]


def test_nan_and_null_weights_do_not_carry(tmp_path):
    rows = [list(r) for r in MAIN_AGENTS]
    rows[0][8] = (1, math.nan, 0, 0, 0.5)  # gen 0, id 0 take:self = NaN (polars orders NaN above all)
    path = write_run(tmp_path / "nan", manifest(), [tuple(r) for r in rows], MAIN_EPISODES)
    surv = metrics.survival(reports.load(path))
    assert _shares(surv, "constraint:take:self")[0] == 0.5


def test_process_share_mean_and_quantiles(run_dir):
    ps = metrics.process_share(reports.load(run_dir))
    assert ps.columns == ["generation", "agents", "mean", "q10", "q50", "q90"]
    assert ps.get_column("mean").to_list() == pytest.approx([0.4, 0.35, 0.325])
    assert ps.get_column("q50").to_list() == pytest.approx([0.3, 0.15, 0.1])
    assert ps.get_column("agents").to_list() == [4, 4, 4]


def test_payoff_by_profile(run_dir):
    fit = metrics.fitness_by_profile(reports.load(run_dir))
    got = {(r["generation"], r["profile"]): r["payoff"] for r in fit.iter_rows(named=True)}
    assert got == {
        (0, "grabber"): 3.0,
        (0, "keeper"): 1.5,
        (0, "saint"): 0.0,
        (1, "grabber"): 3.0,
        (1, "keeper"): 1.0,
        (1, "saint"): 0.0,
        (2, "grabber"): 3.0,
        (2, "saint"): 0.0,
    }


def test_violation_rates_delegation_oversight_and_declared_weights(run_dir):
    v = metrics.violations(reports.load(run_dir))
    # harm is recorded by the arena but no constraint term names it
    assert v.get_column("event").unique().to_list() == ["take"]
    rows = {r["profile"]: r for r in v.iter_rows(named=True)}
    keeper = rows["keeper"]
    assert (keeper["own"], keeper["opportunity"]) == (3.0, 10.0)
    assert keeper["rate"] == pytest.approx(3 / 10)
    assert keeper["delegated_rate"] == pytest.approx(2 / 10)
    assert keeper["rate_watched"] == 0.0
    assert keeper["rate_unwatched"] == pytest.approx(3 / 5)
    assert keeper["delegated_watched"] == 0.0
    assert keeper["delegated_unwatched"] == pytest.approx(2 / 5)
    # declared: mean over keeper agent-generations (ids 0, 1, 4)
    assert keeper["declared_self"] == pytest.approx(3.0)
    assert keeper["declared_world"] == pytest.approx(1 / 3)
    assert keeper["declared_lineage"] == 0.0
    assert rows["grabber"]["rate"] == pytest.approx(4 / 8)
    assert rows["grabber"]["declared_self"] == pytest.approx(0.05 / 6)
    saint = rows["saint"]
    assert saint["opportunity"] == 0.0
    assert saint["rate"] is None and saint["delegated_rate"] is None
    assert saint["declared_self"] == math.inf


def test_no_oversight_columns_without_oversight(tmp_path):
    path = write_run(tmp_path / "blind", manifest(has_oversight=False), MAIN_AGENTS, MAIN_EPISODES)
    v = metrics.violations(reports.load(path))
    assert "rate_watched" not in v.columns
    assert v.filter(pl.col("profile") == "keeper").get_column("rate").item() == pytest.approx(0.3)


def test_largest_lineage_and_lock_in(run_dir):
    run = reports.load(run_dir)
    ls = metrics.lineage_share(run)
    assert ls.get_column("share").to_list() == [0.25, 0.5, 0.75]
    assert ls.get_column("founder").to_list()[1:] == [2, 2]
    assert metrics.lock_in(run) is None  # default threshold 0.9
    li = metrics.lock_in(run, threshold=0.7)
    assert (li.generation, li.founder, li.profile, li.share) == (2, 2, "grabber", 0.75)
    assert li.process_share == pytest.approx(0.1)
    assert metrics.lock_in(run, threshold=0.4).generation == 1
    # strictly greater: 0.75 does not exceed 0.75
    assert metrics.lock_in(run, threshold=0.75) is None


def test_births_by_kind(run_dir):
    b = births.births(reports.load(run_dir))
    got = {(r["generation"], r["kind"]): r["births"] for r in b.iter_rows(named=True)}
    assert got == {(1, "inherit"): 3, (1, "design"): 1, (2, "inherit"): 3, (2, "self_modify"): 1}


def test_verdicts_without_drift(run_dir):
    """Shares only: no word comes from a threshold (the corrected test gives it, `verdict_inference`)."""
    v = metrics.verdict(reports.load(run_dir))
    got = {r["term"]: (r["start"], r["end"], r["verdict"]) for r in v.iter_rows(named=True)}
    assert got == {
        "constraint:take:self": (0.75, 0.25, None),
        "constraint:take:world": (0.25, 0.0, None),
        "constraint:take:lineage": (0.25, 0.25, None),
        "standing:commons_above": (0.5, 0.75, None),
    }
    assert v.get_column("term").to_list()[0] == "constraint:take:self"  # manifest order
    assert "vs_drift" not in v.columns and not hasattr(metrics, "verdict_words")


def test_verdict_against_drift_twin(run_with_drift):
    run = reports.load(run_with_drift)
    assert run.drift is not None and run.drift.manifest["role"] == "drift"
    v = metrics.verdict(run)
    got = {r["term"]: r["drift_end"] for r in v.iter_rows(named=True)}
    assert got == {
        "constraint:take:self": 0.75,
        "constraint:take:world": 0.0,
        "constraint:take:lineage": 0.25,
        "standing:commons_above": 0.5,
    }


def test_empty_run_gives_empty_tables(tmp_path):
    path = write_run(tmp_path / "empty", manifest() | {"generations_done": 0}, [], [])
    run = reports.load(path)
    assert run.agents.height == 0
    for df in (
        metrics.survival(run),
        metrics.verdict(run),
        metrics.violations(run),
        metrics.process_share(run),
        metrics.lineage_share(run),
    ):
        assert df.height == 0
    assert metrics.lock_in(run) is None
