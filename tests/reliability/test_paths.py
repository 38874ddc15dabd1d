"""Run names and paths cannot escape the runs directory; symbolic links planted in a run
directory are never followed for writing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = """
[experiment]
name = "{name}"
generations = 3
population = 8

[arena]
name = "commons"
episodes = 1
steps = 5

[[population.mix]]
profile = "{profile}"
share = 1.0
capability = {{ candidates = 2, rollouts = 1 }}
"""


def _purity(*args):
    return subprocess.run(
        [sys.executable, "-m", "purity", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("name", ["../escape", "..", "a/b", "/abs", ".hidden", "x\\y", "名前/../.."])
def test_run_names_cannot_leave_the_runs_directory(tmp_path, name):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(name=name.replace("\\", "\\\\"), profile="consequentialist"))
    done = _purity("run", path, "--out", tmp_path / "runs", "--workers", "0")
    assert done.returncode == 2 and "experiment.name" in done.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "escape").exists()


def test_profile_paths_are_read_not_written_and_copies_stay_inside(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "mine.toml").write_text(
        '[profile]\nname = "mine"\n[[outcome]]\nmeasure = "own_wealth"\nweight = 1.0\n'
    )
    before = (outside / "mine.toml").read_bytes()
    exp = tmp_path / "exp" / "exp.toml"
    exp.parent.mkdir()
    exp.write_text(EXPERIMENT.format(name="ok", profile="../elsewhere/mine.toml"))
    done = _purity("run", exp, "--out", tmp_path / "runs", "--workers", "0", "--quiet")
    assert done.returncode == 0, done.stderr
    assert (outside / "mine.toml").read_bytes() == before and sorted(p.name for p in outside.iterdir()) == [
        "mine.toml"
    ]
    run_dir = tmp_path / "runs" / "ok"
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert written and all(p.resolve().is_relative_to(run_dir.resolve()) for p in written)


def test_a_symlink_planted_in_a_run_directory_is_not_written_through(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        EXPERIMENT.format(name="linked", profile="consequentialist").replace(
            "generations = 3", "generations = 6"
        )
    )
    run_dir = tmp_path / "runs" / "linked"
    assert _purity("run", exp, "--out", tmp_path / "runs", "--workers", "0", "--quiet").returncode == 0
    # cut the run back to 2 generations, and plant a link where generation 2 will be written
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest.update(status="running", generations_done=2)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    victim = tmp_path / "victim"
    victim.mkdir()
    for table in ("agents", "episodes"):
        for gen in range(2, 6):
            target = run_dir / table / f"gen={gen}"
            for f in target.iterdir():
                f.unlink()
            target.rmdir()
    os.symlink(victim, run_dir / "agents" / "gen=2")
    done = _purity("run", "--resume", run_dir, "--workers", "0", "--quiet")
    assert done.returncode == 2 and "symbolic link" in done.stderr and "Traceback" not in done.stderr
    assert list(victim.iterdir()) == []
    # a run directory that is itself a link is not resumed through the link
    os.symlink(run_dir, tmp_path / "alias")
    aliased = _purity("run", "--resume", tmp_path / "alias", "--workers", "0", "--quiet")
    assert aliased.returncode == 2 and "symbolic link" in aliased.stderr
