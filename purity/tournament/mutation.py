"""Mutation of inherited profile weights (the ``inherit`` origin; docs/evolution.md#what-offspring-inherit-mutation)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def mutate_weights(
    weights: np.ndarray, rng: np.random.Generator, rate: float, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal mutation of offspring weights ``[M, T]`` (rows = offspring, columns = terms).

    A row mutates with probability ``rate``; in a mutating row every finite positive weight is
    multiplied by ``exp(sigma * eps)``, ``eps ~ N(0, 1)`` independently per weight. Weights are
    exchange rates in fitness units, so a multiplicative step keeps them positive and treats
    3.0 -> 3.3 like 0.3 -> 0.33; ``log w`` performs an unbiased random walk, which is the
    mutation-only null against which a drift of process weights towards zero is judged.
    Absent terms (0) stay absent and hard constraints (``inf``) stay hard; negative or NaN
    entries are left untouched too. Mutation never creates or removes a term.

    Returns ``(new_weights, mutated)``, where ``mutated[m]`` says row ``m`` drew a mutation
    event. The input is not modified. Normal draws are taken for every row, so which rows
    mutate does not shift the random stream of the others.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D [offspring, terms], got shape {w.shape}")
    rate = float(rate)
    sigma = float(sigma)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"mutation rate must be in [0, 1], got {rate}")
    if not (np.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"mutation sigma must be finite and >= 0, got {sigma}")
    m, t = w.shape
    mutated = rng.random(m) < rate
    eps = rng.standard_normal((m, t))
    out = w.copy()
    fi = np.finfo(np.float64)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        change = mutated[:, None] & np.isfinite(w) & (w > 0)
        # Clipping keeps "present and finite" an invariant even for absurd sigma.
        out[change] = np.clip(w[change] * np.exp(sigma * eps[change]), fi.tiny, fi.max)
    return out, mutated


def _gaussian(
    weights: np.ndarray, rng: np.random.Generator, rate: float, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Additive mutation, ``max(0, w + sigma * eps)``, of the rows that mutate (rate ``rate``)."""
    moved = rng.random(weights.shape[0]) < rate
    eps = rng.standard_normal(weights.shape)
    out = weights.copy()
    change = moved[:, None] & np.isfinite(weights) & (weights > 0)
    out[change] = np.maximum(weights[change] + sigma * eps[change], 0.0)
    return out, moved


# Weight mutation by `[mutation] distribution`: (rows [M, T], rng, rate, sigma) -> (rows, mutated [M]).
DISTRIBUTIONS = {"lognormal": mutate_weights, "gaussian": _gaussian}

_UNIT = {"low": 0.0, "high": 1.0}


@dataclass(frozen=True)
class MutationSpec:
    """How offspring differ from their parent (`[mutation]` in the experiment file)."""

    rate: float = field(default=0.05, metadata=_UNIT)  # chance that an offspring's weights move
    sigma: float = field(default=0.2, metadata={"low": 0.0, "high": 10.0})  # size of a move
    distribution: str = "lognormal"  # "lognormal": w·exp(σε); "gaussian": max(0, w + σε)
    add_rate: float = field(default=0.0, metadata=_UNIT)  # an absent process term appears
    remove_rate: float = field(default=0.0, metadata=_UNIT)  # a present process term disappears
    scope_rate: float = field(default=0.0, metadata=_UNIT)  # a constraint moves to another scope
    invader: str = ""  # after lock-in: births may come out as this mix entry's profile (invaders.py)
    invader_rate: float = field(default=0.0, metadata=_UNIT)  # the chance a birth does, after lock-in

    @property
    def structural(self) -> bool:
        """Terms can appear, vanish or change scope (not only change weight)."""
        return self.add_rate > 0 or self.remove_rate > 0 or self.scope_rate > 0


@dataclass(frozen=True)
class TermSpace:
    """What structural mutation needs to know about a run's weight columns."""

    keys: tuple[str, ...]
    process: np.ndarray  # [T] bool: the column is a process term (only those appear/disappear)
    reference: np.ndarray  # [T] weight a term gets when it appears
    siblings: tuple[tuple[int, ...], ...]  # per column: same constraint under the other scopes


def mutate(
    rows: np.ndarray, rng: np.random.Generator, spec: MutationSpec, space: TermSpace
) -> tuple[np.ndarray, list[str]]:
    """Offspring rows [M, T] from parent rows, and a label per offspring saying what changed.

    Labels: "" (exact copy), "weights", "add:<key>", "remove:<key>", "scope:<key>><key>",
    joined by ";". Random draws are taken for every row, so one row's fate does not shift the
    stream of the others.
    """
    m = rows.shape[0]
    out, moved = DISTRIBUTIONS[spec.distribution](rows, rng, spec.rate, spec.sigma)
    labels = [["weights"] if moved_row else [] for moved_row in moved]
    draws = rng.random((m, 3))
    picks = rng.random((m, 3))
    for i in np.flatnonzero((draws < [spec.add_rate, spec.remove_rate, spec.scope_rate]).any(axis=1)):
        row = out[i]
        if draws[i, 0] < spec.add_rate:
            absent = np.flatnonzero(space.process & (row == 0))
            if len(absent):
                t = absent[int(picks[i, 0] * len(absent))]
                row[t] = space.reference[t]
                labels[i].append(f"add:{space.keys[t]}")
        if draws[i, 1] < spec.remove_rate:
            present = np.flatnonzero(space.process & (row != 0))
            if len(present):
                t = present[int(picks[i, 1] * len(present))]
                row[t] = 0.0
                labels[i].append(f"remove:{space.keys[t]}")
        if draws[i, 2] < spec.scope_rate:
            movable = [t for t in np.flatnonzero(row != 0) if any(row[s] == 0 for s in space.siblings[t])]
            if movable:
                t = movable[int(picks[i, 2] * len(movable))]
                free = [s for s in space.siblings[t] if row[s] == 0]
                s = free[int(picks[i, 2] * 997) % len(free)]
                row[s], row[t] = row[t], 0.0
                labels[i].append(f"scope:{space.keys[t]}>{space.keys[s]}")
    return out, [";".join(parts) for parts in labels]


def term_space(terms: tuple, founding: np.ndarray) -> TermSpace:
    """Reference weights and scope siblings of a run's terms (`founding`: [profiles, T] weights).

    A term that appears by mutation gets the mean weight the founding profiles give it, or,
    for a scope variant nobody founded, the mean of its siblings'.
    """
    count = len(terms)
    carriers = (founding != 0).sum(axis=0)
    total = np.where(founding != 0, founding, 0.0).sum(axis=0)
    reference = np.divide(total, carriers, out=np.zeros(count), where=carriers > 0)
    siblings = tuple(
        tuple(
            s
            for s, other in enumerate(terms)
            if s != t
            and term.scoped
            and other.scoped
            and (other.name, other.endorsed) == (term.name, term.endorsed)
        )
        for t, term in enumerate(terms)
    )
    for t in range(count):
        if reference[t] == 0 and siblings[t]:
            known = [reference[s] for s in siblings[t] if reference[s] != 0]
            reference[t] = np.mean(known) if known else 1.0
        elif reference[t] == 0:
            reference[t] = 1.0
    return TermSpace(
        keys=tuple(term.key for term in terms),
        process=np.array([term.process for term in terms]),
        reference=reference,
        siblings=siblings,
    )
