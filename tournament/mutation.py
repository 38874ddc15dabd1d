"""Mutation of inherited profile weights (the ``inherit`` origin, DESIGN §4 step 4)."""

from __future__ import annotations

import numpy as np

__all__ = ["mutate_weights"]


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
