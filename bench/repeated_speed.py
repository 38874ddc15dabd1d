"""How much faster the batched repeated-game core plays than a plain-Python PettingZoo environment
with the same rules (written here from scratch, not our wrapper), and than our wrapper.

Both play random memory-one strategies (2 agents, 200 rounds, continuation 1, noise 0.01); the
plain environment passes PettingZoo's parallel_api_test, so it is a fair PettingZoo baseline.

    .venv/bin/python bench/repeated_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arena_speed import BATCHES, core_rate, wrapper_rate  # noqa: E402

from purity.arenas.core import Arena  # noqa: E402
from purity.arenas.repeated import RepeatedArena, RepeatedParams  # noqa: E402

PAYOFF = {(True, True): 3.0, (True, False): 0.0, (False, True): 5.0, (False, False): 1.0}  # (I, partner)


class PlainRepeatedEnv(ParallelEnv):
    """The repeated prisoner's dilemma in plain Python: one round per step, the same observations
    (own and partner's last move, first round, playing, time) and events as the arena."""

    metadata = {"name": "plain_repeated_v0", "render_modes": []}

    def __init__(self, rounds: int = 200, noise: float = 0.01, continuation: float = 1.0):
        self.rounds, self.noise, self.continuation = rounds, noise, continuation
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents: list[str] = []
        self.render_mode = None
        self._obs_space = {a: spaces.Box(0.0, 1.0, (5,), dtype=np.float64) for a in self.possible_agents}
        self._act_space = {a: spaces.Box(0.0, 1.0, (1,), dtype=np.float64) for a in self.possible_agents}
        self._rng = random.Random()

    def observation_space(self, agent):
        return self._obs_space[agent]

    def action_space(self, agent):
        return self._act_space[agent]

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.t, self.moved, self.first, self.clean, self.playing = 0, [False, False], True, True, True
        return self._observations(), {a: {} for a in self.agents}

    def _observations(self):
        out = {}
        for i, agent in enumerate(self.agents):
            values = [self.moved[i], self.moved[1 - i], self.first, self.playing, self.t / self.rounds]
            out[agent] = np.array(values, dtype=np.float64)
        return out

    def step(self, actions):
        rewards = {a: 0.0 for a in self.agents}
        infos = {a: {"defect": 0, "defect_first": 0, "exploit": 0} for a in self.agents}
        if self.playing:
            cooperate = []
            for agent in self.possible_agents:
                x = float(actions[agent][0])
                cooperate.append(self._rng.random() < self.noise + (1.0 - 2.0 * self.noise) * x)
            for i, agent in enumerate(self.possible_agents):
                rewards[agent] = PAYOFF[(cooperate[i], cooperate[1 - i])]
                defected = not cooperate[i]
                infos[agent] = {
                    "defect": int(defected),
                    "defect_first": int(defected and self.clean),
                    "exploit": int(defected and cooperate[1 - i]),
                }
            self.clean = self.clean and all(cooperate)
            self.moved, self.first = cooperate, False
            self.playing = self._rng.random() < self.continuation
        self.t += 1
        done = self.t >= self.rounds
        obs = self._observations()
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos


def memory_one_action(policy: list[float], obs: np.ndarray) -> list[float]:
    """The plain-Python policy: p0 in the first round, else the entry of the last outcome."""
    if obs[2] > 0.5:
        return [policy[0]]
    return [policy[1 + 2 * (obs[0] < 0.5) + (obs[1] < 0.5)]]


def plain_rate(seconds: float, rounds: int) -> tuple[float, int]:
    """Agent-steps per second of a Python loop over the plain environment, and its episodes."""
    env = PlainRepeatedEnv(rounds)
    rng = random.Random(0)
    episodes = agent_steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        policies = {a: [rng.random() for _ in range(5)] for a in env.possible_agents}
        obs, _ = env.reset(seed=episodes)
        while env.agents:
            obs = env.step({a: memory_one_action(policies[a], obs[a]) for a in env.agents})[0]
            agent_steps += 2
        episodes += 1
    return agent_steps / (time.perf_counter() - start), episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not figures")
    quick = parser.parse_args().quick
    seconds, loop_seconds = (0.05, 0.3) if quick else (1.0, 3.0)
    parallel_api_test(PlainRepeatedEnv(rounds=30), num_cycles=30)
    rounds = 200
    arena = RepeatedArena(2, rounds, RepeatedParams(noise=0.01))
    rng = np.random.default_rng(0)
    plain, episodes = plain_rate(loop_seconds, rounds)
    print(
        f"\nrepeated game: 2 agents, {rounds} rounds, noise 0.01, random memory-one strategies{' (--quick)' if quick else ''}"
    )
    print(f"{'engine':<34} {'B':>5} {'M agent-steps/s':>16} {'vs plain env':>13}")
    print(
        f"{'plain PettingZoo env, Python loop':<34} {1:>5} {plain / 1e6:>16.3f} {1.0:>12.1f}x   ({episodes} episodes)"
    )
    ours, _ = wrapper_rate(arena, loop_seconds, rng)
    print(f"{'our ParallelEnv wrapper, loop':<34} {1:>5} {ours / 1e6:>16.3f} {ours / plain:>12.1f}x")
    for batch in BATCHES:
        _, rate = core_rate(arena.rollout, arena, batch, seconds, rng)
        print(f"{'RepeatedArena.rollout':<34} {batch:>5} {rate / 1e6:>16.3f} {rate / plain:>12.1f}x")
    _, rate = core_rate(lambda p, n: Arena.rollout(arena, p, n), arena, BATCHES[-1], seconds, rng)
    print(f"{'Arena.rollout (step by step)':<34} {BATCHES[-1]:>5} {rate / 1e6:>16.3f} {rate / plain:>12.1f}x")


if __name__ == "__main__":
    main()
