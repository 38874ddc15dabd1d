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

Observation spaces are the arena's finite `observation_bounds` (SuperSuit's `normalize_obs` needs
finite ones); observations are clipped into them, which moves a value by rounding at most (the
arena tests hold every observation within its bounds). `dtype=np.float32` gives float32 spaces,
observations and actions; the core still computes in float64. Setting `max_cycles` (PettingZoo's
API test does) makes the next reset rebuild the arena with that many steps
(`type(arena)(n_agents, max_cycles, params)`), and the spaces with it: bounds may grow with steps.

Render modes: "ansi" returns the step, each agent's observations and last reward as text; "human"
prints that text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from purity.arenas.core import Arena


class ParallelArenaEnv(ParallelEnv):
    """A PettingZoo parallel environment playing one episode of `arena` at a time."""

    RENDER_MODES = ("ansi", "human")
    DTYPES = (np.float64, np.float32)

    def __init__(self, arena: Arena, render_mode: str | None = None, dtype: Any = np.float64):
        if render_mode is not None and render_mode not in self.RENDER_MODES:
            raise ValueError(
                f"{arena.name} renders as {' or '.join(map(repr, self.RENDER_MODES))}, got render_mode={render_mode!r}"
            )
        if np.dtype(dtype) not in self.DTYPES:
            raise ValueError(f"observations are float64 or float32, got dtype={dtype!r}")
        self.arena = arena
        self.render_mode = render_mode
        self.dtype = np.dtype(dtype)
        self.metadata = {
            "name": f"purity_{arena.name}_v0",
            "render_modes": list(self.RENDER_MODES),
            "is_parallelizable": True,
        }
        self.possible_agents = [f"agent_{i}" for i in range(arena.n_agents)]
        self.agents: list[str] = []
        self.max_cycles = arena.steps
        self.t = 0
        self.arena_state: dict[str, Any] | None = None
        self._noise: dict[str, np.ndarray] = {}
        self._rng: np.random.Generator | None = None
        self._traits: np.ndarray | None = None
        self._rewards = np.zeros(arena.n_agents)
        self._spaces()

    def _spaces(self) -> None:
        """Observation and action boxes of the current arena, one object per agent (PettingZoo's
        API test checks that each call returns the same one)."""
        self._low, self._high = self.arena.observation_range()
        low, high = self._low.astype(self.dtype), self._high.astype(self.dtype)
        n_act = len(self.arena.action_names)
        self._observation_spaces = {a: spaces.Box(low, high, dtype=self.dtype) for a in self.possible_agents}
        self._action_spaces = {
            a: spaces.Box(0.0, 1.0, (n_act,), dtype=self.dtype) for a in self.possible_agents
        }

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if self.max_cycles != self.arena.steps:
            self.arena = type(self.arena)(self.arena.n_agents, self.max_cycles, self.arena.params)
            self._spaces()
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        if options and "traits" in options:
            self._traits = self.arena.public_traits(options["traits"], 1)
        self._noise = self.arena.noise(self._rng, 1)
        self.arena_state = self.arena.begin(1, self._noise, self._traits)
        self.t = 0
        self._rewards = np.zeros(self.arena.n_agents)
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
        self._rewards = result.rewards[0]

        agents = self.agents
        obs = self._observations()
        rewards = {a: float(result.rewards[0, i]) for i, a in enumerate(agents)}
        ended = bool(arena.terminated(self.arena_state)[0])
        done = ended or self.t >= self.max_cycles
        terminations = {a: ended for a in agents}
        truncations = {a: done and not ended for a in agents}
        infos = self._infos(result)
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, np.ndarray]:
        obs = np.clip(self.arena.observe(self.arena_state)[0], self._low, self._high).astype(self.dtype)
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

    def render(self) -> str | None:
        """The step, and each agent's observations and last reward: returned ("ansi"), printed
        ("human"); nothing without a render mode."""
        if self.render_mode is None:
            return None
        if self.arena_state is None:
            text = f"{self.arena.name}: not reset"
        else:
            obs = self.arena.observe(self.arena_state)[0]
            lines = [f"{self.arena.name} step {self.t}/{self.max_cycles}"]
            for i, agent in enumerate(self.possible_agents):
                values = " ".join(
                    f"{name}={value:.4g}" for name, value in zip(self.arena.observation_names, obs[i])
                )
                lines.append(f"{agent}: {values} reward={self._rewards[i]:.4g}")
            text = "\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass
