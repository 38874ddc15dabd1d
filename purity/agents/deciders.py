"""Deciders turn a profile into choices of episode policy.

- `fixed`: plays one policy from the arena's policy space (a baseline).
- `planner`: scores `candidates` policies by `rollouts` simulated episodes of `horizon` steps with
  its own utility, the others modelled as playing their current policies, and keeps the best.
  Candidates are scored on common random numbers (every candidate sees the same rollout noise),
  so differences between them are not noise. All planners of a batch of groups are simulated in
  one batched rollout per horizon. Where an arena shows public traits, the rollouts show the group's
  traits, as the arena would show them to the others.
- `learner`: plays episode policies drawn from probabilities it improves from a reward signal
  (`purity.agents.learners`); the tournament updates it after every generation's episodes.
- `focal`: plays a policy trained outside the tournament, which nothing here changes: a Python
  callable reading the environment's observations, or a `purity train` learner's final policy
  played frozen (`purity.tournament.focal`).
A hard constraint makes any candidate whose rollouts contain the forbidden event score −inf; if
every candidate does, the planner takes the one with the least of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from purity.agents.preferences import Term, alike_columns, features, utility
from purity.arenas.core import Arena, concat_noise, play, tile_noise
from purity.arenas.streams import GeneratorStreams, Streams

DECIDERS = ("planner", "fixed", "learner", "focal")


@dataclass(frozen=True)
class Capability:
    """How hard a planner searches: more candidates, rollouts and horizon find more loopholes."""

    candidates: int = field(default=16, metadata={"low": 1, "high": 100_000})
    rollouts: int = field(default=4, metadata={"low": 1, "high": 100_000})
    horizon: int = field(default=0, metadata={"low": 0})  # steps simulated; 0 = whole episode


@dataclass(frozen=True)
class PlanGroup:
    """One group as a planner sees it."""

    weights: np.ndarray  # [n, T] term weights of each member
    policies: np.ndarray  # [n, P] current policy of each member: the model of the others
    planners: tuple[tuple[int, Capability], ...]  # (slot, capability) of members that plan
    kin: np.ndarray  # [n, n] kin[i, j]: j is i or descends from i
    traits: np.ndarray | None = None  # [n, F] public traits of each member (None: zeros)
    power: np.ndarray | None = None  # [n] power of each member (None: all 1)


def candidate_policies(current: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """[count, P]: the current policy, local perturbations of it, and uniform draws.

    Keeping the current policy as candidate 0 means a planner never does worse on its own
    estimate than staying put; perturbations refine, uniform draws explore. Draws are clipped
    from a box wider than [0, 1], so "never" (0) and "always" (1) are candidates with positive
    probability: refraining from an act is an option a planner can actually find.
    """
    return candidates_of(current[None], count, GeneratorStreams([rng]))[0]


def candidates_of(current: np.ndarray, count: int, streams: Streams) -> np.ndarray:
    """[S, count, P]: `candidate_policies` of each current policy [S, P], stream s drawing row s's."""
    half = count // 2
    out = np.empty((len(current), count, current.shape[1]))
    out[:, :1] = current[:, None]
    nearby, uniform = out[:, 1 : 1 + half], out[:, 1 + half :]  # drawn in this order
    nearby[...] = streams.standard_normal(nearby.shape[1:])
    nearby *= 0.15
    nearby += current[:, None]  # current + 0.15 z
    uniform[...] = streams.uniform(-0.25, 1.25, uniform.shape[1:])  # as numpy's C rounds it (`matches_numpy`)
    drawn = out[:, 1:]  # clipped in place by two ufuncs: `np.clip`'s dispatch costs more than the draws
    np.minimum(np.maximum(drawn, 0.0, out=drawn), 1.0, out=drawn)
    return out


def alike_fitness(
    arena: Arena,
    policies: np.ndarray,
    noise: dict,
    slots: np.ndarray,
    steps: int,
    traits: np.ndarray | None = None,
    power: np.ndarray | None = None,
) -> np.ndarray:
    """[B, n] fitness agent k would get if everyone in its group played its policy (k in `slots`),
    each keeping its own `power` [B, n] (a circumstance, not a choice).

    Entries of other slots are 0. The episodes reuse `noise`, so the comparison with the
    episodes actually played is on common random numbers.
    """
    batch, n, _ = policies.shape
    if len(slots) == 0:
        return np.zeros((batch, n))
    focal = np.repeat(np.asarray(slots), batch)
    tiled = np.tile(policies, (len(slots), 1, 1))
    shown = np.tile(arena.public_traits(traits, batch), (len(slots), 1, 1))
    power = None if power is None else np.tile(power, (len(slots), 1))
    fitness = focal_alike(arena, tiled, tile_noise(noise, len(slots)), focal, steps, shown, power)
    return fitness.reshape(len(slots), batch, n).sum(axis=0)


def focal_alike(
    arena: Arena,
    policies: np.ndarray,
    noise: dict,
    focal: np.ndarray,
    steps: int,
    traits: np.ndarray | None = None,
    power: np.ndarray | None = None,
    noise_rows: np.ndarray | None = None,
) -> np.ndarray:
    """[B, n], column `focal[b]` of row b = fitness when the whole group plays the focal policy
    (and, where the arena shows traits, is alike in them too; each keeps its `power` [B, n]).
    `noise_rows` [B]: the row of `noise` each episode plays (`core.play`), if not its own."""
    rows = np.arange(len(policies))
    alike = np.repeat(policies[rows, focal][:, None], policies.shape[1], axis=1)
    shown = arena.public_traits(traits, len(policies))
    shown = np.repeat(shown[rows, focal][:, None], policies.shape[1], axis=1)
    fitness = play(arena, alike, noise, steps, shown, power, noise_rows).fitness
    out = np.zeros_like(fitness)
    out[rows, focal] = fitness[rows, focal]
    return out


@dataclass(frozen=True)
class _Request:
    group: int
    slot: int
    candidates: np.ndarray  # [C, P]
    rollouts: int
    horizon: int  # steps simulated
    noise: dict  # [R, ...]: every candidate is rolled out on the same R draws
    policies: np.ndarray  # [n, P] the group's current policies
    kin: np.ndarray  # [n, n]
    rows: np.ndarray  # [K, T] focal weight rows, each choosing among the same candidates
    traits: np.ndarray  # [n, F]
    power: np.ndarray | None  # [n]


def plan(
    arena: Arena,
    terms: tuple[Term, ...],
    groups: list[PlanGroup],
    rngs: list[np.random.Generator] | Streams,
) -> list[np.ndarray]:
    """New [n, P] policies for every group: planners replaced by their best candidate. `rngs`:
    each group's generator, or the groups' `Streams` where the arena has `bulk_noise` (the same
    draws, made together)."""
    shown = [arena.public_traits(group.traits, 1)[0] for group in groups]  # once per group, not per planner
    draws = iter(_every_draw(arena, groups, rngs))
    requests = [
        _request(arena, g, group, slot, capability, group.weights[slot][None], next(draws), shown[g])
        for g, group in enumerate(groups)
        for slot, capability in group.planners
    ]
    chosen = [group.policies.copy() for group in groups]
    for request, best in zip(requests, _best(arena, terms, requests)):
        chosen[request.group][request.slot] = request.candidates[best[0]]
    return chosen


def _every_draw(
    arena: Arena, groups: list[PlanGroup], rngs: list[np.random.Generator] | Streams
) -> list[tuple[np.ndarray, dict]]:
    """Every planner's `_draws`, group by group and slot by slot. From `Streams`, the j-th
    planners of all groups draw together (one call per capability): each group's stream still
    gives its planners their draws in slot order, as its generator would."""
    if isinstance(rngs, (list, tuple)):
        return [
            _draws(arena, group, slot, capability, rng)
            for group, rng in zip(groups, rngs)
            for slot, capability in group.planners
        ]
    drawn = {}
    for j in range(max((len(group.planners) for group in groups), default=0)):
        alike: dict[tuple[int, int], list[int]] = {}  # what a planner draws: candidates and rollouts
        for g, group in enumerate(groups):
            if j < len(group.planners):
                capability = group.planners[j][1]
                alike.setdefault((capability.candidates, capability.rollouts), []).append(g)
        for (count, rollouts), members in alike.items():
            streams = rngs.subset(np.array(members))
            current = np.stack([groups[g].policies[groups[g].planners[j][0]] for g in members])
            candidates = candidates_of(current, count, streams)
            noise = arena.noise(streams, rollouts)
            for s, g in enumerate(members):
                drawn[g, j] = candidates[s], {key: value[s] for key, value in noise.items()}
    return [drawn[g, j] for g, group in enumerate(groups) for j in range(len(group.planners))]


def plan_rows(
    arena: Arena,
    terms: tuple[Term, ...],
    groups: list[PlanGroup],
    rows: list[np.ndarray],
    rngs: list[np.random.Generator],
) -> list[np.ndarray]:
    """[K, P] per group: the policy its one planner would choose under each of its weight rows
    `rows[g]` [K, T], as `plan` would with that row in place (the other rows of
    `groups[g].weights` do not enter a planner's score). The K choices share one set of
    candidates and rollouts, simulated once: they are those of K `plan` calls from the same rng.
    Groups given one generator object, with the same planner policy and capability, share its
    draws: what fresh generators of one seed would each have drawn, drawn once."""
    drawn: dict[tuple, tuple[np.ndarray, dict]] = {}
    requests = []
    for g, (group, weight_rows, rng) in enumerate(zip(groups, rows, rngs)):
        ((slot, capability),) = group.planners
        key = (id(rng), capability, group.policies[slot].tobytes())
        if key not in drawn:
            drawn[key] = _draws(arena, group, slot, capability, rng)
        shown = arena.public_traits(group.traits, 1)[0]
        requests.append(
            _request(arena, g, group, slot, capability, np.asarray(weight_rows), drawn[key], shown)
        )
    return [request.candidates[best] for request, best in zip(requests, _best(arena, terms, requests))]


def _draws(
    arena: Arena, group: PlanGroup, slot: int, capability: Capability, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Planner `slot`'s candidate policies [C, P], then the noise of its R rollouts, from `rng`."""
    candidates = candidate_policies(group.policies[slot], capability.candidates, rng)
    return candidates, arena.noise(rng, capability.rollouts)


def _request(
    arena: Arena,
    g: int,
    group: PlanGroup,
    slot: int,
    capability: Capability,
    rows: np.ndarray,
    draws: tuple[np.ndarray, dict],
    shown: np.ndarray,
) -> _Request:
    """Planner `slot` of group `g` with its `_draws` (the candidates and the rollouts that score
    them) and the group's public traits `shown` [n, F] (`Arena.public_traits`)."""
    candidates, noise = draws
    return _Request(
        g,
        slot,
        candidates,
        capability.rollouts,
        min(capability.horizon or arena.steps, arena.steps),
        noise,
        group.policies,
        group.kin,
        rows,
        shown,
        group.power,
    )


def _best(arena: Arena, terms: tuple[Term, ...], requests: list[_Request]) -> list[np.ndarray]:
    """[K] per request: the index of the best candidate under each weight row (the least hard
    violation where every candidate breaks a hard constraint). Requests are scored in one
    batch per horizon."""
    by_horizon: dict[int, list[int]] = {}
    for k, request in enumerate(requests):
        by_horizon.setdefault(request.horizon, []).append(k)
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(requests)
    for horizon, members in by_horizon.items():
        for k, best in zip(members, _choices(*_score(arena, terms, [requests[k] for k in members], horizon))):
            out[k] = best
    return out


def _choices(scores: np.ndarray, hard: np.ndarray, many: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """[K] per request from its consecutive [K, C] block of the flat `scores` and `hard` (`many`
    rows K and `counts` candidates C per request): one choice over every request when they all
    have as many candidates (the usual case), not one small call each."""
    if counts.min() > 0 and (counts == counts[0]).all():
        best = _pick(scores.reshape(-1, counts[0]), hard.reshape(-1, counts[0]))
        return pieces(best, many[:, None])
    shapes = np.stack([many, counts], axis=1)
    return [_pick(s, h) for s, h in zip(pieces(scores, shapes), pieces(hard, shapes))]


def _pick(scores: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Per row, the best candidate (last axis), or the least hard violation where every
    candidate breaks a hard constraint (no finite score)."""
    return np.where(np.isfinite(scores).any(axis=-1), scores.argmax(axis=-1), hard.argmin(axis=-1))


def _score(arena: Arena, terms: tuple[Term, ...], requests: list[_Request], horizon: int):
    """Mean focal utility per weight row and candidate, and mean hard-constraint violation, for
    each request's [K, C] block, flat, with every request's K and C (`_choices` reads them):
    every request's candidates × rollouts in one batch."""
    counts = np.array([len(r.candidates) for r in requests])
    rollouts = np.array([r.rollouts for r in requests])
    request, local = segments(counts * rollouts)
    per = rollouts[request]
    rows = np.arange(len(request))
    focal = np.array([r.slot for r in requests])[request]
    candidate = np.repeat(offsets(counts), counts * rollouts) + local // per
    policies = np.stack([r.policies for r in requests])[request]
    policies[rows, focal] = np.concatenate([r.candidates for r in requests])[candidate]
    draw = np.repeat(offsets(rollouts), counts * rollouts) + local % per  # each row's noise row
    noise = concat_noise([r.noise for r in requests])
    kin, traits = (np.stack([getattr(r, name) for r in requests])[request] for name in ("kin", "traits"))
    power = None
    if any(r.power is not None for r in requests):  # unequal power somewhere: 1 where none is given
        n = policies.shape[1]
        power = np.stack([np.ones(n) if r.power is None else r.power for r in requests])[request]

    trace = play(arena, policies, noise, horizon, traits, power, draw)
    universal = alike_columns(terms)
    if universal.any() and any((r.rows[:, universal] != 0).any() for r in requests):
        alike = focal_alike(arena, policies, noise, focal, horizon, traits, power, draw)
    else:  # no focal agent weighs it: zeros stand in, multiplied by zero weights
        alike = np.zeros(trace.fitness.shape)
    focal_values = features(trace, terms, kin, alike, focal)
    # every request's rows once per weight row, in the order (request, row, candidate, rollout)
    sizes, many = counts * rollouts, np.array([len(r.rows) for r in requests])
    scored, within = segments(many * sizes)
    values = focal_values[offsets(sizes)[scored] + within % sizes[scored]]
    weights = np.concatenate([r.rows for r in requests])[offsets(many)[scored] + within // sizes[scored]]
    runs = np.repeat(rollouts, many * counts)  # one run of R rollouts per (request, row, candidate)
    scores = rollout_means(utility(values, weights), runs)
    hard = rollout_means(np.where(np.isinf(weights), -values, 0.0).sum(axis=-1), runs)
    return scores, hard, many, counts


def pieces(flat: np.ndarray, shapes: np.ndarray) -> list[np.ndarray]:
    """`flat` cut into consecutive parts of `shapes` [S, d], as views: one reshape when every part
    has the same shape (the usual case: every planner searches alike), not S slices."""
    if len(shapes) and (shapes == shapes[0]).all():
        return list(flat.reshape(len(shapes), *shapes[0]))
    cut = np.cumsum(np.prod(shapes, axis=1))[:-1]
    return [part.reshape(shape) for part, shape in zip(np.split(flat, cut), shapes)]


def offsets(sizes: np.ndarray) -> np.ndarray:
    """Where each of consecutive parts of `sizes` begins."""
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def segments(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For consecutive parts of `sizes`: the part of every element, and its index within it."""
    part = np.repeat(np.arange(len(sizes)), sizes)
    return part, np.arange(len(part)) - offsets(sizes)[part]


def rollout_means(values: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """[S] the mean of each of the consecutive runs of `values` whose lengths are `runs` [S]:
    one reshape per run length, which sums each run as the mean of that run alone does."""
    out = np.empty(len(runs))
    each = np.repeat(runs, runs)
    for length in np.unique(runs):
        out[runs == length] = values[each == length].reshape(-1, length).mean(axis=1)
    return out
