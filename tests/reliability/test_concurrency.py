"""Two purity processes on one run directory: the second is refused with a clear message naming
the owner, before it starts Ray; a lock left by a killed run is stale and taken over."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LONG = """
[experiment]
name = "long"
seed = 1
generations = 100000
population = 8

[arena]
name = "commons"
episodes = 1
steps = 20

[[population.mix]]
profile = "consequentialist"
share = 1.0
capability = { candidates = 4, rollouts = 1 }
"""


def _purity(*args, wait=True, env=None):
    command = [sys.executable, "-m", "purity", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def _wait_for_generations(manifest: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if json.loads(manifest.read_text())["generations_done"] >= count:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("the first run did not get going")


def test_a_second_process_is_refused_while_the_first_writes(tmp_path, request):
    experiment = tmp_path / "long.toml"
    experiment.write_text(LONG)
    out = tmp_path / "runs"
    ray_files = Path(tempfile.mkdtemp(prefix="pr", dir="/tmp"))  # short: Ray's socket paths
    request.addfinalizer(lambda: shutil.rmtree(ray_files, ignore_errors=True))
    first = _purity("run", experiment, "--out", out, "--workers", "0", "--quiet", wait=False)
    try:
        _wait_for_generations(out / "long" / "manifest.json", 2)
        for args in (
            ("run", "--resume", out / "long"),  # on Ray by default: refused before Ray starts
            ("run", experiment, "--out", out, "--workers", "0", "--force"),
        ):
            second = _purity(*args, env={**os.environ, "RAY_TMPDIR": str(ray_files)})
            assert not any(ray_files.iterdir()), "Ray was started for a run it must refuse"
            assert second.returncode == 2, second.stderr
            line = second.stderr.strip()
            assert len(line.splitlines()) == 1 and "Traceback" not in line
            assert f"pid {first.pid} on {socket.gethostname()}" in line
        assert first.poll() is None, "the first run must go on untouched"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # killed: its lock is stale and a resume takes it over
    assert f"pid {first.pid}" in (out / "long" / ".lock").read_text()
    done = json.loads((out / "long" / "manifest.json").read_text())["generations_done"]
    resumed = subprocess.Popen(
        [sys.executable, "-m", "purity", "run", "--resume", str(out / "long"), "--workers", "0", "--quiet"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_generations(out / "long" / "manifest.json", done + 1)
        assert f"pid {resumed.pid}" in (out / "long" / ".lock").read_text()
    finally:
        resumed.send_signal(signal.SIGKILL)
        resumed.wait()
