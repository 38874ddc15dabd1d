"""Determinism on a real two-node Ray cluster on this machine (head + one worker node).

The test starts its own `ray start --block` processes and stops only those, by pid and process
group; it never uses the machine-wide stop command, which would end other runs' Ray processes too.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    node = subprocess.Popen(
        [str(BIN / "ray"), "start", "--block", "--num-cpus=1", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text():
        assert node.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)
    return node


def _stop(node: subprocess.Popen) -> None:
    if node.poll() is None:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.mark.slow
def test_two_node_cluster_gives_the_tables_of_an_in_process_run(small_experiment, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env |= {
        "RAY_AUTH_MODE": "disabled",
        "HOME": str(tmp_path),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    }
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="prc", dir="/tmp"))  # Ray's socket paths must stay short
    nodes = []
    try:
        nodes.append(
            _start(
                ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                env,
                tmp_path / "head.log",
            )
        )
        nodes.append(_start([f"--address=127.0.0.1:{port}"], env, tmp_path / "worker.log"))
        purity = [str(BIN / "purity"), "run", str(small_experiment), "--quiet"]
        on_cluster = subprocess.run(
            [*purity, "--address", f"127.0.0.1:{port}", "--out", str(tmp_path / "cluster")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert on_cluster.returncode == 0, on_cluster.stderr
        local = subprocess.run(
            [*purity, "--workers", "0", "--out", str(tmp_path / "local")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert local.returncode == 0, local.stderr
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
    for sub in ("", "drift/"):
        for table in ("agents", "episodes", "lineage"):
            a = pl.read_parquet(tmp_path / "cluster" / "small" / sub / table / "**" / "*.parquet").sort(
                pl.all()
            )
            b = pl.read_parquet(tmp_path / "local" / "small" / sub / table / "**" / "*.parquet").sort(
                pl.all()
            )
            assert a.equals(b), (sub, table)
