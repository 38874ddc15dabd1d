"""A sweep killed at any moment resumes to the tables of an uninterrupted sweep: no run folder
is ever left that blocks `purity sweep --resume`."""

from __future__ import annotations

import json

import polars as pl
import pytest
from sweep_kills import tables as _tables
from sweep_kills import trial, write_files

from purity.tournament.cli import main


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].equals(b[name]), name


def test_half_made_run_folders_are_replaced_on_resume(tmp_path):
    sweep = write_files(tmp_path, 2)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "a"), "--workers", "0", "--quiet"]) == 0
    sweep_dir = tmp_path / "a" / "kills"
    whole = _tables(sweep_dir)
    # as a kill would leave them: a run folder without its manifest, a staging folder
    (sweep_dir / "runs" / "run-0001" / "manifest.json").unlink()
    (sweep_dir / "runs" / ".run-0002.0123abcd.tmp" / "agents").mkdir(parents=True)
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    manifest["runs"]["run-0001"]["status"] = "running"
    (sweep_dir / "sweep.json").write_text(json.dumps(manifest))
    assert main(["sweep", "--resume", str(sweep_dir), "--workers", "0", "--quiet"]) == 0
    assert not list((sweep_dir / "runs").glob(".*"))
    _same(whole, _tables(sweep_dir))


@pytest.mark.slow
def test_thirty_kills_mid_sweep_strand_nothing(tmp_path):
    """The scripted trial (`sweep_kills.py`): 30 SIGKILLs that land mid-sweep, alternating
    `--workers 0` and `--workers 1`; each resumed to an uninterrupted sweep's tables."""
    result = trial(tmp_path, wanted=30, seed=16)
    assert result.kills >= 30
    assert (result.stranded, result.differing, result.survivors) == (0, 0, 0)
