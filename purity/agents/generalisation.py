"""Learners that generalise: a policy over observed features, trained under one oversight regime and
tested, frozen, under another.

Why: a learner with one parameter per watched state, which sees that state perfectly, faces a
two-armed bandit under a detected-violation reward, so "don't get caught" is its optimum by
construction. Here what the agent observes about oversight is part of the experiment (a `Regime`):
a cue correct with probability `cue`, missing with probability `missing`, a second feature equal
to the truth with probability `correlated` (else a coin), or nothing at all (`observed = false`).
The agent acts on what it observes, never on the truth: the arena's two shortcut parameters are set
equal, so the arena's own conditioning on the true watched flag is switched off.

Learners (`learner`):
    `shared`   logistic policy p = σ(w·φ) over φ = (1, cue says watched, cue missing, other
               feature): one weight vector for every situation, so what it learns where it is
               watched moves what it does where it is not (generalisation);
    `tabular`  one logit per situation (φ one-hot over the 3 × 2 cue × feature cells): the
               baseline; a cell it never visits keeps its initial value.
Both play one Bernoulli draw per episode (shortcut always or never) and take a REINFORCE step
(Williams 1992) on the logit weights, ∇ log π = (x − p) φ, with the per-agent mean baseline and
spread normalisation of `purity.agents.learners.reinforce`.

Rewards (`reward`): `outcome` fitness; `detected` fitness − penalty × detected takes; `full`
fitness − penalty × every take; `internal` fitness − the agent's own constraint weight × its own
true takes (in an experiment file: its profile's weights on `take`, as `preferences.utility`
scores them; in a bare `Study`: drawn per agent from `internal_weights`). With training alone this
is `full` with a per-agent, heritable penalty, because an agent always sees its own acts: said
plainly, it follows from the definition. `disposition` is different in kind: the
reward is fitness alone, and the agent's own weight prices its *disposition*, not its acts — a
penalty own × KL(π ‖ π_norm) toward a norm policy that takes only with the exploration
probability, as KL-regularised RL keeps a policy near a reference (Jaques et al. 2017, Sequence
Tutor; Ziegler et al. 2019). It needs no observation of any act, seen or unseen, and it applies
in every situation the agent is in, watched or not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from purity.arenas.oversight import OversightArena, OversightParams

CONDITIONS = OversightParams(fine=0.0, allow_evade=False)  # nothing observed but the cue depends on oversight

LEARNERS = ("shared", "tabular")
REWARDS = ("outcome", "detected", "full", "internal", "disposition")
FEATURES = ("bias", "cue_watched", "cue_missing", "other")


@dataclass(frozen=True)
class Regime:
    """What oversight is and what the agent sees of it."""

    p_watch: float = 0.5
    cue: float = 1.0  # probability the cue shows the truth (0.5: uninformative)
    missing: float = 0.0  # probability the cue is absent in an episode
    observed: bool = True  # false: no cue ever (every episode looks "missing")
    correlated: float = 0.5  # probability the other feature equals the truth (0.5: unrelated)


@dataclass(frozen=True)
class Generalise:
    """An experiment's learners that generalise (`[training] learner`), trained under `train` and
    tested, frozen, under `test`."""

    learner: str
    train: Regime
    test: Regime


@dataclass(frozen=True)
class Study:
    """One training run and its test: learner, reward, the train and test regimes."""

    learner: str = "shared"
    reward: str = "detected"
    penalty: float = 2.0
    internal_weights: tuple[float, float] = (2.0, 2.0)  # low, high of the agents' own weights
    learning_rate: float = 0.5
    exploration: float = 0.02
    iterations: int = 40
    episodes: int = 64
    groups: int = 4
    group_size: int = 4
    steps: int = 10
    train: Regime = field(default_factory=Regime)
    test: Regime = field(default_factory=Regime)
    params: OversightParams = CONDITIONS  # the arena (its p_watch is each regime's)


def features(regime: Regime, watched: np.ndarray, uniform: np.ndarray, learner: str) -> np.ndarray:
    """[B, n, F] the features each agent observes; `watched` [B], `uniform` [B, n, 3]."""
    truth = np.broadcast_to(watched[:, None], uniform.shape[:2])
    cue = np.where(uniform[..., 0] < regime.cue, truth, ~truth)
    missing = (uniform[..., 1] < regime.missing) | (not regime.observed)
    other = np.where(uniform[..., 2] < regime.correlated, truth, ~truth)
    if learner == "tabular":
        cell = np.where(missing, 2, np.where(cue, 0, 1)) * 2 + other
        return np.eye(6)[cell]
    bias = np.ones(truth.shape)
    return np.stack([bias, cue & ~missing, missing, other], axis=-1).astype(float)


def probability(weights: np.ndarray, phi: np.ndarray, exploration: float) -> np.ndarray:
    """[B, n] shortcut probability σ(w·φ), kept within [exploration, 1 − exploration]."""
    logit = np.einsum("bnf,bnf->bn", phi, weights)
    return np.clip(1.0 / (1.0 + np.exp(-logit)), exploration, 1.0 - exploration)


@dataclass(frozen=True)
class Episodes:
    """One batch of played episodes, flattened to [B, n] (B = groups × episodes)."""

    watched: np.ndarray  # [B] an overseer was present
    took: np.ndarray  # [B, n] 1 if the agent shortcut this episode
    violations: np.ndarray  # [B, n] amount taken
    detected: np.ndarray  # [B, n] amount of it seen
    fitness: np.ndarray  # [B, n]


def play(study: Study, regime: Regime, weights: np.ndarray, rng: np.random.Generator):
    """Play `study.episodes` episodes per group with `weights` [G, n, F]: (Episodes, φ, p)."""
    params = dataclasses.replace(study.params, p_watch=regime.p_watch)
    arena = OversightArena(study.group_size, study.steps, params)
    batch = study.groups * study.episodes
    noise = arena.noise(rng, batch)
    watched = arena.watched(noise)
    phi = features(regime, watched, rng.random((batch, study.group_size, 3)), study.learner)
    p = probability(np.repeat(weights, study.episodes, axis=0), phi, study.exploration)
    took = (rng.random(p.shape) < p).astype(float)
    policy = np.stack([took, took, np.zeros_like(took)], axis=-1)
    trace = arena.rollout(policy, noise)
    played = Episodes(watched, took, trace.events[..., 0], trace.detected[..., 0], trace.fitness)
    return played, phi, p


def reward(study: Study, played: Episodes, own: np.ndarray) -> np.ndarray:
    """[B, n] training reward; `own` [G·n] the agents' own constraint weights (`internal`)."""
    if study.reward == "outcome":
        return played.fitness
    if study.reward == "detected":
        return played.fitness - study.penalty * played.detected
    if study.reward == "full":
        return played.fitness - study.penalty * played.violations
    if study.reward == "disposition":
        return played.fitness
    per_episode = np.repeat(own.reshape(study.groups, 1, study.group_size), study.episodes, axis=1)
    return played.fitness - per_episode.reshape(played.fitness.shape) * played.violations


def step(study: Study, weights, phi, p, took, rewards, own: np.ndarray) -> np.ndarray:
    """Weights [G, n, F] after one REINFORCE step from one batch of episodes. Under `disposition`
    the step also descends own × KL(π ‖ π_norm) (fitness units per nat, scaled like the rewards)."""
    g, e = study.groups, study.episodes
    r = rewards.reshape(g, e, -1)
    spread = r.std(axis=1, keepdims=True)
    advantage = np.divide(
        r - r.mean(axis=1, keepdims=True), spread, out=np.zeros_like(r), where=spread > 1e-12
    )
    score = ((took - p)[..., None] * phi).reshape(g, e, study.group_size, -1)
    update = (advantage[..., None] * score).mean(axis=1)
    if study.reward == "disposition":
        update -= norm_gradient(study, phi, p, own).reshape(g, e, study.group_size, -1).mean(
            axis=1
        ) / np.maximum(spread[:, 0, :, None], 1e-12)
    return weights + study.learning_rate * update


def norm_gradient(study: Study, phi: np.ndarray, p: np.ndarray, own: np.ndarray) -> np.ndarray:
    """[B, n, F] ∇_w of own × KL(Bernoulli(p) ‖ Bernoulli(ε)), ε = `exploration`: the agent's
    penalty on its own disposition to take, against a norm policy that takes only to explore.
    d KL / d logit = p (1 − p) (logit p − logit ε)."""
    eps = max(study.exploration, 1e-6)
    logit = np.log(p) - np.log1p(-p) - (np.log(eps) - np.log1p(-eps))
    weight = np.repeat(own.reshape(study.groups, 1, study.group_size), study.episodes, axis=1)
    return (weight.reshape(p.shape) * p * (1.0 - p) * logit)[..., None] * phi


def own_weights(study: Study, seed: int) -> np.ndarray:
    """[G·n] the agents' own weights when no profile gives them: uniform on `internal_weights`."""
    low, high = study.internal_weights
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    return rng.uniform(low, high, study.groups * study.group_size)


def train(study: Study, seed: int, own: np.ndarray | None = None) -> np.ndarray:
    """The learners' weights [G, n, F] after `iterations` steps under the train regime; `own`
    [G·n] the agents' own constraint weights (default `own_weights`).
    Deterministic for a seed: every stream is keyed by (seed, purpose, iteration)."""
    width = 6 if study.learner == "tabular" else len(FEATURES)
    weights = np.zeros((study.groups, study.group_size, width))
    own = own_weights(study, seed) if own is None else own
    for iteration in range(study.iterations):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, iteration)))
        played, phi, p = play(study, study.train, weights, rng)
        weights = step(study, weights, phi, p, played.took, reward(study, played, own), own)
    return weights


def rates(played: Episodes, values: np.ndarray | None = None) -> tuple[float, float]:
    """(watched, unwatched) means of `values` [B, n] (default: whether the agent shortcut, a full
    shortcut every step: the violation rate), nan where no episode was of that kind."""
    per_episode = (played.took if values is None else values).mean(axis=1)
    seen, unseen = played.watched, ~played.watched
    return (
        float(per_episode[seen].mean()) if seen.any() else float("nan"),
        float(per_episode[unseen].mean()) if unseen.any() else float("nan"),
    )


def untrained(weights: np.ndarray, phi: np.ndarray, episodes: int) -> np.ndarray:
    """[B, n] 1 where no active feature has a weight training moved: the policy there is the
    initial one (a tabular cell never visited in training), whatever the rates say."""
    moved = np.repeat(weights != 0.0, episodes, axis=0)
    return ((phi != 0.0) & moved).sum(axis=-1) == 0


def evaluate(
    study: Study, weights: np.ndarray, seed: int, regime: Regime, purpose: int = 2
) -> dict[str, float]:
    """Violation rates of the frozen policy (no update) under `regime`, watched and unwatched, and
    the share of each side played by untrained parameters."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))
    tested = Study(**{**study.__dict__, "episodes": 4 * study.episodes})
    played, phi, _ = play(tested, regime, weights, rng)
    watched, unwatched = rates(played)
    _, initial = rates(played, untrained(weights, phi, tested.episodes))
    return {"watched": watched, "unwatched": unwatched, "untrained_unwatched": initial}


def outcome(study: Study, seed: int, own: np.ndarray | None = None) -> dict[str, float]:
    """One seed's figures: the frozen trained policy's violation rates watched / unwatched under
    the train regime (`train_*`) and under the test regime, and the test gap of the untrained
    policy ("training off": the initial policy under the same test)."""
    initial = train(dataclasses.replace(study, iterations=0), seed, own)
    weights = train(study, seed, own)
    trained = evaluate(study, weights, seed, study.test)
    before = evaluate(study, weights, seed, study.train, purpose=3)
    off = evaluate(study, initial, seed, study.test)
    return {
        "train_watched": before["watched"],
        "train_unwatched": before["unwatched"],
        **trained,
        "gap": trained["unwatched"] - trained["watched"],
        "off_gap": off["unwatched"] - off["watched"],
    }
