"""Whole runs: the files of docs/run-files.md, determinism across worker counts, and the drift twin."""

import json

import polars as pl
import pytest

from purity.inputs import InputError
from purity.tournament.config import load
from purity.tournament.runner import run

TABLES = ("agents", "episodes", "lineage")


def _tables(run_dir):
    return {table: pl.read_parquet(run_dir / table / "**" / "*.parquet").sort(pl.all()) for table in TABLES}


def _manifest(run_dir):
    data = json.loads((run_dir / "manifest.json").read_text())
    for volatile in ("started", "finished", "command"):
        data.pop(volatile)
    return data


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory, small_text):
    path = tmp_path_factory.mktemp("exp") / "small.toml"
    path.write_text(small_text)
    return path


@pytest.fixture(scope="module")
def serial(experiment_file, tmp_path_factory):
    return run(load(experiment_file), tmp_path_factory.mktemp("serial"), workers=0, progress=False)


def test_run_directory_has_every_table_per_generation(serial):
    manifest = json.loads((serial / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["generations_done"] == 4
    assert manifest["role"] == "main" and manifest["seed"] == 3
    assert {"numpy", "polars", "ray", "pettingzoo", "networkx"} <= set(manifest["versions"])
    assert "git_revision" in manifest
    assert manifest["profiles"]["lineage-keeper"]["weights"]["constraint:take:lineage"] == 3.0
    tables = _tables(serial)
    agents, episodes = tables["agents"], tables["episodes"]
    assert agents.group_by("generation").len().sort("generation")["len"].to_list() == [16] * 4
    # one row per agent per episode: 16 agents x 2 episodes
    assert episodes.group_by("generation").len()["len"].to_list() == [32] * 4
    assert not list(serial.rglob("*.tmp"))
    # ids are unique within a generation, and the mix shares hold at generation 0
    assert agents.group_by("generation").agg(pl.col("id").n_unique())["id"].to_list() == [16] * 4
    first = agents.filter(pl.col("generation") == 0)
    assert dict(first.group_by("profile").len().iter_rows()) == {
        "consequentialist": 8,
        "lineage-keeper": 4,
        "universalizer": 4,
    }
    assert set(first["origin"]) == {"founder"} and first["parent"].null_count() == 16


def test_lineage_edges_explain_every_newcomer(serial):
    tables = _tables(serial)
    agents, lineage = tables["agents"], tables["lineage"]
    for generation in range(1, 4):
        before = set(agents.filter(pl.col("generation") == generation - 1)["id"])
        now = agents.filter(pl.col("generation") == generation)
        births = lineage.filter(pl.col("generation") == generation)
        assert len(births) == 16  # Moran: N birth-death events per generation
        born = set(births["child"])
        assert set(now["id"]) - before <= born
        # every parent existed before or was born earlier in the same generation
        assert set(births["parent"]) <= before | born
    # a child keeps its parent's founding profile and founder (parents born and replaced
    # within one generation never appear in the agents table and are skipped)
    known = {row[0]: row[1:] for row in agents.select("id", "founder", "profile").unique("id").iter_rows()}
    checked = 0
    for parent, child in lineage.select("parent", "child").iter_rows():
        if parent in known and child in known:
            assert known[child] == known[parent]
            checked += 1
    assert checked > 10


def test_weights_only_change_by_mutation_and_hard_terms_stay(serial):
    agents = _tables(serial)["agents"]
    weight_cols = [c for c in agents.columns if c.startswith("w:")]
    present = agents.select([(pl.col(c) > 0).alias(c) for c in weight_cols])
    founders = agents.filter(pl.col("generation") == 0).select(["profile"] + weight_cols)
    # mutation never adds or removes a term: the pattern of present terms follows the profile
    pattern = {row[0]: tuple(v > 0 for v in row[1:]) for row in founders.iter_rows()}
    for row in agents.select(["profile"] + weight_cols).iter_rows():
        assert tuple(v > 0 for v in row[1:]) == pattern[row[0]]
    assert present.height == agents.height


def _same_tables(serial, again) -> None:
    expected, got = _tables(serial), _tables(again)
    for table in TABLES:
        assert got[table].equals(expected[table]), table
    assert _manifest(again)["terms"] == _manifest(serial)["terms"]
    for twin in TABLES:
        assert _tables(again / "drift")[twin].equals(_tables(serial / "drift")[twin])


def test_same_seed_same_tables_on_two_workers(serial, experiment_file, tmp_path, two_workers):
    _same_tables(serial, run(load(experiment_file), tmp_path, pool=two_workers, progress=False))


@pytest.mark.slow
def test_same_seed_same_tables_on_one_worker(serial, experiment_file, tmp_path):
    _same_tables(serial, run(load(experiment_file), tmp_path, workers=1, progress=False))


def test_another_seed_gives_other_tables(serial, experiment_file, tmp_path):
    other = run(load(experiment_file, seed=4), tmp_path, workers=0, progress=False)
    assert not _tables(other)["episodes"].equals(_tables(serial)["episodes"])


def test_drift_twin_ignores_fitness(serial):
    drift = serial / "drift"
    manifest = json.loads((drift / "manifest.json").read_text())
    assert manifest["role"] == "drift" and manifest["experiment"]["selection"]["intensity"] == 0.0
    agents = _tables(drift)["agents"]
    assert (agents["fitness"] == 1.0).all()
    main = _tables(serial)["agents"]
    # same founders and seed family: generation 0 plays identically
    assert (
        main.filter(pl.col("generation") == 0)
        .drop("fitness")
        .equals(agents.filter(pl.col("generation") == 0).drop("fitness"))
    )
    assert not (main["fitness"] == 1.0).all()


def test_existing_run_directory_is_refused_and_force_replaces_it(serial, experiment_file):
    before = (serial / "agents" / "gen=0" / "part-0.parquet").read_bytes()
    with pytest.raises(InputError, match="--force"):
        run(load(experiment_file), serial.parent, workers=0, progress=False)
    assert (serial / "agents" / "gen=0" / "part-0.parquet").read_bytes() == before


def test_force_refuses_to_delete_a_folder_that_is_not_a_run(experiment_file, tmp_path):
    precious = tmp_path / "small"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="refusing"):
        run(load(experiment_file), tmp_path, workers=0, force=True, progress=False)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_a_failing_generation_marks_the_run_failed(experiment_file, tmp_path, monkeypatch):
    import purity.tournament.generation as generation

    calls = {"n": 0}
    real = generation.reproduce

    def fail_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "reproduce", fail_second)
    with pytest.raises(RuntimeError):
        run(load(experiment_file), tmp_path, workers=0, progress=False)
    manifest = json.loads((tmp_path / "small" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["generations_done"] == 1


def test_every_run_records_its_nulls_as_control_null_asks(serial, write_experiment, tmp_path):
    """The default run holds both cheap nulls, sized for its corrected tests; `null` and
    `null_replicates` choose the kinds and their size, and `null = []` records none."""
    info = json.loads((serial / "null" / "null.json").read_text())
    assert set(info) == {"drift", "shuffle"} and info["drift"]["replicates"] >= 2000
    drift = pl.read_parquet(serial / "null" / "drift.parquet")
    assert drift["replicate"].n_unique() == info["drift"]["replicates"]
    only = write_experiment(
        ("neutral_drift = true", 'neutral_drift = true\nnull = ["drift"]\nnull_replicates = 300')
    )
    chosen = run(load(only), tmp_path / "chosen", workers=0, progress=False)
    assert list(json.loads((chosen / "null" / "null.json").read_text())) == ["drift"]
    assert pl.read_parquet(chosen / "null" / "drift.parquet")["replicate"].n_unique() == 300
    none = write_experiment(("neutral_drift = true", "neutral_drift = true\nnull = []"))
    assert not (run(load(none), tmp_path / "none", workers=0, progress=False) / "null").exists()
