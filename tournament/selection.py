"""Selection: turn payoffs into fitness and fitness into parents.

Selection sees fitness only (DESIGN §2): these functions know nothing about profiles,
so a process preference can only survive here by what it does to an agent's payoff.
Every draw comes from the ``numpy.random.Generator`` passed in (DESIGN §8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Births",
    "fitness_from_payoff",
    "moran_birth_death",
    "neutral",
    "wright_fisher",
]

FITNESS_RULES = ("linear", "exponential")

# Below this expected acceptance rate (mean / max fitness) the Moran sampler stops using
# rejection and falls back to a cumulative sum, so one outlier cannot stall it.
_MIN_ACCEPTANCE = 0.125


def fitness_from_payoff(
    payoff: np.ndarray, intensity: float, rule: str = "linear"
) -> np.ndarray:
    """Map payoffs to non-negative fitness with selection intensity ``w``.

    ``linear`` is ``1 - w + w*payoff`` (Nowak et al. 2004): ``w -> 0`` is weak selection and
    ``w = 0`` is neutral drift; values below zero are clipped to 0 (such agents cannot
    reproduce). ``exponential`` is ``exp(w*payoff)`` divided by its maximum, which leaves
    selection unchanged (only ratios matter) and cannot overflow. If no agent has positive
    fitness the result is all ones, so a collapsed population drifts instead of failing.
    """
    if rule not in FITNESS_RULES:
        raise ValueError(f"unknown fitness rule {rule!r}; expected one of {FITNESS_RULES}")
    w = float(intensity)
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"selection intensity must be finite and >= 0, got {intensity!r}")
    pi = np.asarray(payoff, dtype=np.float64)
    if not np.isfinite(pi).all():
        raise ValueError("payoff must be finite")
    if pi.size == 0:
        return np.ones_like(pi)
    if rule == "linear":
        fit = np.clip(1.0 - w + w * pi, 0.0, None)
    else:
        z = w * pi
        with np.errstate(under="ignore"):  # far-behind agents get weight 0, which is right
            fit = np.exp(z - z.max())
    if not (fit > 0).any():
        return np.ones_like(pi)
    return fit


@dataclass(frozen=True)
class Births:
    """Moran events in order: event ``k`` copies ``parent_slot[k]`` into ``dead_slot[k]``.

    Slots are positions in the population as it is just before event ``k``; replaying the
    events in order reproduces the population the sampler saw.
    """

    parent_slot: np.ndarray
    dead_slot: np.ndarray

    def __len__(self) -> int:
        return int(self.parent_slot.shape[0])


def _check_fitness(fitness: np.ndarray) -> np.ndarray:
    f = np.asarray(fitness, dtype=np.float64)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"fitness must be a non-empty 1-D array, got shape {f.shape}")
    if not np.isfinite(f).all() or (f < 0).any():
        raise ValueError("fitness must be finite and >= 0")
    return f


def moran_birth_death(fitness: np.ndarray, rng: np.random.Generator, events: int) -> Births:
    """Run ``events`` Moran birth–death steps on a copy of ``fitness``.

    Each step picks a parent with probability proportional to current fitness, then a slot
    uniformly at random (possibly the parent's own) that dies; the offspring takes that slot
    with its parent's fitness, so later steps in the same call see it. All-zero fitness is
    treated as uniform.

    Parent sampling is by rejection against the initial maximum, which stays an upper bound
    because fitness values are only ever copied: it costs O(1) per step when fitness is not
    too skewed, and falls back to an O(N) cumulative sum (rebuilt only when a step changed
    fitness) when it is, from the start or once the fit types have died out. Both are exact.
    """
    f = _check_fitness(fitness)
    events = int(events)
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    n = f.size
    dead = rng.integers(0, n, size=events)
    parents = np.empty(events, dtype=np.int64)
    if events == 0:
        return Births(parents, dead.astype(np.int64))
    fmax = float(f.max())
    if fmax == 0.0:
        return Births(rng.integers(0, n, size=events).astype(np.int64), dead.astype(np.int64))

    dead_list = dead.tolist()
    done = 0
    if float(f.mean()) / fmax >= _MIN_ACCEPTANCE:
        current = f.tolist()
        done = _moran_rejection(current, fmax, dead_list, parents, rng)
        f = np.asarray(current)
    else:
        f = f.copy()
    if done < events:
        _moran_cumsum(f, dead_list[done:], parents[done:], rng)
    return Births(parents, dead.astype(np.int64))


def _moran_rejection(
    f: list[float], fmax: float, dead: list[int], out: np.ndarray, rng: np.random.Generator
) -> int:
    """Fill ``out`` by rejection; return how many events were done before giving up.

    It gives up when a whole block of proposals accepted too rarely (the fit types died out
    during the call), so the caller can finish with the cumulative-sum sampler.
    """
    n = len(f)
    events = len(dead)
    # Blocks are kept small so that the acceptance check below reacts soon after a change.
    block = min(256, int(events * fmax * n / sum(f) * 1.1) + 16)
    cand: list[int] = []
    thresh: list[float] = []
    pos = 0
    accepted = 0
    for k in range(events):
        while True:
            if pos == len(cand):
                if cand and accepted < len(cand) * _MIN_ACCEPTANCE / 2:
                    return k
                cand = rng.integers(0, n, size=block).tolist()
                thresh = (rng.random(block) * fmax).tolist()
                pos = 0
                accepted = 0
            c = cand[pos]
            t = thresh[pos]
            pos += 1
            if t < f[c]:
                break
        accepted += 1
        out[k] = c
        f[dead[k]] = f[c]
    return events


def _moran_cumsum(
    f: np.ndarray, dead: list[int], out: np.ndarray, rng: np.random.Generator
) -> None:
    u = rng.random(len(dead))
    cum = np.cumsum(f)
    for k, d in enumerate(dead):
        p = _draw_from_cumsum(cum, float(u[k]))
        out[k] = p
        if f[d] != f[p]:
            f[d] = f[p]
            cum = np.cumsum(f)


def _draw_from_cumsum(cum: np.ndarray, u: float) -> int:
    """Index i with cum[i-1] <= u*total < cum[i]; zero-fitness slots are never returned."""
    total = cum[-1]
    i = int(np.searchsorted(cum, u * total, side="right"))
    if i >= cum.size:  # u*total rounded up to total
        i = int(np.searchsorted(cum, total, side="left"))
    return i


def wright_fisher(
    fitness: np.ndarray, rng: np.random.Generator, n: int | None = None
) -> np.ndarray:
    """Parent slots of a whole new generation: ``n`` independent draws proportional to fitness.

    The result is in draw order (not sorted), so offspring slot ``j`` has parent ``result[j]``.
    All-zero fitness is treated as uniform.
    """
    f = _check_fitness(fitness)
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
