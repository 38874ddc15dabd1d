"""`reports.processes.each`: the figures of many runs shared among child processes give exactly
what one process gives, in order; a child's error is raised here; and a script without an
`if __name__ == "__main__"` guard runs once (what `multiprocessing`'s spawned children would not
give)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import purity.reports as reports
from purity.reports import processes
from purity.reports import sweep_report as sr
from tests.reports.each_items import fails, loud, where
from tests.reports.test_sweep_report import write_sweep

ROOT = Path(__file__).resolve().parents[2]
TWO_CPUS = pytest.mark.skipif(processes._cpus() < 2, reason="one usable CPU: `each` never starts a child")


@TWO_CPUS
def test_children_give_what_this_process_gives_in_order(monkeypatch):
    monkeypatch.setattr(processes, "ITEMS_PER_PROCESS", 4)
    got = processes.each(where, list(range(10)))
    assert [value for value, _ in got] == [i * i for i in range(10)]
    pids = [pid for _, pid in got]
    assert pids[0] == os.getpid() and len(set(pids)) == 2  # this process's share, then a child's


def test_few_items_stay_in_this_process():
    assert {pid for _, pid in processes.each(where, list(range(processes.ITEMS_PER_PROCESS)))} == {
        os.getpid()
    }


@TWO_CPUS
def test_a_childs_error_is_raised_here(monkeypatch):
    monkeypatch.setattr(processes, "ITEMS_PER_PROCESS", 4)
    with pytest.raises(ValueError, match="item 7 is bad"):
        processes.each(fails, list(range(10)))  # item 7 is in the child's share


@TWO_CPUS
def test_what_a_child_prints_does_not_mix_with_its_results(monkeypatch):
    monkeypatch.setattr(processes, "ITEMS_PER_PROCESS", 4)
    assert processes.each(loud, list(range(10))) == list(range(10))


@TWO_CPUS
def test_a_script_without_a_main_guard_runs_once(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "from purity.reports import processes\n"
        "from tests.reports.each_items import where\n"
        "processes.ITEMS_PER_PROCESS = 2\n"
        "print('ran', len({pid for _, pid in processes.each(where, list(range(8)))}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran 2\n"


@TWO_CPUS
def test_a_sweeps_observations_are_the_same_read_by_children(tmp_path, monkeypatch):
    sweep = reports.load_sweep(write_sweep(tmp_path / "grid"))
    alone, problems = sr.observe(sweep, []), []
    monkeypatch.setattr(processes, "ITEMS_PER_PROCESS", 2)
    shared = sr.observe(sweep, problems)
    assert problems == [] and len(shared) == len(alone) == 5
    for a, b in zip(alone, shared):
        assert (a.run, a.seed, a.settings, a.path, a.terms) == (b.run, b.seed, b.settings, b.path, b.terms)
        assert a.figures == pytest.approx(b.figures, nan_ok=True) and list(a.figures) == list(b.figures)
        assert a.verdict.equals(b.verdict) and a.seed_figures.equals(b.seed_figures)
        assert a.lock_in == b.lock_in
