"""Selection: turn payoffs into fitness (a fitness rule) and fitness into parents (a selection
rule). Both are registries keyed by the names experiment files use (`[selection] rule` and
`kind`): a new rule is one function and one entry here.

Selection sees fitness only (docs/concepts.md#vocabulary): these functions know nothing about profiles, so a
process preference can only survive here by what it does to an agent's payoff. Every draw comes
from the ``numpy.random.Generator`` passed in (docs/architecture.md#one-generation-as-data).

Selection rules and their conventions:

- ``moran``: birth–death (``moran.moran_birth_death``): parent ∝ fitness among all; the offspring
  replaces a uniform slot (well-mixed, parent's own included) or a uniform neighbour of the parent.
- ``moran_db``: death–birth (``moran.moran_death_birth``): a uniform slot dies; the parent is drawn
  ∝ fitness among all others (well-mixed) or among the dead slot's neighbours (graph).
- ``wright_fisher``: non-overlapping generations, N independent draws ∝ fitness.
- ``replicator``: non-overlapping generations whose type counts follow the discrete replicator
  equation (``replicator_shares``) up to rounding.
- ``none``: uniform parents, the drift control; ``keep``: no births and no deaths.

On a graph (a ``matching.Structure``) only the Moran rules use the structure: who can replace
whom is local; Wright–Fisher and replicator are mean-field by definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from purity.tournament.moran import checked_fitness, moran_birth_death, moran_death_birth

if TYPE_CHECKING:
    from purity.tournament.matching import Structure


def _linear(payoff: np.ndarray, w: float) -> np.ndarray:
    """``1 - w + w*payoff`` (Nowak et al. 2004), clipped at 0 (such agents cannot reproduce)."""
    return np.clip(1.0 - w + w * payoff, 0.0, None)


def _exponential(payoff: np.ndarray, w: float) -> np.ndarray:
    """``exp(w*payoff)`` divided by its maximum: only ratios matter, and it cannot overflow."""
    z = w * payoff
    with np.errstate(under="ignore"):  # far-behind agents get weight 0, which is right
        return np.exp(z - z.max())


# Fitness rules: (payoff [N], intensity w) -> fitness [N] >= 0.
FITNESS_RULES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "linear": _linear,
    "exponential": _exponential,
}


def fitness_from_payoff(payoff: np.ndarray, intensity: float, rule: str = "linear") -> np.ndarray:
    """Map payoffs to non-negative fitness with selection intensity ``w`` by a fitness rule.

    ``w -> 0`` is weak selection and ``w = 0`` is neutral drift (under ``linear``; ``exponential``
    gives all ones too). If no agent has positive fitness the result is all ones, so a collapsed
    population drifts instead of failing.
    """
    if rule not in FITNESS_RULES:
        raise ValueError(f"unknown fitness rule {rule!r}; expected one of {tuple(FITNESS_RULES)}")
    w = float(intensity)
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"selection intensity must be finite and >= 0, got {intensity!r}")
    pi = np.asarray(payoff, dtype=np.float64)
    if not np.isfinite(pi).all():
        raise ValueError("payoff must be finite")
    if pi.size == 0:
        return np.ones_like(pi)
    fit = FITNESS_RULES[rule](pi, w)
    if not (fit > 0).any():
        return np.ones_like(pi)
    return fit


def wright_fisher(fitness: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Parent slots of a whole new generation: ``n`` independent draws proportional to fitness.

    The result is in draw order (not sorted), so offspring slot ``j`` has parent ``result[j]``.
    All-zero fitness is treated as uniform.
    """
    f = checked_fitness(fitness)
    n = f.size if n is None else int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    cum = np.cumsum(f)
    total = cum[-1]
    if total == 0.0:
        return rng.integers(0, f.size, size=n).astype(np.int64)
    idx = np.searchsorted(cum, rng.random(n) * total, side="right")
    last = int(np.flatnonzero(f > 0)[-1])
    return np.minimum(idx, last).astype(np.int64)


def neutral(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` parents drawn uniformly: the neutral-drift control selection is measured against."""
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return rng.integers(0, n, size=n).astype(np.int64) if n else np.empty(0, dtype=np.int64)


def replicator_shares(shares: np.ndarray, type_fitness: np.ndarray) -> np.ndarray:
    """One step of discrete-time replicator dynamics: ``x_i' = x_i f_i / sum_j x_j f_j``.

    ``shares`` are type frequencies (normalised here), ``type_fitness`` each type's fitness,
    non-negative (use ``fitness_from_payoff``, or add a background fitness to payoffs), so that
    a type grows exactly when it is fitter than the population mean. A type with share 0 stays
    at 0; if no type has positive share × fitness the shares are returned unchanged.
    """
    x = np.asarray(shares, dtype=np.float64)
    fit = np.asarray(type_fitness, dtype=np.float64)
    if x.ndim != 1 or x.shape != fit.shape:
        raise ValueError(f"shares {x.shape} and type_fitness {fit.shape} must be equal 1-D shapes")
    if not (np.isfinite(x).all() and np.isfinite(fit).all()) or (x < 0).any() or (fit < 0).any():
        raise ValueError("shares and type_fitness must be finite and >= 0")
    total = x.sum()
    if total <= 0:
        raise ValueError("shares must have a positive sum")
    x = x / total
    w = x * fit
    mean = w.sum()
    return x if mean <= 0 else w / mean


def replicator_parents(types: np.ndarray, fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parent slots of a whole new generation that follows the replicator equation.

    Convention: ``x`` is the current type shares (from ``types``, any integer labels), ``f_i``
    the mean fitness of type ``i``'s members, ``x' = replicator_shares(x, f)``. Type ``i`` gets
    ``N x_i'`` children rounded by largest remainder (the counts sum to N; ties are broken at
    random), and each child's parent is drawn uniformly among the current members of its type.
    So type counts move deterministically (no drift beyond rounding): the infinite-population
    dynamics imposed on a finite population. Near an interior rest point rounding stalls the
    approach once a step would move less than half an agent. Types absent now cannot come
    back, and a type whose members all have fitness 0 dies out. Like ``wright_fisher``, the
    result is in random order: child slot ``j`` has parent ``result[j]``.
    """
    f = checked_fitness(fitness)
    types = np.asarray(types)
    if types.shape != f.shape:
        raise ValueError(f"types {types.shape} and fitness {f.shape} must have the same shape")
    n = f.size
    _, t = np.unique(types, return_inverse=True)
    t = t.ravel()
    counts = np.bincount(t)
    mean_fit = np.bincount(t, weights=f) / counts
    target = n * replicator_shares(counts / n, mean_fit)
    kids = np.floor(target).astype(np.int64)
    # Remainders equal up to float noise are ties (broken at random, not by rounding error).
    remainder = np.where(target > 0, np.round(target - kids, 9), -1.0)
    short = n - int(kids.sum())
    order = np.lexsort((rng.random(counts.size), -remainder))
    kids[order[:short]] += 1
    by_type = np.argsort(t, kind="stable")
    start = np.cumsum(counts) - counts
    child_type = np.repeat(np.arange(counts.size), kids)
    pick = np.minimum((rng.random(n) * counts[child_type]).astype(np.int64), counts[child_type] - 1)
    parents = by_type[start[child_type] + pick].astype(np.int64)
    return parents[rng.permutation(n)]


Parents = tuple[np.ndarray, np.ndarray]


def _overlapping(sampler: Callable) -> Callable:
    """A Moran rule: N elementary events at this generation's fitness. Survivors keep their slot;
    a newborn may itself reproduce, or die, later in the same generation."""

    def parents(fitness: np.ndarray, types: np.ndarray, rng: np.random.Generator, structure) -> Parents:
        n = len(fitness)
        births = sampler(fitness, rng, events=n, structure=structure)
        source, final = np.empty(len(births), dtype=np.int64), np.arange(n)
        for k, (p, d) in enumerate(zip(births.parent_slot, births.dead_slot)):
            source[k] = final[p]
            final[d] = n + k
        return source, final

    return parents


def _generational(draw: Callable) -> Callable:
    """A rule with non-overlapping generations: child j takes slot j, its parent is `draw(...)[j]`."""

    def parents(fitness: np.ndarray, types: np.ndarray, rng: np.random.Generator, structure) -> Parents:
        return draw(fitness, types, rng), len(fitness) + np.arange(len(fitness))

    return parents


def _keep(fitness: np.ndarray, types: np.ndarray, rng: np.random.Generator, structure) -> Parents:
    """No births, no deaths: everyone carries over (training alone)."""
    return np.empty(0, dtype=np.int64), np.arange(len(fitness))


# Selection rules: (fitness [N], types [N] mix entries, rng, structure | None) -> (source, final):
# birth k copies row source[k] of the table [current agents; births], and final[slot] is the row
# that holds each slot afterwards.
RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator, Structure | None], Parents]] = {
    "moran": _overlapping(moran_birth_death),
    "moran_db": _overlapping(moran_death_birth),
    "wright_fisher": _generational(lambda fitness, types, rng: wright_fisher(fitness, rng)),
    "replicator": _generational(lambda fitness, types, rng: replicator_parents(types, fitness, rng)),
    "none": _generational(lambda fitness, types, rng: neutral(len(fitness), rng)),  # neutral drift
    "keep": _keep,
}
