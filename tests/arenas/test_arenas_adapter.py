"""The `pettingzoo` arena plays a PettingZoo environment purity did not write (PettingZoo's own
rock-paper-scissors) with a mapping of its actions or infos to events, from an experiment file."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from arena_checks import assert_traces_equal, pettingzoo_tests
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import api_test, max_cycles_test, parallel_seed_test, render_test, seed_test

import purity.arenas as arenas
from purity.arenas.adapter import EventRule, PettingZooArena, PettingZooParams
from purity.arenas.core import concat_noise
from purity.arenas.factories import pettingzoo_factories
from purity.arenas.wrapper import ParallelArenaEnv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/pettingzoo/rps.toml"
RPS = "pettingzoo.classic.rps_v2:parallel_env"
ROCK, PAPER, SCISSORS = np.eye(3)


def rps(steps: int = 10, *rules: EventRule) -> PettingZooArena:
    return PettingZooArena(2, steps, PettingZooParams(RPS, rules or (EventRule("take", action=0),)))


def play(arena: PettingZooArena, first: np.ndarray, second: np.ndarray, batch: int = 3, seed: int = 0):
    policy = np.broadcast_to(np.stack([first, second]), (batch, 2, 3)).copy()
    return arena.rollout(policy, arena.noise(np.random.default_rng(seed), batch))


def test_pure_strategies_give_the_known_payoffs_and_events():
    """Paper beats rock every step: +1 and −1 per step; rock is `take`, counted every step."""
    trace = play(rps(10), PAPER, ROCK)
    np.testing.assert_array_equal(trace.fitness, [[10.0, -10.0]] * 3)
    np.testing.assert_array_equal(trace.events[..., 0], [[0.0, 10.0]] * 3)
    np.testing.assert_array_equal(trace.opportunities[..., 0], np.full((3, 2), 10.0))
    np.testing.assert_array_equal(trace.series["welfare"], np.zeros((3, 11)))
    tie = play(rps(10), SCISSORS, SCISSORS)
    np.testing.assert_array_equal(tie.fitness, np.zeros((3, 2)))
    assert tie.events.sum() == 0


def test_mixed_strategies_are_zero_sum_and_follow_their_weights():
    """Rock-paper-scissors is zero-sum: the two fitnesses cancel in every episode, exactly. A
    player with weights (1, 1, 0) plays rock half the time; zero weights are uniform."""
    trace = play(rps(200), np.array([1.0, 1.0, 0.0]), np.zeros(3), batch=50)
    np.testing.assert_array_equal(trace.fitness.sum(axis=1), np.zeros(50))
    rock = trace.events[..., 0].sum(axis=0) / (50 * 200)
    # binomial standard errors: sqrt(.25/1e4) = .005 and sqrt(2/9/1e4) ≈ .0047; 5 of them
    assert abs(rock[0] - 1 / 2) < 0.025 and abs(rock[1] - 1 / 3) < 0.025
    never = play(rps(50), np.array([0.0, 1.0, 1.0]), np.ones(3), batch=20)
    assert never.events[:, 0].sum() == 0 and never.events[:, 1].sum() > 0


def test_episodes_depend_on_their_noise_only():
    """The same noise gives the same episodes, and a batch is its halves played apart."""
    arena = rps(30)
    policy = np.random.default_rng(1).random((6, 2, 3))
    noise = arena.noise(np.random.default_rng(2), 6)
    whole = arena.rollout(policy, noise)
    assert_traces_equal(whole, arena.rollout(policy, noise))
    halves = [
        arena.rollout(policy[s], {k: v[s] for k, v in noise.items()}) for s in (slice(0, 3), slice(3, 6))
    ]
    joined = rps(30).rollout(
        policy, concat_noise([{k: v[s] for k, v in noise.items()} for s in (slice(0, 3), slice(3, 6))])
    )
    assert_traces_equal(whole, joined)
    np.testing.assert_array_equal(whole.fitness, np.concatenate([h.fitness for h in halves]))
    other = arena.rollout(policy, arena.noise(np.random.default_rng(3), 6))
    assert not np.array_equal(whole.events, other.events)


class Gift(ParallelEnv):
    """A two-agent environment that reports in its infos how much each agent gave: the info rule
    under test reads it (a stand-in for an environment whose events are in its infos)."""

    metadata = {"name": "gift_v0"}

    def __init__(self, max_cycles: int = 5):
        self.possible_agents, self.max_cycles = ["a", "b"], max_cycles
        self._action, self._obs = spaces.Discrete(2), spaces.Discrete(1)

    def action_space(self, agent):
        return self._action

    def observation_space(self, agent):
        return self._obs

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        gave = {a: 3 * actions[a] for a in self.agents}
        rewards = {"a": gave["b"] - gave["a"], "b": gave["a"] - gave["b"]}
        done = self.t >= self.max_cycles
        infos = {a: {"gave": gave[a]} for a in self.agents}
        out = (
            {a: 0 for a in self.agents},
            rewards,
            {a: False for a in self.agents},
            {a: done for a in self.agents},
            infos,
        )
        if done:
            self.agents = []
        return out


def test_an_info_rule_reads_the_step_infos():
    arena = PettingZooArena(
        2, 4, PettingZooParams(f"{__name__}:Gift", (EventRule("harm", info="gave", amount=0.5),))
    )
    trace = arena.rollout(np.array([[[0.0, 1.0], [1.0, 0.0]]]), arena.noise(np.random.default_rng(0), 1))
    np.testing.assert_array_equal(trace.events[0, :, 0], [4 * 3 * 0.5, 0.0])
    np.testing.assert_array_equal(trace.fitness, [[-12.0, 12.0]])


def test_the_adapted_arena_passes_pettingzoo_tests_through_the_wrapper():
    """Round trip: a foreign ParallelEnv as an arena, and that arena as a PettingZoo env again,
    through the same factories every arena has: all six of PettingZoo's tests."""
    pettingzoo_tests(lambda steps: ParallelArenaEnv(rps(steps)))
    env, parallel_env = pettingzoo_factories(PettingZooArena, n_agents=2, max_cycles=10)
    params = rps().params
    module = SimpleNamespace(
        env=partial(env, params=params), parallel_env=partial(parallel_env, params=params)
    )
    api_test(module.env(), num_cycles=30)
    seed_test(module.env, num_cycles=20)
    parallel_seed_test(module.parallel_env, num_cycles=20)
    max_cycles_test(module)
    render_test(
        module.env, custom_tests={"ansi": lambda text: text.startswith("pettingzoo") and "time=" in text}
    )


def test_the_docs_example_validates(tmp_path):
    text = (ROOT / "docs/plugins.md").read_text(encoding="utf-8")
    (block,) = [b for b in text.split("```toml\n")[1:] if 'name = "pettingzoo"' in b]
    path = tmp_path / "docs-block.toml"
    path.write_text(block.split("```")[0])
    done = subprocess.run(
        [sys.executable, "-m", "purity", "validate", path], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "2 profiles, 8 agents, 3 generations in pettingzoo" in done.stdout, (
        done.stderr
    )


def test_it_is_registered_and_documented():
    from arena_checks import assert_registered_and_documented

    assert_registered_and_documented("pettingzoo", rps(), ("max_cycles", "info"))
    assert arenas.arena_class("pettingzoo") is PettingZooArena


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        (
            "rps_v2:parallel_env",
            "nowhere.at_all",
            ["arena:", "'pettingzoo.classic.nowhere.at_all' cannot be imported"],
        ),
        ("group_size = 2", "group_size = 4", ["arena:", "has 2 agents, not group_size 4"]),
        ('kind = "take"', 'kind = "steal"', ["arena:", "events[0].kind must be one of"]),
        ("action = 0", "action = 3", ["arena:", "names an action the environment lacks"]),
        ("action = 0", "action = 100", ["arena.events[0].action", "[-1, 63]"]),
        ("action = 0", 'action = 0\ninfo = "x"', ["arena:", "exactly one of action or info"]),
        ("action = 0", "action = 0\nshare = 1", ["arena.events[0].share", "a known key"]),
    ],
)
def test_bad_settings_are_one_line(tmp_path, old, new, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(EXAMPLE.read_text().replace(old, new))
    done = subprocess.run(
        [sys.executable, "-m", "purity", "validate", path], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert all(fragment in done.stderr for fragment in fragments), done.stderr


@pytest.mark.slow
def test_purity_run_gives_the_same_tables_on_two_ray_workers(tmp_path):
    """The example through `purity run`: a real private Ray instance with 2 workers and the
    in-process run write identical tables."""
    for workers in (0, 2):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "purity",
                "run",
                EXAMPLE,
                "--workers",
                str(workers),
                "--out",
                tmp_path / f"w{workers}",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
    for table in ("agents", "episodes", "lineage"):
        one, two = (
            pl.read_parquet(tmp_path / f"w{w}/rps/{table}/**/*.parquet").sort(pl.all()) for w in (0, 2)
        )
        assert one.height > 0 and one.equals(two), table
    episodes = pl.read_parquet(tmp_path / "w0/rps/episodes/**/*.parquet")
    zero_sum = episodes.group_by("generation", "group", "episode").agg(pl.col("fitness_gain").sum())
    assert (zero_sum["fitness_gain"] == 0).all()
