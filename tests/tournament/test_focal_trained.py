"""A learner trained by `purity train` brought back as a focal population: it plays the policy
the learner ended with, as the learner played it (a Bernoulli draw of θ each episode), and never
learns again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from test_play import _batch, _setup

import purity
from purity.inputs import InputError
from purity.tournament import config
from purity.tournament.play import play_groups

ROOT = Path(__file__).resolve().parents[2]


def focal_file(
    folder: Path, run: Path, extra: str = "", base: Path = ROOT / "examples/pettingzoo/rps.toml"
) -> Path:
    text = (
        base.read_text()
        + f'\n[[population.mix]]\nprofile = "self-keeper"\nshare = 0.0\ndecider = "focal"\ntrained = "{run}"\n{extra}'
    )
    path = folder / f"frozen-{len(list(folder.glob('frozen-*.toml')))}.toml"
    path.write_text(text)
    return path


def last_theta(run: Path) -> pl.DataFrame:
    agents = pl.read_parquet(run / "agents/**/*.parquet")
    return agents.filter(pl.col("generation") == agents["generation"].max()).sort("id")


def test_it_plays_the_learners_final_policy_frozen(trained, tmp_path):
    final = last_theta(trained)
    policy = [f"policy:action_{i}" for i in range(3)]
    default = config.load(focal_file(tmp_path, trained)).mix[-1]
    assert default.policy == tuple(final.row(0, named=True)[c] for c in policy)  # the first learner
    path = focal_file(tmp_path, trained, "agent = 2\n").read_text().replace("share = 0.5", "share = 0.25")
    (tmp_path / "run.toml").write_text(path.replace("share = 0.0", "share = 0.5"))
    run = purity.run(tmp_path / "run.toml", out=tmp_path / "out", report=False)
    theta = tuple(final.filter(pl.col("id") == 2).select(policy).row(0))
    frozen = run.agents.filter(pl.col("entry") == 2)
    assert frozen.height > 0 and all(row == theta for row in frozen.select(policy).iter_rows())
    assert run.manifest["experiment_file"] == "experiment.toml"  # captured: resumable


def test_the_shipped_pair_trains_then_plays_the_trained_policy(tmp_path):
    """examples/pettingzoo/rps_learn.toml then rps_trained.toml, as their comments say (from the
    repository root, here a copy of it): the focal agents play the first learner's final θ."""
    from purity.tournament.cli import main

    examples = tmp_path / "examples/pettingzoo"
    examples.mkdir(parents=True)
    for name in ("rps_learn.toml", "rps_trained.toml"):
        (examples / name).write_text((ROOT / "examples/pettingzoo" / name).read_text())
    learn = ["train", str(examples / "rps_learn.toml"), "--workers", "0", "--out", str(tmp_path / "runs")]
    assert main([*learn, "--quiet"]) == 0
    run = purity.run(examples / "rps_trained.toml", out=tmp_path / "out", report=False)
    final = last_theta(tmp_path / "runs/rps-learn-train")
    policy = [f"policy:action_{i}" for i in range(3)]
    theta = final.select(policy).row(0)
    frozen = run.agents.filter(pl.col("entry") == 1)
    assert frozen.height > 0 and all(row == theta for row in frozen.select(policy).iter_rows())


def test_frozen_agents_draw_like_learners_and_do_not_update():
    """The same batch with entry 3 a learner, frozen, or fixed: frozen plays exactly the
    learner's episodes (the same draws) but keeps θ; fixed plays θ itself, other episodes."""
    setup, weights = _setup(3)
    batch = _batch(list(range(8)), weights, episodes=3)
    flags = (False, False, False, True)
    learner = play_groups(dataclasses.replace(setup, learners=flags), batch)
    frozen = play_groups(dataclasses.replace(setup, frozen=flags), batch)
    fixed = play_groups(setup, batch)
    np.testing.assert_array_equal(frozen.fitness, learner.fitness)
    np.testing.assert_array_equal(frozen.own, learner.own)
    three = batch.entries == 3
    assert np.array_equal(frozen.policies[three], batch.policies[three])
    assert not np.array_equal(learner.policies[three], batch.policies[three])
    assert np.isnan(frozen.reward).all()
    assert not np.array_equal(fixed.own, frozen.own)


def test_bad_trained_sources_are_refused(trained, tmp_path):
    cases = [
        (focal_file(tmp_path, tmp_path / "nowhere"), ".trained", "a run directory that purity train wrote"),
        (focal_file(tmp_path, trained, "agent = 40\n"), ".agent", "the id of a learner"),
        (
            focal_file(tmp_path, trained, base=ROOT / "experiments/matrix-pd.toml"),
            ".trained",
            "a run of the matrix arena with policy parameters",
        ),
    ]
    for path, field, fragment in cases:
        with pytest.raises(InputError) as caught:
            config.load(path)
        assert field in caught.value.field and fragment in str(caught.value), caught.value
