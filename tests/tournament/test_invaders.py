"""After lock-in, invaders (`[mutation] invader`, `invader_rate`): births of a locked-in population
that come out as another profile. Where they appear, what they carry, that nothing changes while
the switch is off or before lock-in, and the same tables whatever the number of workers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from purity.inputs import InputError
from purity.tournament import invaders
from purity.tournament.config import load
from purity.tournament.runner import run

INVADE = ("rate = 0.5", 'rate = 0.5\ninvader = "universalizer"\ninvader_rate = 0.3')
LOCKED = ("survival_threshold = 0.5", "survival_threshold = 0.5\nlock_in = 0.0")


def _tables(run_dir) -> tuple[pl.DataFrame, pl.DataFrame]:
    agents = pl.read_parquet(run_dir / "agents" / "**" / "*.parquet").sort("generation", "slot")
    lineage = pl.read_parquet(run_dir / "lineage" / "**" / "*.parquet").sort("generation", "child")
    return agents, lineage


def test_locked_in_is_one_founders_share():
    assert invaders.locked_in(np.array([1, 1, 1, 2]), 0.7)
    assert not invaders.locked_in(np.array([1, 1, 1, 2]), 0.75)
    assert invaders.locked_in(np.arange(8), 0.0)


def test_after_lock_in_births_come_out_as_invaders(write_experiment, tmp_path):
    """lock_in 0: locked from the start. About 30% of births are invaders: the universalizer's
    entry, founding weights and fixed policy, labelled `invader` in both tables, each its
    parent's child in its parent's lineage."""
    experiment = load(write_experiment(INVADE, LOCKED))
    agents, lineage = _tables(run(experiment, tmp_path / "on", workers=0, progress=False))
    births = lineage.filter(pl.col("kind") == "inherit")
    hit = births.filter(pl.col("change") == "invader")
    share = hit.height / births.height
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / births.height)
    seen = agents.filter(pl.col("mutation") == "invader")
    assert seen.height > 0 and set(seen["id"]) <= set(hit["child"])
    assert set(seen["profile"]) == {"universalizer"}
    founders = agents.filter(pl.col("generation") == 0)
    universalizer = founders.filter(pl.col("profile") == "universalizer").row(0, named=True)
    weights = [c for c in agents.columns if c.startswith("w:")]
    policies = [c for c in agents.columns if c.startswith("policy:")]
    for row in seen.iter_rows(named=True):
        assert [row[c] for c in weights] == [universalizer[c] for c in weights]
        assert [row[c] for c in policies] == [universalizer[c] for c in policies]
    parents = dict(zip(hit["child"], hit["parent"]))
    founder = dict(zip(agents["id"], agents["founder"]))
    assert all(founder[child] == founder[parents[child]] for child in seen["id"] if parents[child] in founder)


def test_off_or_before_lock_in_the_run_is_the_same(write_experiment, tmp_path):
    """Rate 0 with an invader named, or a lock-in never reached (1.0): the tables of the run
    without the switch, bit for bit."""
    base, _ = _tables(run(load(write_experiment()), tmp_path / "base", workers=0, progress=False))
    off = ("rate = 0.5", 'rate = 0.5\ninvader = "universalizer"\ninvader_rate = 0.0')
    never = ("survival_threshold = 0.5", "survival_threshold = 0.5\nlock_in = 1.0")
    for name, changes in (("off", [off]), ("never", [INVADE, never])):
        got, _ = _tables(run(load(write_experiment(*changes)), tmp_path / name, workers=0, progress=False))
        assert got.equals(base), name


def test_the_same_tables_on_two_workers(write_experiment, tmp_path, two_workers):
    experiment = load(write_experiment(INVADE, LOCKED))
    expected = _tables(run(experiment, tmp_path / "serial", workers=0, progress=False))
    got = _tables(run(experiment, tmp_path / "ray", pool=two_workers, progress=False))
    assert got[0].equals(expected[0]) and got[1].equals(expected[1])


def test_the_invader_must_be_a_mix_entry(write_experiment):
    bad = ("rate = 0.5", 'rate = 0.5\ninvader = "absolutist"\ninvader_rate = 0.1')
    with pytest.raises(
        InputError, match=r"mutation.invader: expected the profile of a \[\[population.mix\]\] entry"
    ):
        load(write_experiment(bad))
    with pytest.raises(InputError, match=r"mutation.invader_rate"):
        load(write_experiment(("rate = 0.5", "rate = 0.5\ninvader_rate = 1.5")))
