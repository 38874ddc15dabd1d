"""A head with token authentication, and drivers without its token: each is one line naming the
address and what to set, with exit code 2, instead of a warning a second and a traceback.

The test starts its own head (in a private HOME, so its token is its own) and stops only it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_cluster import _free_port, _start, _stop

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_missing_or_wrong_token_is_one_line(tmp_path):
    plain = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    plain["PATH"] = f"{BIN}{os.pathsep}{plain.get('PATH', '')}"
    head_home, driver_home = tmp_path / "head", tmp_path / "driver"
    head_home.mkdir()
    driver_home.mkdir()
    subprocess.run(
        [BIN / "ray", "get-auth-token", "--generate"],
        env=plain | {"HOME": str(head_home)},
        check=True,
        capture_output=True,
    )
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="prc", dir="/tmp"))  # Ray's socket paths must stay short
    head_env = plain | {"HOME": str(head_home), "RAY_AUTH_MODE": "token"}
    head = _start(
        ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
        head_env,
        tmp_path / "head.log",
    )
    try:
        drivers = {
            "no auth mode": plain | {"HOME": str(driver_home)},
            "token mode, no token": plain | {"HOME": str(driver_home), "RAY_AUTH_MODE": "token"},
            "a wrong token": plain
            | {"HOME": str(driver_home), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 32},
        }
        for why, env in drivers.items():
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "purity",
                    "run",
                    ROOT / "examples/plugins/purse.toml",
                    "--address",
                    f"127.0.0.1:{port}",
                    "--out",
                    tmp_path / "runs",
                    "--quiet",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,  # guards against the minutes of retries this test is about
            )
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1, (why, done.stderr)
            assert f"127.0.0.1:{port}" in lines[0] and "RAY_AUTH_MODE=token" in lines[0], (why, lines[0])
            assert "token authentication" in lines[0], (why, lines[0])
        assert not (tmp_path / "runs").exists()
    finally:
        _stop(head)
