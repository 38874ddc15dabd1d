"""Agents of unequal power per `[[population.mix]]` entry: read and checked (range, arenas that
read it, not with reflection), recorded only where it is not 1, inherited with the entry, and in
play it multiplies starting stores (so payoffs) exactly."""

from __future__ import annotations

import numpy as np
import pytest
from test_cli import assert_one_line_error, purity

from purity.inputs import InputError
from purity.tournament import generation
from purity.tournament.config import load
from purity.tournament.executor import InProcess
from purity.tournament.experiment_data import dump

FIXED = 'decider = "fixed"\npolicy = { harvest = 0.4 }'
POWERED = 'decider = "fixed"\npolicy = { harvest = 0.4 }\npower = 2.5'


def test_power_is_read_defaults_to_1_and_is_dumped_only_where_unequal(write_experiment, tmp_path):
    equal = load(write_experiment())
    assert [entry.power for entry in equal.mix] == [1.0, 1.0, 1.0]
    assert all("power" not in row for row in dump(equal)["population"]["mix"])
    powered = load(write_experiment((FIXED, POWERED)))
    assert [entry.power for entry in powered.mix] == [1.0, 1.0, 2.5]
    rows = dump(powered)["population"]["mix"]
    assert rows[2]["power"] == 2.5 and "power" not in rows[0]


@pytest.mark.parametrize(
    "replacement, expected",
    [
        ((FIXED, FIXED + "\npower = -1.0"), "≥ 0"),
        ((FIXED, FIXED + "\npower = 1e9"), "1000"),
        ((FIXED, FIXED + '\npower = "big"'), "number"),
    ],
)
def test_bad_power_names_file_field_and_expectation(write_experiment, replacement, expected):
    path = write_experiment(replacement)
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.file == str(path) and caught.value.field.endswith("power")


def test_power_only_in_arenas_that_read_it_and_not_with_reflection(write_experiment):
    path = write_experiment(
        (FIXED, POWERED), ('name = "commons"', 'name = "oversight"'), ("harvest = 0.4", "")
    )
    with pytest.raises(InputError, match="does not read power") as caught:
        load(path)
    assert "commons_sanctions" in caught.value.expected and "promises" in caught.value.expected
    path = write_experiment(
        (FIXED, POWERED), ("[control]", "[reflection]\nenabled = true\nself_modify = true\n[control]")
    )
    with pytest.raises(InputError, match="reflection") as caught:
        load(path)
    assert caught.value.field == "population.mix[2].power"


def test_the_command_line_refuses_it_in_one_line(write_experiment):
    path = write_experiment(
        (FIXED, POWERED), ('name = "commons"', 'name = "oversight"'), ("harvest = 0.4", "")
    )
    assert_one_line_error(purity("validate", path), str(path), "power")


def _payoffs(experiment):
    context, population = generation.begin(experiment, InProcess())
    done = generation.step(context, population, 0)
    agents = next(rows for table, _, rows in done.tables if table == "agents").sort("slot")
    return agents["entry"].to_numpy(), agents["payoff"].to_numpy(), done


def test_power_multiplies_the_starting_store_in_play_and_is_inherited(write_experiment):
    """Everyone fixed on the same harvest, nobody takes: a slot's payoff is its starting store
    plus its harvest, so the powered entry earns endowment × (power − 1) = 2 × 1.5 more than its
    equal twin, and its offspring keep the entry (so the power)."""
    text = (
        (
            'profile = "consequentialist"\nshare = 0.5\ncapability = { candidates = 6, rollouts = 2 }',
            'profile = "consequentialist"\nshare = 0.5\n' + FIXED,
        ),
        (
            'profile = "lineage-keeper"\nshare = 0.25\ncapability = { candidates = 6, rollouts = 2 }',
            'profile = "lineage-keeper"\nshare = 0.25\n' + FIXED,
        ),
    )
    equal = load(write_experiment(*text))
    powered = load(
        write_experiment(*text, (FIXED + "\n\n[selection]", POWERED + "\n\n[selection]"), name="p.toml")
    )
    entry, base, _ = _payoffs(equal)
    same, more, done = _payoffs(powered)
    np.testing.assert_array_equal(entry, same)
    np.testing.assert_allclose(more - base, np.where(entry == 2, 2.0 * 1.5, 0.0), rtol=1e-12, atol=1e-12)
    child = done.population
    assert (child.entry == 2).any()  # the powered entry's offspring carry its index, so its power
    explicit = load(
        write_experiment(
            *text, (FIXED + "\n\n[selection]", FIXED + "\npower = 1.0\n\n[selection]"), name="q.toml"
        )
    )
    np.testing.assert_array_equal(_payoffs(explicit)[1], base)  # power = 1 is the default exactly
    assert explicit.mix == equal.mix
