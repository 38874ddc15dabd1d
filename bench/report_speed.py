"""How long reports take to build and how big they are: one large run and a 64-run sweep.

    .venv/bin/python bench/report_speed.py [--generations 200] [--population 1024] [--keep DIR]

The large run is a real `purity run` of a cheap experiment (matrix arena, fixed deciders, one step,
one episode: the engine's cost is negligible, the tables are full size: N agents × G generations
of agents and episodes, plus the drift twin). The sweep is a real `purity sweep` over a 4 × 4 grid
× 4 seeds of a small experiment. Both are made with `--workers 0`; their making is timed apart.

For each, the report is timed in this process (polars already imported; best of --repeat) and
once cold in a fresh interpreter (what `purity report DIR` costs a user), and the sizes of
report.md, report.html and the JSON export are printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import purity.reports as reports
from purity.reports import export

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """
[experiment]
name = "{name}"
seed = 1
generations = {generations}
population = {population}
survival_threshold = 0.1

[arena]
name = "matrix"
episodes = 1
group_size = 2
steps = 1

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 0.0 }}

[[population.mix]]
profile = "cooperator"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 1.0 }}

[selection]
kind = "moran"
intensity = 0.05

[mutation]
rate = 0.05

[control]
neutral_drift = true
"""

SWEEP = """
[sweep]
name = "bench-sweep"
experiment = "small.toml"
seeds = 4

[grid]
"selection.intensity" = [0.0, 0.05, 0.2, 1.0]
"mutation.rate" = [0.0, 0.01, 0.05, 0.2]
"""


def purity(*args: str | Path, cwd: Path) -> float:
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-c",
        "import sys; from purity.tournament.cli import main; sys.exit(main())",
        *map(str, args),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cold(path: Path, fmt: str = "html") -> float:
    """Wall time of a fresh interpreter that imports reports and builds the report (like the CLI)."""
    code = (
        "import sys; import purity.reports as reports; from purity.reports import export; "
        "d = reports.report(sys.argv[1], sys.argv[2]); "
        "sys.argv[2] == 'json' and export.dumps(d)"
    )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, str(path), fmt], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    return time.perf_counter() - start


def size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1024:,.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MiB"


def du(path: Path) -> str:
    n = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{n / 1024 / 1024:,.1f} MiB"


def measure(label: str, path: Path, repeat: int, *, sweep: bool = False) -> None:
    html_s = best(lambda: reports.report(path), repeat)
    json_text = ""

    def to_json() -> None:
        nonlocal json_text
        json_text = export.dumps(reports.report(path, format="json"))

    json_s = best(to_json, repeat)
    (path / "report.json").write_text(json_text)
    print(f"{label}: directory {du(path)}")
    print(
        f"  md + html, warm   {html_s:7.2f} s   report.md {size(path / 'report.md')}, "
        f"report.html {size(path / 'report.html')}"
    )
    print(f"  md + html, cold   {cold(path):7.2f} s   (fresh interpreter: import + polars + report)")
    print(f"  json, warm        {json_s:7.2f} s   report.json {size(path / 'report.json')} (indent 2)")
    print(f"  json, cold        {cold(path, 'json'):7.2f} s")
    if sweep:
        start = time.perf_counter()
        reports.write_sweep_report(path, run_reports=True)
        took = time.perf_counter() - start
        htmls = sorted((path / "runs").glob("*/report.html"))
        total = sum(p.stat().st_size for p in htmls)
        print(
            f"  with every run's own report (run_reports=True) {took:7.2f} s   "
            f"{len(htmls)} run reports, {total / 1024 / 1024:.1f} MiB in all"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--population", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, default=None, help="build in DIR and keep it (default: a temp dir)"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="purity-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"
    )
    try:
        (work / "big.toml").write_text(
            textwrap.dedent(EXPERIMENT).format(
                name="big", generations=args.generations, population=args.population
            )
        )
        made = purity("run", "big.toml", "--out", "runs", "--workers", "0", "--quiet", "--force", cwd=work)
        print(
            f"run N={args.population} × {args.generations} generations (+ drift twin): made in {made:.1f} s "
            "(purity run, including its report)"
        )
        measure(f"run N={args.population} × {args.generations}", work / "runs" / "big", args.repeat)

        (work / "small.toml").write_text(
            textwrap.dedent(EXPERIMENT).format(name="small", generations=30, population=32)
        )
        (work / "sweep.toml").write_text(textwrap.dedent(SWEEP))
        made = purity(
            "sweep", "sweep.toml", "--out", "sweeps", "--workers", "0", "--quiet", "--force", cwd=work
        )
        sweep_dir = work / "sweeps" / "bench-sweep"
        runs = len(list((sweep_dir / "runs").iterdir()))
        print(
            f"sweep of {runs} runs (4 × 4 grid × 4 seeds, N=32 × 30 generations + drift): made in {made:.1f} s"
        )
        measure(f"sweep of {runs} runs", sweep_dir, args.repeat, sweep=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
