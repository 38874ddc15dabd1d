"""A disk that fills up mid-run: the run stops with one clear message, and the directory, moved
to a disk with room, resumes to the tables of an uninterrupted run."""

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = """
[experiment]
name = "full"
seed = 4
generations = 60
population = 16

[arena]
name = "commons"
episodes = 2
steps = 10

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 4, rollouts = 1 }

[[population.mix]]
profile = "lineage-keeper"
share = 0.5
capability = { candidates = 4, rollouts = 1 }

[control]
neutral_drift = true
"""
# Simulated: every write after the 40th fails as a full disk does (used where tmpfs can't be mounted).
FILL_AFTER_40 = """
import errno, os, sys
from purity.tournament import storage
real, count = storage._atomic, [0]
def failing(path, write):
    count[0] += 1
    if count[0] > 40:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    real(path, write)
storage._atomic = failing
from purity.tournament.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _tiny_disk(where: Path) -> Path | None:
    """A real 256 KiB tmpfs, if this machine lets us mount one (root, no sandbox forbidding it)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True
    )
    return where if done.returncode == 0 else None


def _tables(run_dir: Path) -> dict:
    return {
        t: pl.read_parquet(run_dir / t / "**" / "*.parquet").sort(pl.all())
        for t in ("agents", "episodes", "lineage")
    }


@pytest.fixture(scope="module")
def calm(tmp_path_factory) -> Path:
    """The uninterrupted run both disks' resumed runs must equal."""
    from purity.tournament.cli import main

    folder = tmp_path_factory.mktemp("calm")
    (folder / "full.toml").write_text(EXPERIMENT)
    assert main(["run", str(folder / "full.toml"), "--out", str(folder), "--workers", "0", "--quiet"]) == 0
    return folder / "full"


@pytest.mark.parametrize("disk", ["tmpfs", "simulated"])
def test_disk_full_stops_cleanly_and_resumes_identically(tmp_path, disk, calm):
    experiment = tmp_path / "full.toml"
    experiment.write_text(EXPERIMENT)
    mount = _tiny_disk(Path("/tmp") / f"purity-full-{uuid.uuid4().hex[:8]}") if disk == "tmpfs" else None
    if disk == "tmpfs" and mount is None:
        pytest.skip("cannot mount a tmpfs here (not root, or not allowed); the simulated case covers it")
    try:
        out = (mount or tmp_path) / "runs"
        if mount:
            command = [
                sys.executable,
                "-m",
                "purity",
                "run",
                str(experiment),
                "--out",
                str(out),
                "--workers",
                "0",
                "--quiet",
            ]
        else:
            command = [
                sys.executable,
                "-c",
                FILL_AFTER_40,
                "run",
                str(experiment),
                "--out",
                str(out),
                "--workers",
                "0",
                "--quiet",
            ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr
        assert "No space left on device" in lines[0]
        assert lines[0].endswith(f"free space, then purity run --resume {out / 'full'}"), lines[0]
        moved = tmp_path / "moved"
        shutil.copytree(out / "full", moved / "full")
    finally:
        if mount:
            subprocess.run(["umount", str(mount)], check=False)
            mount.rmdir()
    assert not list(moved.rglob("*.tmp"))
    resumed = subprocess.run(
        [sys.executable, "-m", "purity", "run", "--resume", str(moved / "full"), "--workers", "0", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    for sub in ("", "drift"):
        got, want = _tables(moved / "full" / sub), _tables(calm / sub)
        for table in want:
            assert got[table].equals(want[table]), (sub, table)
