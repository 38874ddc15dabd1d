"""A sweep killed at any moment resumes to the tables of an uninterrupted sweep: no run folder
is ever left that blocks `purity sweep --resume`."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from purity.tournament.cli import main

EXPERIMENT = """
[experiment]
name = "k"
seed = 5
generations = 3
population = 8

[arena]
name = "commons"
episodes = 1
group_size = 4
steps = 6

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 2, rollouts = 1 }

[[population.mix]]
profile = "lineage-keeper"
share = 0.5
capability = { candidates = 2, rollouts = 1 }
"""
SWEEP = '[sweep]\nname = "kills"\nexperiment = "exp.toml"\nseeds = {seeds}\n[grid]\n"selection.intensity" = [0.0, 0.5]\n'


def _files(tmp_path: Path, seeds: int) -> Path:
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(seeds=seeds))
    return sweep


def _tables(sweep_dir: Path) -> dict[str, pl.DataFrame]:
    """Every table of every run, by its path inside the sweep directory."""
    return {
        str(path.relative_to(sweep_dir)): pl.read_parquet(path)
        for path in sorted((sweep_dir / "runs").glob("*/**/*.parquet"))
    }


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].equals(b[name]), name


def test_half_made_run_folders_are_replaced_on_resume(tmp_path):
    sweep = _files(tmp_path, 2)
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


def _purity(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purity", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_thirty_kills_mid_sweep_strand_nothing(tmp_path):
    sweep = _files(tmp_path, 3)
    done = _purity("sweep", str(sweep), "--out", str(tmp_path / "whole"), "--workers", "0", "--quiet")
    assert done.returncode == 0, done.stderr
    whole = _tables(tmp_path / "whole" / "kills")
    rng = random.Random(16)
    stranded = 0
    for trial in range(30):
        out = tmp_path / f"t{trial}"
        workers = "0" if trial % 2 == 0 else "1"
        # our own process group: the kill reaches the driver and whatever it started, nothing else
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "purity",
                "sweep",
                str(sweep),
                "--out",
                str(out),
                "--workers",
                workers,
                "--quiet",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(1.5, 6.0 if workers == "0" else 14.0))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        sweep_dir = out / "kills"
        if not (sweep_dir / "sweep.json").is_file():  # killed before the sweep began: start it again
            done = _purity("sweep", str(sweep), "--out", str(out), "--workers", "0", "--quiet", "--force")
        else:
            done = _purity("sweep", "--resume", str(sweep_dir), "--workers", "0", "--quiet")
        stranded += done.returncode != 0
        assert done.returncode == 0, (trial, done.stderr[-2000:])
        _same(whole, _tables(sweep_dir))
    assert stranded == 0
