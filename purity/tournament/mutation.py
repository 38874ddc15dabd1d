"""Mutation of inherited profile weights (the ``inherit`` origin; docs/evolution.md#what-offspring-inherit-mutation)."""

from __future__ import annotations

import functools
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

    @functools.cached_property
    def sibling_table(self) -> np.ndarray:
        """`siblings` as [T, K] columns in order, padded with -1 (K: the most siblings a column has)."""
        width = max(map(len, self.siblings), default=0)
        return np.array([(*s, *[-1] * (width - len(s))) for s in self.siblings], dtype=np.int64).reshape(
            len(self.siblings), width
        )


def mutate(
    rows: np.ndarray, rng: np.random.Generator, spec: MutationSpec, space: TermSpace
) -> tuple[np.ndarray, list[str]]:
    """Offspring rows [M, T] from parent rows, and a label per offspring saying what changed.

    Labels: "" (exact copy), "weights", "add:<key>", "remove:<key>", "scope:<key>><key>",
    joined by ";". Random draws are taken for every row, so one row's fate does not shift the
    stream of the others.
    """
    out, changes = mutate_rows(rows, rng, spec, space)
    return out, changes.labels(space.keys)


@dataclass(frozen=True)
class Changes:
    """What structural mutation did to each offspring row; -1 where it did nothing."""

    moved: np.ndarray  # [M] bool: the weights moved
    added: np.ndarray  # [M] the column that appeared
    removed: np.ndarray  # [M] the column that vanished
    scoped: np.ndarray  # [M, 2] the column whose weight moved to another scope, and that scope

    def labels(self, keys: tuple[str, ...]) -> list[str]:
        out = ["weights" if moved else "" for moved in self.moved.tolist()]
        for i in np.flatnonzero((self.added >= 0) | (self.removed >= 0) | (self.scoped[:, 0] >= 0)).tolist():
            parts = ["weights"] if out[i] else []
            if self.added[i] >= 0:
                parts.append(f"add:{keys[self.added[i]]}")
            if self.removed[i] >= 0:
                parts.append(f"remove:{keys[self.removed[i]]}")
            if self.scoped[i, 0] >= 0:
                parts.append(f"scope:{keys[self.scoped[i, 0]]}>{keys[self.scoped[i, 1]]}")
            out[i] = ";".join(parts)
        return out


def mutate_rows(
    rows: np.ndarray, rng: np.random.Generator, spec: MutationSpec, space: TermSpace
) -> tuple[np.ndarray, Changes]:
    """`mutate` without the labels: the rows and what changed, for every row at once.

    Per row, in order: an absent process term may appear (at its reference weight), a present
    one vanish, and a constraint move to a sibling scope that is free. Which term is picked
    from the `picks` draw: the k-th candidate in column order, k = floor(pick × candidates);
    a scope move's destination is the (floor(pick × 997) mod free siblings)-th free sibling."""
    m = rows.shape[0]
    out, moved = DISTRIBUTIONS[spec.distribution](rows, rng, spec.rate, spec.sigma)
    draws = rng.random((m, 3))
    picks = rng.random((m, 3))
    hit = draws < [spec.add_rate, spec.remove_rate, spec.scope_rate]
    added, removed = np.full(m, -1), np.full(m, -1)
    scoped = np.full((m, 2), -1)
    at = np.flatnonzero(hit.any(axis=1))
    if at.size:
        sub = out[at]
        add = _pick(hit[at, 0, None] & space.process & (sub == 0), picks[at, 0])
        has = add >= 0
        sub[has, add[has]] = space.reference[add[has]]
        gone = _pick(hit[at, 1, None] & space.process & (sub != 0), picks[at, 1])
        has = gone >= 0
        sub[has, gone[has]] = 0.0
        move, to = _scope_move(sub, hit[at, 2], picks[at, 2], space)
        has = move >= 0
        sub[has, to[has]] = sub[has, move[has]]
        sub[has, move[has]] = 0.0
        out[at] = sub
        added[at], removed[at], scoped[at, 0], scoped[at, 1] = add, gone, move, to
    return out, Changes(moved, added, removed, scoped)


def _pick(candidates: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Per row of `candidates` [R, C] (bool), the column of its k-th True, k = floor(pick ×
    count) as `int(pick * count)` gives it; -1 where a row has none."""
    count = candidates.sum(axis=1)
    if candidates.shape[1] == 0:
        return np.full(candidates.shape[0], -1)
    k = (pick * count).astype(np.int64)
    column = np.argmax(np.cumsum(candidates, axis=1, dtype=np.int32) > k[:, None], axis=1)
    return np.where(count > 0, column, -1)


def _scope_move(
    rows: np.ndarray, hit: np.ndarray, pick: np.ndarray, space: TermSpace
) -> tuple[np.ndarray, np.ndarray]:
    """The scope moves of `rows` [R, T] where `hit`: the column that moves (one present with a
    free sibling) and the free sibling it moves to; -1, -1 where none does. A column has a
    sibling per other scope of its constraint, so [R, T, siblings] stays small."""
    sibling = space.sibling_table
    to = np.full(rows.shape[0], -1)
    if sibling.shape[1] == 0 or not hit.any():
        return to.copy(), to
    zero = rows == 0
    free = (sibling >= 0) & zero[:, sibling]  # [R, T, K] booleans
    move = _pick(hit[:, None] & ~zero & free.any(axis=2), pick)
    has = np.flatnonzero(move >= 0)
    choices = free[has, move[has]]  # [moving rows, K], in column order
    k = (pick[has] * 997).astype(np.int64) % choices.sum(axis=1)
    to[has] = sibling[move[has], np.argmax(np.cumsum(choices, axis=1, dtype=np.int32) > k[:, None], axis=1)]
    return move, to


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
