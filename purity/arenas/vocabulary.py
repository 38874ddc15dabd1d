"""What an arena lets profiles say about it, declared by the arena beside the series it records.

Profiles name standing properties, outcome measures and public traits; what each reads is the
arena's business. An arena declares them as class attributes (`Arena.properties`, `measures`,
`traits`), and `purity.arenas.declared(kind)` collects them from every registered arena, so the
profile layer finds them by name without knowing any arena module.

- A **standing property** reads one series the arena records and says, per episode and step after
  reset, whether it held (the state before the first step is nobody's doing and is not judged).
- An **outcome measure** reads a trace: each agent's value at the horizon, `[B, n]`.
- A **public trait** reads a profile's weights: a fact about the profile, in [0, 1], that others
  may see (Dekel, Ely & Yilankaya 2007). Terms are the profile's, each with a `kind` and a `name`
  (`purity.agents.preferences.Term`), and constraints a `scope`; the arena layer reads nothing else of
  them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from purity.arenas.trace import Trace


@dataclass(frozen=True)
class StandingProperty:
    name: str
    series: str
    description: str
    holds: Callable[[np.ndarray, float], np.ndarray]  # (series[B, T], threshold) -> bool[B, T]


def above(series: np.ndarray, threshold: float) -> np.ndarray:
    """The series is strictly above the threshold: the `holds` of the built-in properties."""
    return series > threshold


@dataclass(frozen=True)
class Measure:
    """An outcome measure: `compute(trace, kin)` -> `[B, n]` (`kin[B|1, n, n]`: i's lineage)."""

    name: str
    description: str
    compute: Callable[[Trace, np.ndarray], np.ndarray]

    def __call__(self, trace: Trace, kin: np.ndarray) -> np.ndarray:
        return self.compute(trace, kin)


@dataclass(frozen=True)
class FinalValue:
    """The last value of a series, the same for every agent: a world-state at the horizon."""

    measure: str
    series: str

    def __call__(self, trace: Trace, kin: np.ndarray) -> np.ndarray:
        if self.series not in trace.series:
            raise ValueError(
                f"outcome measure {self.measure!r} needs an arena recording series {self.series!r}"
            )
        return np.broadcast_to(trace.series[self.series][:, -1:], trace.fitness.shape)


@dataclass(frozen=True)
class Trait:
    """A public trait: `compute(weights[..., T], terms)` -> `[...]`, each in [0, 1]."""

    name: str
    description: str
    compute: Callable[[np.ndarray, Sequence[Any]], np.ndarray]

    def __call__(self, weights: np.ndarray, terms: Sequence[Any]) -> np.ndarray:
        return self.compute(weights, terms)


@dataclass(frozen=True)
class WeightAgainst:
    """w / (1 + w), w the total positive weight of a profile's constraints on `event` (of any scope,
    or of `scopes` only): 0 for a pure consequentialist, 1/2 at weight 1, 1 for a hard constraint."""

    event: str
    scopes: tuple[str, ...] | None = None  # only constraints of these scopes (None: any scope)

    def __call__(self, weights: np.ndarray, terms: Sequence[Any]) -> np.ndarray:
        columns = [
            t
            for t, term in enumerate(terms)
            if term.kind == "constraint"
            and term.name == self.event
            and (self.scopes is None or getattr(term, "scope", None) in self.scopes)
        ]
        w = np.maximum(np.asarray(weights, dtype=float)[..., columns], 0.0).sum(axis=-1)
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(w), 1.0, w / (1.0 + w))
