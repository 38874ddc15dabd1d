"""The memory estimate refuses what would not fit this machine, and only warns when a cluster
will run it; every shipped experiment fits."""

import logging
import os
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


def test_the_estimate_counts_the_nulls_and_bounds_what_they_use(tmp_path):
    """The nulls simulate 1024 replicates of the whole population at once: the estimate counts
    them (it once did not: a 20,000-agent run used ten times its estimate), and bounds the peak
    memory one chunk of replicates really takes, measured in a fresh process."""
    import dataclasses
    import subprocess
    import sys

    from purity.tournament import null

    assert bounds.NULL_CHUNK == null.CHUNK
    loaded = config.load(ROOT / "experiments" / "default.toml")
    small = dataclasses.replace(loaded, population=2000, generations=3)
    assert bounds.null_bytes(dataclasses.replace(small, nulls=())) == 0
    # tracemalloc sees numpy's buffers and nothing else the process holds (a peak resident size
    # counts whatever the interpreter had loaded before, which varies with the environment)
    code = (
        "import dataclasses, tracemalloc; from purity.tournament import config, null; "
        f"e = dataclasses.replace(config.load({str(ROOT / 'experiments' / 'default.toml')!r}), population=2000, generations=3); "
        "tracemalloc.start(); "
        "null.simulate(null.spec(e), 1024, 1, 'drift'); "
        "print(tracemalloc.get_traced_memory()[1])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURITY_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    used = int(done.stdout)
    assert used > 100 * 2**20, "the measurement sees the null's arrays"
    assert used <= bounds.null_bytes(small), (used, bounds.null_bytes(small))
