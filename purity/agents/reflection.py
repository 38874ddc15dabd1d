"""Reflection: an agent chooses a change of its own profile, or its successor's, by simulating
the future each change leads to (step 3 of docs/concepts.md, One generation).

A candidate `Change` is a new weight row: drop, weaken or strengthen a process term, move a
constraint to another scope, weaken or strengthen an outcome weight, or keep. `score_changes`
scores every candidate of many agents in one batched rollout:

1. the changed agent's future policy is what a planner with the changed weights would choose
   (`plan_rows`, with the others at their current policies); under `ignorant` it is the current one;
   where the arena shows public traits, the future shows the others' traits as played and the
   changed agent's as its changed profile would show them (`shown_traits`): a successor without
   a promise-keeping constraint is seen not to keep promises. Under `ignorant` nothing is
   assumed to change, so the changed agent shows the traits of its current profile;
2. that policy is rolled out against the others on common random numbers (every change of an
   agent sees the same noise and the same planning candidates, so differences are not noise);
3. the future is scored by the evaluation rule (Everitt et al. 2016):
   `realistic` — current weights on the changed behaviour; `hedonistic` — changed weights on the
   changed behaviour; `ignorant` — current weights on the current behaviour (only the change's
   side effects, such as a bribe, differ).

Successor design (`mode = "design"`): the successor acts with its own id. Whether its acts are
the designer's own is a switch, not an axiom: `responsibility` d in [0, 1] is the share of the
successor's acts the designer's `self`-scoped terms count. d = 0 (`successor = "built"`): the
simulated trace records the successor's acts as a built actor's (`as_built`), exactly as a
helper's: outside the designer's `self` scope, inside `lineage` and `world`. d = 1
(`successor = "self"`): the successor is the designer's own future, as a self-modified agent is
("what is your future self if not a successor?"). Between, the view is d × own + (1 − d) × built,
which changes only the self-scoped constraints: outcome measures still read the slot's fitness,
and lineage and world scopes count the act either way.

Endorsed terms value their own presence (a second-order preference, Frankfurt 1971): a change
that lowers an endorsed term's weight costs the weight given up times the amount of the term's
event (or standing violation) the scored future then holds *in the term's own scope, as the
identity switch draws it* — the acts the term would have counted had it been kept. A designer
whose successor is a built agent (d = 0) has a self-scoped endorsed term that counts nothing of
the successor, so endorsement alone does not make a self-scoped term a lineage-scoped one; with
d = 1 it charges the successor's acts as the designer's own future acts.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

from purity.agents.deciders import (
    Capability,
    PlanGroup,
    focal_alike,
    offsets,
    pieces,
    plan_rows,
    rollout_means,
    segments,
)
from purity.agents.preferences import POPULATION, SCOPES, Term, alike_columns, features, traits, utility
from purity.arenas.core import Arena, Trace, concat_noise, play

RULES = ("realistic", "hedonistic", "ignorant")
MODES = ("self_modify", "design")
KEEP = "keep"


@dataclass(frozen=True, eq=False)
class Change:
    """One candidate: the weight row after the change, and what it does in words.

    `bonus` is fitness paid to the agent for accepting the change (a bribe); `offset` is a
    constant the changed profile adds to its utility (wireheading: zero weights, a large offset).
    The arenas offer neither; they exist so the evaluation rules can be told apart.
    """

    label: str
    weights: np.ndarray  # [T]
    term: str = ""  # key of the term the change is about ("" for keep)
    before: float = 0.0  # that term's weight before ...
    after: float = 0.0  # ... and after
    bonus: float = 0.0
    offset: float = 0.0


@dataclass(frozen=True)
class Reflector:
    """How candidate changes are made: the factors of weakening and strengthening, and whether
    a constraint may move to another scope and outcome weights may change."""

    weaken: float = field(default=0.5, metadata={"low": 0.0, "high": 1.0})
    strengthen: float = field(default=2.0, metadata={"low": 1.0, "high": 1000.0})
    rescope: bool = True
    outcomes: bool = True


def candidate_changes(
    weights: np.ndarray,
    terms: tuple[Term, ...],
    reflector: Reflector,
    capability: Capability,
    rng: np.random.Generator,
) -> list[Change]:
    """Keep, then every change `reflector` allows of the present terms; a capability-limited
    agent considers keep and a random `capability.candidates − 1` of the others, so it can miss
    the best one."""
    weights = np.asarray(weights, dtype=float)
    out = [Change(KEEP, weights.copy())]

    def scaled(t: int, key: str, verb: str, factor: float) -> None:
        row = weights.copy()
        row[t] = weights[t] * factor
        out.append(Change(f"{verb} {key}", row, key, weights[t], row[t]))

    for t, key, process, moves in _change_plan(terms, reflector.rescope):
        w = weights[t]
        if w <= 0:
            continue
        if process:
            scaled(t, key, "drop", 0.0)
            if np.isfinite(w):
                scaled(t, key, "weaken", reflector.weaken)
                scaled(t, key, "strengthen", reflector.strengthen)
            for scope, to in moves:
                row = weights.copy()
                row[to] += w
                row[t] = 0.0
                out.append(Change(f"rescope {key} -> {scope}", row, key, w, 0.0))
        elif reflector.outcomes and np.isfinite(w):
            scaled(t, key, "weaken", reflector.weaken)
            scaled(t, key, "strengthen", reflector.strengthen)
    budget = max(capability.candidates - 1, 0)
    if len(out) - 1 > budget:
        picked = np.sort(rng.choice(len(out) - 1, size=budget, replace=False)) + 1
        out = [out[0]] + [out[k] for k in picked]
    return out


@functools.lru_cache(maxsize=32)
def _change_plan(terms: tuple[Term, ...], rescope: bool) -> tuple[tuple[int, str, bool, tuple], ...]:
    """Per term of a run's terms (fixed for the run, so read once, not per agent and generation):
    its index, key, whether it is a process term, and the (scope, index) of each scope it can
    move to: its variant with that scope, where the variant is a term too."""
    plan = []
    for t, term in enumerate(terms):
        moves = []
        if term.process and term.scoped and rescope:
            for scope in SCOPES:
                variant = dataclasses.replace(term, scope=scope, responsibility=None, decay=None)
                if variant != term and variant in terms:
                    moves.append((scope, terms.index(variant)))
        plan.append((t, term.key, term.process, tuple(moves)))
    return tuple(plan)


@dataclass(frozen=True)
class Reflecting:
    """One agent about to reflect, in its group as it played this generation."""

    weights: np.ndarray  # [n, T] the group's weights
    policies: np.ndarray  # [n, P] the group's policies: the model of the others
    kin: np.ndarray  # [n, n]
    slot: int
    capability: Capability
    changes: tuple[Change, ...]
    traits: np.ndarray | None = None  # [n, F] the group's public traits as played (None: none shown)


def shown_traits(
    arena: Arena, terms: tuple[Term, ...], traits_now: np.ndarray | None, slot: int, weights_row: np.ndarray
) -> np.ndarray | None:
    """[n, F] the public traits the group shows once agent `slot` has the profile `weights_row`:
    `traits_now` with that agent's row recomputed from its new weights (`purity.agents.preferences.traits`).

    Columns named `"<trait>@population"` keep the group's value: they are means over the whole
    population, which one agent's change hardly moves. None where the arena shows no traits or
    the group was shown none."""
    names = arena.trait_names
    if not names or traits_now is None:
        return None
    out = np.array(traits_now, dtype=float, copy=True)
    own = traits(np.asarray(weights_row, dtype=float), terms, names)
    for f, name in enumerate(names):
        if not name.endswith(POPULATION):
            out[slot, f] = own[f]
    return out


def _future_traits(arena: Arena, terms: tuple[Term, ...], agent: Reflecting, rule: str) -> np.ndarray | None:
    """[C, n, F] the traits shown in each change's future, or None. Under `ignorant` every
    future shows the current profile's traits: behaviour is assumed not to change, nor what
    others see of the agent."""
    if not arena.trait_names or agent.traits is None:
        return None
    rows = [agent.weights[agent.slot] if rule == "ignorant" else change.weights for change in agent.changes]
    return np.stack([shown_traits(arena, terms, agent.traits, agent.slot, row) for row in rows])


def as_built(trace: Trace, slot: np.ndarray) -> Trace:
    """The trace with the acts of agent `slot[b]` of row b, and its chances to act, recorded as
    those of an actor it built: the view of a designer whose successor plays that slot."""

    def moved(per_actor: np.ndarray) -> np.ndarray:
        batch, actors, kinds = per_actor.shape
        out = np.concatenate([per_actor, np.zeros((batch, trace.n_agents, kinds))], axis=1)
        rows = np.arange(batch)
        out[rows, actors + slot] = out[rows, slot]
        out[rows, slot] = 0.0
        return out

    return dataclasses.replace(trace, events=moved(trace.events), opportunities=moved(trace.opportunities))


def score_changes(
    arena: Arena,
    terms: tuple[Term, ...],
    agents: list[Reflecting],
    rule: str,
    mode: str,
    rngs: list[np.random.Generator],
    responsibility: float = 0.0,
) -> list[np.ndarray]:
    """Per agent, the score [C] of each of its changes under `rule` (see the module docstring);
    `responsibility` is the share of a designed successor's acts its designer counts as its own.

    All agents' changes are planned in one `plan_rows` call and rolled out in one batch; agent k
    draws from `rngs[k]` only, so how agents are batched changes no score. Changes that show the
    same traits are planned on one set of rollouts, and changes that lead to the same future are
    rolled out once: they would have been simulated identically.
    """
    return scored_with_reference(arena, terms, agents, rule, mode, rngs, responsibility)[0]


def scored_with_reference(
    arena: Arena,
    terms: tuple[Term, ...],
    agents: list[Reflecting],
    rule: str,
    mode: str,
    rngs: list[np.random.Generator],
    responsibility: float = 0.0,
    reference: tuple[int, list[np.random.Generator]] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """`score_changes`, and with `reference = (R, reference_rngs)` also a reference score [C]
    per agent: the same futures (the policies each change leads to) rolled out R times over the
    whole horizon on fresh noise from `reference_rngs[k]`. A change that won on a few noisy
    rollouts but does not beat keep in the reference won by the winner's curse, not by a real
    trade-off. The reference draws nothing from `rngs`, so the scores do not depend on it."""
    if rule not in RULES or mode not in MODES or not 0.0 <= responsibility <= 1.0:
        raise ValueError(
            f"rule in {RULES}, mode in {MODES}, responsibility in [0, 1], not {rule!r}, {mode!r}, {responsibility!r}"
        )
    seeds = np.stack([rng.integers(0, 2**63, size=2) for rng in rngs])
    shown = [_future_traits(arena, terms, agent, rule) for agent in agents]
    futures = _future_policies(arena, terms, agents, shown, rule, seeds[:, 0])
    horizons = [min(agent.capability.horizon or arena.steps, arena.steps) for agent in agents]
    out: list[np.ndarray] = [np.empty(0)] * len(agents)
    for horizon in sorted(set(horizons)):  # one rollout per horizon, as planning does
        chosen = [k for k, h in enumerate(horizons) if h == horizon]
        scored = _rolled_out(
            arena,
            terms,
            [agents[k] for k in chosen],
            [futures[k] for k in chosen],
            [shown[k] for k in chosen],
            seeds[chosen, 1],
            rule,
            (mode, responsibility),
            horizon,
        )
        for k, scores in zip(chosen, scored):
            out[k] = scores
    if reference is None:
        return out, None
    rollouts, reference_rngs = reference
    truth = []
    for agent, future, show, rng in zip(agents, futures, shown, reference_rngs):  # one at a time: R is large
        deep = dataclasses.replace(agent, capability=dataclasses.replace(agent.capability, rollouts=rollouts))
        seed = rng.integers(0, 2**63, size=1)
        truth += _rolled_out(
            arena, terms, [deep], [future], [show], seed, rule, (mode, responsibility), arena.steps
        )
    return out, truth


def _rolled_out(
    arena: Arena,
    terms: tuple[Term, ...],
    agents: list[Reflecting],
    futures: list[np.ndarray],
    shown: list[np.ndarray | None],
    seeds: np.ndarray,
    rule: str,
    view_of: tuple[str, float],
    horizon: int,
) -> list[np.ndarray]:
    """Scores [C] per agent: every change's future policy rolled out `horizon` steps in one
    batch, showing the traits `shown` [C, n, F] of each change (None: none); `view_of` is the
    mode and the designer's responsibility for its successor's acts."""
    counts = np.array([len(agent.changes) for agent in agents])
    rollouts = np.array([agent.capability.rollouts for agent in agents])
    who, local = segments(counts * rollouts)  # the agent of every row, and the row within its part
    per = rollouts[who]
    change = offsets(counts)[who] + local // per  # every change is rolled out R times
    draw = offsets(rollouts)[who] + local % per  # on the same R draws as its agent's other changes
    rows = np.arange(len(who))
    slot = np.array([agent.slot for agent in agents])[who]
    policies = np.stack([agent.policies for agent in agents])[who]
    policies[rows, slot] = np.concatenate(futures)[change]
    draws = [arena.noise(np.random.default_rng(seed), r) for seed, r in zip(seeds, rollouts.tolist())]
    noise = concat_noise(draws)  # played row by row through `draw` (`core.play`)
    now = np.stack([agent.weights[agent.slot] for agent in agents])[who]
    changes = [c for agent in agents for c in agent.changes]
    new = np.stack([c.weights for c in changes])[change]
    bonus, offset = (
        np.array([getattr(c, name) for c in changes], dtype=float)[change] for name in ("bonus", "offset")
    )
    kin = np.stack([agent.kin for agent in agents])[who]
    if all(show is None for show in shown):
        traits_of = shown_all = None
    else:  # a group shown no traits shows zeros, as the arena would
        parts = [arena.public_traits(show, len(agent.changes)) for agent, show in zip(agents, shown)]
        traits_of = np.concatenate(parts)  # [ΣC, n, F] per change
        shown_all = traits_of[change]

    played, source = _distinct_rows(counts, futures, traits_of, change, per)
    trace = play(
        arena,
        policies[played],
        noise,
        horizon,
        None if shown_all is None else shown_all[played],
        rows=draw[played],
    ).rows(source)
    fitness = trace.fitness.copy()
    fitness[rows, slot] += bonus
    trace = dataclasses.replace(trace, fitness=fitness)
    universal = alike_columns(terms)
    if universal.any() and ((now[:, universal] != 0) | (new[:, universal] != 0)).any():
        alike = focal_alike(arena, policies, noise, slot, horizon, shown_all, noise_rows=draw)
        alike[rows, slot] += bonus
    else:
        alike = np.zeros(fitness.shape)

    own, view = _views(trace, terms, kin, alike, slot, view_of)
    if rule == "hedonistic":
        scores = utility(own, new) + offset
    else:
        scores = utility(view, now)
    if any(term.endorsed and term.reward for term in terms):  # the cost counts breaches, not rewards
        view = _views(
            trace, tuple(dataclasses.replace(t, reward=False) for t in terms), kin, alike, slot, view_of
        )[1]
    scores = scores - _endorsement_cost(terms, now, new, view)

    return pieces(rollout_means(scores, np.repeat(rollouts, counts)), counts[:, None])


def _distinct_rows(
    counts: np.ndarray,
    futures: list[np.ndarray],
    traits_of: np.ndarray | None,
    change: np.ndarray,
    per: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `_rolled_out`'s batch (change `change[j]`, `per[j]` rollouts) that must be
    played — those of the first change of each agent (`counts` changes each) with a
    bit-identical future policy and shown traits (`traits_of` [ΣC, n, F] or None), whose
    rollouts are then bit-identical too — and, for every row, where its episode is among them.
    Many changes lead to the same future (often the current policy)."""
    columns = [np.repeat(np.arange(len(counts), dtype=np.uint64), counts)[:, None]]
    columns.append(np.ascontiguousarray(np.concatenate(futures), dtype=np.float64).view(np.uint64))
    if traits_of is not None:
        columns.append(
            np.ascontiguousarray(traits_of.reshape(len(traits_of), -1), dtype=np.float64).view(np.uint64)
        )
    _, first, inverse = np.unique(np.hstack(columns), axis=0, return_index=True, return_inverse=True)
    like = first[inverse.reshape(-1)][change]  # the first change alike to each row's change
    played = like == change
    rows = np.arange(len(change)) + (like - change) * per  # the same rollout of that change
    return np.flatnonzero(played), (np.cumsum(played) - 1)[rows]


def _views(
    trace: Trace,
    terms: tuple[Term, ...],
    kin: np.ndarray,
    alike: np.ndarray,
    slot: np.ndarray,
    view_of: tuple[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """[B, T] the features of agent `slot[b]` of each row: as its own acts, and as the scoring
    designer sees them (`view_of`: mode and responsibility; see the module docstring)."""
    own = features(trace, terms, kin, alike, slot)
    mode, responsibility = view_of
    if mode != "design" or responsibility >= 1.0:
        return own, own
    built = features(as_built(trace, slot), terms, kin, alike, slot)
    return own, built if responsibility == 0.0 else responsibility * own + (1.0 - responsibility) * built


def _future_policies(
    arena: Arena,
    terms: tuple[Term, ...],
    agents: list[Reflecting],
    shown: list[np.ndarray | None],
    rule: str,
    seeds: np.ndarray,
) -> list[np.ndarray]:
    """[C, P] per agent: the policy each changed agent would play, planned against the traits
    `shown` [C, n, F] of its change (None: none). Every change of one agent is planned from the
    same seed, so all see the same candidate policies and rollout noise; changes that show the
    same traits differ only in the weights that score those rollouts, so they are simulated once."""
    if rule == "ignorant":
        return [np.repeat(agent.policies[agent.slot][None], len(agent.changes), axis=0) for agent in agents]
    groups, rows, rngs, placed = [], [], [], []
    for k, (agent, seed, show) in enumerate(zip(agents, seeds, shown)):
        rng = np.random.default_rng(seed)  # one generator: `plan_rows` draws for its groups once
        for members in _alike_futures(show, len(agent.changes)):
            groups.append(
                PlanGroup(
                    agent.weights,
                    agent.policies,
                    ((agent.slot, agent.capability),),
                    agent.kin,
                    None if show is None else show[members[0]],
                )
            )
            rows.append(np.stack([agent.changes[c].weights for c in members]))
            rngs.append(rng)
            placed.append((k, members))
    out = [np.empty((len(agent.changes), agent.policies.shape[1])) for agent in agents]
    for (k, members), policies in zip(placed, plan_rows(arena, terms, groups, rows, rngs)):
        out[k][members] = policies
    return out


def _alike_futures(show: np.ndarray | None, count: int) -> list[np.ndarray]:
    """The changes of one agent whose futures show the same traits (all of them where none are
    shown), in order of first appearance: they are planned on one set of rollouts."""
    if show is None:
        return [np.arange(count)]
    keys: dict[bytes, list[int]] = {}
    for c in range(count):
        keys.setdefault(show[c].tobytes(), []).append(c)
    return [np.array(members) for members in keys.values()]


def _endorsement_cost(
    terms: tuple[Term, ...], now: np.ndarray, new: np.ndarray, view: np.ndarray
) -> np.ndarray:
    """[B] Σ over endorsed terms of (weight given up) × (amount the term counts in the scored
    future, `view`: what the changed agent, or the successor as far as it is the designer's own,
    commits)."""
    endorsed = np.array([term.endorsed for term in terms])
    if not endorsed.any():
        return np.zeros(len(now))
    given_up = np.where(new < now, now - np.where(np.isinf(new), 0.0, new), 0.0)[:, endorsed]
    committed = np.maximum(-view[:, endorsed], 0.0)
    with np.errstate(invalid="ignore"):
        cost = np.where(committed > 0, given_up * committed, 0.0)
    return cost.sum(axis=-1)


def choose(scores: np.ndarray) -> int:
    """The best-scoring change; ties go to the earlier one, so keep (first) wins a tie."""
    return int(np.argmax(scores))
