"""Training inside purity: `purity train` end to end, learners inside a tournament, determinism
across worker counts, and bad training input (exit 2)."""

import json
import textwrap

import numpy as np
import polars as pl
import pytest

from purity.tournament.cli import main
from purity.tournament.config import load
from purity.tournament.runner import run

OVERSIGHT = """
[experiment]
name = "watch"
seed = 5
generations = 25
population = 8

[arena]
name = "oversight"
episodes = 32
group_size = 4
steps = 10
p_watch = 0.5
fine = 0.0
allow_evade = false

[[population.mix]]
profile = "self-keeper"
share = 0.5
decider = "learner"
policy = { shortcut_watched = 0.5, shortcut_unwatched = 0.5 }

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = { shortcut_watched = 1.0, shortcut_unwatched = 1.0 }

[training]
reward = "detected"
penalty = 2.0
"""


def _write(tmp_path, *replacements, name="watch.toml"):
    text = textwrap.dedent(OVERSIGHT)
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def _tables(run_dir):
    return {
        t: pl.read_parquet(run_dir / t / "**" / "*.parquet").sort(pl.all())
        for t in ("agents", "episodes", "lineage")
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    path = _write(folder)
    assert main(["train", str(path), "--workers", "0", "--quiet", "--out", str(folder / "runs")]) == 0
    return folder / "runs" / "watch-train"


def test_purity_train_writes_a_learning_curve(trained, capsys):
    """Selection keep: the same eight agents every generation. The learners (ids 0-3) start at
    θ = 0.5 and, under the detected reward, learn to shortcut unwatched and not watched; the fixed
    consequentialists keep their policy. Their reward is recorded, the others' is null."""
    agents, episodes = _tables(trained)["agents"], _tables(trained)["episodes"]
    assert (
        agents.group_by("generation").agg(pl.col("id").sort()).get_column("id").to_list()
        == [list(range(8))] * 25
    )
    learners = agents.filter((pl.col("profile") == "self-keeper") & (pl.col("generation") == 24))
    assert (learners["policy:shortcut_unwatched"] >= 0.8).all() and (
        learners["policy:shortcut_watched"] <= 0.3
    ).all()
    fixed = agents.filter(pl.col("profile") == "consequentialist")
    assert (fixed["policy:shortcut_watched"] == 1.0).all()
    assert (
        episodes.filter(pl.col("profile") == "consequentialist")["reward"].null_count()
        == episodes.filter(pl.col("profile") == "consequentialist").height
    )
    assert episodes.filter(pl.col("profile") == "self-keeper")["reward"].null_count() == 0
    # detected amounts are a part of what was done, and watched takes are all seen (detection 1)
    assert (episodes["detected:take"] <= episodes["own:take"] + 1e-12).all()
    seen = episodes.filter(pl.col("watched"))
    assert np.allclose(seen["detected:take"].to_numpy(), seen["own:take"].to_numpy())
    assert episodes.filter(~pl.col("watched"))["detected:take"].sum() == 0.0
    manifest = json.loads((trained / "manifest.json").read_text())
    assert (
        manifest["experiment"]["selection"]["kind"] == "keep"
        and manifest["experiment_file"] == "experiment.toml"
    )
    assert "## Training" in (trained / "report.md").read_text()


def test_resuming_a_complete_training_run_changes_nothing(trained, capsys):
    before = _tables(trained)
    assert main(["run", "--resume", str(trained), "--workers", "0", "--quiet"]) == 0
    assert all(_tables(trained)[t].equals(before[t]) for t in before)


def test_a_training_run_cut_off_resumes_to_the_same_tables(trained, tmp_path):
    """Stop after 10 generations by hand (the manifest says so and the later files go), resume."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.update(status="running", generations_done=10)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    for table in ("agents", "episodes", "lineage"):
        for generation in range(11, 25):
            shutil.rmtree(copy / table / f"gen={generation}", ignore_errors=True)
    assert main(["run", "--resume", str(copy), "--workers", "0", "--quiet"]) == 0
    expected, got = _tables(trained), _tables(copy)
    assert all(got[t].equals(expected[t]) for t in expected)


def test_learners_inside_a_tournament_are_selected_and_keep_learning(tmp_path, two_workers):
    """Moran selection with learners and fixed shortcutters: births happen, and every agent's
    policy still moves only where it is a learner's. Same tables in process and on two workers."""
    path = _write(
        tmp_path,
        ("generations = 25", "generations = 6"),
        ("penalty = 2.0", 'penalty = 2.0\n\n[selection]\nkind = "moran"\nintensity = 0.5'),
    )
    serial = run(load(path), tmp_path / "serial", workers=0, progress=False)
    tables = _tables(serial)
    assert tables["lineage"].height > 0
    agents = tables["agents"]
    learners = agents.filter(pl.col("profile") == "self-keeper")
    assert learners["policy:shortcut_unwatched"].n_unique() > 1
    assert (agents.filter(pl.col("profile") == "consequentialist")["policy:shortcut_unwatched"] == 1.0).all()
    parallel = run(load(path), tmp_path / "two", pool=two_workers, progress=False)
    again = _tables(parallel)
    assert all(again[t].equals(tables[t]) for t in tables)


def test_purity_train_refuses_an_experiment_without_learners(tmp_path, capsys):
    path = _write(tmp_path, ('decider = "learner"', 'decider = "fixed"'))
    assert main(["train", str(path), "--workers", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "population.mix.decider" in err and "learner" in err and "Traceback" not in err


def test_bad_training_input_exits_2_with_one_line(tmp_path, capsys):
    path = _write(tmp_path, ('reward = "detected"', 'reward = "praise"'))
    assert main(["train", str(path), "--workers", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "training.reward" in err and "'detected'" in err


def test_a_sweep_report_holds_each_runs_final_training_figures(tmp_path):
    """The sweep report's `train:*` figures are the runs' last-generation training measures, as
    `purity.reports.training.final` reads them from the run's own files."""
    import purity.reports as reports
    from purity.reports import sweep_report, training

    _write(tmp_path, ("generations = 25", "generations = 3"), name="watch.toml")
    (tmp_path / "sweep.toml").write_text(
        textwrap.dedent("""
        [sweep]
        name = "watch-sweep"
        experiment = "watch.toml"
        seeds = 1

        [grid]
        "training.reward" = ["detected", "full"]
        """)
    )
    assert (
        main(
            [
                "sweep",
                str(tmp_path / "sweep.toml"),
                "--workers",
                "0",
                "--quiet",
                "--out",
                str(tmp_path / "sweeps"),
            ]
        )
        == 0
    )
    sweep_dir = tmp_path / "sweeps" / "watch-sweep"
    assert pl.read_parquet(sweep_dir / "sweep.parquet").height == 2
    observations = sweep_report.collect(reports.load_sweep(sweep_dir)).observations
    assert [o.run for o in observations] == ["run-0001", "run-0002"]
    for o in observations:
        final = training.final(reports.load(sweep_dir / "runs" / o.run))
        assert final and {key: o.figures[key] for key in final} == final
