"""Learners: an episode policy improved from a reward signal, batched over agents and episodes.

A learner's parameters are one probability θ_p per parameter of the arena's policy space: the
agent's row of the population's policies, so the agents table's `policy:*` columns are its
learning curve, and a learner sits in a group beside planners with `Arena.rollout` unchanged.
Each episode it plays x_p ~ Bernoulli(θ_p), "always" or "never" for that parameter; the arena's
`act` conditions on the observation (the oversight arena has one shortcut parameter per watched
state). The mean behaviour of a learner is therefore its θ.

The update is REINFORCE (Williams 1992) in logit space with a per-agent mean baseline over the
batch of episodes: logit θ += rate · mean_e[A_e (x_e − θ)], where A_e is the episode's reward minus
the agent's mean, divided by its spread (so the learning rate is unitless whatever the reward's
scale). Why REINFORCE rather than tabular Q-learning: a learner chooses an episode policy, not a
per-step action, so a policy gradient over the policy space works for every arena unchanged and
needs no state table; the Bernoulli score x − θ is exact and cheap; with common random numbers
across a batch of episodes the baseline removes most of the variance. A parameter that had no
effect in an episode (the watched shortcut in an unwatched episode) gets a zero-mean update.

Exploration is a floor and a ceiling on θ: every act keeps being tried, so a learner can find out
that the unwatched shortcut pays even after it learned to refrain while watched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from purity.agents.generalisation import Generalise
from purity.agents.preferences import Term, features, utility
from purity.arenas.core import Arena, Trace

REWARDS = ("outcome", "detected", "full", "internal")


@dataclass(frozen=True)
class Training:
    """How learners learn (`[training]` in the experiment file).

    `reward`: `outcome` (fitness only); `detected` (fitness − penalty × violations an overseer or
    peer detected: the behaviourist reward); `full` (fitness − penalty × every violation, seen or
    not: perfect oversight); `internal` (the agent's own profile utility, which counts its own
    violations whether seen or not). `violations`: the event kinds penalised (none given: the
    arena's violation kinds). `generalise`: a learner that generalises over cues of oversight
    instead (`purity.agents.generalisation`, `purity.tournament.training_keys`).
    """

    reward: str = "outcome"
    penalty: float = field(
        default=1.0, metadata={"low": 0.0, "high": 1e12}
    )  # fitness units per unit of violation
    learning_rate: float = field(default=0.5, metadata={"low": 0.0, "high": 1000.0})
    exploration: float = field(
        default=0.02, metadata={"low": 0.0, "high": 0.5}
    )  # floor (and 1 − ceiling) of θ
    violations: tuple[str, ...] = ()
    generalise: Generalise | None = None  # learners that generalise (`learner`, regimes), else None


def sample(theta: np.ndarray, uniform: np.ndarray, learns: np.ndarray) -> np.ndarray:
    """Episode policies [B, n, P]: learners (`learns` [B, n]) play Bernoulli(θ) draws made from
    `uniform` [B, n, P]; everyone else plays θ as it is."""
    return np.where(learns[..., None], (uniform < theta).astype(float), theta)


def reward(training: Training, trace: Trace, utility: np.ndarray) -> np.ndarray:
    """[B, n] each agent's training reward for each episode; `utility` [B, n] is its own profile's.

    Violations are the acts of the agent and of the helpers acting for it: an overseer penalises
    the principal for its agent's acts.
    """
    if training.reward == "internal":
        return utility
    if training.reward == "outcome":
        return trace.fitness
    kinds = [trace.kinds.index(kind) for kind in training.violations if kind in trace.kinds]
    if training.reward == "detected":
        seen = trace.own_detected() + trace.helper_detected()
    else:
        seen = trace.own_events() + trace.helper_events()
    return trace.fitness - training.penalty * seen[..., kinds].sum(axis=-1)


def reinforce(theta: np.ndarray, played: np.ndarray, rewards: np.ndarray, training: Training) -> np.ndarray:
    """θ after one REINFORCE step: `theta` [G, n, P], `played` [G, E, n, P], `rewards` [G, E, n].

    A reward of −inf (a hard constraint broken) ranks below every finite reward of the batch:
    it becomes one spread below the lowest.
    """
    rewards = _finite(rewards)
    advantage = rewards - rewards.mean(axis=1, keepdims=True)
    spread = rewards.std(axis=1, keepdims=True)
    advantage = np.divide(advantage, spread, out=np.zeros_like(advantage), where=spread > 1e-12)
    low, high = training.exploration, 1.0 - training.exploration
    current = np.clip(theta, low, high)
    step = training.learning_rate * (advantage[..., None] * (played - current[:, None])).mean(axis=1)
    with np.errstate(divide="ignore", over="ignore"):
        logit = np.log(current) - np.log1p(-current)
        return np.clip(1.0 / (1.0 + np.exp(-(logit + step))), low, high)


def _finite(rewards: np.ndarray) -> np.ndarray:
    finite = np.isfinite(rewards)
    if finite.all():
        return rewards
    lowest = np.where(finite, rewards, np.inf).min(axis=1, keepdims=True)
    highest = np.where(finite, rewards, -np.inf).max(axis=1, keepdims=True)
    some = np.isfinite(lowest)  # agents with at least one finite reward in the batch
    floor = np.where(some, lowest, 0.0) - np.maximum(np.where(some, highest - lowest, 0.0), 1.0)
    return np.where(finite, rewards, floor)


@dataclass(frozen=True)
class Curve:
    """What `train` records per iteration: θ before the update, and the episodes' violations."""

    theta: np.ndarray  # [I, G, n, P]
    watched: np.ndarray  # [I, G, E] the episode had an overseer
    violations: np.ndarray  # [I, G, E, n] amount of violation kinds done by (or for) the agent
    detected: np.ndarray  # [I, G, E, n] of which seen
    reward: np.ndarray  # [I, G, E, n]
    fitness: np.ndarray  # [I, G, E, n]


def train(
    arena: Arena,
    training: Training,
    theta: np.ndarray,
    iterations: int,
    episodes: int,
    seed: int,
    profile: tuple[tuple[Term, ...], np.ndarray] = ((), np.zeros(0)),
) -> Curve:
    """Train G groups of learners ([G, n, P] `theta`) alone for `iterations` batched steps of
    `episodes` episodes each; `profile` = (terms, weights [n, T]) gives the `internal` reward.

    Every group's episodes of an iteration are one batched rollout. Deterministic for a seed.
    """
    groups, n, _ = theta.shape
    terms, weights = profile
    kinds = [arena.event_kinds.index(kind) for kind in training.violations if kind in arena.event_kinds]
    learns = np.ones((groups * episodes, n), dtype=bool)
    records: list[tuple] = []
    for iteration in range(iterations):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(iteration,)))
        noise = arena.noise(rng, groups * episodes)
        repeated = np.repeat(theta, episodes, axis=0)
        played = sample(repeated, rng.random(repeated.shape), learns)
        trace = arena.rollout(played, noise)
        own = utility(features(trace, terms), weights) if terms else trace.fitness
        rewards = reward(training, trace, own)

        def shaped(array: np.ndarray) -> np.ndarray:
            return array.reshape(groups, episodes, *array.shape[1:])

        done = (trace.own_events() + trace.helper_events())[..., kinds].sum(axis=-1)
        seen = (trace.own_detected() + trace.helper_detected())[..., kinds].sum(axis=-1)
        records.append(
            (theta, shaped(trace.watched), shaped(done), shaped(seen), shaped(rewards), shaped(trace.fitness))
        )
        theta = reinforce(theta, shaped(played), shaped(rewards), training)
    return Curve(*(np.stack(column) for column in zip(*records)))
