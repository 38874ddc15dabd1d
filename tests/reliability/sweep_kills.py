"""The sweep SIGKILL trial: start `purity sweep`, SIGKILL its whole process group at a seeded
random moment while the sweep is under way, then `purity sweep --resume`, until the wanted number
of kills landed mid-sweep (alternating `--workers 0` and `--workers 1`). Counts what a kill could
cost: runs stranded (a resume that fails or leaves a run unfinished or a half-made folder behind),
tables that differ from an uninterrupted sweep's, and processes of the killed sweep left alive.

    python tests/reliability/sweep_kills.py [--kills 30] [--seed 16] [--folder DIR]

prints one line per kill and a summary; `test_sweep_kills.py` runs it in the slow suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from own_processes import kill_own  # beside this file: it runs as a script too

EXPERIMENT = """
[experiment]
name = "k"
seed = 5
generations = 3
population = 8

[arena]
name = "commons"
episodes = 1
group_size = 4
steps = 6

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 2, rollouts = 1 }

[[population.mix]]
profile = "lineage-keeper"
share = 0.5
capability = { candidates = 2, rollouts = 1 }
"""
SWEEP = '[sweep]\nname = "kills"\nexperiment = "exp.toml"\nseeds = {seeds}\n[grid]\n"selection.intensity" = [0.0, 0.5]\n'
WORKERS = ("0", "1")
RUNS_PER_SWEEP = 2  # grid points of SWEEP, times its seeds
GRACE = 10.0  # seconds a process the kill missed may take to die with its parent


def write_files(folder: Path, seeds: int) -> Path:
    (folder / "exp.toml").write_text(EXPERIMENT)
    sweep = folder / "sweep.toml"
    sweep.write_text(SWEEP.format(seeds=seeds))
    return sweep


def tables(sweep_dir: Path) -> dict[str, pl.DataFrame]:
    """Every table of every run, by its path inside the sweep directory."""
    return {
        str(path.relative_to(sweep_dir)): pl.read_parquet(path)
        for path in sorted((sweep_dir / "runs").glob("*/**/*.parquet"))
    }


def same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> bool:
    return sorted(a) == sorted(b) and all(a[name].equals(b[name]) for name in a)


def purity(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purity", *args], capture_output=True, text=True, timeout=timeout
    )


def _session_members(session: int) -> list[int]:
    """Live processes whose session is `session` (the killed sweep's own: it was started in a
    new session, so nothing else belongs to it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == session:
            found.append(int(entry.name))
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _stranded(sweep_dir: Path) -> list[str]:
    """Runs a resumed sweep failed to finish, and half-made folders it left."""
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    left = [name for name, run in manifest["runs"].items() if run.get("status") != "complete"]
    left += [] if manifest.get("status") == "complete" else ["the sweep"]
    left += [
        path.name
        for path in (sweep_dir / "runs").iterdir()
        if path.name.startswith(".") or not (path / "manifest.json").is_file()
    ]
    return left


def _done_runs(sweep_dir: Path) -> int:
    try:
        runs = json.loads((sweep_dir / "sweep.json").read_text())["runs"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(run.get("status") == "complete" for run in runs.values())


@dataclass
class Trial:
    kills: int = 0  # kills that landed while some run of the sweep was unfinished
    closing: int = 0  # kills after every run, while the sweep wrote its own table and report
    before: int = 0  # kills before the sweep wrote sweep.json (then it is started again)
    after: int = 0  # sweeps that had finished before the kill time (nothing to kill)
    stranded: int = 0
    differing: int = 0
    survivors: int = 0  # processes of a killed sweep still alive GRACE seconds after the kill
    by_workers: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _launch(sweep: Path, out: Path, workers: str) -> subprocess.Popen:
    """`purity sweep` in its own session and process group: a kill of the group reaches the
    driver and whatever it started, nothing else."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "purity",
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--workers",
            workers,
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _alive(process: subprocess.Popen) -> bool:
    """Whether the sweep still runs, asked without collecting its exit: until `wait` collects it,
    its pid, which is also its session's id, cannot be given to another process, so the session
    names the killed sweep's own processes and nothing else (`_reap`)."""
    if process.returncode is not None:
        return False
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def _until_begun(process: subprocess.Popen, sweep_dir: Path, limit: float = 300) -> float:
    """Seconds until the sweep wrote sweep.json (its runs begin), or it ended."""
    began = time.perf_counter()
    while not (sweep_dir / "sweep.json").is_file() and _alive(process):
        if time.perf_counter() - began > limit:
            break
        time.sleep(0.02)
    return time.perf_counter() - began


def _reap(session: int) -> list[str]:
    """Wait up to `GRACE` seconds for what the kill missed to die with its parent (Ray's fate
    sharing); kill and name whatever is still alive then."""
    left = _session_members(session)
    deadline = time.perf_counter() + GRACE
    while left and time.perf_counter() < deadline:
        time.sleep(0.1)
        left = _session_members(session)
    titles = [_title(pid) for pid in left]
    for pid in left:  # a member of the killed sweep's own session, pinned before it is asked
        kill_own(pid, lambda p: p in _session_members(session))
    return titles


def trial(folder: Path, wanted: int = 30, seed: int = 16, seeds: int = 3, say=print) -> Trial:
    """Kills until `wanted` landed mid-sweep (some run unfinished): most at a random moment in the
    first 80% of the time from the sweep's start of its runs (sweep.json written) to its end, one
    in five at a random moment before."""
    start = time.perf_counter()
    sweep = write_files(folder, seeds)
    whole, startup, spans = None, {}, {}
    for workers in WORKERS:  # the reference tables, and when a whole sweep begins and ends
        out = folder / f"whole{workers}"
        process = _launch(sweep, out, workers)
        startup[workers] = _until_begun(process, out / "kills")
        began = time.perf_counter()
        assert process.wait() == 0
        spans[workers] = time.perf_counter() - began
        these = tables(out / "kills")
        assert whole is None or same(whole, these), "a sweep's tables depend on --workers"
        whole = these
    say(
        f"uninterrupted sweep: {len(whole)} parquet files; "
        + ", ".join(
            f"--workers {w}: runs begin at {startup[w]:.1f} s, take {spans[w]:.1f} s" for w in WORKERS
        )
    )
    rng = random.Random(seed)
    result = Trial()
    attempt = 0
    while result.kills < wanted and attempt < 3 * wanted:
        workers = WORKERS[attempt % len(WORKERS)]
        early = attempt % 5 == 4
        out = folder / f"t{attempt}"
        attempt += 1
        sweep_dir = out / "kills"
        process = _launch(sweep, out, workers)
        if early:
            at = rng.uniform(0.2, 1.0) * startup[workers]
            time.sleep(at)
        else:
            at = _until_begun(process, sweep_dir)
            pause = rng.uniform(0.0, 0.8) * spans[workers]
            time.sleep(pause)
            at += pause
        running = _alive(process)
        if running:
            os.killpg(process.pid, signal.SIGKILL)
        titles = _reap(process.pid)  # before `wait`: the session's id is still the sweep's own
        process.wait()
        result.survivors += len(titles)
        finished = _done_runs(sweep_dir)
        if not running:
            result.after += 1
            kind = "after"
        elif not (sweep_dir / "sweep.json").is_file():
            result.before += 1
            kind = "before"
        elif finished == RUNS_PER_SWEEP * seeds:
            result.closing += 1
            kind = "closing"
        else:
            result.kills += 1
            result.by_workers[workers] = result.by_workers.get(workers, 0) + 1
            kind = "mid"
        if kind == "before":
            done = purity("sweep", str(sweep), "--out", str(out), "--workers", "0", "--quiet", "--force")
        elif kind in ("mid", "closing"):
            done = purity("sweep", "--resume", str(sweep_dir), "--workers", "0", "--quiet")
        else:
            done = None
        stranded = (done is not None and done.returncode != 0) or bool(_stranded(sweep_dir))
        differs = not same(whole, tables(sweep_dir))
        result.stranded += stranded
        result.differing += differs
        say(
            f"{attempt:3d} --workers {workers} kill at {at:5.1f} s: {kind:7s} ({finished} runs done) "
            f"resume {'-' if done is None else done.returncode} stranded {int(stranded)} differs {int(differs)} "
            f"survivors {len(titles)} {titles if titles else ''}"
            + (f"  {done.stderr.strip()[-300:]}" if done is not None and done.returncode else "")
        )
        shutil.rmtree(out, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    own_ray = "RAY_TMPDIR" not in os.environ
    if own_ray:  # a private Ray temp folder, never the machine's /tmp/ray; short for Ray's sockets
        os.environ["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="pk", dir="/tmp")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="sweep-kills-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = trial(folder, args.kills, args.seed)
    finally:
        if own_ray:
            shutil.rmtree(os.environ.pop("RAY_TMPDIR"), ignore_errors=True)
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{result.kills} kills mid-sweep ({', '.join(f'--workers {w}: {n}' for w, n in sorted(result.by_workers.items()))}), "
        f"{result.before} before the sweep began, {result.closing} after its runs (writing its table), "
        f"{result.after} after it ended; "
        f"{result.stranded} stranded, {result.differing} with tables unlike an uninterrupted sweep's, "
        f"{result.survivors} processes left alive; {result.seconds:.0f} s"
    )
    return (
        0
        if result.kills >= args.kills and not (result.stranded or result.differing or result.survivors)
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
