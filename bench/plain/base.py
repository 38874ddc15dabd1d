"""What every plain-Python arena env shares: PettingZoo's bookkeeping (agents, spaces, truncation),
the episode's random draws, and the per-agent info dicts.

The envs are the baseline the batched cores are timed against, so they are written the way a
competent PettingZoo user writes an env: Python floats and lists, one dict per agent, no numpy per
step. The only numpy call is drawing an episode's noise at reset, laid out exactly as the arena's
`noise(rng, 1)`, so `reset(seed=s)` replays the episode `ParallelArenaEnv` plays for seed `s`.
`reset(options={"noise": {name: array [steps, ...]}})` plays given draws instead (one episode of
the core's noise, batch axis removed): that is how the tests drive an env and the core alike.

Actions are read as given: the action space is [0, 1]^A, and unlike `ParallelArenaEnv` (which
clips) an env does not check them. Observations are lists of floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class PlainEnv(ParallelEnv):
    """The rules go in `_begin` (fresh state) and `_advance` (one step); the rest is here."""

    name: str
    event_kinds: tuple[str, ...]
    n_actions: int
    n_observations: int
    observation_low = -np.inf
    observation_high = np.inf
    has_helpers = False  # helper slots n..2n-1 (their events arrive as `helper_events`)
    has_oversight = False

    def __init__(self, n_agents: int, steps: int, params: Any, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"plain {self.name} has no render modes, got render_mode={render_mode!r}")
        self.render_mode = render_mode
        self.metadata = {"name": f"plain_{self.name}_v0", "render_modes": [], "is_parallelizable": True}
        self.n, self.steps, self.max_cycles, self.params = n_agents, steps, steps, params
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self.t = 0
        self._rng: np.random.Generator | None = None
        self._zeros = [0.0] * len(self.event_kinds)
        obs_box = spaces.Box(self.observation_low, self.observation_high, (self.n_observations,), np.float64)
        act_box = spaces.Box(0.0, 1.0, (self.n_actions,), np.float64)
        self._observation_spaces = dict.fromkeys(self.possible_agents, obs_box)
        self._action_spaces = dict.fromkeys(self.possible_agents, act_box)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One episode's noise as the arena's `noise(rng, 1)` draws it, batch axis removed."""
        return {}

    def detection_draws(self, noise: dict, rng: np.random.Generator) -> dict:
        """`noise` with an enforcing arena's detection draws (`purity.arenas.sanctions.draw`)."""
        if self.params.detection < 1.0:
            noise["detect"] = rng.random((1, self.steps, self.n))[0]
        return noise

    def seen(self, offence: list) -> list:
        """Each agent's offence of this step where detected, 0 where missed."""
        if "detect" not in self.noise:
            return offence
        draws, d = self.noise["detect"][self.t], self.params.detection
        return [o * (1.0 if u < d else 0.0) for o, u in zip(offence, draws)]

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.steps = self.max_cycles
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        noise = options.get("noise") if options else None
        if noise is None:
            noise = self.draw(self._rng)
        self.noise = {key: np.asarray(value).tolist() for key, value in noise.items()}
        self.t = 0
        self.agents = list(self.possible_agents)
        self._begin(options or {})
        return self._observations(), {agent: self._reset_info() for agent in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            return {}, {}, {}, {}, {}
        missing = [0.0] * self.n_actions
        rewards, infos = self._advance([actions.get(agent, missing) for agent in self.possible_agents])
        self.t += 1
        agents = self.agents
        done = self.t >= self.max_cycles
        out = (
            self._observations(),
            dict(zip(agents, rewards)),
            dict.fromkeys(agents, False),
            dict.fromkeys(agents, done),
            infos,
        )
        if done:
            self.agents = []
        return out

    def _reset_info(self) -> dict[str, Any]:
        return {}

    def _infos(self, own: list, helpers: list | None, opportunities: list) -> dict[str, dict]:
        """Per agent, as `ParallelArenaEnv` gives them: event amounts by the agent (`own[i]`, one
        per kind) and by its helper, and the agent's opportunities."""
        kinds, zeros = self.event_kinds, self._zeros
        return {
            agent: {
                "events": dict(zip(kinds, own[i])),
                "helper_events": dict(zip(kinds, helpers[i] if helpers is not None else zeros)),
                "opportunities": dict(zip(kinds, opportunities[i])),
            }
            for i, agent in enumerate(self.agents)
        }

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass

    # the rules, per arena
    def _begin(self, options: dict) -> None:
        raise NotImplementedError

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        """One step from each agent's action list: rewards per agent, and the infos."""
        raise NotImplementedError

    def _observations(self) -> dict[str, list[float]]:
        raise NotImplementedError

    def fitness(self) -> list[float]:
        """The end-state resource per agent (the arena's `fitness`)."""
        raise NotImplementedError

    def series(self) -> dict[str, float]:
        """The current value of each standing series (the arena's `record`)."""
        return {}


def running_sum(values: list[float]) -> float:
    """Left to right, as the batched core adds rows: (((v0 + v1) + v2) + ...)."""
    total = values[0]
    for value in values[1:]:
        total += value
    return total


def first_max(values: list[float]) -> int:
    """Index of the largest value, ties to the lowest index."""
    best, index = values[0], 0
    for i in range(1, len(values)):
        if values[i] > best:
            best, index = values[i], i
    return index
