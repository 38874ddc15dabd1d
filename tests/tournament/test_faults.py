"""A Ray worker process killed in the middle of a task: the task is retried and the run's
tables are exactly those of an undisturbed run."""

import os
import threading
import time
from pathlib import Path

import polars as pl

from purity.tournament.config import load
from purity.tournament.runner import run
from tests.reliability.own_processes import kill_own


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # the name may hold spaces and ')'


def _ours(pid: int) -> bool:
    """Whether this test process is an ancestor of `pid`: a worker of the private Ray instance
    this test started (driver → raylet → worker), never another test run's."""
    me, seen = os.getpid(), 0
    while pid and pid > 1 and seen < 64:
        pid, seen = _parent(pid), seen + 1
        if pid == me:
            return True
    return False


def _task_pids(name: str) -> list[int]:
    """Processes of this test's own Ray instance whose title says they run `name` right now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{name}") and _ours(int(entry.name)):
            found.append(int(entry.name))
    return found


class Assassin(threading.Thread):
    """Kills worker processes mid-task, `times` times, then stops."""

    def __init__(self, times: int):
        super().__init__(daemon=True)
        self.times, self.killed = times, []
        self.stop = threading.Event()

    def run(self) -> None:
        while len(self.killed) < self.times and not self.stop.is_set():
            for pid in _task_pids("play_groups"):
                if kill_own(pid, _ours):  # a worker of this test's own Ray instance, pinned first
                    self.killed.append(pid)
                time.sleep(0.3)  # let the retry start before the next blow
                break
            time.sleep(0.005)


def test_killed_workers_are_retried_and_change_nothing(write_experiment, tmp_path, two_workers):
    path = write_experiment(
        ("generations = 4", "generations = 12"),
        ("steps = 12", "steps = 40"),
        ("neutral_drift = true", "neutral_drift = false"),
    )
    experiment = load(path)
    calm = run(experiment, tmp_path / "calm", workers=0, progress=False)
    assassin = Assassin(times=2)
    assassin.start()
    try:
        shaken = run(experiment, tmp_path / "shaken", pool=two_workers, progress=False)
    finally:
        assassin.stop.set()
        assassin.join()
    assert len(assassin.killed) >= 1, "no worker was caught mid-task; the test proved nothing"
    for table in ("agents", "episodes", "lineage"):
        a = pl.read_parquet(calm / table / "**" / "*.parquet").sort(pl.all())
        b = pl.read_parquet(shaken / table / "**" / "*.parquet").sort(pl.all())
        assert a.equals(b), table


def test_only_this_runs_processes_are_counted_as_ours():
    """A process this test did not start (a sibling of it, like another test run's worker) is
    never a target; a child of this test is."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _ours(child.pid)
        assert not _ours(os.getppid()) and not _ours(1)
    finally:
        child.kill()
        child.wait()
