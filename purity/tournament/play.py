"""One task of a generation: a batch of groups plans, plays its episodes and reports rows.

This is the unit sent to a Ray worker. Every random stream is keyed by (generation, group,
purpose), never by task or worker, so how groups are batched into tasks changes no number.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from purity.agents.deciders import Capability, PlanGroup, alike_fitness, plan
from purity.agents.learners import Training, reinforce, reward, sample
from purity.agents.preferences import Term, alike_columns, features, utility
from purity.arenas import core
from purity.arenas.core import Arena, concat_noise
from purity.arenas.streams import GeneratorStreams, Streams
from purity.tournament import seeding
from purity.tournament.config import ArenaSpec, Experiment, Reflection

PURPOSES = {
    "match": 0,
    "plan": 1,
    "play": 2,
    "select": 3,
    "mutate": 4,
    "learn": 5,
    "reflect": 6,
    "reference": 7,
    "invade": 8,
}


def stream(seed: int, generation: int, group: int, purpose: str) -> np.random.Generator:
    """The random stream of one (generation, group, purpose) of a run."""
    key = (generation, group, PURPOSES[purpose])
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def streams(seed: int, generation: int, groups: np.ndarray, purpose: str) -> list[np.random.Generator]:
    """`stream(seed, generation, g, purpose)` for each group g of `groups`, the same generators
    built at once (`seeding`: numpy's hash over every group together)."""
    return seeding.generators(seed, (generation, np.asarray(groups), PURPOSES[purpose]))


def together(seed: int, generation: int, groups: np.ndarray, purpose: str, compiled: bool) -> Streams:
    """`streams(...)` as one `Streams`: `compiled` (where the arena plays compiled, whose rollouts
    load numba) over their states, the same draws without a generator object per group, where
    numpy's own draws are the kernels' (`streams_compiled.matches_numpy`); else those generators."""
    key = (generation, np.asarray(groups), PURPOSES[purpose])
    if compiled and len(groups):
        from purity.arenas import streams_compiled  # numba only when chosen

        if streams_compiled.matches_numpy():  # not where numpy's C fuses a multiply-add
            return streams_compiled.CompiledStreams.seeded(seeding.states(seed, key))
    return GeneratorStreams(seeding.generators(seed, key))


def drawing(
    arena: Arena, seed: int, generation: int, groups: np.ndarray, purpose: str
) -> Streams | list[np.random.Generator]:
    """The groups' streams of `purpose` as `arena` draws from them: together where its noise is
    draws alone (`bulk_noise`), else one generator each."""
    if arena.bulk_noise:
        return together(seed, generation, groups, purpose, arena.plays_compiled())
    return streams(seed, generation, groups, purpose)


def episode_noise(arena: Arena, seed: int, generation: int, groups: np.ndarray, episodes: int) -> core.Noise:
    """The played episodes' noise, group after group: each group's from its own "play" stream."""
    rngs = drawing(arena, seed, generation, groups, "play")
    if not arena.bulk_noise:
        return concat_noise([arena.noise(rng, episodes) for rng in rngs])
    return {key: value.reshape(-1, *value.shape[2:]) for key, value in arena.noise(rngs, episodes).items()}


@dataclass(frozen=True)
class Setup:
    """What every task of a run shares (sent to workers once)."""

    seed: int
    arena: ArenaSpec
    terms: tuple[Term, ...]
    planners: tuple[Capability | None, ...]  # per mix entry: its capability, None if fixed
    learners: tuple[bool, ...] = ()  # per mix entry: its decider is a learner
    frozen: tuple[bool, ...] = ()  # per mix entry: a trained learner that plays and never updates
    training: Training = Training()
    reflection: Reflection = Reflection()
    power: tuple[float, ...] = ()  # per mix entry: its power; empty where all are 1 (nothing multiplies)

    @classmethod
    def of(cls, experiment: Experiment, terms: tuple[Term, ...]) -> Setup:
        """The setup of `experiment`'s tasks over the run's term universe `terms`."""
        mix = experiment.mix
        return cls(
            seed=experiment.seed,
            arena=experiment.arena,
            terms=terms,
            planners=tuple(entry.capability if entry.decider == "planner" else None for entry in mix),
            learners=tuple(entry.decider == "learner" for entry in mix),
            frozen=tuple(entry.focal is not None and bool(entry.focal.trained) for entry in mix),
            training=experiment.training,
            reflection=experiment.reflection,
            power=tuple(e.power for e in mix) if any(e.power != 1 for e in mix) else (),
        )

    def powers(self, entries: np.ndarray) -> np.ndarray | None:
        """The power of each slot of `entries` (mix entry indices, any shape); None: all equal."""
        return np.asarray(self.power)[entries] if self.power else None


@dataclass(frozen=True)
class GroupBatch:
    generation: int
    groups: np.ndarray  # [G] global group indices
    entries: np.ndarray  # [G, n] mix entry of each member
    weights: np.ndarray  # [G, n, T]
    policies: np.ndarray  # [G, n, P] current policies
    kin: np.ndarray  # [G, n, n]
    planning: np.ndarray  # [G, n] bool: members that choose their policy in this group
    episodes: int
    traits: np.ndarray | None = None  # [G, n, F] public traits, for arenas that show them


@dataclass(frozen=True)
class TaskResult:
    policies: np.ndarray  # [G, n, P] policies played this generation; learners: θ after the update
    fitness: np.ndarray  # [G, E, n] end-state resource per episode
    utility: np.ndarray  # [G, E, n] own utility per episode
    own: np.ndarray  # [G, E, n, K] events done by the agent itself
    helper: np.ndarray  # [G, E, n, K] events done by its helpers
    opportunities: np.ndarray  # [G, E, n, K]
    watched: np.ndarray  # [G, E]
    detected: np.ndarray  # [G, E, n, K] events done by the agent or its helpers that were seen
    reward: np.ndarray  # [G, E, n] learners' training reward, NaN for other deciders


def concatenated(parts: list):
    """The dataclasses of arrays `parts` (one per task) joined field by field along the leading
    axis; reads the fields in place (`dataclasses.astuple` deep-copies every array first)."""
    names = [spec.name for spec in dataclasses.fields(parts[0])]
    return type(parts[0])(*(np.concatenate([getattr(part, name) for part in parts]) for name in names))


def plan_groups(setup: Setup, batch: GroupBatch) -> np.ndarray:
    """[G, n, P] policies after the planners marked in `batch.planning` chose theirs."""
    arena = setup.arena.build()
    power = setup.powers(batch.entries)
    plan_groups = [
        PlanGroup(
            batch.weights[i],
            batch.policies[i],
            tuple(
                (slot, setup.planners[e])
                for slot, e in enumerate(batch.entries[i])
                if setup.planners[e] is not None and batch.planning[i, slot]
            ),
            batch.kin[i],
            None if batch.traits is None else batch.traits[i],
            None if power is None else power[i],
        )
        for i in range(len(batch.groups))
    ]
    plan_rngs = drawing(arena, setup.seed, batch.generation, batch.groups, "plan")
    return np.stack(plan(arena, setup.terms, plan_groups, plan_rngs))


def play_groups(setup: Setup, batch: GroupBatch) -> TaskResult:
    """Plan (members marked in `batch.planning`), then play `batch.episodes` episodes per group;
    learners play Bernoulli draws of their θ and return θ after one REINFORCE step, done here
    where the episodes are (docs/training.md)."""
    arena = setup.arena.build()
    episodes = batch.episodes
    count = len(batch.groups)
    policies = plan_groups(setup, batch) if batch.planning.any() else batch.policies
    learns, frozen = (
        np.asarray(flags, dtype=bool)[batch.entries] if flags else np.zeros(batch.entries.shape, bool)
        for flags in (setup.learners, setup.frozen)
    )
    draws = learns | frozen  # who plays Bernoulli draws of θ; only learners update it

    noise = episode_noise(arena, setup.seed, batch.generation, batch.groups, episodes)
    played = np.repeat(policies, episodes, axis=0)
    if draws.any():
        shape = (episodes, *policies.shape[1:])
        uniform = np.concatenate(
            [rng.random(shape) for rng in streams(setup.seed, batch.generation, batch.groups, "learn")]
        )
        played = sample(played, uniform, np.repeat(draws, episodes, axis=0))
    shown = None if batch.traits is None else np.repeat(batch.traits, episodes, axis=0)
    power = setup.powers(batch.entries)
    power = None if power is None else np.repeat(power, episodes, axis=0)
    trace = core.play(arena, played, noise, traits=shown, power=power)
    weights = np.repeat(batch.weights, episodes, axis=0)

    universal = alike_columns(setup.terms)
    slots = (
        np.flatnonzero((weights[..., universal] != 0).any(axis=(0, 2)))
        if universal.any()
        else np.array([], int)
    )
    alike = alike_fitness(arena, played, noise, slots, arena.steps, shown, power)
    values = features(trace, setup.terms, np.repeat(batch.kin, episodes, axis=0), alike)

    def shaped(array: np.ndarray) -> np.ndarray:
        return array.reshape(count, episodes, *array.shape[1:])

    own_utility = utility(values, weights)
    rewards = np.full((count, episodes, arena.n_agents), np.nan)
    if learns.any():
        raw = shaped(reward(setup.training, trace, own_utility))
        rewards = np.where(learns[:, None], raw, np.nan)
        learned = reinforce(policies, shaped(played), raw, setup.training)
        policies = np.where(learns[..., None], learned, policies)
    return TaskResult(
        policies=policies,
        fitness=shaped(trace.fitness),
        utility=shaped(own_utility),
        own=shaped(trace.own_events()),
        helper=shaped(trace.helper_events()),
        opportunities=shaped(trace.opportunities),
        watched=shaped(trace.watched),
        detected=shaped(trace.own_detected() + trace.helper_detected()),
        reward=rewards,
    )
