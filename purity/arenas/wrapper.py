"""Any arena as a PettingZoo `ParallelEnv` (B = 1), so PettingZoo tooling works on our arenas.

`reset(seed=s)` draws the episode's noise with `arena.noise(np.random.default_rng(s), 1)` and the
steps replay it through the batched core, so for the same seed and actions the wrapper gives
exactly what the core gives (`reset()` without a seed draws the next episode from the same
generator, as in Gymnasium). Each step's `infos[agent]` carries the event amounts done by the agent
itself (`events`) and by its helpers (`helper_events`), and its `opportunities`; arenas with
oversight add `watched` and `detected` (the agent's own amounts an overseer or peer saw). Arenas
with public traits take them as `reset(options={"traits": t})`, `t` shaped `[n, F]` with every
column of `trait_names` (the promises arena's two: the agent's `keeps_promises` and the
population's mean, `[[t, p], ...]`; default: zeros); they hold until the next reset that passes
others.

Observation spaces are unbounded unless the arena class declares `observation_low` /
`observation_high`. PettingZoo's API test sets `max_cycles`; the next reset then rebuilds the arena
with that many steps (`type(arena)(n_agents, max_cycles, params)`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from purity.arenas.core import Arena


class ParallelArenaEnv(ParallelEnv):
    """A PettingZoo parallel environment playing one episode of `arena` at a time."""

    def __init__(self, arena: Arena, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"{arena.name} has no render modes, got render_mode={render_mode!r}")
        self.arena = arena
        self.render_mode = render_mode
        self.metadata = {"name": f"purity_{arena.name}_v0", "render_modes": [], "is_parallelizable": True}
        self.possible_agents = [f"agent_{i}" for i in range(arena.n_agents)]
        self.agents: list[str] = []
        self.max_cycles = arena.steps
        self.t = 0
        self.arena_state: dict[str, Any] | None = None
        self._noise: dict[str, np.ndarray] = {}
        self._rng: np.random.Generator | None = None
        self._traits: np.ndarray | None = None
        low = getattr(arena, "observation_low", -np.inf)
        high = getattr(arena, "observation_high", np.inf)
        n_obs, n_act = len(arena.observation_names), len(arena.action_names)
        self._observation_spaces = {
            a: spaces.Box(low, high, (n_obs,), dtype=np.float64) for a in self.possible_agents
        }
        self._action_spaces = {
            a: spaces.Box(0.0, 1.0, (n_act,), dtype=np.float64) for a in self.possible_agents
        }

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if self.max_cycles != self.arena.steps:
            self.arena = type(self.arena)(self.arena.n_agents, self.max_cycles, self.arena.params)
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        if options and "traits" in options:
            self._traits = self.arena.public_traits(options["traits"], 1)
        self._noise = self.arena.noise(self._rng, 1)
        self.arena_state = self.arena.begin(1, self._noise, self._traits)
        self.t = 0
        self.agents = list(self.possible_agents)
        obs = self._observations()
        infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        if self.arena.has_oversight:
            watched = bool(self.arena.watched(self._noise)[0])
            for info in infos.values():
                info["watched"] = watched
        return obs, infos

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            return {}, {}, {}, {}, {}
        arena = self.arena
        batch_actions = np.zeros((1, arena.n_agents, len(arena.action_names)))
        for i, agent in enumerate(self.possible_agents):
            if agent in actions:
                batch_actions[0, i] = np.clip(np.asarray(actions[agent], dtype=np.float64), 0.0, 1.0)
        noise_t = {key: value[:, self.t] for key, value in self._noise.items()}
        self.arena_state, result = arena.step(self.arena_state, batch_actions, noise_t)
        self.t += 1

        agents = self.agents
        obs = self._observations()
        rewards = {a: float(result.rewards[0, i]) for i, a in enumerate(agents)}
        done = self.t >= self.max_cycles
        terminations = {a: False for a in agents}
        truncations = {a: done for a in agents}
        infos = self._infos(result)
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, np.ndarray]:
        obs = np.asarray(self.arena.observe(self.arena_state)[0], dtype=np.float64)
        return {a: obs[i].copy() for i, a in enumerate(self.agents)}

    def _infos(self, result) -> dict[str, dict[str, Any]]:
        """Per live agent: event amounts by itself, by its helpers, and its opportunities."""
        arena, n = self.arena, self.arena.n_agents
        kinds = arena.event_kinds
        events = result.events[0]
        own = events[:n].tolist()
        helpers = events[n:].reshape(-1, n, len(kinds)).sum(axis=0).tolist() if len(events) > n else None
        opportunities = result.opportunities[0].tolist()
        watched = bool(arena.watched(self._noise)[0]) if arena.has_oversight else None
        if watched is not None:
            detected = (
                result.detected[0, :n] if result.detected is not None else np.zeros((n, len(kinds)))
            ).tolist()
        infos = {}
        for i, agent in enumerate(self.agents):
            info = {
                "events": dict(zip(kinds, own[i])),
                "helper_events": dict(zip(kinds, helpers[i] if helpers is not None else [0.0] * len(kinds))),
                "opportunities": dict(zip(kinds, opportunities[i])),
            }
            if watched is not None:
                info["watched"] = watched
                info["detected"] = dict(zip(kinds, detected[i]))
            infos[agent] = info
        return infos

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass
