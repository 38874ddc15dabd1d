"""How a sweep uses the machine: Ray only when it pays, small runs packed into tasks, the same
tables whichever way the runs went."""

import subprocess
import sys
import time

import polars as pl
import pytest

from purity.tournament import sweep as sweeps
from purity.tournament import sweep_plan
from purity.tournament.config import load

SWEEP = """
[sweep]
name = "plan"
experiment = "small.toml"
seeds = [3, 9]

[grid]
"selection.intensity" = [0.0, 0.5]
"""


@pytest.fixture
def sweep_file(small_experiment):
    path = small_experiment.parent / "sweep.toml"
    path.write_text(SWEEP)
    small_experiment.write_text(
        small_experiment.read_text()
        .replace("generations = 4", "generations = 2")
        .replace("neutral_drift = true", "neutral_drift = false")
    )
    return path


def test_ray_never_pays_on_one_cpu_and_on_two_from_its_break_even():
    assert not sweep_plan.ray_pays(1e9, 1)
    # two CPUs at 75%: left × (1 − 1/1.5) > RAY_START ⇔ left > 3 × RAY_START
    edge = 3 * sweep_plan.RAY_START
    assert not sweep_plan.ray_pays(edge * 0.99, 2)
    assert sweep_plan.ray_pays(edge * 1.01, 2)
    assert sweep_plan.ray_pays(sweep_plan.RAY_START * 1.5, 8)  # 1 − 1/6 of 9 s > 6 s


def test_a_busy_machine_keeps_the_sweep_here():
    edge = 3 * sweep_plan.RAY_START  # two idle CPUs
    assert sweep_plan.ray_pays(edge * 1.01, 2, load=1.0)  # only this sweep running
    assert not sweep_plan.ray_pays(1e9, 2, load=2.0)  # one CPU busy elsewhere: one left
    assert not sweep_plan.ray_pays(1e9, 8, load=40.0)
    assert sweep_plan.ray_pays(edge * 1.01, 2, load=0.0)  # never more than the CPUs there are
    assert not sweep_plan.ray_pays(edge * 0.99, 2, load=0.0)


@pytest.mark.parametrize("runs, workers", [(1, 2), (7, 2), (8, 2), (9, 2), (144, 2), (1000, 1), (30, 16)])
def test_packs_keep_every_run_once_in_order_and_stay_small(runs, workers):
    items = list(range(runs))
    packs = sweep_plan.packs(items, workers)
    assert [i for pack in packs for i in pack] == items
    assert all(1 <= len(pack) <= sweep_plan.MAX_PACK for pack in packs)
    if runs <= sweep_plan.PACKS_PER_WORKER * workers:
        assert all(len(pack) == 1 for pack in packs)  # few runs: one task each
    else:  # many: at least PACKS_PER_WORKER tasks per worker, or packs as full as allowed
        assert len(packs) >= sweep_plan.PACKS_PER_WORKER * workers or len(packs[0]) == sweep_plan.MAX_PACK


def test_weight_counts_seeds_and_the_drift_twin(small_experiment):
    experiment = load(small_experiment)
    import dataclasses

    base = sweep_plan.weight(dataclasses.replace(experiment, neutral_drift=False))
    arena = experiment.arena
    assert (
        base
        == experiment.seeds * experiment.population * experiment.generations * arena.episodes * arena.steps
    )
    assert sweep_plan.weight(dataclasses.replace(experiment, neutral_drift=True)) == 2 * base
    assert sweep_plan.weight(dataclasses.replace(experiment, neutral_drift=False, seeds=3)) == 3 * base


def test_a_small_sweep_left_to_choose_stays_in_process_with_the_same_tables(
    sweep_file, tmp_path, monkeypatch
):
    from purity.tournament import executor

    real, started = executor.executor, []

    def watched(workers, address):
        if workers != 0:  # each whole run makes its own in-process executor (workers 0)
            started.append(workers)
        return real(workers, address)

    monkeypatch.setattr(executor, "executor", watched)
    chosen = sweeps.run_sweep(sweep_file, tmp_path / "auto", progress=False)
    assert started == []
    monkeypatch.undo()
    given = sweeps.run_sweep(sweep_file, tmp_path / "zero", workers=0, progress=False)
    for run in ("run-0001", "run-0004"):
        for name in ("agents", "episodes", "lineage"):
            a = pl.read_parquet(chosen / "runs" / run / name / "**" / "*.parquet")
            b = pl.read_parquet(given / "runs" / run / name / "**" / "*.parquet")
            assert a.equals(b), (run, name)
    assert (pl.read_parquet(chosen / "sweep.parquet")["status"] == "complete").all()


def test_a_sweep_left_to_choose_starts_ray_once_the_first_run_says_it_pays(sweep_file, tmp_path, monkeypatch):
    """The decision follows the first run's time: made to look long, the rest go to the executor
    (here an in-process stand-in, counted) in packs."""
    from purity.tournament import executor

    maps = []

    class Counting(executor.InProcess):
        workers = 1

        def map(self, fn, shared, items):
            maps.append([len(item) for item in items])
            return super().map(fn, shared, items)

    real = executor.executor
    monkeypatch.setattr(
        executor, "executor", lambda workers, address: real(0, None) if workers == 0 else Counting()
    )
    monkeypatch.setattr(executor, "RayExecutor", Counting)
    monkeypatch.setattr(sweep_plan, "ray_pays", lambda left, cpus, load: left > 0)
    monkeypatch.setattr(sweep_plan, "PACKS_PER_WORKER", 1)
    out = sweeps.run_sweep(sweep_file, tmp_path / "auto", progress=False)
    assert maps == [[3]]  # the first ran here; three runs left, one worker: one pack of three
    assert (pl.read_parquet(out / "sweep.parquet")["status"] == "complete").all()


def test_one_failing_run_of_a_pack_leaves_the_others(sweep_file, tmp_path, monkeypatch):
    from purity.tournament import runner

    real = runner.run
    plan = sweeps.materialize(sweeps.load(sweep_file), tmp_path / "plan")
    monkeypatch.setattr(
        runner,
        "run",
        lambda experiment, *a, **k: (
            (_ for _ in ()).throw(RuntimeError("out of luck"))
            if experiment.name == "run-0002"
            else real(experiment, *a, **k)
        ),
    )
    results = sweeps.run_pack(None, [e for _, _, e in plan[:3]])
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert results[1] == "RuntimeError: out of luck"
    assert "manifest.json" in results[0]


def test_the_load_elsewhere_is_the_machines_busy_time_less_this_processs():
    """Over 2 s the machine was busy 4 CPU seconds, 2 of them this process's: one other CPU's
    worth, so a load of 2 with this process; nothing elsewhere is 1, and rounding never goes below."""
    readings = iter([(100.0, 5.0, 10.0), (104.0, 7.0, 12.0)])
    assert sweep_plan.Elsewhere(lambda: next(readings)).load() == 2.0
    readings = iter([(100.0, 5.0, 10.0), (102.0, 7.0, 12.0)])
    assert sweep_plan.Elsewhere(lambda: next(readings)).load() == 1.0
    readings = iter([(100.0, 5.0, 10.0), (101.99, 7.0, 12.0)])  # jiffies rounded below our own time
    assert sweep_plan.Elsewhere(lambda: next(readings)).load() == 1.0


def test_without_proc_stat_the_load_average_decides(monkeypatch):
    monkeypatch.setattr(sweep_plan.os, "getloadavg", lambda: (3.25, 2.0, 1.0))
    readings = iter([(None, 5.0, 10.0), (None, 7.0, 12.0)])
    assert sweep_plan.Elsewhere(lambda: next(readings)).load() == 3.25


@pytest.mark.skipif(sweep_plan.machine_busy() is None, reason="no /proc/stat")
def test_a_process_spinning_beside_this_one_counts_as_load():
    """A child of this test spins one CPU for the whole interval: the load seen is at least that
    child and this process (more on a busy machine, never less)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.perf_counter() + 3\nwhile time.perf_counter() < end: pass",
        ]
    )
    try:
        time.sleep(0.3)  # the child has started spinning
        elsewhere = sweep_plan.Elsewhere()
        time.sleep(1.0)
        assert elsewhere.load() >= 1.8
    finally:
        child.kill()
        child.wait()
