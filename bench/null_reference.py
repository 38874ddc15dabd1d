"""The cheap nulls' simulation as it was before the Moran replay was batched over events
(purity/tournament/null.py until 2026-12-06): a Python loop over the N events of each Moran
generation, vectorised over replicates only. Kept as the baseline of `bench/null_speed.py` and as
the reference `tests/tournament/test_null_batched.py` holds the batched replay equal to, bit for
bit. Nothing in the package imports it.
"""

from __future__ import annotations

import numpy as np

from purity.tournament.batch_selection import moran_events, parents_of_generation
from purity.tournament.mutation import mutate, mutate_weights
from purity.tournament.null import _KIND_KEYS, CHUNK, MORAN, NullDraws, NullSpec, _State


def simulate(
    null: NullSpec, replicates: int, seed: int, kind: str = "drift", fitness: np.ndarray | None = None
) -> NullDraws:
    """`null.simulate` with the per-event Moran replay."""
    parts = []
    for chunk, first in enumerate(range(0, replicates, CHUNK)):
        reps = min(CHUNK, replicates - first)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_KIND_KEYS[kind], chunk)))
        sources = None if fitness is None else (first + np.arange(reps)) % fitness.shape[0]
        parts.append(_chunk(null, reps, rng, fitness, sources))
    return NullDraws(
        keys=null.keys,
        **{
            name: np.concatenate([getattr(p, name) for p in parts], axis=1 if name == "curve" else 0)
            for name in ("start", "end", "selection", "mutation", "lock_in", "generations", "curve")
        },
    )


def _step(null: NullSpec, state: _State, rng: np.random.Generator, f: np.ndarray | None) -> None:
    reps, n = state.ints.shape[:2]
    state.ints[..., 2] = np.arange(n)
    state.born = np.full((reps, n), null.rule != "keep")
    if null.rule == "keep":
        return
    if null.rule in MORAN:
        _moran_step(null, state, rng, *moran_events(reps, n, rng, null.rule == "moran_db", null.structure, f))
        return
    parents = parents_of_generation(null.rule, reps, n, rng, state.ints[..., 0], f)
    state.ints = np.take_along_axis(state.ints, parents[..., None], axis=1)
    state.ints[..., 2] = parents
    chosen = np.take_along_axis(state.weights, parents[..., None], axis=1)
    state.weights = _mutated(chosen.reshape(reps * n, -1), rng, null).reshape(chosen.shape)


def _moran_step(null: NullSpec, state: _State, rng, parent: np.ndarray, dead: np.ndarray) -> None:
    reps, n = parent.shape
    terms = state.weights.shape[2]
    final = np.tile(np.arange(n), reps)
    source = np.empty((n, reps), dtype=np.int64)
    depth = np.zeros(reps * 2 * n, dtype=np.int64)
    base, base2 = np.arange(reps) * n, np.arange(reps) * 2 * n
    parent_at, dead_at = (parent + base[:, None]).T.copy(), (dead + base[:, None]).T.copy()
    for k in range(n):
        s = final[parent_at[k]]
        source[k] = s
        depth[base2 + n + k] = depth[base2 + s] + 1
        final[dead_at[k]] = n + k
    if state.table is None or state.table.shape[0] != reps * 2 * n:
        state.table = np.empty((reps * 2 * n, terms))
    table = state.table
    table.reshape(reps, 2 * n, terms)[:, :n] = state.weights
    ancestor = np.concatenate(
        [np.tile(np.arange(n), (reps, 1)), np.zeros((reps, n), np.int64)], axis=1
    ).ravel()
    born = depth.reshape(reps, 2 * n)[:, n:].T.ravel()
    child_row = ((base2 + n)[None, :] + np.arange(n)[:, None]).ravel()
    copied_row = source.ravel() + np.tile(base2, n)
    order = np.argsort(born, kind="stable")
    for at in np.split(order, np.cumsum(np.bincount(born))[:-1])[1:]:
        child, copied = child_row[at], copied_row[at]
        ancestor[child] = ancestor[copied]
        table[child] = _mutated(table[copied], rng, null)
    rows = (final.reshape(reps, n) + base2[:, None]).ravel()
    state.born = final.reshape(reps, n) >= n
    state.weights = table[rows].reshape(reps, n, terms)
    slot = ancestor[rows].reshape(reps, n)
    state.ints = state.ints.reshape(reps * n, 3)[(slot + base[:, None]).ravel()].reshape(reps, n, 3)
    state.ints[..., 2] = slot


def _invade(null: NullSpec, state: _State, rng: np.random.Generator, locked: np.ndarray) -> None:
    entry, row = null.invader
    hit = state.born & locked[:, None] & (rng.random(state.born.shape) < null.mutation.invader_rate)
    state.weights[hit] = row
    state.ints[..., 0][hit] = entry


def _shuffled(fitness: np.ndarray, sources: np.ndarray, g: int, rng: np.random.Generator) -> np.ndarray:
    rows = fitness[sources, min(g, fitness.shape[1] - 1)]
    return np.take_along_axis(rows, np.argsort(rng.random(rows.shape), axis=1), axis=1)


def _chunk(null: NullSpec, reps: int, rng, fitness, sources) -> NullDraws:
    n, terms, gens = null.population, len(null.keys), null.generations
    state = _State(
        weights=np.repeat(null.weights[None], reps, axis=0),
        ints=np.stack(
            [np.tile(null.entry, (reps, 1)), np.tile(np.arange(n), (reps, 1)), np.zeros((reps, n), int)], -1
        ),
    )
    live = np.ones(reps, dtype=bool)
    done = np.full(reps, gens, dtype=np.int64)
    lock = np.full(reps, -1, dtype=np.int64)
    selection, mutation = np.zeros((reps, terms)), np.zeros((reps, terms))
    curve = np.zeros((gens, reps, terms), dtype=np.float32)
    rows = np.arange(reps)
    z = _carriers(state.weights, null.threshold)
    start = end = z.mean(axis=1)
    for g in range(gens):
        share = z.mean(axis=1)
        end = np.where(live[:, None], share, end)
        curve[g] = end
        biggest = np.bincount((rows[:, None] * n + state.ints[..., 1]).ravel(), minlength=reps * n)
        hit = live & (lock < 0) & (biggest.reshape(reps, n).max(axis=1) / n > null.lock_in)
        lock[hit] = g
        if null.stop_at_fixation:
            fixed = live & (state.ints[..., 0] == state.ints[:, :1, 0]).all(axis=1)
            done[fixed] = g + 1
            live &= ~fixed
        if g == gens - 1 or not live.any():
            curve[g + 1 :] = curve[g]
            break
        f = None if fitness is None else _shuffled(fitness, sources, g, rng)
        _step(null, state, rng, f)
        if null.invader is not None:
            _invade(null, state, rng, lock >= 0)
        inherited = z.reshape(reps * n, terms)[(state.ints[..., 2] + rows[:, None] * n).ravel()]
        inherited = inherited.reshape(reps, n, terms).mean(axis=1)
        z = _carriers(state.weights, null.threshold)
        selection += live[:, None] * (inherited - share)
        mutation += live[:, None] * (z.mean(axis=1) - inherited)
    return NullDraws(null.keys, start, end, selection, mutation, lock, done, curve)


def _carriers(weights: np.ndarray, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (weights > threshold).astype(np.float64)


def _mutated(rows: np.ndarray, rng: np.random.Generator, null: NullSpec) -> np.ndarray:
    spec = null.mutation
    if spec.rate == 0 and not spec.structural:
        return rows
    if spec.distribution == "lognormal" and not spec.structural:
        moved = rng.random(rows.shape[0]) < spec.rate
        out = rows.copy()
        out[moved] = mutate_weights(rows[moved], rng, 1.0, spec.sigma)[0]
        return out
    return mutate(rows, rng, spec, null.space)[0]
