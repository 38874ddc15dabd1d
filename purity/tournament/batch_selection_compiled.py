"""A Moran generation's events under fitness, and their replay, as compiled loops (numba), chosen
by `PURITY_BACKEND=numba` (`purity.arenas.backend`).

With fitness (the shuffle null) each event's parent is drawn by rejection against fitness that
the events before it changed, so `batch_selection.moran_events` loops over the n events and the
rejection rounds in Python, several numpy calls per round: most of the shuffle null's time. This
loop makes the same generator calls in the same order with the same sizes (numba's `Generator`
methods draw from the generator's own bit generator by numpy's algorithms), so the stream and
every event are numpy's bit for bit; the rare exact draw after `_ROUNDS` rejections takes numpy's
own (pairwise) sum of the candidates' fitness. `replay_events` is the same pass over the events
as numpy's, integer work, so exact. tests/tournament/test_null_compiled.py holds both equal to
numpy. Needs numba (the `compiled` extra); nothing imports this module unless the backend is
chosen. Mutation stays numpy's (its exp is numpy's, not LLVM's).
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode

from purity.tournament.batch_selection import _ROUNDS, _before_events
from purity.tournament.batch_selection import moran_events as _batched


def _numpy_sum(weight: np.ndarray) -> float:
    """numpy's sum (pairwise, not a running one), so the exact draw's threshold is numpy's."""
    with objmode(total="float64"):
        total = float(weight.sum())
    return total


def _candidates(n, around, indptr, indices, graph):
    """The candidate parents of one row (`batch_selection._candidates`): all slots (`around`
    -1, birth–death), the neighbours of `around`, or all but `around` (death–birth)."""
    if around < 0:
        return np.arange(n)
    if graph:
        return indices[indptr[around] : indptr[around + 1]].copy()
    return np.concatenate((np.arange(around), np.arange(around + 1, n)))


def _propose(n, around, indptr, indices, graph, rng, size, out, rows):
    """Proposals for `rows` (`batch_selection._propose`: one generator call for all of them);
    `graph` only for death–birth, whose rows have an `around` (birth–death: `around` empty)."""
    if around.size == 0:
        draws = rng.integers(0, n, size)
        for i in range(size):
            out[rows[i]] = draws[i]
    elif graph:
        u = rng.random(size)
        for i in range(size):
            node = around[rows[i]]
            deg = indptr[node + 1] - indptr[node]
            out[rows[i]] = indices[indptr[node] + min(np.int64(u[i] * deg), deg - 1)]
    else:
        other = rng.integers(0, n - 1, size)
        for i in range(size):
            out[rows[i]] = other[i] + (other[i] >= around[rows[i]])


def _draw(f, fmax, rng, around, indptr, indices, graph, out, todo):
    """`batch_selection._draw` into `out`: rejection rounds over the undecided rows, in row
    order, then the exact draw for rows still undecided."""
    reps, n = f.shape
    size = reps
    for r in range(reps):
        todo[r] = r
    for _ in range(_ROUNDS):
        _propose(n, around, indptr, indices, graph, rng, size, out, todo)
        u = rng.random(size)
        kept = 0
        for i in range(size):
            r = todo[i]
            if not u[i] * fmax[r] < f[r, out[r]]:
                todo[kept] = r
                kept += 1
        size = kept
        if size == 0:
            return
    for i in range(size):
        r = todo[i]
        cand = _candidates(n, -1 if around.size == 0 else around[r], indptr, indices, graph)
        weight = np.empty(cand.size)
        for j in range(cand.size):
            weight[j] = f[r, cand[j]]
        total = _numpy_sum(weight)
        pick = rng.random()
        if total > 0:
            at = np.searchsorted(np.cumsum(weight), pick * total, side="right")
            out[r] = cand[min(at, cand.size - 1)]
        else:
            out[r] = cand[min(np.int64(pick * cand.size), cand.size - 1)]


def _replay(parent, dead, row_bits, depth_at, last, source, depth):
    """`batch_selection.replay_events`' pass over the events, every replicate's event k in turn."""
    reps, n = parent.shape
    rows = (1 << row_bits) - 1
    for k in range(n):
        for r in range(reps):
            seen = last[r * n + parent[r, k]]
            source[k, r] = seen & rows
            depth[k, r] = (seen >> depth_at) + 1
            last[r * n + dead[r, k]] = (seen & ~rows) + (1 << depth_at) + reps * n + k * reps + r


def _events(f, rng, death_birth, indptr, indices, graph, parent, dead):
    """`batch_selection.moran_events` with fitness: fills `parent`, `dead` `[n, R]`, event-major."""
    reps, n = f.shape
    fmax = np.empty(reps)
    for r in range(reps):
        fmax[r] = f[r].max()
    todo = np.empty(reps, dtype=np.int64)
    nobody = np.empty(0, dtype=np.int64)  # birth–death: no slot the parent is drawn around
    for k in range(n):
        if death_birth:
            dead[k] = rng.integers(0, n, reps)
            _draw(f, fmax, rng, dead[k], indptr, indices, graph, parent[k], todo)
        else:
            _draw(f, fmax, rng, nobody, indptr, indices, graph, parent[k], todo)
            if graph:
                u = rng.random(reps)
                for r in range(reps):
                    node = parent[k, r]
                    deg = indptr[node + 1] - indptr[node]
                    dead[k, r] = indices[indptr[node] + min(np.int64(u[r] * deg), deg - 1)]
            else:
                dead[k] = rng.integers(0, n, reps)
        for r in range(reps):
            f[r, dead[k, r]] = f[r, parent[k, r]]


_FLAGS = {"cache": True, "error_model": "numpy"}
_numpy_sum = njit(**_FLAGS)(_numpy_sum)
_candidates = njit(**_FLAGS)(_candidates)
_propose = njit(**_FLAGS)(_propose)
_draw = njit(**_FLAGS)(_draw)
_events = njit(nogil=True, **_FLAGS)(_events)
_replay = njit(nogil=True, **_FLAGS)(_replay)


def replay_events(parent: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`batch_selection.replay_events`, the same arrays: integer work, so exact in any order."""
    reps, n = parent.shape
    kind, row_bits, depth_at, last = _before_events(reps, n)
    source, depth = np.empty((n, reps), dtype=kind), np.empty((n, reps), dtype=kind)
    _replay(parent, dead, row_bits, depth_at, last, source, depth)
    return source, depth, last.reshape(reps, n)


def moran_events(reps, n, rng, death_birth=False, structure=None, fitness=None):
    """`batch_selection.moran_events`, the same `(parent, dead)` `[R, n]` from the same draws;
    neutral drift (no fitness) has no loop and stays there."""
    if fitness is None:
        return _batched(reps, n, rng, death_birth, structure)
    f = np.array(fitness, dtype=np.float64)
    parent = np.empty((n, reps), dtype=np.int64)
    dead = np.empty((n, reps), dtype=np.int64)
    graph = structure is not None
    indptr = structure.indptr.astype(np.int64) if graph else np.zeros(1, dtype=np.int64)
    indices = structure.indices.astype(np.int64) if graph else np.zeros(1, dtype=np.int64)
    _events(f, rng, death_birth, indptr, indices, graph, parent, dead)
    return parent.T, dead.T
