"""The commons' rollout as one compiled loop (numba), chosen by `PURITY_BACKEND=numba`.

One episode at a time, its state in a few scalars and short arrays that stay in cache, no
temporaries per step: about what this machine can do single-threaded with these rules
(BENCHMARKS.md). Every sum and product is taken in the order `CommonsArena` takes it, and the
regrowth shock `exp(noise ε − noise²/2)` is numpy's own exp, computed once for all steps before the
loop (LLVM's exp differs from numpy's in the last bit), so the trace equals the numpy core's bit for
bit; tests/arenas/test_commons_compiled.py holds it there. Needs numba (`pip install numba`, or the
`bench` extra); nothing imports this module unless the backend is chosen. The commons only: its
variants (sanctions) keep the numpy core.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from purity.arenas.core import Noise, Trace


def _ratio(num: float, den: float) -> float:
    big = den if den > num else num
    return num / big if big > 0 else 1.0


def _first_max(store, skip: int) -> int:
    """Index of the largest store but `skip` (-1: none), ties to the lowest index; as the core,
    the skipped agent counts as a store of -1."""
    best, index = -1.0 if skip == 0 else store[0], 0
    for i in range(1, store.shape[0]):
        value = -1.0 if i == skip else store[i]
        if value > best:
            best, index = value, i
    return index


def _harvest(stock, store, helper, effort, share, max_harvest, got, events):
    """Phase 2: requests, squeeze, stores and overuse; returns the new stock."""
    n = store.shape[0]
    for i in range(n):
        got[i] = effort[i] * max_harvest * share
        got[n + i] = effort[i] * helper[i] * max_harvest * share
    total = got[0]
    for j in range(1, 2 * n):
        total += got[j]
    if total > stock:
        scale = _ratio(stock, total)
        for j in range(2 * n):
            got[j] *= scale
        stock = 0.0
    else:
        stock = stock - total
    for i in range(n):
        store[i] = store[i] + got[i] + got[n + i]
    for j in range(2 * n):
        over = got[j] - share
        events[j, 1] += over if over > 0.0 else 0.0
    return stock


def _take(store, helper, take, helper_take, take_rate, may_exceed, moved, owner, events, opportunities):
    """Phase 3 on `store` (in place): every owner takes from the richest other agent."""
    n = store.shape[0]
    top = _first_max(store, -1)
    second = _first_max(store, top)
    for i in range(n):
        victim = store[second] if i == top else store[top]
        if victim > 0:
            opportunities[i, 0] += 1.0
        moved[i] = take[i] * take_rate * victim
        moved[n + i] = helper_take[i] * helper[i] * take_rate * victim
        owner[i] = moved[i] + moved[n + i]
    if may_exceed:
        total = owner[0]
        for i in range(1, n):
            total += owner[i]
        for_top = _ratio(store[second], owner[top])
        for_others = _ratio(store[top], total - owner[top])
        for i in range(n):
            scale = for_top if i == top else for_others
            moved[i] *= scale
            moved[n + i] *= scale
            owner[i] = moved[i] + moved[n + i]
    total = owner[0]
    for i in range(1, n):
        total += owner[i]
    from_second = owner[top]
    from_top = total - from_second
    for i in range(n):
        store[i] = store[i] + owner[i]
    store[top] -= from_top
    store[second] -= from_second
    for j in range(2 * n):
        events[j, 0] += moved[j]
    if may_exceed:
        for i in range(n):
            store[i] = max(store[i], 0.0)


def _episodes(policy, shock, rows, constants, may_exceed, fitness, events, opportunities, series):
    """Play every episode b of `policy` [B, n, 5] with the regrowth factors `shock[rows[b]]` (`shock`
    [U, T]; episodes may share a row) into the outputs."""
    regrowth, capacity, initial, endowment, max_harvest, take_rate, cost, share = constants
    batch, n, steps = policy.shape[0], policy.shape[1], shock.shape[1]
    store, helper, effort = np.empty(n), np.empty(n), np.empty(n)
    got, moved, owner = np.empty(2 * n), np.empty(2 * n), np.empty(n)
    for b in range(batch):
        stock = initial * capacity
        store[:] = endowment
        helper[:] = 0.0
        series[b, 0] = stock / capacity
        for t in range(steps):
            for i in range(n):  # 1. build; the policy's harvest effort
                effort[i] = policy[b, i, 0] if series[b, t] > policy[b, i, 1] else 0.0
                if helper[i] == 0.0 and store[i] >= cost:
                    opportunities[b, i, 2] += 1.0
                    if policy[b, i, 3] > 0.5:
                        helper[i] = 1.0
                        store[i] = store[i] - cost
                        events[b, i, 2] += 1.0
                if stock > 0:
                    opportunities[b, i, 1] += 1.0
            stock = _harvest(stock, store, helper, effort, share, max_harvest, got, events[b])
            if n > 1:
                _take(
                    store,
                    helper,
                    policy[b, :, 2],
                    policy[b, :, 4],
                    take_rate,
                    may_exceed,
                    moved,
                    owner,
                    events[b],
                    opportunities[b],
                )
            growth = regrowth * stock  # 4. regrowth
            growth *= 1.0 - stock / capacity
            growth *= shock[rows[b], t]
            stock = min(max(stock + growth, 0.0), capacity)
            series[b, t + 1] = stock / capacity
        fitness[b] = store


_FLAGS = {"cache": True, "error_model": "numpy"}
_ratio = njit(inline="always", **_FLAGS)(_ratio)
_first_max = njit(inline="always", **_FLAGS)(_first_max)
_harvest = njit(inline="always", **_FLAGS)(_harvest)
_take = njit(inline="always", **_FLAGS)(_take)
_episodes = njit(nogil=True, **_FLAGS)(_episodes)  # runs of an in-process sweep overlap


def shock(noise_sd: float, eps: np.ndarray) -> np.ndarray:
    """The regrowth factors `[B, T]`, computed as `CommonsArena._advance` computes them per step."""
    return np.exp(noise_sd * eps - 0.5 * noise_sd * noise_sd)


def rollout(
    arena,
    policy: np.ndarray,
    noise: Noise,
    steps: int,
    factors: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> Trace:
    """`CommonsArena.rollout` of `policy` [B, n, 5] for `steps` steps, compiled. `factors` [B, steps]
    replaces numpy's regrowth factors (bench/fused_commons.py passes LLVM's). `rows` [B]: the noise
    row of each episode (None: its own); the factors are computed once per row and read through
    `rows` (exp is elementwise, so this equals computing them on gathered noise)."""
    p = arena.params
    batch, n, kinds = policy.shape[0], arena.n_agents, len(arena.event_kinds)
    factors = np.ascontiguousarray(
        shock(p.noise, noise["regrowth"][:, :steps]) if factors is None else factors
    )
    own = np.arange(batch) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    constants = (
        p.regrowth,
        arena.capacity,
        p.initial_stock,
        p.endowment,
        p.max_harvest,
        p.take_rate,
        p.helper_cost,
        arena.share,
    )
    fitness = np.empty((batch, n))
    events = np.zeros((batch, 2 * n, kinds))
    opportunities = np.zeros((batch, n, kinds))
    series = np.empty((batch, steps + 1))
    _episodes(
        np.ascontiguousarray(policy, dtype=np.float64),
        factors,
        own,
        constants,
        2 * (n - 1) * p.take_rate > 1,
        fitness,
        events,
        opportunities,
        series,
    )
    return Trace(
        kinds=arena.event_kinds,
        fitness=fitness,
        events=events,
        opportunities=opportunities,
        series={"commons": series},
        watched=arena.watched(noise) if rows is None else arena.watched(noise)[rows],
    )
