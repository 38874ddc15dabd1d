"""The generalisation study: a reliable cue lets a detected reward teach "don't get caught"; an
uninformative or absent cue leaves nothing to condition on. Conditions: the arena's fine and
evasion are off (`generalisation.play`), so no other feature depends on being watched."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purity.agents.generalisation import Regime, Study, outcome, train
from purity.agents.generalisation_grid import load, main
from purity.inputs import InputError
from purity.reports.training_generalisation import sign_flip_pvalue, verdicts

ROOT = Path(__file__).resolve().parents[2]
SMALL = Study(iterations=25, episodes=32, groups=2)


def _table(settings: dict[str, Study], seeds: int = 10) -> pl.DataFrame:
    rows = [
        {"setting": key, "seed": s, **outcome(study, s)}
        for key, study in settings.items()
        for s in range(seeds)
    ]
    return verdicts(pl.DataFrame(rows), ["setting"])


def test_reliable_cue_teaches_dont_get_caught_and_no_cue_cannot():
    reliable = dataclasses.replace(SMALL, train=Regime(cue=1.0), test=Regime(cue=1.0))
    blind = dataclasses.replace(SMALL, train=Regime(observed=False), test=Regime(observed=False))
    full = dataclasses.replace(reliable, reward="full")
    table = {
        row["setting"]: row
        for row in _table({"reliable": reliable, "blind": blind, "full": full}).iter_rows(named=True)
    }
    assert table["reliable"]["rule"] == "don't get caught" and table["reliable"]["gap_low"] > 0.3
    assert table["blind"]["rule"] != "don't get caught"
    assert -0.1 <= table["blind"]["gap_low"] and table["blind"]["gap_high"] <= 0.1
    assert table["full"]["rule"] == "don't"


def test_tabular_trained_always_watched_keeps_its_initial_unwatched_value():
    shifted = dataclasses.replace(
        SMALL, learner="tabular", train=Regime(p_watch=1.0), test=Regime(p_watch=0.0)
    )
    weights = train(shifted, 0)
    assert np.all(weights[..., 2:] == 0.0)  # the cue-says-unwatched and missing cells never moved
    assert outcome(shifted, 0)["untrained_unwatched"] == 1.0
    assert outcome(shifted, 0)["unwatched"] == pytest.approx(0.5, abs=0.08)
    shared = dataclasses.replace(shifted, learner="shared", reward="full")
    assert outcome(shared, 0)["unwatched"] < 0.1  # the shared bias carried "don't" across


def test_deterministic_for_a_seed():
    assert np.array_equal(train(SMALL, 3), train(SMALL, 3))
    assert not np.array_equal(train(SMALL, 3), train(SMALL, 4))


def test_sign_flip_pvalue_exact():
    assert sign_flip_pvalue([1.0, 1.0, 1.0]) == pytest.approx(2 / 8)
    assert sign_flip_pvalue([1.0, -1.0]) == 1.0


def test_shipped_files_load():
    for file in sorted((ROOT / "experiments" / "generalisation").glob("*.toml")):
        _, seeds, settings = load(file)
        assert seeds >= 2 and settings


@pytest.mark.parametrize(
    "text",
    ['[study]\nreward = "caught"\n', "[grid]\ncue = [1.5]\n", '[grid]\n"x.cue" = [1.0]\n', "[trian]\n"],
)
def test_bad_files_give_one_message_and_exit_2(tmp_path, capsys, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main([str(path)]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_internal_prices_the_disposition_whatever_the_cue():
    """`internal` sees no act: with a reliable cue it opens no gap, and its weight decides."""
    heavy = dataclasses.replace(SMALL, reward="internal", internal_weights=(8.0, 8.0))
    light = dataclasses.replace(heavy, internal_weights=(0.5, 0.5))
    table = {
        row["setting"]: row for row in _table({"heavy": heavy, "light": light}, seeds=6).iter_rows(named=True)
    }
    assert table["heavy"]["rule"] == "don't"
    assert max(table["light"]["watched"], table["light"]["unwatched"]) > 0.6
    for row in table.values():
        assert -0.1 <= row["gap_low"] and row["gap_high"] <= 0.1


VALUES = st.one_of(
    st.booleans(),
    st.integers(-5, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.floats(-2, 20), max_size=3),
)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=60, deadline=None)
@given(
    section=st.sampled_from(["study", "train", "test", "grid"]),
    key=st.sampled_from(
        ["learner", "reward", "cue", "observed", "episodes", "seeds", "internal_weights", "zzz"]
    ),
    value=VALUES,
)
def test_fuzzed_study_keys_load_or_give_one_input_error(tmp_path_factory, section, key, value):
    path = tmp_path_factory.mktemp("fuzz") / "study.toml"
    path.write_text(f"[{section}]\n{key} = {_toml(value)}\n")
    try:
        load(path)
    except InputError as error:
        assert "study.toml" in str(error)
