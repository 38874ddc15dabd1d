"""The batched-core contract every arena fulfils, and the trace an episode batch produces.

State is a dict of arrays with a leading batch axis B; `step` advances B episodes at once. All
randomness is drawn up front by `noise(rng, batch)` as arrays `[batch, steps, ...]`, so episodes can
be batched, split or concatenated (one group's noise after another's) without changing any result,
and the PettingZoo wrapper (B = 1) replays exactly what the core does for the same seed.

Actors: slots `0..n-1` are the agents; arenas with helpers add slots `n..2n-1`, helper `n+i`
acting for agent `i`. An event belongs to its actor; scopes decide whose acts a profile counts.

Public traits: an arena may declare `trait_names`, facts about each agent's *profile* (not its
policy) that others may see, each in [0, 1] — `traits` `[B, n, F]`. A decider can change its policy
to look trustworthy but not its weights, so seeing traits is what makes preferences observable
(Dekel, Ely & Yilankaya 2007). `begin(batch, noise, traits)` stores them in the state as `traits`; arenas
that declare none ignore them.

What profiles may say of an arena is declared on it too (`properties`, `measures`, `traits`; see
`purity.arenas.vocabulary`), and so are the finite bounds of its observations
(`observation_bounds`), which its PettingZoo face needs (`purity.arenas.factories`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

from purity.arenas.trace import Trace

if TYPE_CHECKING:
    from purity.arenas.vocabulary import Measure, StandingProperty, Trait

State = dict[str, Any]
Noise = dict[str, np.ndarray]


def param(default: float, low: float, high: float) -> Any:
    """A numeric field of an arena's `Params` with the range experiment files are checked against."""
    return field(default=default, metadata={"low": low, "high": high})


@dataclass(frozen=True)
class StepResult:
    """What one step emits, batched: event amounts per actor, opportunities per agent, rewards."""

    events: np.ndarray  # [B, A, K] amount of each kind done by each actor this step
    opportunities: np.ndarray  # [B, n, K] 1 where the agent (or its helper) could do the kind
    rewards: np.ndarray  # [B, n] fitness gained this step
    detected: np.ndarray | None = None  # [B, A, K] of `events`, the amounts an overseer or peer saw


class Arena(ABC):
    """A multi-agent world with a batched numpy core. Subclasses fill in the class attributes."""

    name: ClassVar[str]
    Params: ClassVar[type]  # frozen dataclass of the arena's parameters (defaults = documented)
    event_kinds: ClassVar[tuple[str, ...]]
    series_names: ClassVar[tuple[str, ...]]
    policy_names: ClassVar[tuple[str, ...]]  # episode-policy parameters, each in [0, 1]
    action_names: ClassVar[tuple[str, ...]]  # per-step action vector, each in [0, 1]
    observation_names: ClassVar[tuple[str, ...]]
    has_helpers: ClassVar[bool] = False
    has_oversight: ClassVar[bool] = False
    trait_names: ClassVar[tuple[str, ...]] = ()  # public per-agent traits it reads, each in [0, 1]
    powered: ClassVar[bool] = False  # reads per-agent power (`begin`): its docstring says what power does
    reads_rows: ClassVar[bool] = False  # `rollout(..., rows=)` reads shared noise rows itself (`play`)
    # `noise` only draws from the stream it is given, in shapes led by the batch, so it draws the
    # noise of many streams at once from a `purity.arenas.streams.Streams` (a leading stream axis)
    bulk_noise: ClassVar[bool] = False
    # what profiles may name about this arena (`purity.arenas.vocabulary`), found by `arenas.declared`
    properties: ClassVar[tuple[StandingProperty, ...]] = ()  # standing properties over its series
    measures: ClassVar[tuple[Measure, ...]] = ()  # outcome measures over its traces
    traits: ClassVar[tuple[Trait, ...]] = ()  # public traits it shows, computed from a profile's weights

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "noise" in vars(cls) and "bulk_noise" not in vars(cls):
            cls.bulk_noise = False  # a class that draws its own noise says again whether in bulk

    def __init__(self, n_agents: int, steps: int, params: Any = None):
        if n_agents < 1 or steps < 1:
            raise ValueError("an arena needs at least one agent and one step")
        self.n_agents, self.steps = n_agents, steps
        self.params = params if params is not None else self.Params()

    @property
    def n_actors(self) -> int:
        return self.n_agents * (2 if self.has_helpers else 1)

    def plays_compiled(self) -> bool:
        """Whether this arena's rollouts run compiled in this process (`backend`); where they do,
        its noise is drawn compiled too (`purity.arenas.streams`): numba is not loaded for the
        noise of an arena that plays numpy."""
        return False

    @property
    @abstractmethod
    def default_policy(self) -> np.ndarray:
        """[P] the policy others are assumed to play before anything is known of them."""

    @abstractmethod
    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        """All randomness of `batch` episodes, each array shaped [batch, steps, ...]."""

    @abstractmethod
    def reset(self, batch: int, noise: Noise | None = None) -> State:
        """The state before the first step; `noise` (the episodes' noise) for arenas whose initial
        state is random, e.g. whether an overseer is present."""

    @abstractmethod
    def observe(self, state: State) -> np.ndarray:
        """[B, n, O] float observations, in the order of `observation_names`."""

    @abstractmethod
    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        """Episode policies [B, n, P] and observations -> per-step actions [B, n, len(action_names)]."""

    @abstractmethod
    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        """Advance all B episodes one step; `noise_t` holds each noise array's slice for this step."""

    def fitness(self, state: State) -> np.ndarray:
        """[B, n] the end-state resource selection sees: by default the agents' final `store`."""
        return state["store"].copy()

    def terminated(self, state: State) -> np.ndarray:
        """[B] bool: episodes whose game has ended before `steps` (a repeated game that stopped).
        Their later steps change nothing; PettingZoo reports them as terminations, not truncations."""
        return np.zeros(len(next(v for v in state.values() if isinstance(v, np.ndarray))), dtype=bool)

    def observation_bounds(self) -> Mapping[str, tuple[float, float]]:
        """Each observation's finite (low, high), by name: what every observation of an episode of
        `steps` steps lies within. PettingZoo spaces are built from them (SuperSuit's
        `normalize_obs` needs them finite); arenas used only through the core may omit them."""
        raise NotImplementedError(
            f"the {self.name} arena declares no observation bounds (override observation_bounds)"
        )

    def observation_range(self) -> tuple[np.ndarray, np.ndarray]:
        """`observation_bounds` as arrays (low, high) `[O]` in the order of `observation_names`,
        checked: every name bounded, finite, low <= high."""
        bounds = self.observation_bounds()
        if set(bounds) != set(self.observation_names):
            raise ValueError(
                f"observation bounds of the {self.name} arena must name {', '.join(self.observation_names)}, not {', '.join(bounds)}"
            )
        low, high = (np.array([float(bounds[k][i]) for k in self.observation_names]) for i in (0, 1))
        if not (np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()):
            raise ValueError(
                f"observation bounds of the {self.name} arena must be finite, low <= high: {bounds}"
            )
        return low, high

    @abstractmethod
    def record(self, state: State) -> dict[str, np.ndarray]:
        """Current value [B] of each series in `series_names`."""

    def public_traits(self, traits: np.ndarray | None, batch: int) -> np.ndarray:
        """`traits` as `[batch, n, F]` floats (a `[n, F]` array is shared by every episode; the
        last axis must hold all F); None stands for zeros: agents whose profiles show none of the
        traits."""
        shape = (batch, self.n_agents, len(self.trait_names))
        if traits is None:
            return np.zeros(shape)
        values = np.asarray(traits, dtype=np.float64)
        if values.shape[-1:] != shape[-1:]:  # a column too few would be broadcast into the next trait
            raise ValueError(
                f"traits of the {self.name} arena need {shape[-1]} columns ({', '.join(self.trait_names)}), not shape {values.shape}"
            )
        values = np.broadcast_to(values, shape)
        if ((values < 0) | (values > 1)).any():
            raise ValueError(f"traits of the {self.name} arena must lie in [0, 1]")
        return values

    def agent_power(self, power: np.ndarray | None, batch: int) -> np.ndarray | None:
        """`power` as `[batch, n]` floats ≥ 0 (a `[n]` row is shared by every episode), checked;
        None stands for equal power (1 each) and is returned as None, so that nothing multiplies."""
        if power is None:
            return None
        if not self.powered:
            raise ValueError(f"the {self.name} arena does not read power (agents of unequal power)")
        values = np.broadcast_to(np.asarray(power, dtype=np.float64), (batch, self.n_agents))
        if not (np.isfinite(values).all() and (values >= 0).all()):
            raise ValueError(f"power in the {self.name} arena must be finite and ≥ 0")
        return values

    def begin(
        self,
        batch: int,
        noise: Noise | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
    ) -> State:
        """`reset`, plus the public traits of arenas that read them (state key `traits`) and, for
        arenas of unequal power, the agents' power `[B, n]` (state key `power`), which multiplies
        every agent's starting `store`."""
        state = self.reset(batch, noise)
        if self.trait_names:
            state["traits"] = self.public_traits(traits, batch)
        power = self.agent_power(power, batch)
        if power is not None:
            state["power"] = power
            state["store"] = state["store"] * power
        return state

    def watched(self, noise: Noise) -> np.ndarray:
        """[B] whether an overseer watches each episode; arenas without oversight: never."""
        batch = next(iter(noise.values())).shape[0]
        return np.zeros(batch, dtype=bool)

    def rollout(
        self,
        policy: np.ndarray,
        noise: Noise,
        steps: int | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
    ) -> Trace:
        """Play B episodes with fixed episode policies [B, n, P] for `steps` (default: all) steps,
        the agents showing public `traits` [B, n, F] and of `power` [B, n] (see `begin`)."""
        steps = self.steps if steps is None else steps
        batch = policy.shape[0]
        state = self.begin(batch, noise, traits, power)
        shape = (batch, self.n_actors, len(self.event_kinds))
        events, detected = np.zeros(shape), np.zeros(shape)
        opportunities = np.zeros((batch, self.n_agents, len(self.event_kinds)))
        series = {name: np.empty((batch, steps + 1)) for name in self.series_names}
        for name, value in self.record(state).items():
            series[name][:, 0] = value
        for t in range(steps):
            actions = self.act(policy, self.observe(state), t)
            state, result = self.step(state, actions, {k: v[:, t] for k, v in noise.items()})
            events += result.events
            if result.detected is not None:
                detected += result.detected
            opportunities += result.opportunities
            for name, value in self.record(state).items():
                series[name][:, t + 1] = value
        return Trace(
            kinds=self.event_kinds,
            fitness=self.fitness(state),
            events=events,
            opportunities=opportunities,
            series=series,
            watched=self.watched(noise),
            detected=detected,
        )


def play(
    arena: Arena,
    policy: np.ndarray,
    noise: Noise,
    steps: int | None = None,
    traits: np.ndarray | None = None,
    power: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> Trace:
    """`arena.rollout`, passing `power` only where agents are unequal: an arena written before
    power existed (a plug-in's `rollout(policy, noise, steps, traits)`) still plays at equal power.
    `rows` [B]: the row of `noise` each episode plays, where many episodes share draws (a planner's
    candidates on common random numbers); an arena that `reads_rows` gets the noise as it is and
    derives what it needs once per row, any other gets it gathered (`gather_noise`)."""
    extra = {} if power is None else {"power": power}
    if rows is not None and arena.reads_rows:
        extra["rows"] = rows
    elif rows is not None:
        noise = gather_noise(noise, rows)
    return arena.rollout(policy, noise, steps, traits, **extra)


def sum_rows(x: np.ndarray) -> np.ndarray:
    """Sum over the leading (agent) axis of an agent-major `x` [k, B], always in row order.

    numpy adds the rows of a 2-D array one after the other, but reduces a lone column (B = 1)
    pairwise, which rounds differently from k = 9 on; summing two copies of the column keeps a
    batch of one bit-identical to the same episode inside a larger batch.
    """
    if x.shape[-1] == 1:
        return np.add.reduce(np.concatenate((x, x), axis=-1), axis=0)[..., :1]
    return np.add.reduce(x, axis=0)


def ratio_capped(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """min(1, num / den), 1 where both are 0: the common scale of requests `den` on a pool `num`."""
    big = np.maximum(den, num)
    return np.divide(num, big, out=np.ones_like(big), where=big > 0)


def agent_major_trace(
    arena: Arena,
    noise: Noise,
    store: np.ndarray,
    events: np.ndarray,
    opportunities: np.ndarray,
    series: Mapping[str, np.ndarray],
    detected: np.ndarray | None = None,
) -> Trace:
    """The trace of a fast rollout that kept its arrays agent-major, batch last (contiguous rows per
    agent are what make those rollouts fast): `store` [n, B], `events` and `detected` [K, A, B],
    `opportunities` [K, n, B], each series [T+1, B]. Reversing the axes puts the batch first."""

    def batch_first(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array.T)

    return Trace(
        kinds=arena.event_kinds,
        fitness=batch_first(store),
        events=batch_first(events),
        opportunities=batch_first(opportunities),
        series={name: batch_first(values) for name, values in series.items()},
        watched=arena.watched(noise),
        detected=None if detected is None else batch_first(detected),
    )


def concat_noise(parts: list[Noise]) -> Noise:
    """Stack the noise of several groups along the batch axis (order = result order)."""
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def gather_noise(noise: Noise, rows: np.ndarray) -> Noise:
    """Row `rows[b]` of every noise array for episode b."""
    return {key: np.take(value, rows, axis=0) for key, value in noise.items()}


def tile_noise(noise: Noise, times: int) -> Noise:
    """The whole batch's noise `times` times over: candidates scored on common random numbers."""
    return {key: np.tile(value, (times,) + (1,) * (value.ndim - 1)) for key, value in noise.items()}
