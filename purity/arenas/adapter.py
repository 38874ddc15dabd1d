"""The `pettingzoo` arena: any PettingZoo `ParallelEnv` played in a tournament, with a mapping
from what its agents do (their actions) or report (their infos) to purity's events.

An experiment file names the environment's factory and the mapping; nothing else is written:

```toml
[arena]
name = "pettingzoo"
env = "pettingzoo.classic.rps_v2:parallel_env"   # "module:callable" or "module" (its parallel_env)
group_size = 2                                   # the environment's number of agents
steps = 10                                       # passed as max_cycles when the factory takes it

[[arena.events]]
kind = "take"      # one `take` each step an agent plays the environment's action 0
action = 0

[[arena.events]]
kind = "harm"      # `harm` of amount 2 × infos[agent]["hits"] each step
info = "hits"
amount = 2.0
```

Each episode is one environment, reset with a seed drawn from the run's keyed streams, so a run
gives the same tables with any number of Ray workers; the factory must be importable wherever
purity runs (an installed package, or a plug-in).

- **Actions.** Every agent of the environment needs the same action space. For `Discrete(k)`:
  the action names are `action_0`, `action_1`, `action_2` … `action_{k-1}`, one weight each in [0, 1]; each step the
  agent plays action i with probability weight_i / Σ weights (uniform when all are 0), drawn from
  the episode's noise. For a `Box` with finite bounds: one name per dimension, each in [0, 1]
  scaled to the box.
- **Policy.** The episode policy is the action vector above, played every step: a mixed strategy
  over the environment's actions (a planner searches over them; a learner learns one). These
  policies do not read the environment's observations.
- **Focal policies.** An agent of a `decider = "focal"` mix entry with `policy_fn` plays a Python
  callable instead (`purity.arenas.external`): each step it gets the environment's own
  observations of the agents it plays, batched over episodes and agents, and returns their
  actions, checked against the action space. Its actions count as events, its rewards as fitness,
  like anyone's; no decider changes it.
- **Observations.** `time` (step / steps), in [0, 1]: what purity's own policies see (the
  observation bounds); focal policies see the environment's observations.
- **Events.** Kinds from the `[[arena.events]]` rules, in their order: an `action` rule counts
  `amount` each step the agent plays that discrete action; an `info` rule counts `amount` times
  the number in the agent's step info under that key (0 when absent). Every live agent has the
  opportunity of every kind each step. No overseer: nothing is detected.
- **Fitness.** The sum of the environment's rewards to the agent over the episode; the series
  `welfare` is the sum over agents so far.
- **Loophole.** Only the ones the wrapped environment has: a rule sees only what its action or
  info shows, so an effect the mapping does not name is no event.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from purity.arenas import events as vocabulary
from purity.arenas.core import Arena, Noise, State, StepResult, param
from purity.arenas.external import ExternalPolicy, call, checked, marked

MAX_RULES = 64
MAX_ACTIONS = 64  # discrete actions or box dimensions: one policy parameter each


@dataclass(frozen=True)
class EventRule:
    """One entry of `[[arena.events]]`: which action or info of the environment is which event."""

    kind: str = ""
    action: int = param(-1, -1, MAX_ACTIONS - 1)  # a discrete action's index; -1: not an action rule
    info: str = ""  # a key of the agent's step info; "": not an info rule
    amount: float = param(1.0, 0.0, 1e9)


@dataclass(frozen=True)
class PettingZooParams:
    env: str = ""  # "module:callable" building the ParallelEnv, or "module" with a parallel_env
    events: tuple[EventRule, ...] = field(default=(), metadata={"items": EventRule})


_FACTORIES: dict[str, Callable[..., Any]] = {}


def factory(spec: str) -> Callable[..., Any]:
    """The callable `spec` names, imported once per process."""
    if spec not in _FACTORIES:
        module, _, attr = spec.partition(":")
        if not module:
            raise ValueError('env must name a factory, "module:callable" or "module"')
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # environments that import pygame
        try:
            found = getattr(importlib.import_module(module), attr or "parallel_env")
        except (ImportError, AttributeError) as error:
            raise ValueError(f"env {spec!r} cannot be imported: {error}") from None
        if not callable(found):
            raise ValueError(f"env {spec!r} is not callable")
        _FACTORIES[spec] = found
    return _FACTORIES[spec]


class PettingZooArena(Arena):
    """A PettingZoo `ParallelEnv` as an arena: B episodes are B environments stepped in turn."""

    name = "pettingzoo"
    Params = PettingZooParams
    event_kinds: tuple[str, ...] = ()
    series_names = ("welfare",)
    policy_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    observation_names = ("time",)
    takes_policies = True  # focal policies (`with_policies`): callables that read observations
    policies: tuple[ExternalPolicy, ...] = ()

    def __init__(self, n_agents: int, steps: int, params: Any = None):
        super().__init__(n_agents, steps, params)
        rules = self.params.events
        if len(rules) > MAX_RULES:
            raise ValueError(f"at most {MAX_RULES} event rules, got {len(rules)}")
        for i, rule in enumerate(rules):
            if rule.kind not in vocabulary.kinds():
                raise ValueError(
                    f"events[{i}].kind must be one of {', '.join(vocabulary.kinds())}, not {rule.kind!r}"
                )
            if (rule.action >= 0) == bool(rule.info):
                raise ValueError(f"events[{i}] needs exactly one of action or info")
        self.event_kinds = tuple(dict.fromkeys(rule.kind for rule in rules))
        self.takes_max_cycles = _takes_max_cycles(factory(self.params.env), self.params.env)
        env = self.make()
        self.agents = tuple(env.possible_agents)
        if len(self.agents) != n_agents:
            raise ValueError(f"{self.params.env} has {len(self.agents)} agents, not group_size {n_agents}")
        self._read_action_space(env)
        env.close()

    def with_policies(self, policies: tuple[ExternalPolicy, ...]) -> PettingZooArena:
        """This arena, where agents whose policy is marker k (`external.marker`) play `policies[k]`."""
        self.policies = tuple(policies)
        return self

    def probe(self, policy: ExternalPolicy) -> None:
        """Call `policy` on every agent's first observation (an environment reset with seed 0):
        a policy that does not import, fails, or answers outside the action space is refused
        before a run starts."""
        env = self.make()
        observations, _ = env.reset(seed=0)
        live = [agent for agent in self.agents if agent in observations]
        found = call(policy, [observations[agent] for agent in live], np.zeros(len(live)))
        checked(policy, found, len(live), self.space)
        env.close()

    def make(self) -> Any:
        """A new environment of the episode length (`max_cycles`, when its factory takes it)."""
        make = factory(self.params.env)
        return make(max_cycles=self.steps) if self.takes_max_cycles else make()

    def _read_action_space(self, env: Any) -> None:
        from gymnasium import spaces

        space = self.space = env.action_space(self.agents[0])
        if any(env.action_space(agent) != space for agent in self.agents):
            raise ValueError(f"{self.params.env}: every agent needs the same action space")
        if isinstance(space, spaces.Discrete):
            self.discrete, size = True, int(space.n)
            self.start = int(space.start)
        elif isinstance(space, spaces.Box) and np.isfinite(space.low).all() and np.isfinite(space.high).all():
            self.discrete, size = False, int(np.prod(space.shape))
            self.low, self.high, self.shape, self.dtype = (
                space.low.ravel().astype(float),
                space.high.ravel().astype(float),
                space.shape,
                space.dtype,
            )
        else:
            raise ValueError(f"{self.params.env}: actions must be Discrete or a finite Box, not {space}")
        if not 1 <= size <= MAX_ACTIONS:
            raise ValueError(f"{self.params.env}: 1 to {MAX_ACTIONS} actions, not {size}")
        if not self.discrete and any(rule.action >= 0 for rule in self.params.events):
            raise ValueError("action rules need a Discrete action space (use info rules)")
        if any(rule.action >= size for rule in self.params.events):
            raise ValueError(f"an action rule names an action the environment lacks (it has {size})")
        self.action_names = self.policy_names = tuple(f"action_{i}" for i in range(size))

    @property
    def default_policy(self) -> np.ndarray:
        return np.full(len(self.policy_names), 0.5)

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return {
            "seed": rng.integers(0, 2**31 - 1, (batch, self.steps)),  # column 0 seeds the reset
            "draw": rng.random((batch, self.steps, self.n_agents)),  # each agent's discrete draw
        }

    def reset(self, batch: int, noise: Noise | None = None) -> State:
        seeds = noise["seed"][:, 0] if noise is not None else np.arange(batch)
        envs = [self.make() for _ in range(batch)]
        observations = [dict(env.reset(seed=int(seed))[0]) for env, seed in zip(envs, seeds)]
        return {
            "envs": envs,
            "obs": observations,  # each episode's latest observation of each agent
            "t": 0,
            "store": np.zeros((batch, self.n_agents)),
            "ended": np.zeros(batch, dtype=bool),
        }

    def observe(self, state: State) -> np.ndarray:
        return np.full((len(state["envs"]), self.n_agents, 1), state["t"] / self.steps)

    def observation_bounds(self):
        return {"time": (0.0, 1.0)}

    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        return policy.copy()

    def _choices(self, actions: np.ndarray, draw: np.ndarray) -> np.ndarray:
        """[B, n] the discrete action each agent plays: weights as probabilities, inverted at `draw`."""
        weights = np.clip(actions, 0.0, 1.0)
        weights = np.where(weights.sum(axis=-1, keepdims=True) > 0, weights, 1.0)
        cumulative = np.cumsum(weights, axis=-1)
        below = cumulative < (draw * cumulative[..., -1])[..., None]
        return np.minimum(below.sum(axis=-1), weights.shape[-1] - 1)

    def _moves(self, state: State, actions: np.ndarray, draw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What each agent plays this step, as the environment takes it: [B, n] discrete actions
        (and the index of each, for action rules) or [B, n, D] box actions. Focal agents' actions
        come from their policies, one call per policy for all episodes of the batch."""
        if self.discrete:
            moves = self._choices(actions, draw) + self.start
        else:
            moves = self.low + np.clip(actions, 0.0, 1.0) * (self.high - self.low)
        external = marked(actions, len(self.policies))
        for k, policy in enumerate(self.policies):
            rows = [
                (b, i)
                for b, i in zip(*np.nonzero(external == k))
                if self.agents[i] in state["envs"][b].agents
            ]
            if rows:
                at = tuple(np.array(rows).T)
                seen = [state["obs"][b][self.agents[i]] for b, i in rows]
                found = checked(policy, call(policy, seen, draw[at]), len(rows), self.space)
                moves[at] = found.reshape(len(rows), -1) if not self.discrete else found
        return moves, (moves - self.start if self.discrete else np.full(moves.shape[:2], -1))

    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        batch, n, kinds = len(state["envs"]), self.n_agents, self.event_kinds
        events = np.zeros((batch, n, len(kinds)))
        opportunities = np.zeros((batch, n, len(kinds)))
        rewards = np.zeros((batch, n))
        ended = state["ended"].copy()
        moves, chosen = self._moves(state, actions, noise_t["draw"])
        for b, env in enumerate(state["envs"]):
            live = [i for i, agent in enumerate(self.agents) if agent in env.agents]
            if not live:
                continue
            if self.discrete:
                played = {self.agents[i]: int(moves[b, i]) for i in live}
            else:
                played = {self.agents[i]: moves[b, i].reshape(self.shape).astype(self.dtype) for i in live}
            seen, paid, terminated, _, infos = env.step(played)
            state["obs"][b].update(seen)
            for i in live:
                agent = self.agents[i]
                rewards[b, i] = float(paid.get(agent, 0.0))
                opportunities[b, i] = 1.0
                for rule in self.params.events:
                    k = kinds.index(rule.kind)
                    if rule.action >= 0:
                        events[b, i, k] += rule.amount * (chosen[b, i] == rule.action)
                    else:
                        events[b, i, k] += rule.amount * _number(infos.get(agent, {}), rule.info)
            ended[b] = not env.agents and any(terminated.values())
        state = {**state, "t": state["t"] + 1, "store": state["store"] + rewards, "ended": ended}
        return state, StepResult(events=events, opportunities=opportunities, rewards=rewards)

    def terminated(self, state: State) -> np.ndarray:
        return state["ended"].copy()

    def record(self, state: State) -> dict[str, np.ndarray]:
        return {"welfare": state["store"].sum(axis=1)}


def _number(info: Any, key: str) -> float:
    value = info.get(key, 0.0) if isinstance(info, dict) else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"info {key!r} must be a number, got {value!r}") from None


def _takes_max_cycles(make: Callable[..., Any], spec: str) -> bool:
    """Whether the factory takes `max_cycles`: PettingZoo's factories take **kwargs and pass them
    to the module's `raw_env`, so that signature decides for them."""
    try:
        parameters = inspect.signature(make).parameters
    except (TypeError, ValueError):
        return False
    if "max_cycles" in parameters:
        return True
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return False
    raw = getattr(importlib.import_module(spec.partition(":")[0]), "raw_env", None)
    try:
        return raw is not None and "max_cycles" in inspect.signature(raw).parameters
    except (TypeError, ValueError):
        return False
