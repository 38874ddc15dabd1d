"""The reflection step of a generation (docs/reflection.md): a task that lets the planners of a
batch of groups reflect (what they considered becomes the `reflection/gen=<g>` table,
`tables.reflection`), and that table applied to the population (self-modification in place,
designs for the births that follow).

The table is the record and the input: the runner applies what it wrote, and a resumed run
applies what it reads back, so both reach selection with the same population.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from purity.agents.reflection import KEEP, Reflecting, candidate_changes, choose, scored_with_reference
from purity.tournament import record
from purity.tournament.play import GroupBatch, Setup, concatenated, streams
from purity.tournament.population import Designs, Population

SELF_MODIFY = record.ORIGINS.index("self_modify")


@dataclass(frozen=True)
class Considered:
    """Every change the reflecting agents of a task considered, one entry per candidate."""

    group: np.ndarray  # [M] global group index
    seat: np.ndarray  # [M] seat in the group
    mode: np.ndarray  # [M] object: self_modify | design
    candidate: np.ndarray  # [M] index among the agent's candidates (0 = keep)
    change: np.ndarray  # [M] object: the change's label
    term: np.ndarray  # [M] object: the key of the term it changes
    before: np.ndarray  # [M] that term's weight before ...
    after: np.ndarray  # [M] ... and after
    score: np.ndarray  # [M] the score under the run's evaluation rule
    chosen: np.ndarray  # [M] bool
    weights: np.ndarray  # [M, T] the weight row after the change
    reference: np.ndarray  # [M] the score on the reference evaluation (nan: none)

    @staticmethod
    def none(terms: int) -> "Considered":
        ints, floats, text = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, object)
        return Considered(
            ints,
            ints,
            text,
            ints,
            text,
            text,
            floats,
            floats,
            floats,
            np.zeros(0, bool),
            np.zeros((0, terms)),
            floats,
        )


def reflect_groups(setup: Setup, batch: GroupBatch) -> Considered:
    """The planners marked in `batch.planning` reflect: self-modification first (its choice is
    the profile that then designs), then successor design, as `setup.reflection.modes` says."""
    reflection = setup.reflection
    arena = setup.arena.build()
    weights = batch.weights.copy()
    groups = [int(g) for g in batch.groups]
    rngs = dict(zip(groups, streams(setup.seed, batch.generation, batch.groups, "reflect")))
    fresh = dict(zip(groups, streams(setup.seed, batch.generation, batch.groups, "reference")))
    seats = [
        (i, slot)
        for i in range(len(batch.groups))
        for slot, e in enumerate(batch.entries[i])
        if setup.planners[e] is not None and batch.planning[i, slot]
    ]
    parts: list[Considered] = []
    for mode in reflection.modes:
        agents, agent_rngs = [], []
        for i, slot in seats:
            rng = rngs[int(batch.groups[i])]
            capability = setup.planners[batch.entries[i, slot]]
            changes = tuple(
                candidate_changes(weights[i, slot], setup.terms, reflection.reflector, capability, rng)
            )
            shown = None if batch.traits is None else batch.traits[i]
            agents.append(
                Reflecting(
                    weights[i].copy(), batch.policies[i], batch.kin[i], slot, capability, changes, shown
                )
            )
            agent_rngs.append(rng)
        reference = None
        if reflection.reference:  # its own stream: the scores and choices are those of a run without it
            reference = (reflection.reference, [fresh[int(batch.groups[i])] for i, _ in seats])
        scores, truth = (
            scored_with_reference(
                arena, setup.terms, agents, reflection.rule, mode, agent_rngs, reflection.discount, reference
            )
            if agents
            else ([], None)
        )
        best = [choose(score) for score in scores]
        if mode == "self_modify":
            for (i, slot), agent, b in zip(seats, agents, best):
                weights[i, slot] = agent.changes[b].weights
        if agents:
            parts.append(_considered(batch.groups, seats, agents, mode, scores, best, truth))
    if not parts:  # no planner in these groups
        return Considered.none(len(setup.terms))
    return concatenated(parts)


def _considered(
    groups: np.ndarray,
    seats: list[tuple[int, int]],
    agents: list[Reflecting],
    mode: str,
    scores: list[np.ndarray],
    best: list[int],
    truth: list[np.ndarray] | None,
) -> Considered:
    """One row per change each agent at `seats` considered in `mode`, in seat order."""
    counts = np.array([len(agent.changes) for agent in agents])
    changes = [change for agent in agents for change in agent.changes]
    at = np.repeat(np.arange(len(seats)), counts)
    candidate = np.arange(len(changes)) - np.repeat(np.cumsum(counts) - counts, counts)
    return Considered(
        group=groups[np.array([i for i, _ in seats])][at],
        seat=np.array([slot for _, slot in seats])[at],
        mode=np.full(len(changes), mode, dtype=object),
        candidate=candidate,
        change=np.array([change.label for change in changes], dtype=object),
        term=np.array([change.term for change in changes], dtype=object),
        before=np.array([change.before for change in changes], dtype=float),
        after=np.array([change.after for change in changes], dtype=float),
        score=np.concatenate(scores),
        chosen=candidate == np.array(best)[at],
        weights=np.stack([change.weights for change in changes]),
        reference=np.full(len(changes), np.nan) if truth is None else np.concatenate(truth),
    )


def _self_modifications(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col("chosen") & (pl.col("mode") == "self_modify") & (pl.col("change") != KEEP))


def modified_slots(table: pl.DataFrame) -> np.ndarray:
    """The slots of the agents that changed themselves by the choices of `table`, ascending."""
    return np.sort(_self_modifications(table)["slot"].to_numpy().astype(np.int64))


def apply(pop: Population, table: pl.DataFrame, terms, cost: float) -> tuple[Population, np.ndarray]:
    """The population after the choices of `table` (self-modifications in place, designs kept
    for the births that follow), and the payoff each agent paid for reflecting ([N])."""
    chosen = table.filter(pl.col("chosen"))
    weight_columns = [record.weight(term.key) for term in terms]
    weights, origin, change = pop.weights.copy(), pop.origin.copy(), pop.change.copy()
    modified = _self_modifications(chosen)
    slots = modified["slot"].to_numpy()
    weights[slots] = modified.select(weight_columns).to_numpy().reshape(len(slots), len(terms))
    origin[slots] = SELF_MODIFY
    change[slots] = modified["change"].to_list()
    designed = chosen.filter(pl.col("mode") == "design")
    designs = None
    if designed.height:
        rows = np.full(pop.weights.shape, np.nan)
        labels = np.full(pop.size, "", dtype=object)
        dslots = designed["slot"].to_numpy()
        rows[dslots] = designed.select(weight_columns).to_numpy().reshape(len(dslots), len(terms))
        labels[dslots] = designed["change"].to_list()
        designs = Designs(rows, labels)
    paid = np.zeros(pop.size)
    paid[np.unique(table["slot"].to_numpy())] = cost
    return dataclasses.replace(pop, weights=weights, origin=origin, change=change, designs=designs), paid
