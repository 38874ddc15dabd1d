"""Many random streams at once, each the one `np.random.SeedSequence` would seed.

A run builds one generator per (generation, group, purpose): tens of thousands a default run.
numpy hashes each key in `SeedSequence` and `generate_state` at about 18 µs a generator (much of
it in the `np.errstate` that decorates `generate_state`). The hash is data-independent in its
constants, so it runs here over every group of a call at once, on uint32 arrays; each generator
is then a PCG64 given its state words. The words, hence every draw, are numpy's: a test holds them
equal, state for state, over seeds of one to five words and key parts of one and two words (the
groups, the part that varies, below 2**32).

The algorithm is numpy's SeedSequence (numpy/random/bit_generator.pyx, itself after M. E. O'Neill's
seed_seq_fe, 2015): a pool of 4 words mixed with the run's and the spawn key's 32-bit words.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.random.bit_generator import ISeedSequence

POOL = 4
INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
MIX_L, MIX_R = 0xCA01F9DD, 0x4973F715
MASK = 0xFFFFFFFF
WORD = 1 << 32


def _hashed(value, const: int) -> tuple[int, int]:
    """numpy's `hashmix` of one int word: the word hashed, and the running constant after it."""
    value ^= const
    const = (const * MULT_A) & MASK
    value = (value * const) & MASK
    return value ^ (value >> 16), const


def _hashed_by(values: np.ndarray, xor: np.ndarray, times: np.ndarray) -> np.ndarray:
    """numpy's `hashmix` of uint32 `values` [K] under each row of constants (`_steps`): [rows, K]."""
    out = (values ^ xor) * times
    return out ^ (out >> 16)


def _mixed(x, y):
    """numpy's `mix`, on ints (masked to 32 bits) or uint32 arrays (wrapping)."""
    result = (MIX_L * x - MIX_R * y) & MASK
    return result ^ (result >> 16)


def words(value: int) -> list[int]:
    """The little-endian 32-bit words numpy reads a non-negative int as ([0] for 0)."""
    if value < 0:
        raise ValueError(f"a seed or key is a non-negative integer, not {value}")
    out = [value & MASK]
    value >>= 32
    while value:
        out.append(value & MASK)
        value >>= 32
    return out


@lru_cache(maxsize=64)
def _steps(const: int, mult: int, count: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The next `count` hashes' constants from `const` (each XORs with one, multiplies by the
    next): [count, 1] uint32 each, and the constant after them."""
    steps = [const]
    for _ in range(count):
        steps.append((steps[-1] * mult) & MASK)
    xor, times = (np.array(part, dtype=np.uint32)[:, None] for part in (steps[:-1], steps[1:]))
    return xor, times, steps[-1]


@lru_cache(maxsize=64)
def _pool(entropy: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """The pool after the words before the varying one (ints), and the running hash constant:
    the same for every group of a generation and purpose, so kept for the next call."""
    const = INIT_A
    pool = []
    for word in entropy[:POOL]:
        value, const = _hashed(word, const)
        pool.append(value)
    for src in range(POOL):
        for dst in range(POOL):
            if src != dst:
                value, const = _hashed(pool[src], const)
                pool[dst] = _mixed(pool[dst], value)
    for word in entropy[POOL:]:
        for dst in range(POOL):
            value, const = _hashed(word, const)
            pool[dst] = _mixed(pool[dst], value)
    return tuple(pool), const


def states(seed: int, key: tuple) -> np.ndarray:
    """[K, 4] uint64: `SeedSequence(seed, spawn_key=k).generate_state(4, np.uint64)` for each key
    k of `key`, whose parts are ints but one, an array [K] of ints below 2**32: the K keys. The
    words before that part are the same for every key and hashed once, as ints; from it on, the
    four pool words of every key are one [4, K] array (each word mixes into the four apart)."""
    (at,) = [k for k, part in enumerate(key) if np.ndim(part)]
    run = words(int(seed))
    before = run + [0] * (POOL - len(run)) + [w for part in key[:at] for w in words(int(part))]
    pool, const = _pool(tuple(before))
    after = [np.asarray(key[at], dtype=np.uint32)] + [w for part in key[at + 1 :] for w in words(int(part))]
    lanes = np.array(pool, dtype=np.uint32)[:, None]
    for word in after:
        xor, times, const = _steps(const, MULT_A, POOL)
        lanes = _mixed(lanes, _hashed_by(np.asarray(word, dtype=np.uint32), xor, times))
    out = _hashed_by(lanes[np.arange(2 * POOL) % POOL], *_steps(INIT_B, MULT_B, 2 * POOL)[:2])
    return np.ascontiguousarray(out.T).astype("<u4").view("<u8").astype(np.uint64)


class _Given(ISeedSequence):
    """A seed sequence whose state words were computed already: what PCG64 asks of one."""

    def __init__(self, state: np.ndarray) -> None:
        self.state = state

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words != len(self.state) or np.dtype(dtype) != self.state.dtype:
            raise ValueError("this seed sequence holds the 4 uint64 words PCG64 asks for, nothing else")
        return self.state


def generators(seed: int, key: tuple) -> list[np.random.Generator]:
    """One PCG64 generator per key of `key` (as `states` reads it), each seeded as
    `np.random.default_rng(np.random.SeedSequence(seed, spawn_key=k))` seeds it."""
    varying = [np.asarray(part, dtype=np.int64).reshape(-1) for part in key if np.ndim(part)]
    if any(part.size and (part.min() < 0 or part.max() >= WORD) for part in varying):
        raise ValueError("the varying part of a key holds non-negative integers below 2**32")
    if not varying[0].size:
        return []
    return [np.random.Generator(np.random.PCG64(_Given(row))) for row in states(seed, key)]
