"""Focal populations (`decider = "focal"`): a Python policy that reads a PettingZoo environment's
observations, or a `purity train` learner's final policy played frozen, scored in a tournament
like any other agent; bad policies are one line naming file, field and expectation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import purity
from purity.arenas.adapter import EventRule, PettingZooArena, PettingZooParams
from purity.arenas.core import concat_noise
from purity.arenas.external import ExternalPolicy, marker
from purity.inputs import InputError
from purity.tournament import config
from purity.tournament.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/pettingzoo/rps_focal.toml"
RPS = "pettingzoo.classic.rps_v2:parallel_env"
BEATS = np.array([1, 2, 0, 0])  # the move that beats the opponent's last one; rock when none yet
CALLS: list[int] = []


def beat_last(observations):
    CALLS.append(len(observations))
    return BEATS[np.asarray(observations)]


def by_draw(observations, draws):
    return np.minimum((draws * 3).astype(int), 2)


def rps(steps: int, *policies: str) -> PettingZooArena:
    arena = PettingZooArena(2, steps, PettingZooParams(RPS, (EventRule("take", action=0),)))
    return arena.with_policies(tuple(ExternalPolicy(f"{__name__}:{p}", __name__) for p in policies))


def test_a_focal_policy_reads_the_observations_and_its_acts_are_events():
    """Against rock every step, beat-last plays rock once (no history), then paper: 9 wins of
    10 and one `take`. The same agent on an ordinary policy never sees the opponent's move."""
    arena, batch = rps(10, "beat_last"), 3
    CALLS.clear()
    focal = np.array([[marker(0, 3), (1.0, 0.0, 0.0)]] * batch)
    trace = arena.rollout(focal, arena.noise(np.random.default_rng(0), batch))
    np.testing.assert_array_equal(trace.fitness, [[9.0, -9.0]] * batch)
    np.testing.assert_array_equal(trace.events[..., 0], [[1.0, 10.0]] * batch)
    assert CALLS == [batch] * 10  # one call a step for every episode of the batch
    paper = np.array([[(0.0, 1.0, 0.0), (1.0, 0.0, 0.0)]] * batch)
    control = arena.rollout(paper, arena.noise(np.random.default_rng(0), batch))
    np.testing.assert_array_equal(control.fitness, [[10.0, -10.0]] * batch)


def test_a_stochastic_policy_uses_the_episode_draws_only():
    """A policy given draws gives the same episodes for the same noise, a batch equals its halves
    played apart, and other noise gives other episodes: no randomness outside the run's streams."""
    arena = rps(30, "by_draw")
    policy = np.array([[marker(0, 3), marker(0, 3)]] * 4)
    noise = arena.noise(np.random.default_rng(2), 4)
    whole = arena.rollout(policy, noise)
    halves = [
        arena.rollout(policy[s], {k: v[s] for k, v in noise.items()}) for s in (slice(0, 2), slice(2, 4))
    ]
    np.testing.assert_array_equal(whole.events, np.concatenate([h.events for h in halves]))
    np.testing.assert_array_equal(whole.events, arena.rollout(policy, concat_noise([noise])).events)
    assert whole.events.sum() > 0
    other = arena.rollout(policy, arena.noise(np.random.default_rng(3), 4))
    assert not np.array_equal(whole.events, other.events)


def bad(tmp_path: Path, old: str, new: str, module: str = "") -> Path:
    (tmp_path / "move_table.py").write_text((ROOT / "examples/pettingzoo/move_table.py").read_text())
    (tmp_path / "shapes.py").write_text(
        "import numpy as np\n"
        "def wide(o): return np.zeros((len(o), 2), int)\n"
        "def big(o): return np.full(len(o), 5)\n"
        "def half(o): return np.full(len(o), 0.5)\n"
        "def boom(o): raise RuntimeError('no weights file')\n"
        "def late(o): return np.where(np.asarray(o) == 0, 7, 1)\n"
        "NOT_CALLABLE = 3\n"
    )
    text = EXAMPLE.read_text().replace(old, new)
    if module:
        text = text.replace('modules = ["move_table.py"]', f'modules = ["move_table.py", "{module}"]')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "new, module, fragments",
    [
        ('"nowhere_at_all:act"', "", ["a module importable here and on every Ray worker", "nowhere_at_all"]),
        ('"move_table.py:nope"', "", ["a callable named 'nope'"]),
        ('"shapes.py:NOT_CALLABLE"', "shapes.py", ["a callable named 'NOT_CALLABLE'"]),
        ('"shapes.py:wide"', "", ["also listed in [plugins] modules"]),
        ('"nosuch.py:act"', "", ["a .py file that exists", "nosuch.py does not"]),
        ('"shapes.py:wide"', "shapes.py", ["one action per observation: shape (2,)", "shape (2, 2)"]),
        ('"shapes.py:big"', "shapes.py", ["whole numbers in 0..2 (Discrete(3))", "got 5"]),
        ('"shapes.py:half"', "shapes.py", ["whole numbers in 0..2", "got 0.5"]),
        ('"shapes.py:boom"', "shapes.py", ["runs on the environment's observations", "no weights file"]),
        ('"act"', "", ['a "module:callable"']),
    ],
)
def test_bad_policies_are_refused_when_the_file_is_read(tmp_path, new, module, fragments):
    path = bad(tmp_path, '"move_table.py:act"', new, module)
    with pytest.raises(InputError) as caught:
        config.load(path)
    assert caught.value.file == str(path) and caught.value.field == "population.mix[1].policy_fn"
    assert all(f in str(caught.value) for f in fragments), caught.value


def test_focal_keys_belong_to_focal_entries_and_policy_fns_to_the_pettingzoo_arena(tmp_path):
    cases = [
        ('decider = "focal"', 'decider = "focal"\ntrained = "x"', "exactly one of policy_fn"),
        ('decider = "focal"', 'decider = "planner"', "population.mix[1].policy_fn: expected a known key"),
        (
            'decider = "focal"',
            'policy = { action_0 = 1 }\ndecider = "focal"',
            "mix[1].policy: expected a known key",
        ),
        (  # a fixed policy: nothing reads a capability without reflection
            'decider = "focal"',
            'decider = "focal"\ncapability = { candidates = 4 }',
            "population.mix[1].capability: expected no capability table for a focal entry",
        ),
    ]
    for old, new, fragment in cases:
        with pytest.raises(InputError) as caught:
            config.load(bad(tmp_path, old, new))
        assert fragment in str(caught.value), caught.value
    commons = tmp_path / "commons.toml"
    commons.write_text(
        (ROOT / "experiments/default.toml").read_text()
        + '\n[plugins]\nmodules = ["move_table.py"]\n\n[[population.mix]]\nprofile = "steward"\n'
        + 'share = 0.0\ndecider = "focal"\npolicy_fn = "move_table.py:act"\n'
    )
    with pytest.raises(InputError) as caught:
        config.load(commons)
    assert "an arena that plays policies reading observations (pettingzoo)" in str(caught.value)


def test_a_policy_that_fails_mid_run_is_one_line_and_exit_2(tmp_path, capsys):
    """`late` answers well at the first observation (validation passes) and outside the action
    space once an opponent has played rock: found inside play, reported like a bad file."""
    path = bad(tmp_path, '"move_table.py:act"', '"shapes.py:late"', "shapes.py")
    code = main(["run", str(path), "--workers", "0", "--out", str(tmp_path / "out"), "--quiet"])
    stderr = capsys.readouterr().err
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "population.mix[1].policy_fn: expected a policy whose actions" in stderr
    assert "got 7" in stderr and str(path) in stderr


def test_the_example_runs_and_its_focal_agents_keep_their_policy(tmp_path):
    """Focal agents are scored on their acts (takes in the episodes table), their policy columns
    hold the marker in every generation, their weights are the self-keeper's; the run captures
    an experiment file that reads back as the same experiment (so it can be resumed)."""
    run = purity.run(EXAMPLE, out=tmp_path, report=False)
    focal = run.agents.filter(pl.col("entry") == 1)
    assert focal.height > 0 and (focal["policy:action_0"] == -1.0).all()
    assert (run.agents.filter(pl.col("entry") == 0)["policy:action_0"] >= 0).all()
    keeper = run.episodes.filter(pl.col("profile") == "self-keeper")
    assert keeper["own:take"].sum() > 0 and keeper["reward"].is_nan().all()
    assert run.manifest["experiment_file"] == "experiment.toml"


@pytest.mark.slow
def test_ray_workers_play_the_focal_policy_and_give_the_same_tables(tmp_path):
    """The example through `purity run` on a real private Ray instance (2 workers) writes the
    in-process run's tables; a policy that fails on a worker mid-run is the same one line."""
    import subprocess
    import sys

    def run(path: Path, workers: int, out: str):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "purity",
                "run",
                path,
                "--workers",
                str(workers),
                "--out",
                tmp_path / out,
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )

    for workers in (0, 2):
        done = run(EXAMPLE, workers, f"w{workers}")
        assert done.returncode == 0, done.stderr
    for table in ("agents", "episodes", "lineage"):
        one, two = (
            pl.read_parquet(tmp_path / f"w{w}/rps-focal/{table}/**/*.parquet").sort(pl.all()) for w in (0, 2)
        )
        assert one.height > 0 and one.equals(two), table
    late = bad(tmp_path, '"move_table.py:act"', '"shapes.py:late"', "shapes.py")
    done = run(late, 2, "late")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert (
        "population.mix[1].policy_fn: expected a policy whose actions" in done.stderr
        and "got 7" in done.stderr
    )
