"""The commons core (numpy, and the compiled backend `PURITY_BACKEND=numba`) against the fused numba
loop (and, with --before REV, against the core of an earlier git revision), interleaved, medians of
CPU and wall time per call.

Usage: .venv/bin/python bench/commons_core.py [--before REV] [--rounds 11]
Needs numba (the `bench` extra). The earlier core is read with `git show REV:purity/arenas/commons.py`
and loaded beside the current one; both share the rest of the package.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.fused_commons import FusedCommons
from purity.arenas.commons import CommonsArena

ROOT = Path(__file__).resolve().parents[1]


def _earlier(revision: str):
    source = subprocess.run(
        ["git", "show", f"{revision}:purity/arenas/commons.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "commons_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("commons_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["commons_before"] = module
    spec.loader.exec_module(module)
    return module.CommonsArena


def _call(engine, arena, policy, rng):
    """One call: `engine` plays `policy`'s episodes with fresh noise drawn by `arena`."""
    return lambda: engine.rollout(policy, arena.noise(rng, policy.shape[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision whose core to compare with")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average before: {os.getloadavg()}")
    for batch in (4096, 64):
        arena = CommonsArena(4, 50)
        os.environ["PURITY_BACKEND"] = "numba"
        compiled = CommonsArena(4, 50)
        del os.environ["PURITY_BACKEND"]
        fused = FusedCommons(arena)
        policy = rng.random((batch, 4, 5))
        engines = {
            "core": _call(arena, arena, policy, rng),
            "compiled": _call(compiled, arena, policy, rng),
            "fused": _call(fused, arena, policy, rng),
        }
        if args.before:
            old = _earlier(args.before)(4, 50)
            engines["core before"] = _call(old, old, policy, rng)
        calls = max(1, 8192 // batch) * 4
        cpu = {name: [] for name in engines}
        wall = {name: [] for name in engines}
        names = list(engines)
        for engine in engines.values():
            engine()
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start_cpu, start_wall = time.process_time(), time.perf_counter()
                for _ in range(calls):
                    engines[name]()
                cpu[name].append((time.process_time() - start_cpu) / calls)
                wall[name].append((time.perf_counter() - start_wall) / calls)
        c = {name: statistics.median(v) for name, v in cpu.items()}
        w = {name: statistics.median(v) for name, v in wall.items()}
        print(
            f"B = {batch}: ms per call, CPU / wall: "
            + ", ".join(f"{n} {c[n] * 1e3:.2f} / {w[n] * 1e3:.2f}" for n in names)
        )
        for name in ("core", "compiled"):
            print(f"  {name} / fused: {c[name] / c['fused']:.2f}x CPU, {w[name] / w['fused']:.2f}x wall")
        if args.before:
            print(
                f"  core before / core: {c['core before'] / c['core']:.2f}x CPU, {w['core before'] / w['core']:.2f}x wall"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
