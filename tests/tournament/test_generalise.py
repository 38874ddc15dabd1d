"""Learners that generalise, through experiment files and the CLI: `[training] learner`, the
regimes, `purity train` / `purity run --resume` / `purity sweep`, and bad keys (one line, exit 2).
The claims these runs support are tested in tests/agents/test_generalisation.py."""

import json
import math
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purity.inputs import InputError
from purity.reports import training_study
from purity.tournament import config
from purity.tournament.cli import main
from purity.tournament.experiment_data import dump
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
[experiment]
name = "small"
generations = 12
population = 8
seeds = 3

[arena]
name = "oversight"
episodes = 16
group_size = 4
steps = 5
p_watch = 0.5
fine = {fine}
allow_evade = false

[[population.mix]]
profile = "self-keeper"
share = 1.0
decider = "{decider}"

[selection]
kind = "keep"

[training]
reward = "detected"
penalty = 2.0
{training}
"""


def _file(
    folder: Path, training: str = 'learner = "shared"\ncue = 1.0', fine: float = 0.0, decider: str = "learner"
) -> Path:
    path = folder / "small.toml"
    path.write_text(EXPERIMENT.format(training=training, fine=fine, decider=decider))
    return path


def _rows(run_dir: Path) -> pl.DataFrame:
    return training_study.rows(run_dir)


def test_purity_train_writes_one_row_per_seed_and_a_report_that_leads_with_the_gap(tmp_path, capsys):
    path = _file(tmp_path, 'learner = "shared"\ncue = 1.0\n\n[training.test]\ncue = 0.5')
    assert main(["train", str(path), "--workers", "0", "--quiet", "--out", str(tmp_path / "runs")]) == 0
    run_dir = tmp_path / "runs" / "small-train"
    rows = _rows(run_dir)
    assert rows["seed"].to_list() == [0, 1, 2]
    assert {"train_watched", "train_unwatched", "watched", "unwatched", "gap", "off_gap"} <= set(rows.columns)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["role"] == "generalisation" and manifest["status"] == "complete"
    assert manifest["experiment_file"] == "experiment.toml"  # read back as the same experiment
    assert manifest["study"]["test"]["cue"] == 0.5 and manifest["study"]["train"]["cue"] == 1.0
    report = (run_dir / "report.md").read_text()
    assert report.index("Gap") < report.index("Training and test")
    assert "train watched" in report and "test unwatched" in report


def test_same_rows_in_process_and_on_two_workers(tmp_path, two_workers):
    experiment = config.load(_file(tmp_path)).training_alone()
    serial = _rows(run(experiment, tmp_path / "zero", workers=0, progress=False))
    parallel = _rows(run(experiment, tmp_path / "two", pool=two_workers, progress=False))
    assert serial.equals(parallel)


@pytest.mark.slow
def test_same_rows_on_one_worker(tmp_path):
    experiment = config.load(_file(tmp_path)).training_alone()
    serial = _rows(run(experiment, tmp_path / "zero", workers=0, progress=False))
    assert serial.equals(_rows(run(experiment, tmp_path / "one", workers=1, progress=False)))


def test_a_run_cut_off_resumes_to_the_same_rows(tmp_path):
    experiment = config.load(_file(tmp_path, 'learner = "tabular"\ncue = 0.75')).training_alone()
    whole = run(experiment, tmp_path / "runs", workers=0, progress=False)
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    (cut / "generalisation" / "seed=1.parquet").unlink()
    (cut / "generalisation" / "seed=2.parquet").unlink()
    manifest = json.loads((cut / "manifest.json").read_text())
    manifest.update(status="running", finished=None)
    (cut / "manifest.json").write_text(json.dumps(manifest))
    assert main(["run", "--resume", str(cut), "--workers", "0", "--quiet"]) == 0
    assert _rows(cut).equals(_rows(whole))
    assert json.loads((cut / "manifest.json").read_text())["status"] == "complete"
    assert main(["run", "--resume", str(cut), "--workers", "0", "--quiet"]) == 0  # complete: no-op


def test_the_default_learner_keeps_todays_record():
    experiment = config.load(ROOT / "experiments" / "oversight-training.toml")
    assert experiment.training.generalise is None
    assert set(dump(experiment)["training"]) == {
        "reward",
        "penalty",
        "learning_rate",
        "exploration",
        "violations",
    }


def test_a_sweep_report_leads_with_the_gap_heatmap(tmp_path):
    base = _file(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'[sweep]\nname = "s"\nexperiment = "{base.name}"\n\n[grid]\n'
        '"training.learner" = ["tabular", "shared"]\n"training.cue" = [1.0, 0.5]\n'
    )
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]) == 0
    html = (tmp_path / "out" / "s" / "report.html").read_text()
    assert html.index("<svg") < html.index('id="rates"')
    data = training_study.to_json(tmp_path / "out" / "s")
    assert len(data["settings"]) == 4 and data["keys"] == ["training.learner", "training.cue"]
    reliable = [s for s in data["settings"] if s["training.cue"] == "1.0"]
    assert all(s["gap"] > 0.1 for s in reliable)


@pytest.mark.parametrize(
    ("training", "fine", "decider", "field"),
    [
        ('learner = "mlp"', 0.0, "learner", "training.learner"),
        ('learner = "shared"\ncue = 1.5', 0.0, "learner", "training.cue"),
        ('learner = "shared"\nobserved = "yes"', 0.0, "learner", "training.observed"),
        (
            'learner = "shared"\n\n[training.test]\ncorrelated = -1',
            0.0,
            "learner",
            "training.test.correlated",
        ),
        ('learner = "shared"\n\n[training.test]\nzzz = 1', 0.0, "learner", "training.test.zzz"),
        ('learner = "shared"', 2.0, "learner", "arena.fine"),
        ('learner = "shared"', 0.0, "planner", "population.mix[0].decider"),
        ("cue = 0.5", 0.0, "learner", "training.cue"),
        ('reward = "disposition"', 0.0, "learner", "training.reward"),
    ],
)
def test_bad_keys_give_one_line_and_exit_2(tmp_path, capsys, training, fine, decider, field):
    text = _file(tmp_path, "", fine, decider).read_text().replace('reward = "detected"\n', "")
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("penalty = 2.0\n", "penalty = 2.0\n" + training + "\n"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("purity: error:") and f"{field}:" in err


def test_a_tournament_of_generalising_learners_is_refused_before_it_starts(tmp_path, capsys):
    path = _file(tmp_path)
    path.write_text(path.read_text().replace('kind = "keep"', 'kind = "moran"'))
    assert main(["run", str(path), "--workers", "0", "--quiet", "--out", str(tmp_path / "runs")]) == 2
    assert "selection.kind" in capsys.readouterr().err and not (tmp_path / "runs" / "small").exists()


VALUES = st.one_of(
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["shared", "tabular", "policy", "disposition", "internal", "", "x"]),
)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return json.dumps(value)


@settings(max_examples=60, deadline=None)
@given(
    learner=st.sampled_from(["shared", "tabular", "policy"]),
    key=st.sampled_from(
        [
            "reward",
            "cue",
            "missing",
            "observed",
            "correlated",
            "test.p_watch",
            "test.cue",
            "test.observed",
            "test.zzz",
        ]
    ),
    value=VALUES,
)
def test_fuzzed_training_keys_load_or_give_one_input_error(tmp_path_factory, learner, key, value):
    folder = tmp_path_factory.mktemp("fuzz")
    table, _, name = key.rpartition(".")
    extra = f"{name} = {_toml(value)}" if not table else f"\n[training.test]\n{name} = {_toml(value)}"
    path = _file(folder, f'learner = "{learner}"\n{extra}')
    path.write_text(
        path.read_text().replace('reward = "detected"\n', "") if name == "reward" else path.read_text()
    )
    try:
        experiment = config.load(path)
    except InputError as error:
        message = str(error)
        assert "small.toml" in message and "\n" not in message
    else:
        assert (experiment.training.generalise is None) == (learner == "policy")
