"""After lock-in, continued: read the runs of experiments/singleton-invaders*.toml and print, per
experiment, the invaders' (consequentialists') share after lock-in, in the run and in its drift
twin, with Student's t 95% intervals over seeds.

    purity run experiments/singleton-invaders.toml --workers 0 --out runs
    purity run experiments/singleton-invaders-unpoliced.toml --workers 0 --out runs
    .venv/bin/python bench/singleton_invaders.py runs/singleton-invaders runs/singleton-invaders-unpoliced
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from purity.statistics import mean_interval


def after_lock_in(run_dir: Path, invader: str, share: float) -> tuple[int | None, float, float]:
    """(lock-in generation, the invader's share averaged over the generations after it, at the
    last generation); None and NaN where the run never locked in."""
    agents = pl.read_parquet(run_dir / "agents" / "**" / "*.parquet")
    n = agents.filter(pl.col("generation") == 0).height
    biggest = agents.group_by("generation", "founder").len().group_by("generation").agg(pl.col("len").max())
    locked = biggest.filter(pl.col("len") > share * n)["generation"]
    if locked.is_empty():
        return None, float("nan"), float("nan")
    start = int(locked.min())
    shares = (
        agents.filter(pl.col("generation") > start)
        .group_by("generation")
        .agg((pl.col("profile") == invader).mean().alias("share"))
        .sort("generation")["share"]
        .to_numpy()
    )
    return start, float(shares.mean()), float(shares[-1])


def interval(values: list[float]) -> str:
    x = np.asarray([v for v in values if np.isfinite(v)])
    if len(x) < 2:
        return f"{x.mean():.3f} (n = {len(x)})" if len(x) else "–"
    mean, low, high = mean_interval(x)
    return f"{mean:.3f} [{max(low, 0):.3f}, {min(high, 1):.3f}]"


def main(paths: list[str]) -> None:
    print(
        "| experiment | run | locked in (seeds) | lock-in generation | invaders' share after lock-in | at the end |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for top in map(Path, paths):
        experiment = json.loads((top / "manifest.json").read_text())
        capture = (top / "experiment.toml").read_text()
        invader = capture.split('invader = "')[1].split('"')[0]
        share = float(capture.split("lock_in = ")[1].split()[0])
        for role, sub in (("run", ""), ("drift twin", "drift")):
            rows = [after_lock_in(top / f"seed={s}" / sub, invader, share) for s in experiment["seeds"]]
            starts = [r[0] for r in rows if r[0] is not None]
            print(
                f"| {top.name} | {role} | {len(starts)} of {len(rows)} | "
                f"{np.mean(starts):.1f} | {interval([r[1] for r in rows])} | {interval([r[2] for r in rows])} |"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
