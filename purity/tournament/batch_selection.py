"""The selection rules of `selection.py` over a leading axis of independent replicates.

A null distribution needs thousands of replicates of one selection rule with fitness that does
not depend on play (all ones under neutral drift, or a run's realised fitness shuffled among its
agents). Looping the engine's samplers over replicates costs a Python call per replicate and
generation; these draw the same events for all replicates at once. They follow the engine's
conventions exactly (who dies, who is a candidate parent, the offspring taking the dead slot with
its parent's fitness for the rest of a Moran generation), and tests/tournament/test_null.py checks
them against `selection.py` in distribution. Rows of `fitness` are replicates; `None` means
neutral (every agent has fitness 1), which needs no rejection at all.

`replay_events` turns a generation's events into who copies whom, for all replicates at once
(one pass over the n events, a packed integer per replicate and slot).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from purity.tournament.selection import RULES, replicator_parents

if TYPE_CHECKING:
    from purity.tournament.matching import Structure

__all__ = ["moran_events", "parents_of_generation", "replay_events", "unpack"]

_ROUNDS = 64  # rejection rounds before the few rows still undecided are drawn exactly
_FEW = 8  # undecided rows a rejection round tests in Python floats rather than numpy calls


def _neighbour(structure: Structure, node: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The neighbour of each `node` that the uniform `u` picks (the engine's `_replaced` rule)."""
    deg = structure.degree[node]
    return structure.indices[structure.indptr[node] + np.minimum((u * deg).astype(np.int64), deg - 1)]


def _candidates(structure: Structure | None, n: int, around: np.ndarray | None, exclude: bool):
    """The candidate parents of one row: all slots, all but `around` (well-mixed death–birth),
    or the neighbours of `around` (death–birth on a graph)."""
    if around is None:
        return np.arange(n)
    if structure is not None:
        node = int(around)
        return structure.indices[structure.indptr[node] : structure.indptr[node + 1]]
    return np.delete(np.arange(n), int(around)) if exclude else np.arange(n)


def _propose(structure, n, around, exclude, rng, size):
    if around is None:
        return rng.integers(0, n, size=size)
    if structure is not None:
        return _neighbour(structure, around, rng.random(size))
    other = rng.integers(0, n - 1, size=size)
    return other + (other >= around)


def _draw(f, fmax, rng, structure, around=None, exclude=False, rows=None) -> np.ndarray:
    """One parent per row, ∝ `f` among the row's candidates (uniform if they all have fitness 0),
    by rejection against the row's maximum; rows still undecided after `_ROUNDS` are drawn
    exactly. Each round writes every undecided row's proposal and keeps the rejected ones
    undecided (a later round overwrites them), and reads fitness from the flat array at `rows`
    (each row's offset, `n·r`): fewer small numpy calls per round, the same draws."""
    reps, n = f.shape
    flat = f.reshape(-1)
    if rows is None:
        rows = np.arange(0, reps * n, n)
    out = _propose(structure, n, around, exclude, rng, reps)  # the first round, over every row
    ok = rng.random(reps) * fmax < flat.take(rows + out)
    todo = np.flatnonzero(~ok)
    for _ in range(_ROUNDS - 1):
        if todo.size == 0:
            return out
        c = _propose(structure, n, None if around is None else around[todo], exclude, rng, todo.size)
        u = rng.random(todo.size)
        if todo.size <= _FEW:
            todo = _rejected(u, c, todo, fmax, flat, n, out)
            continue
        ok = u * fmax.take(todo) < flat.take(rows.take(todo) + c)
        out.put(todo, c)
        todo = todo[~ok]
    for r in todo:  # every candidate of these rows has (nearly) zero fitness
        cand = _candidates(structure, n, None if around is None else around[r], exclude)
        weight = f[r, cand]
        total = weight.sum()
        pick = rng.random()
        if total > 0:
            out[r] = cand[min(int(np.searchsorted(np.cumsum(weight), pick * total, "right")), cand.size - 1)]
        else:
            out[r] = cand[min(int(pick * cand.size), cand.size - 1)]
    return out


def _rejected(u, c, todo, fmax, flat, n, out) -> np.ndarray:
    """`_draw`'s test for a few undecided rows in Python floats (the same doubles, so the same
    outcomes): cheaper than a dozen numpy calls, and most rounds after the first few are this
    small. Writes the proposals into `out`; returns the rows still undecided."""
    left = []
    for r, proposed, draw in zip(todo.tolist(), c.tolist(), u.tolist(), strict=True):
        out[r] = proposed
        if not draw * fmax.item(r) < flat.item(r * n + proposed):
            left.append(r)
    return np.array(left, dtype=np.int64)


def moran_events(
    reps: int,
    n: int,
    rng: np.random.Generator,
    death_birth: bool = False,
    structure: Structure | None = None,
    fitness: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`(parent, dead)`, each `[reps, n]`: the n events of one Moran generation in every replicate.

    Event k copies slot `parent[:, k]` into slot `dead[:, k]`, slots being positions just before
    event k, as `selection.Births`. Birth–death: parent ∝ fitness among all, dead uniform (a
    uniform neighbour of the parent on a graph). Death–birth: dead uniform, parent ∝ fitness among
    the others (among the dead slot's neighbours on a graph).
    """
    if fitness is None:  # neutral: no dependence between events, so no loop
        if death_birth:
            dead = rng.integers(0, n, size=(reps, n))
            if structure is not None:
                return _neighbour(structure, dead, rng.random((reps, n))), dead
            other = rng.integers(0, n - 1, size=(reps, n))
            return other + (other >= dead), dead
        parent = rng.integers(0, n, size=(reps, n))
        if structure is not None:
            return parent, _neighbour(structure, parent, rng.random((reps, n)))
        return parent, rng.integers(0, n, size=(reps, n))
    f = np.array(fitness, dtype=np.float64)
    fmax = f.max(axis=1)
    rows = np.arange(0, reps * n, n)
    parent = np.empty((n, reps), dtype=np.int64)  # event-major while drawn: rows are contiguous
    dead = np.empty((n, reps), dtype=np.int64)
    for k in range(n):
        if death_birth:
            dead[k] = rng.integers(0, n, size=reps)
            parent[k] = _draw(f, fmax, rng, structure, around=dead[k], exclude=True, rows=rows)
        else:
            parent[k] = _draw(f, fmax, rng, None, rows=rows)
            dead[k] = (
                rng.integers(0, n, size=reps)
                if structure is None
                else _neighbour(structure, parent[k], rng.random(reps))
            )
        f.put(rows + dead[k], f.take(rows + parent[k]))
    return parent.T, dead.T


def _runs(sorted_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of rows sorted by type: where its type's run starts and ends (exclusive)."""
    reps, n = sorted_rows.shape
    idx = np.broadcast_to(np.arange(n), (reps, n))
    starts = np.ones((reps, n), dtype=bool)
    starts[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    ends = np.ones((reps, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, idx + 1, n)[:, ::-1], axis=1)[:, ::-1]
    return first, last


def parents_of_generation(
    rule: str,
    reps: int,
    n: int,
    rng: np.random.Generator,
    entry: np.ndarray,
    fitness: np.ndarray | None = None,
) -> np.ndarray:
    """`[reps, n]` parent slots of a whole new generation (non-overlapping rules).

    `wright_fisher`: n draws ∝ fitness; `none`: uniform, fitness ignored; `replicator`: type counts
    by the discrete replicator equation, parents uniform within their type (`entry` [reps, n] gives
    each slot's type). Neutral replicator keeps every type's count, so each child copies a uniform
    member of the type of the slot it fills.
    """
    if rule == "none" or (rule == "wright_fisher" and fitness is None):
        return rng.integers(0, n, size=(reps, n))
    if rule == "wright_fisher":
        cum = np.cumsum(fitness, axis=1)
        offset = np.arange(reps)[:, None]
        flat = (cum / cum[:, -1:] + offset).ravel()
        idx = np.searchsorted(flat, (rng.random((reps, n)) + offset).ravel(), side="right")
        return np.minimum(idx.reshape(reps, n) - offset * n, n - 1)
    if rule != "replicator":
        return _each_replicate(rule, reps, n, rng, entry, fitness)
    if fitness is None:
        order = np.argsort(entry, axis=1, kind="stable")
        sorted_entry = np.take_along_axis(entry, order, axis=1)
        first, last = _runs(sorted_entry)
        pick = first + np.minimum((rng.random((reps, n)) * (last - first)).astype(np.int64), last - first - 1)
        parents = np.empty_like(order)
        np.put_along_axis(parents, order, np.take_along_axis(order, pick, axis=1), axis=1)
        return parents
    return np.stack([replicator_parents(entry[r], fitness[r], rng) for r in range(reps)])


def replay_events(parent: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(source, depth, last)` of one generation's events `[R, n]` in every replicate, as rows of
    one flat table of R·2n rows: the slots before the events (slot s of replicate r at r·n + s),
    then the births (birth k of replicate r at R·n + k·R + r). `source` and `depth` `[n, R]`
    (birth-major) are the row each birth copies and its birth depth; `last` `[R, n]` packs, for
    each slot after the events, the row it holds and the slot before the events it descends from
    (`unpack`). Birth k copies the last birth j < k into slot `parent[k]` (one deeper), else that
    slot's original (depth 1). One pass over the events, a gather and a scatter of one packed
    integer (row | ancestor slot | depth) per replicate each: far fewer passes over memory than
    sorting the generation's reads and writes, and the same answer."""
    reps, n = parent.shape
    kind, row_bits, depth_at, last = _before_events(reps, n)
    base = np.arange(reps, dtype=kind) * n
    read = parent.T.astype(kind)
    read += base
    write = dead.T.astype(kind)
    write += base
    births = np.arange(n * reps, dtype=kind).reshape(n, reps)
    births += reps * n + (1 << depth_at)  # each birth's row, one level deeper than what it copies
    seen = np.empty((n, reps), dtype=kind)
    born = np.empty(reps, dtype=kind)
    keep = ~((1 << row_bits) - 1)  # ancestor slot and depth of what is copied
    for k in range(n):
        last.take(read[k], out=seen[k])
        np.bitwise_and(seen[k], keep, out=born)
        born += births[k]
        last.put(write[k], born)
    source = seen & ((1 << row_bits) - 1)
    seen >>= depth_at
    seen += 1
    return source, seen, last.reshape(reps, n)


def _before_events(reps: int, n: int):
    """`(kind, row_bits, depth_at, last)`: `replay_events`' integer type and packing, and `last`
    before any event (flat, each slot holding itself at depth 0)."""
    row_bits, depth_at = _packing(reps, n)
    kind = np.int32 if depth_at + int(n).bit_length() < 31 else np.int64
    slots = np.tile(np.arange(n, dtype=kind), reps)
    last = slots << row_bits
    last += np.arange(reps, dtype=kind).repeat(n) * n + slots
    return kind, row_bits, depth_at, last


def _packing(reps: int, n: int) -> tuple[int, int]:
    """Bits of a table row (< 2·R·n) and where the depth starts (after the ancestor slot, < n)."""
    row_bits = int(2 * reps * n - 1).bit_length()
    return row_bits, row_bits + int(n - 1).bit_length()


def unpack(last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(row, ancestor)` of `replay_events`' packed `last` `[R, n]`."""
    row_bits, depth_at = _packing(*last.shape)
    return last & ((1 << row_bits) - 1), (last >> row_bits) & ((1 << (depth_at - row_bits)) - 1)


def _each_replicate(
    rule: str, reps: int, n: int, rng: np.random.Generator, entry: np.ndarray, fitness: np.ndarray | None
) -> np.ndarray:
    """A generational rule with no batched form here: the engine's own rule (`selection.RULES`),
    one replicate at a time, so a new rule needs no second implementation before its null runs."""
    ones = np.ones(n)
    draws = [RULES[rule](ones if fitness is None else fitness[r], entry[r], rng, None) for r in range(reps)]
    if any(len(source) != n or not np.array_equal(final, n + np.arange(n)) for source, final in draws):
        raise ValueError(
            f"selection kind {rule!r} is not generational: the null replays only generational rules"
        )
    return np.stack([source for source, _ in draws])
