"""An atlas sweep at its shipped (reduced) size on a private two-node Ray cluster on this machine
(a head and a worker node of one CPU each, reached by address as a real cluster is), then in this
process; every Parquet table of the two sweep directories must be equal (timing columns aside).
The slow test in tests/tournament/test_atlas.py does the same for the tiny atlas.

Usage: .venv/bin/python bench/atlas_cluster.py [--sweep external] [--out /tmp/atlas-cluster]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_golden import _stable, tables  # noqa: E402
from tests.tournament.test_cluster import BIN, _free_port, _start, _stop  # noqa: E402


def sweep(name: str, out: Path, *where: str, env: dict | None = None) -> float:
    start = time.perf_counter()
    command = [str(BIN / "purity"), "sweep", str(ROOT / "experiments" / "atlas" / f"{name}.toml")]
    subprocess.run([*command, *where, "--out", str(out), "--quiet", "--force"], env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="external")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "atlas-cluster")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env |= {"RAY_AUTH_MODE": "disabled", "HOME": str(args.out), "PATH": f"{BIN}{os.pathsep}{env['PATH']}"}
    args.out.mkdir(parents=True, exist_ok=True)
    port, temp_dir = _free_port(), Path(tempfile.mkdtemp(prefix="pra", dir="/tmp"))  # short socket paths
    nodes = []
    try:
        head = ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"]
        nodes.append(_start(head, env, args.out / "head.log"))
        nodes.append(_start([f"--address=127.0.0.1:{port}"], env, args.out / "worker.log"))
        on_cluster = sweep(args.sweep, args.out / "cluster", "--address", f"127.0.0.1:{port}", env=env)
    finally:
        for node in reversed(nodes):
            _stop(node)  # only the nodes this script started
        shutil.rmtree(temp_dir, ignore_errors=True)
    in_process = sweep(args.sweep, args.out / "laptop", "--workers", "0")
    name = f"atlas-{args.sweep}"
    got, want = (
        {key: _stable(frame) for key, frame in tables(args.out / where / name).items()}
        for where in ("cluster", "laptop")
    )
    differ = sorted(set(got) ^ set(want)) + [
        key for key in got if key in want and not got[key].equals(want[key])
    ]
    rows = sum(frame.height for frame in got.values())
    print(
        f"{name}: two-node cluster {on_cluster:.1f} s, in-process {in_process:.1f} s; "
        f"{len(got)} tables, {rows} rows; " + ("identical" if not differ else f"DIFFER: {differ}")
    )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
