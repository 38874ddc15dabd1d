"""False and true positives of verdicts on experiments whose answer is known (bench/verdict_cases.py).

Usage: .venv/bin/python bench/verdicts.py [--out DIR] [--only false|true]

False positives: the neutral experiment (a consequentialist and an identical decoy, half each), 20
seeds, in the commons at the shipped intensity (0.05) and in the principal arena at 0.05, 0.1 (the
other shipped intensity) and 0.5: how many seeds' own verdicts claim selection, against the drift
null and against the fitness-shuffle null, the pooled verdict over the 20 seeds, and the spread of
the seeds' end shares next to each null's. True positives: loyal against consequentialists in the
principal arena, 20 independent replicate sets at the seeds `purity power` recommends for a
decline of 0.3: how many sets are called "declined beyond drift".
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import verdict_cases as cases  # noqa: E402

from purity.tournament import config  # noqa: E402
from purity.tournament.power import power  # noqa: E402

SEEDS = 20
SETS = 20
EFFECT = 0.3


def false_positives(out: Path, arena: str, intensity: float = 0.05) -> dict:
    """Seeds claiming selection (per null) and the pooled verdicts, for the neutral experiment."""
    began = time.perf_counter()
    path = cases.write(out, "neutral", arena, seeds=SEEDS, seed=9000, intensity=intensity)
    run_dir = cases.run(path, out / "runs")
    result = {"arena": arena, "intensity": intensity, "seeds": SEEDS, "seconds": 0.0}
    ends = cases.nulls.seed_figures(cases.reports.load_replicates(run_dir).runs)["end"]
    result["end_mean"], result["end_sd"] = round(float(ends.mean()), 3), round(float(ends.std()), 3)
    for kind in ("drift", "shuffle"):
        reference = cases.nulls.load_null(run_dir, kind)["end"]
        result[f"null_sd_{kind}"] = round(float(reference.std()), 3)
        per_seed = cases.seed_verdicts(run_dir, path, kind, replicates=1000)
        result[f"claims_{kind}"] = int(per_seed["verdict"].is_in(cases.CLAIMS).sum())
        pooled = cases.pooled_verdict(run_dir, kind)
        result[f"pooled_{kind}"] = pooled["verdict"][0]
        result[f"pooled_p_{kind}"] = float(pooled["p_adjusted"][0])
    result["seconds"] = time.perf_counter() - began
    return result


def true_positives(out: Path) -> dict:
    """Replicate sets of loyal against consequentialists called "declined beyond drift"."""
    began = time.perf_counter()
    probe = config.load(cases.write(out, "loyal", "principal", seeds=1, seed=0))
    seeds = power(probe, effects=(EFFECT,)).terms[0].declines[0]
    called = []
    for k in range(SETS):
        path = cases.write(out, "loyal", "principal", seeds=seeds, seed=20000 + k * seeds)
        run_dir = cases.run(path, out / "runs")
        called.append(cases.pooled_verdict(run_dir, "drift")["verdict"][0])
        shutil.rmtree(run_dir)  # a set's verdict is all that is kept
    declined = sum(v == cases.inference.DECLINED for v in called)
    return {
        "sets": SETS,
        "seeds": seeds,
        "declined": declined,
        "verdicts": called,
        "seconds": time.perf_counter() - began,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", choices=("false", "true"), default=None)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        if args.only != "true":
            for arena, intensity in (
                ("commons", 0.05),
                ("principal", 0.05),
                ("principal", 0.1),
                ("principal", 0.5),
            ):
                print(false_positives(out / f"fp-{arena}-{intensity:g}", arena, intensity), flush=True)
        if args.only != "false":
            print(true_positives(out / "tp"), flush=True)


if __name__ == "__main__":
    main()
