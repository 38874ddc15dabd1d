"""What a run says about where it came from (git dirty flag, platform), and a Ray address with
nothing behind it failing at once with a hint instead of retrying for minutes."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from purity.tournament import capture

ROOT = Path(__file__).resolve().parents[2]
SMALL = """
[experiment]
name = "small"
seed = 1
generations = 2
population = 4

[arena]
name = "commons"
episodes = 1
group_size = 4
steps = 3

[[population.mix]]
profile = "consequentialist"
share = 1.0
capability = { candidates = 2, rollouts = 1 }
"""


def _git(where, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=where,
        check=True,
        capture_output=True,
    )


def test_dirty_flag_follows_the_working_tree(tmp_path):
    assert capture.git_dirty(tmp_path) is None  # not a checkout
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    assert capture.git_dirty(tmp_path) is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert capture.git_dirty(tmp_path) is True
    (tmp_path / "notes.txt").write_text("untracked files are not code that ran\n")
    _git(tmp_path, "checkout", "-q", "code.py")
    assert capture.git_dirty(tmp_path) is False


def test_manifest_records_dirty_flag_and_platform(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    done = subprocess.run(
        [sys.executable, "-m", "purity", "run", "small.toml", "--workers", "0", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "runs/small/manifest.json").read_text())
    assert manifest["git_dirty"] == capture.git_dirty()
    assert manifest["platform"]["machine"] == platform.machine()
    assert manifest["platform"]["system"] == platform.system()


def test_an_address_with_nothing_behind_it_fails_with_a_hint(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    # The timeout only guards against the hang this test is about.
    done = subprocess.run(
        [sys.executable, "-m", "purity", "run", "small.toml", "--address", "127.0.0.1:1", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=15,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "--address" in last and "127.0.0.1:1" in last
    assert "ray start --head" in last and "RAY_AUTH_MODE" in last
    assert not (tmp_path / "runs/small/manifest.json").exists()
