"""Load: N = 10,000 agents and a 200-run sweep finish on 2 cores, and memory grows about
linearly with N (not with N²)."""

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from memory import RUN, SWEEP, peak  # noqa: E402

PURITY = str(Path(sys.executable).parent / "purity")


@pytest.mark.slow
def test_memory_grows_linearly_with_the_population(tmp_path):
    peaks = {}
    for n in (1000, 4000, 10000):
        exp = tmp_path / f"load{n}.toml"
        exp.write_text(RUN.format(n=n))
        peaks[n], _ = peak(
            [PURITY, "run", str(exp), "--out", str(tmp_path / f"r{n}"), "--workers", "0", "--quiet"]
        )
        agents = pl.read_parquet(tmp_path / f"r{n}" / "load" / "agents" / "**" / "*.parquet")
        assert agents.height == 3 * n
    # the cost of an extra agent stays about the same from 1k-4k to 4k-10k agents (N² would
    # make the second slope about 3.5 times the first)
    first = (peaks[4000] - peaks[1000]) / 3000
    second = (peaks[10000] - peaks[4000]) / 6000
    assert second < 2 * first, peaks


@pytest.mark.slow
def test_a_sweep_of_200_runs_completes(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.format(base=ROOT / "experiments" / "matrix-pd.toml", seeds=100))
    done = subprocess.run(
        [PURITY, "sweep", str(sweep), "--out", str(tmp_path / "s"), "--workers", "2", "--quiet"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = pl.read_parquet(tmp_path / "s" / "load" / "sweep.parquet")
    assert table.height == 200 and (table["status"] == "complete").all()
