"""A Ray worker process killed in the middle of a task: the task is retried and the run's
tables are exactly those of an undisturbed run."""

import os
import signal
import threading
import time
from pathlib import Path

import polars as pl

from tournament.config import load
from tournament.runner import run


def _task_pids(name: str) -> list[int]:
    """Processes whose title says they are running `name` as a Ray task right now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{name}"):
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
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                except ProcessLookupError:
                    pass
                time.sleep(0.3)  # let the retry start before the next blow
                break
            time.sleep(0.005)


def test_killed_workers_are_retried_and_change_nothing(write_experiment, tmp_path):
    path = write_experiment(("generations = 4", "generations = 12"), ("steps = 12", "steps = 40"), ("neutral_drift = true", "neutral_drift = false"))
    experiment = load(path)
    calm = run(experiment, tmp_path / "calm", workers=0, progress=False)
    assassin = Assassin(times=2)
    assassin.start()
    try:
        shaken = run(experiment, tmp_path / "shaken", workers=2, progress=False)
    finally:
        assassin.stop.set()
        assassin.join()
    assert len(assassin.killed) >= 1, "no worker was caught mid-task; the test proved nothing"
    for table in ("agents", "episodes", "lineage"):
        a = pl.read_parquet(calm / table / "**" / "*.parquet").sort(pl.all())
        b = pl.read_parquet(shaken / table / "**" / "*.parquet").sort(pl.all())
        assert a.equals(b), table
