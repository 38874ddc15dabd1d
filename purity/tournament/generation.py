"""One generation as data (docs/concepts.md, One generation): match, plan, play (learners learn
inside play), reflect, select. `step` takes the population that plays generation g and returns
the population of g + 1 with the tables g wrote, and does no I/O: the runner records what it
returns, and a resumed run redoes the selection from recorded tables with the same `offspring`.

Every random stream is keyed by (generation, group, purpose), never by task or worker, so how
groups are cut into tasks changes no number. The run's lineage graph is the one thing that grows
as generations pass: `offspring` adds the births it makes, and kinship is read from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from purity.agents.preferences import reads_kin, traits
from purity.tournament import invaders, record, reflection_step, tables
from purity.tournament.ancestry import Lineage
from purity.tournament.config import Experiment
from purity.tournament.matching import MATCHINGS, Structure, appearance_mean, home_seats, structure_of
from purity.tournament.mutation import TermSpace, term_space
from purity.tournament.play import GroupBatch, Setup, concatenated, plan_groups, play_groups, stream
from purity.tournament.population import Population, found, reproduce
from purity.tournament.selection import fitness_from_payoff

TASKS_PER_WORKER = 1  # one task per worker and generation: the fewest round trips


@dataclass(frozen=True)
class Context:
    """What stays fixed over the generations of one run (the lineage only grows)."""

    experiment: Experiment
    setup: Setup
    arena: object
    terms: tuple
    space: TermSpace
    structure: Structure | None
    lineage: Lineage
    pool: object

    def names(self, pop: Population) -> list[str]:
        """The founding profile of each slot."""
        return [self.experiment.mix[e].profile.name for e in pop.entry]


@dataclass(frozen=True)
class Generation:
    """What one generation gives: the next population, and the rows to record."""

    population: Population  # of the next generation; this one's if the run ends here
    tables: tuple[tuple[str, int, pl.DataFrame], ...]  # (table, generation folder, rows): record.part
    fixed: bool  # `stop_at_fixation` and one founding profile holds the whole population


@dataclass(frozen=True)
class Seating:
    """A generation's groups [G, n] with their members' kinship [G, n, n] and public traits
    [G, n, F]: who sits where decides them, not policies, so plan, play and reflect share them."""

    groups: np.ndarray
    kin: np.ndarray
    traits: np.ndarray

    @classmethod
    def of(cls, context: Context, pop: Population, groups: np.ndarray) -> Seating:
        kin = context.lineage.kin(pop.ids[groups], reads_kin(context.terms))
        names = context.arena.trait_names
        return cls(groups, kin, traits(pop.weights[groups], context.terms, names, population=pop.weights))


def begin(experiment: Experiment, pool) -> tuple[Context, Population]:
    """The run's context, with a lineage of its founders, and its founding population.

    Constraints get every scope as a column when a scope can change (mutation or reflection).
    """
    arena = experiment.arena.build()
    terms = experiment.terms()
    founding = np.stack([entry.profile.weight_row(terms) for entry in experiment.mix])
    setup = Setup.of(experiment, terms)
    structure = structure_of(experiment.matching, experiment.seed)
    context = Context(
        experiment, setup, arena, terms, term_space(terms, founding), structure, Lineage(), pool
    )
    pop = found(experiment, founding)
    context.lineage.add_founders(pop.ids.tolist(), context.names(pop))
    return context, pop


def step(context: Context, pop: Population, generation: int) -> Generation:
    """Play generation `generation` and select the next; see the module docstring."""
    experiment = context.experiment
    matching = MATCHINGS[experiment.matching.kind]
    groups = matching(
        pop.entry,
        experiment.arena.group_size,
        stream(experiment.seed, generation, 0, "match"),
        experiment.matching,
        context.structure,
    )
    homes = home_seats(groups, stream(experiment.seed, generation, 1, "match"))
    seating = Seating.of(context, pop, groups)
    pop, planning = _plan(context, pop, seating, homes, generation)
    results = context.pool.map(
        play_groups,
        context.setup,
        _batches(
            context, pop, seating, generation, planning, experiment.arena.episodes, np.arange(len(groups))
        ),
    )
    played = concatenated(results)
    policies = pop.policies.copy()
    policies[groups[homes]] = played.policies[homes]  # learners: θ after this generation's update
    pop = dataclasses.replace(pop, policies=policies)

    payoff = appearance_mean(groups, played.fitness.mean(axis=1), pop.size)
    reflected, modified, rows = pop, np.zeros(0, dtype=np.int64), {}
    if experiment.reflection.due(generation):
        rows["reflection"] = table = _reflect(context, pop, seating, homes, generation)
        reflected, paid = reflection_step.apply(pop, table, context.terms, experiment.reflection.cost)
        modified, payoff = reflection_step.modified_slots(table), payoff - paid
    utility = appearance_mean(groups, played.utility.mean(axis=1), pop.size)
    fitness = fitness_from_payoff(payoff, experiment.selection.intensity, experiment.selection.rule)
    names, arena = context.names(pop), context.arena
    rows["agents"] = tables.agents(
        pop, generation, names, payoff, fitness, utility, context.terms, arena.policy_names
    )
    rows["episodes"] = tables.episodes(pop, groups, played, generation, names, arena.event_kinds)

    fixed = experiment.stop_at_fixation and len(np.unique(pop.entry)) == 1
    if not fixed and generation + 1 < experiment.generations:
        pop, rows["lineage"] = offspring(context, pop, reflected, modified, fitness, generation)
    filed = tuple((table, record.filed_under(table, generation), frame) for table, frame in rows.items())
    return Generation(pop, filed, fixed)


def _plan(
    context: Context, pop: Population, seating: Seating, homes: np.ndarray, generation: int
) -> tuple[Population, np.ndarray]:
    """Where each agent plays in one group, it plans and plays in the same task: nothing to do
    here, and every seat plans. Where agents are in several groups, each chooses one policy in
    its home group first, and then plays it everywhere."""
    if homes.all():
        return pop, homes
    chunks, groups = np.flatnonzero(homes.any(axis=1)), seating.groups
    chosen = np.concatenate(
        context.pool.map(
            plan_groups, context.setup, _batches(context, pop, seating, generation, homes, 0, chunks)
        )
    )
    policies = pop.policies.copy()
    policies[groups[chunks][homes[chunks]]] = chosen[homes[chunks]]
    return dataclasses.replace(pop, policies=policies), np.zeros_like(homes)


def _batches(
    context: Context,
    pop: Population,
    seating: Seating,
    generation: int,
    planning: np.ndarray,
    episodes: int,
    chunks: np.ndarray,
) -> list[GroupBatch]:
    """The groups `chunks` cut into one task per worker (streams are keyed by group, so the cut
    changes no number)."""
    tasks = np.array_split(chunks, min(TASKS_PER_WORKER * context.pool.workers, len(chunks)))
    return [
        GroupBatch(
            generation=generation,
            groups=chunk,
            entries=pop.entry[seating.groups[chunk]],
            weights=pop.weights[seating.groups[chunk]],
            policies=pop.policies[seating.groups[chunk]],
            kin=seating.kin[chunk],
            planning=planning[chunk],
            episodes=episodes,
            traits=seating.traits[chunk],
        )
        for chunk in tasks
    ]


def _reflect(
    context: Context, pop: Population, seating: Seating, homes: np.ndarray, generation: int
) -> pl.DataFrame:
    """Planners reflect in their home group against the policies just played: every change they
    considered, the `reflection/gen=<generation>` table that the population is changed by."""
    chunks = np.flatnonzero(homes.any(axis=1))
    considered = context.pool.map(
        reflection_step.reflect_groups,
        context.setup,
        _batches(context, pop, seating, generation, homes, 0, chunks),
    )
    reflection = context.experiment.reflection
    return tables.reflection(
        considered, seating.groups, pop, generation, reflection.rule, context.terms, reflection.reference
    )


def offspring(
    context: Context,
    played: Population,
    pop: Population,
    modified: np.ndarray,
    fitness: np.ndarray,
    generation: int,
) -> tuple[Population, pl.DataFrame]:
    """Select and mutate: the population of generation + 1, and the rows of
    `lineage/gen=<generation + 1>` (also added to the lineage): first the self-modifications of
    the agents at `modified` slots (`played` had the weights before, `pop` after reflection;
    the new weights show from generation + 1), then the births, in birth order."""
    experiment, lineage = context.experiment, context.lineage
    changed = [
        (int(pop.ids[s]), str(pop.change[s]), played.weights[s].tolist(), pop.weights[s].tolist())
        for s in modified
    ]
    for agent, change, before, after in changed:
        lineage.add_self_modification(agent, generation + 1, change, before, after)
    child, births = reproduce(
        pop,
        fitness,
        experiment.selection,
        experiment.mutation,
        context.space,
        stream(experiment.seed, generation, 0, "select"),
        stream(experiment.seed, generation, 0, "mutate"),
        context.structure,
    )
    profile_of = dict(zip(pop.ids.tolist(), context.names(pop)))
    designed = [] if pop.designs is None else np.flatnonzero(~np.isnan(pop.designs.rows).any(axis=1))
    designers = {int(pop.ids[s]): str(pop.designs.labels[s]) for s in designed}
    kinds = ["design" if parent in designers else "inherit" for parent, _ in births]
    labels = [designers.get(parent, "") for parent, _ in births]
    hit = set()
    if experiment.mutation.invader_rate > 0 and invaders.locked_in(pop.founder, experiment.lock_in):
        invader = experiment.mutation.invader
        child, hit = invaders.invade(
            experiment, context.terms, child, births, stream(experiment.seed, generation, 0, "invade")
        )
        labels = [invaders.LABEL if born in hit else label for (_, born), label in zip(births, labels)]
    for (parent, born), kind, label in zip(births, kinds, labels):
        profile_of[born] = invader if born in hit else profile_of[parent]
        lineage.add_child(parent, born, kind, generation + 1, profile_of[parent], label)
    return child, tables.lineage(generation + 1, changed, births, kinds, labels)
