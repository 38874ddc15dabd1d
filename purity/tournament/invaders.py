"""After lock-in: invader mutants that test whether a locked-in lineage stays impure.

The singleton reply to the external-competition argument says an impure agent can lock in and then
keep competitors out. Whether it *stays* impure is a question about what happens next: keep
selecting, and let births of the incumbent come out as another profile — a pure consequentialist —
now and then. `[mutation] invader = "<profile>"` names a `[[population.mix]]` entry and
`invader_rate` the chance that a birth becomes one, once one lineage holds more than the
experiment's `lock_in` share of the population (before that, births are copies as always). An
invader is its parent's child in the lineage (same founder, kind `inherit`, mutation label
`invader`) with the invader entry's founding weights, decider and policy. Fitness then decides
whether invaders spread: the report's profile shares and process survival say whether the
singleton stayed impure, and the run without the incumbent's enforcement is the control.

Off (`invader_rate = 0`, the default) nothing here runs and no stream is drawn.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from purity.tournament.population import Population

LABEL = "invader"


def locked_in(founder: np.ndarray, share: float) -> bool:
    """One lineage (descendants of one founder) holds more than `share` of the population."""
    return bool(np.unique(founder, return_counts=True)[1].max() > share * len(founder))


def convert(
    child: Population,
    born: list[int],
    entry: int,
    row: np.ndarray,
    policy: np.ndarray,
    rate: float,
    rng: np.random.Generator,
) -> tuple[Population, set[int]]:
    """`child` with each birth in `born` (ids, in birth order) turned into an invader with
    probability `rate`, and the ids that were. One draw per birth, also for births that died
    again in the same generation, so who survives does not shift the stream."""
    hit = {agent for agent, u in zip(born, rng.random(len(born))) if u < rate}
    slots = np.flatnonzero(np.isin(child.ids, list(hit)))
    if not len(slots):
        return child, hit
    entries, weights, policies = child.entry.copy(), child.weights.copy(), child.policies.copy()
    mutation = child.mutation.copy()
    entries[slots], weights[slots], policies[slots], mutation[slots] = entry, row, policy, LABEL
    changed = dataclasses.replace(child, entry=entries, weights=weights, policies=policies, mutation=mutation)
    return changed, hit


def invade(
    experiment, terms: tuple, child: Population, births: list[tuple[int, int]], rng: np.random.Generator
) -> tuple[Population, set[int]]:
    """After lock-in, `child` with births turned into `experiment`'s `[mutation] invader` profile
    (`convert`, at the invader rate), and the ids that were."""
    name = experiment.mutation.invader
    entry = next(e for e, mixed in enumerate(experiment.mix) if mixed.profile.name == name)
    mixed = experiment.mix[entry]
    row, policy = mixed.profile.weight_row(terms), np.asarray(mixed.policy, dtype=float)
    born = [agent for _, agent in births]
    return convert(child, born, entry, row, policy, experiment.mutation.invader_rate, rng)
