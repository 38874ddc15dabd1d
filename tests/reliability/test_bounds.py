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


# (experiment, mutation changes, population): the default; and an experiment whose reflection can
# move a constraint's scope (so the run's terms are every scope of each) with structural mutation,
# which copies each wave of births a few more times
NULL_CASES = {
    "default": ("default.toml", {}, 2000),
    "structural, rescoping": (
        "successors-base.toml",
        {"add_rate": 0.3, "remove_rate": 0.3, "scope_rate": 0.3},
        1000,
    ),
}


def _null_peak(name: str, changes: dict, population: int) -> int:
    """Peak bytes of numpy's buffers while one chunk of 1024 drift replicates runs, in a fresh
    process (tracemalloc sees numpy's buffers and nothing else the process holds; a peak resident
    size counts whatever the interpreter had loaded before, which varies with the environment)."""
    import subprocess
    import sys

    code = (
        "import dataclasses, tracemalloc; from purity.tournament import config, null; "
        f"e = config.load({str(ROOT / 'experiments' / name)!r}); "
        f"e = dataclasses.replace(e, population={population}, generations=3, "
        f"mutation=dataclasses.replace(e.mutation, **{changes!r})); "
        "tracemalloc.start(); "
        "null.simulate(null.spec(e), 1024, 1, 'drift'); "
        "print(tracemalloc.get_traced_memory()[1])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURITY_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(done.stdout)


@pytest.mark.parametrize("case", list(NULL_CASES))
def test_the_estimate_counts_the_nulls_and_bounds_what_they_use(case):
    """The nulls simulate 1024 replicates of the whole population at once: the estimate counts
    them (it once did not: a 20,000-agent run used ten times its estimate), and bounds the peak
    memory one chunk of replicates really takes. It once counted only the founding profiles'
    terms, not the scopes a constraint can move to, nor structural mutation's copies: the
    structural, rescoping case used about 1.7 times that estimate."""
    import dataclasses

    from purity.agents.preferences import term_universe
    from purity.tournament import null

    assert bounds.NULL_CHUNK == null.CHUNK
    name, changes, population = NULL_CASES[case]
    loaded = config.load(ROOT / "experiments" / name)
    small = dataclasses.replace(
        loaded, population=population, generations=3, mutation=dataclasses.replace(loaded.mutation, **changes)
    )
    assert bounds.null_bytes(dataclasses.replace(small, nulls=())) == 0
    used = _null_peak(name, changes, population)
    assert used > 50 * 2**20, "the measurement sees the null's arrays"
    assert used <= bounds.null_bytes(small), (used, bounds.null_bytes(small))
    founding = len(term_universe([entry.profile for entry in small.mix]))
    earlier = 1024 * population * 8 * (6 * founding + 12)  # the estimate before it counted either
    assert (used > earlier) == (case != "default"), (used, earlier)
