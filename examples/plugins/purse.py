"""Purse, a plug-in arena: agents earn a noisy wage each step and may take from their right-hand
neighbour. Named in `purse.toml` under `[plugins]`, it registers itself when purity imports it."""

from dataclasses import dataclass

import numpy as np

import purity.arenas as arenas
from purity.arenas.core import Arena, StepResult, param
from purity.arenas.factories import pettingzoo_factories


@dataclass(frozen=True)
class PurseParams:
    wage: float = param(1.0, 0.0, 1e6)  # mean income per step
    take_rate: float = param(0.2, 0.0, 1.0)  # share of the neighbour's purse a full take moves


class PurseArena(Arena):
    name = "purse"
    Params = PurseParams
    event_kinds = ("take",)
    series_names = ("poorest",)
    policy_names = ("take",)
    action_names = ("take",)
    observation_names = ("purse", "time")

    @property
    def default_policy(self):
        return np.zeros(1)

    def noise(self, rng, batch):
        return {"wage": rng.uniform(0.0, 2 * self.params.wage, (batch, self.steps, self.n_agents))}

    def reset(self, batch, noise=None):
        return {"purse": np.zeros((batch, self.n_agents)), "t": 0}

    def observe(self, state):
        time = np.full_like(state["purse"], state["t"] / self.steps)
        return np.stack([state["purse"], time], axis=-1)

    def observation_bounds(self):
        # takes only move money: one purse holds at most every wage ever paid
        richest = self.n_agents * self.steps * 2 * self.params.wage
        return {"purse": (0.0, richest), "time": (0.0, 1.0)}

    def act(self, policy, obs, t):
        return policy.copy()  # the episode policy is the action at every step

    def step(self, state, actions, noise_t):
        purse = state["purse"] + noise_t["wage"]
        neighbour = np.roll(purse, -1, axis=1)  # agent i takes from agent i + 1
        taken = actions[..., 0] * self.params.take_rate * neighbour
        purse = purse + taken - np.roll(taken, 1, axis=1)
        result = StepResult(
            events=taken[..., None],  # [B, actors, kinds]
            opportunities=(neighbour > 0)[..., None].astype(float),
            rewards=purse - state["purse"],
        )
        return {"purse": purse, "t": state["t"] + 1}, result

    def fitness(self, state):
        return state["purse"].copy()

    def record(self, state):
        return {"poorest": state["purse"].min(axis=1)}


arenas.register("purse", PurseArena)
env, parallel_env = pettingzoo_factories(PurseArena, n_agents=3, max_cycles=5)
