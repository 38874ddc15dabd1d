"""Sweeps: grid expansion, one experiment file per run, concurrency, failures recorded."""

import json
import math
import tomllib

import polars as pl
import pytest

from purity.inputs import InputError
from purity.tournament import sweep as sweeps
from purity.tournament.config import load
from purity.tournament.runner import run

SWEEP = """
[sweep]
name = "grid"
experiment = "small.toml"
seeds = [3, 9]

[grid]
"selection.intensity" = [0.0, 0.5]
"population.mix.0.capability.candidates" = [2, 5, 7]
"""


@pytest.fixture
def sweep_file(small_experiment):
    path = small_experiment.parent / "sweep.toml"
    path.write_text(SWEEP)
    small = (
        small_experiment.read_text()
        .replace("generations = 4", "generations = 2")
        .replace("neutral_drift = true", "neutral_drift = false")
    )
    small_experiment.write_text(small)
    return path


def test_grid_times_seeds_gives_one_experiment_file_per_run(sweep_file, tmp_path):
    sweep = sweeps.load(sweep_file)
    assert len(sweep.points) == 2 * 3 * 2
    assert [p.name for p in sweep.points[:2]] == ["run-0001", "run-0002"]
    plan = sweeps.materialize(sweep, tmp_path / "out")
    point, path, experiment = plan[5]
    settings = dict(point.settings)
    assert experiment.selection.intensity == settings["selection.intensity"]
    assert experiment.mix[0].capability.candidates == settings["population.mix.0.capability.candidates"]
    assert experiment.seed == point.seed and experiment.name == point.name
    assert {p.seed for p in sweep.points} == {3, 9}
    assert len({(p.settings, p.seed) for p in sweep.points}) == 12


def test_toml_text_round_trips():
    data = {
        "experiment": {
            "name": "x",
            "seed": 3,
            "ratio": 0.25,
            "big": math.inf,
            "flag": True,
            "words": ["a", 'b"c'],
        },
        "population": {
            "mix": [{"profile": "p", "capability": {"candidates": 4, "rollouts": 2}}, {"profile": "q/ü.toml"}]
        },
        "matching": {"kind": "graph", "args": {"n": 8, "k": [1, 2]}},
        "dotted": {"a.b": 1},
    }
    from purity.tournament.storage import toml_text

    assert tomllib.loads(toml_text(data)) == data


def test_a_sweep_runs_every_point_and_tables_match_single_runs(sweep_file, tmp_path):
    sweep_dir = sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, max_concurrent=3, progress=False)
    table = pl.read_parquet(sweep_dir / "sweep.parquet")
    assert table.height == 12 and (table["status"] == "complete").all()
    assert set(table["seed"]) == {3, 9}
    assert set(table["set:selection.intensity"]) == {0.0, 0.5}
    assert table["generations_done"].to_list() == [2] * 12
    # the table holds only what the sweep knows; the figures are the sweep report's, from the runs
    assert table.columns == [
        "run",
        "seed",
        "status",
        "error",
        "set:selection.intensity",
        "set:population.mix.0.capability.candidates",
        "generations_done",
    ]
    from purity.reports import load_sweep, sweep_report

    shares = [
        o.figures["mean_process_share"] for o in sweep_report.collect(load_sweep(sweep_dir)).observations
    ]
    assert len(shares) == 12 and all(0 <= s <= 1 for s in shares)
    manifest = json.loads((sweep_dir / "sweep.json").read_text())
    assert manifest["status"] == "complete" and manifest["keys"] == [
        "selection.intensity",
        "population.mix.0.capability.candidates",
    ]
    # a sweep run is exactly the run of its own experiment file
    alone = run(
        load(sweep_dir / "experiments" / "run-0007.toml"), tmp_path / "alone", workers=0, progress=False
    )
    for name in ("agents", "episodes", "lineage"):
        a = pl.read_parquet(sweep_dir / "runs" / "run-0007" / name / "**" / "*.parquet")
        b = pl.read_parquet(alone / name / "**" / "*.parquet")
        assert a.equals(b), name


def test_a_failing_run_is_recorded_and_the_others_finish(sweep_file, tmp_path, monkeypatch):
    from purity.tournament import runner

    real = runner.run

    def flaky(experiment, *args, **kwargs):
        if experiment.name == "run-0004":
            raise RuntimeError("the node caught fire")
        return real(experiment, *args, **kwargs)

    monkeypatch.setattr(runner, "run", flaky)
    sweep_dir = sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    table = pl.read_parquet(sweep_dir / "sweep.parquet").sort("run")
    failed = table.filter(pl.col("status") == "failed")
    assert failed["run"].to_list() == ["run-0004"]
    assert "the node caught fire" in failed["error"][0]
    assert (table.filter(pl.col("run") != "run-0004")["status"] == "complete").all()
    assert json.loads((sweep_dir / "sweep.json").read_text())["status"] == "failed"


@pytest.mark.parametrize(
    "grid, field",
    [
        ('"selection.intensity" = [0.1, -1.0]', "selection.intensity"),
        ('"selection.kind" = ["moran", "lottery"]', "selection.kind"),
        ('"population.mix.7.share" = [0.5]', "grid.population.mix.7.share"),
        ('"arena.steps" = 5', "grid.arena.steps"),
    ],
)
def test_bad_grids_fail_before_anything_runs(sweep_file, tmp_path, grid, field):
    text = SWEEP.split("[grid]")[0] + "[grid]\n" + grid + "\n"
    sweep_file.write_text(text)
    with pytest.raises(InputError) as caught:
        sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    assert caught.value.file == str(sweep_file) and caught.value.field == field
    assert not (tmp_path / "sweeps").exists()


def test_resume_finishes_the_unfinished_runs_only(sweep_file, tmp_path, monkeypatch):
    from purity.tournament import runner

    real = runner.run
    monkeypatch.setattr(
        runner,
        "run",
        lambda experiment, *a, **k: (
            (_ for _ in ()).throw(RuntimeError("out of luck"))
            if experiment.name in ("run-0002", "run-0011")
            else real(experiment, *a, **k)
        ),
    )
    sweep_dir = sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    before = {p: p.stat().st_mtime_ns for p in (sweep_dir / "runs" / "run-0001").rglob("*.parquet")}
    monkeypatch.setattr(runner, "run", real)
    sweeps.run_sweep(None, sweep_dir, workers=0, progress=False, resume=True)
    table = pl.read_parquet(sweep_dir / "sweep.parquet")
    assert (table["status"] == "complete").all() and table["error"].null_count() == 12
    assert {p: p.stat().st_mtime_ns for p in (sweep_dir / "runs" / "run-0001").rglob("*.parquet")} == before
    fresh = run(
        load(sweep_dir / "experiments" / "run-0011.toml"), tmp_path / "fresh", workers=0, progress=False
    )
    for name in ("agents", "episodes", "lineage"):
        assert pl.read_parquet(sweep_dir / "runs" / "run-0011" / name / "**" / "*.parquet").equals(
            pl.read_parquet(fresh / name / "**" / "*.parquet")
        )


def test_force_replaces_a_sweep_and_a_deleted_run_is_rerun_on_resume(sweep_file, tmp_path):
    import shutil

    first = sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    with pytest.raises(InputError, match="--force"):
        sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    again = sweeps.run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False, force=True)
    assert again == first and pl.read_parquet(again / "sweep.parquet").height == 12
    shutil.rmtree(again / "runs" / "run-0003")
    sweeps.run_sweep(None, again, workers=0, progress=False, resume=True)
    assert (again / "runs" / "run-0003" / "manifest.json").is_file()


def test_the_sweep_needs_nothing_from_the_reports():
    """Figures are the sweep report's: the sweep module imports nothing of purity.reports."""
    import ast
    from pathlib import Path

    imported = set()
    for node in ast.walk(ast.parse(Path(sweeps.__file__).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert "purity.tournament.record" in imported
    assert not [m for m in imported if m.startswith("purity.reports")]


def test_progress_reads_each_manifest_place_and_counts_an_ended_run_once(tmp_path):
    """The monitor sums `generations_done` over a run's, its twin's and its seeds' manifests,
    ignores tables, and stops reading a run once the sweep recorded it as ended."""

    def manifest(path, done):
        path.mkdir(parents=True, exist_ok=True)
        (path / "manifest.json").write_text(json.dumps({"generations_done": done}))

    single, seeded = tmp_path / "a", tmp_path / "b"
    manifest(single, 5)
    manifest(single / "drift", 3)
    manifest(single / "agents" / "gen=0001", 100)  # a table folder: never read
    manifest(seeded, 0)
    manifest(seeded / "seed=1", 4)
    manifest(seeded / "seed=1" / "drift", 2)
    manifest(seeded / "seed=2", 1)
    records = {"a": {"status": "complete"}, "b": {"status": "pending"}}
    monitor = sweeps._Monitor([single, seeded], records, bar=None)
    assert monitor.done() == 8 + 7
    manifest(single, 9)  # ended runs are not read again
    manifest(seeded / "seed=2", 6)  # running ones are
    assert monitor.done() == 8 + 12
