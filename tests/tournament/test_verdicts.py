"""Verdicts on experiments whose answer is known (slow: full runs; bench/verdicts.py prints the
same figures). False positives: two profiles that behave identically. True positives: loyal
against consequentialists in the principal arena, at the seeds `purity power` recommends."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import verdicts  # noqa: E402

from purity.reports.inference import NEUTRAL  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("arena", ["commons", "principal"])
def test_false_positives_of_a_neutral_experiment(tmp_path, arena):
    """20 seeds of a decoy that behaves as the consequentialist it competes with: at most 3
    seeds' own verdicts claim selection, against either null, and the pooled verdict is
    "indistinguishable from drift"."""
    result = verdicts.false_positives(tmp_path, arena)
    print(result)
    assert result["claims_shuffle"] <= 3
    assert result["claims_drift"] <= 3
    for kind in ("drift", "shuffle"):
        assert result[f"pooled_{kind}"] == NEUTRAL


@pytest.mark.slow
def test_true_positives_of_loyal_against_consequentialists(tmp_path):
    result = verdicts.true_positives(tmp_path)
    print(result)
    assert result["declined"] >= 19
