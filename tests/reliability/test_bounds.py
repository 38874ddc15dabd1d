"""The memory estimate refuses what would not fit this machine, and only warns when a cluster
will run it; every shipped experiment fits."""

import logging
from pathlib import Path

import pytest
from hostile import experiment

from purity.inputs import InputError
from purity.tournament import bounds, config

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_too_big_for_this_machine_is_refused_here_and_left_to_a_cluster(tmp_path, caplog):
    path = experiment(tmp_path, ("experiment.population", 10_000_000))
    with pytest.raises(InputError, match="memory"):
        config.load(path)
    with caplog.at_level(logging.WARNING, logger="purity"):
        loaded = config.load(path, local=False)
    assert loaded.population == 10_000_000 and "the cluster decides" in caplog.text


def test_every_shipped_experiment_fits_the_estimate():
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        if "sweep" not in path.read_text():
            assert bounds.estimate(config.load(path)) < bounds.machine_memory(), path


def test_a_plan_grows_with_the_cube_of_the_group():
    assert bounds.plan_bytes(40, 0, 3, 2) == 8 * bounds.plan_bytes(20, 0, 3, 2)
