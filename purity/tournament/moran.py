"""The Moran process, exact and fast: birth–death and death–birth, well-mixed or on a graph.

Every draw comes from the ``numpy.random.Generator`` passed in (docs/architecture.md#one-generation-as-data). On a graph (a
``matching.Structure``) who can replace whom is local.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from purity.tournament.matching import Structure

# Below this expected acceptance rate (mean / max fitness) the Moran sampler stops using
# rejection and falls back to a cumulative sum, so one outlier cannot stall it.
_MIN_ACCEPTANCE = 0.125
# Death–birth on a graph sums neighbourhoods larger than this with numpy, smaller in Python.
_HUB_DEGREE = 32


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


def checked_fitness(fitness: np.ndarray) -> np.ndarray:
    f = np.asarray(fitness, dtype=np.float64)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"fitness must be a non-empty 1-D array, got shape {f.shape}")
    if not np.isfinite(f).all() or (f < 0).any():
        raise ValueError("fitness must be finite and >= 0")
    return f


def _check_events(events: int) -> int:
    events = int(events)
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    return events


def _check_structure(structure: Structure, n: int) -> None:
    if structure.n != n:
        raise ValueError(f"structure {structure.name!r} has {structure.n} nodes but the population has {n}")


def _hop_tables(structure: Structure) -> tuple[list[int], list[int], list[int]]:
    """CSR as Python lists: the per-event loops index them faster than numpy arrays."""
    return (
        structure.indptr[:-1].tolist(),
        structure.degree.tolist(),
        structure.indices.tolist(),
    )


def moran_birth_death(
    fitness: np.ndarray,
    rng: np.random.Generator,
    events: int,
    structure: Structure | None = None,
) -> Births:
    """Run ``events`` Moran birth–death steps on a copy of ``fitness``.

    Birth first, then death: each step picks a parent with probability proportional to
    current fitness among all individuals. Well-mixed (``structure`` is None), the slot that
    dies is uniform over all slots, the parent's own included (the classic Moran process).
    On a graph the offspring replaces a uniformly chosen *neighbour* of the parent, so on any
    regular graph the fixation probability is the well-mixed one (isothermal theorem,
    Lieberman, Hauert & Nowak 2005). The offspring takes the dead slot with its parent's
    fitness, so later steps in the same call see it. All-zero fitness is treated as uniform.

    Parent sampling is by rejection against the initial maximum, which stays an upper bound
    because fitness values are only ever copied: it costs O(1) per step when fitness is not
    too skewed, and falls back to an O(N) cumulative sum (rebuilt only when a step changed
    fitness) when it is, from the start or once the fit types have died out. Both are exact.
    """
    f = checked_fitness(fitness)
    events = _check_events(events)
    n = f.size
    hop = None
    if structure is None:
        dead = rng.integers(0, n, size=events)
    else:
        _check_structure(structure, n)
        hop = _hop_tables(structure)
        dead = rng.random(events)  # which neighbour of the parent dies, as a uniform
    parents = np.empty(events, dtype=np.int64)
    if events == 0:
        return Births(parents, np.empty(0, dtype=np.int64))
    fmax = float(f.max())
    if fmax == 0.0:
        parents = rng.integers(0, n, size=events).astype(np.int64)
        if structure is not None:
            deg = structure.degree[parents]
            pos = structure.indptr[parents] + np.minimum((dead * deg).astype(np.int64), deg - 1)
            dead = structure.indices[pos]
        return Births(parents, dead.astype(np.int64))

    dead_list = dead.tolist()
    _sample_parents(f, fmax, dead_list, parents, rng, hop=hop)
    return Births(parents, np.asarray(dead_list, dtype=np.int64))


def moran_death_birth(
    fitness: np.ndarray,
    rng: np.random.Generator,
    events: int,
    structure: Structure | None = None,
) -> Births:
    """Run ``events`` Moran death–birth steps on a copy of ``fitness``.

    Death first, then birth: each step kills a uniformly chosen individual, and the vacancy
    is filled by the offspring of a parent chosen with probability proportional to fitness
    among the dead individual's neighbours (on a graph) or among all *other* individuals
    (well-mixed) — the dead never replace themselves. Selection thus acts only locally, which
    is why death–birth on graphs can favour cooperation where birth–death cannot (Ohtsuki et
    al. 2006) and why its fixation probabilities differ from the well-mixed Moran formula even
    on regular graphs. Offspring inherit the parent's fitness for later steps in the same
    call. If every candidate parent has fitness 0 the parent is uniform among candidates.
    """
    f = checked_fitness(fitness)
    events = _check_events(events)
    n = f.size
    if structure is None and n < 2 and events:
        raise ValueError("death–birth needs at least two individuals")
    if structure is not None:
        _check_structure(structure, n)
    dead = rng.integers(0, n, size=events).astype(np.int64)
    parents = np.empty(events, dtype=np.int64)
    if events == 0:
        return Births(parents, dead)
    if structure is not None:
        _death_birth_graph(f.copy(), dead.tolist(), rng.random(events).tolist(), parents, structure)
        return Births(parents, dead)
    fmax = float(f.max())
    if fmax == 0.0:
        other = rng.integers(0, n - 1, size=events)
        return Births(other + (other >= dead), dead)
    _sample_parents(f, fmax, dead.tolist(), parents, rng, exclude=True)
    return Births(parents, dead)


def _death_birth_graph(
    f: np.ndarray, dead: list[int], u: list[float], out: np.ndarray, structure: Structure
) -> None:
    """Parent of each vacancy ∝ fitness among the dead slot's neighbours, one uniform each.

    Costs O(degree of the dead slot) per step: small neighbourhoods are summed in Python,
    those above ``_HUB_DEGREE`` (hubs) with numpy.
    """
    fl = f.tolist()
    start = structure.indptr.tolist()
    nbr_l = structure.indices.tolist()
    nbr = structure.indices
    hub = _HUB_DEGREE
    for k, d in enumerate(dead):
        s, e = start[d], start[d + 1]
        deg = e - s
        if deg > hub:
            w = np.cumsum(f[nbr[s:e]])
            tot = float(w[-1])
            if tot > 0.0:
                j = int(np.searchsorted(w, u[k] * tot, side="right"))
                if j >= deg:
                    j = int(np.searchsorted(w, tot, side="left"))
                p = nbr_l[s + j]
            else:
                p = nbr_l[s + min(int(u[k] * deg), deg - 1)]
        else:
            tot = 0.0
            for j in range(s, e):
                tot += fl[nbr_l[j]]
            if tot > 0.0:
                x = u[k] * tot
                acc = 0.0
                p = -1
                for j in range(s, e):
                    fj = fl[nbr_l[j]]
                    if fj > 0.0:
                        p = nbr_l[j]  # the last positive one, should rounding run off the end
                        acc += fj
                        if x < acc:
                            break
            else:
                p = nbr_l[s + min(int(u[k] * deg), deg - 1)]
        out[k] = p
        fl[d] = fl[p]
        f[d] = fl[p]


def _sample_parents(
    f: np.ndarray, fmax: float, dead: list, parents: np.ndarray, rng: np.random.Generator, **options
) -> None:
    """Fill `parents` event by event: by rejection while it accepts often enough, then by
    cumulative sums. With `hop` (birth–death on a graph) `dead` is rewritten in place to the
    neighbours that died; `options` go to both samplers."""
    done = 0
    if float(f.mean()) / fmax >= _MIN_ACCEPTANCE:
        current = f.tolist()
        done = _moran_rejection(current, fmax, dead, parents, rng, **options)
        f = np.asarray(current)
    else:
        f = f.copy()
    if done < len(dead):
        rest = dead[done:]
        _moran_cumsum(f, rest, parents[done:], rng, **options)
        dead[done:] = rest


def _moran_rejection(
    f: list[float],
    fmax: float,
    dead: list,
    out: np.ndarray,
    rng: np.random.Generator,
    exclude: bool = False,
    hop: tuple[list[int], list[int], list[int]] | None = None,
) -> int:
    """Fill ``out`` by rejection; return how many events were done before giving up.

    It gives up when a whole block of proposals accepted too rarely (the fit types died out
    during the call), so the caller can finish with the cumulative-sum sampler. With
    ``exclude`` the dead slot ``dead[k]`` is never the parent (death–birth, well-mixed). With
    ``hop`` (birth–death on a graph) ``dead[k]`` enters as a uniform in [0, 1) that picks a
    neighbour of the parent, and is overwritten with that neighbour's slot.
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
        ban = dead[k] if exclude else -1
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
            if t < f[c] and c != ban:
                break
        accepted += 1
        out[k] = c
        d = _replaced(c, dead, k, hop)
        f[d] = f[c]
    return events


def _replaced(parent: int, dead: list, k: int, hop: tuple[list[int], list[int], list[int]] | None) -> int:
    """The slot event k's offspring takes: `dead[k]`, or on a graph (`hop`) the neighbour of the
    parent that the uniform `dead[k]` picks, written back into `dead[k]`."""
    if hop is None:
        return dead[k]
    start, deg, nbr = hop
    dead[k] = nbr[start[parent] + min(int(dead[k] * deg[parent]), deg[parent] - 1)]
    return dead[k]


def _moran_cumsum(
    f: np.ndarray,
    dead: list,
    out: np.ndarray,
    rng: np.random.Generator,
    exclude: bool = False,
    hop: tuple[list[int], list[int], list[int]] | None = None,
) -> None:
    """Exact sampler by cumulative sums; ``exclude`` and ``hop`` as in ``_moran_rejection``."""
    u = rng.random(len(dead))
    cum = np.cumsum(f)
    for k in range(len(dead)):
        if exclude:
            p = _draw_excluding(cum, f, dead[k], float(u[k]), rng)
        else:
            p = _draw_from_cumsum(cum, float(u[k]))
        out[k] = p
        d = _replaced(p, dead, k, hop)
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


def _draw_excluding(cum: np.ndarray, f: np.ndarray, d: int, u: float, rng: np.random.Generator) -> int:
    """Slot ``!= d`` drawn ∝ fitness (uniform if all others have fitness 0).

    Redraws while it hits ``d`` when ``d`` holds at most half the total (≤ 2 tries expected);
    otherwise it rebuilds the sum without ``d``, which is O(N) but happens to one slot at most.
    """
    n = f.size
    total = float(cum[-1])
    if total > 0.0 and f[d] <= 0.5 * total:
        while True:
            p = _draw_from_cumsum(cum, u)
            if p != d:
                return p
            u = float(rng.random())
    g = f.copy()
    g[d] = 0.0
    cum_g = np.cumsum(g)
    if cum_g[-1] > 0.0:
        return _draw_from_cumsum(cum_g, u)
    p = min(int(u * (n - 1)), n - 2)
    return p + (p >= d)
