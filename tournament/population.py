"""The population as arrays (one row per slot), founding it, and reproducing it by selection.

Fitness decides how many descendants an agent has; the offspring is a copy of its parent with
mutated weights (`inherit`). Agents differ only by their weight row over the run's term
universe, their mix entry (founding profile and decider) and their current policy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tournament.config import Experiment, Selection
from tournament.mutation import mutate_weights
from tournament.selection import moran_birth_death, neutral, wright_fisher

ORIGINS = ("founder", "inherit", "design", "self_modify")
INHERIT = ORIGINS.index("inherit")


@dataclass(frozen=True)
class Population:
    ids: np.ndarray  # [N] int64
    entry: np.ndarray  # [N] index into the experiment's mix
    weights: np.ndarray  # [N, T] term weights (0 = absent, inf = hard)
    policies: np.ndarray  # [N, P] current episode policy
    origin: np.ndarray  # [N] index into ORIGINS
    parent: np.ndarray  # [N] int64 parent id, -1 for founders
    founder: np.ndarray  # [N] int64
    next_id: int

    @property
    def size(self) -> int:
        return len(self.ids)


def shares_to_counts(shares: list[float], total: int) -> np.ndarray:
    """Largest-remainder rounding: counts that sum to `total` and follow the shares."""
    exact = np.asarray(shares) * total
    counts = np.floor(exact).astype(int)
    remainder = total - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def found(experiment: Experiment, weight_rows: np.ndarray) -> Population:
    """Generation 0: each mix entry gets its share of slots, in mix order."""
    counts = shares_to_counts([entry.share for entry in experiment.mix], experiment.population)
    entry = np.repeat(np.arange(len(counts)), counts)
    policies = np.array([experiment.mix[e].policy for e in entry], dtype=float)
    ids = np.arange(experiment.population, dtype=np.int64)
    return Population(
        ids=ids,
        entry=entry,
        weights=weight_rows[entry].copy(),
        policies=policies,
        origin=np.zeros(len(ids), dtype=np.int64),
        parent=np.full(len(ids), -1, dtype=np.int64),
        founder=ids.copy(),
        next_id=len(ids),
    )


def reproduce(
    pop: Population,
    fitness: np.ndarray,
    selection: Selection,
    rng_select: np.random.Generator,
    rng_mutate: np.random.Generator,
) -> tuple[Population, list[tuple[int, int]]]:
    """The next generation and its births as (parent id, child id) pairs, in birth order.

    Moran: N birth–death events (overlapping generations; survivors keep their id and policy).
    Wright–Fisher and `none`: N offspring replace everyone (`none` draws parents uniformly).
    """
    n = pop.size
    if selection.kind == "moran":
        births = moran_birth_death(fitness, rng_select, events=n)
        parent_slots, dead_slots = births.parent_slot, births.dead_slot
    else:
        parent_slots = wright_fisher(fitness, rng_select) if selection.kind == "wright_fisher" else neutral(n, rng_select)
        dead_slots = np.arange(n)
    # One multiplicative factor row per birth: 0 stays 0 and inf stays inf under multiplication.
    factors, _ = mutate_weights(np.ones((len(parent_slots), pop.weights.shape[1])), rng_mutate, selection.mutation_rate, selection.mutation_sigma)

    fields = [f.name for f in dataclasses.fields(pop) if f.name != "next_id"]
    if selection.kind != "moran":  # every child copies a parent of the previous generation
        arrays = {name: getattr(pop, name)[parent_slots] for name in fields}
        arrays["weights"] = arrays["weights"] * factors
        arrays["origin"] = np.full(n, INHERIT)
        arrays["parent"] = pop.ids[parent_slots]
        arrays["ids"] = pop.next_id + np.arange(n, dtype=np.int64)
        births = list(zip(arrays["parent"].tolist(), arrays["ids"].tolist()))
        return Population(next_id=pop.next_id + n, **arrays), births

    arrays = {name: getattr(pop, name).copy() for name in fields}
    births = []
    for k, (p, d) in enumerate(zip(parent_slots, dead_slots)):
        child = pop.next_id + k
        births.append((int(arrays["ids"][p]), child))
        for name in ("entry", "policies", "founder"):
            arrays[name][d] = arrays[name][p]
        arrays["weights"][d] = arrays["weights"][p] * factors[k]
        arrays["parent"][d] = arrays["ids"][p]
        arrays["origin"][d] = INHERIT
        arrays["ids"][d] = child
    return Population(next_id=pop.next_id + len(births), **arrays), births
