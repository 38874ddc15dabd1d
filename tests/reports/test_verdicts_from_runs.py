"""Verdicts of real runs through the runner's nulls and the report: an effect the experiment has
is called, and one it lacks is not (bench/verdicts.py measures the rates over 20 sets)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import purity.reports as reports
from purity.reports import inference

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import verdict_cases as cases  # noqa: E402

from purity.tournament import config, runner  # noqa: E402

CLAIMS = {inference.SPREAD, inference.DECLINED}


def _verdicts(path: Path, out: Path) -> dict[str, str]:
    run_dir = runner.run(config.load(path), out, workers=0, progress=False)
    assert (run_dir / "null" / "drift.parquet").is_file()  # the runner recorded the null
    return {v["term"]: v["verdict"] for v in reports.to_json(run_dir)["verdict"]}


@pytest.mark.slow
def test_an_identical_decoy_is_not_called_and_loyalty_is_called_declined(tmp_path):
    neutral = _verdicts(cases.write(tmp_path, "neutral", "principal", seeds=6, seed=9100), tmp_path / "n")
    assert neutral and not CLAIMS & set(neutral.values()), neutral
    loyal = _verdicts(cases.write(tmp_path, "loyal", "principal", seeds=13, seed=9200), tmp_path / "l")
    assert inference.DECLINED in loyal.values(), loyal
