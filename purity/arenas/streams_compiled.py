"""`Streams` compiled: numpy's PCG64 and its normal and uniform draws over an array of states.

Each stream is four uint64 words: the 128-bit LCG state (high, low) and increment (high, low).
A draw steps the state (times PCG64's multiplier, plus the increment, modulo 2**128, in 64-bit
halves) and outputs XSL-RR, as numpy's PCG64 does (O'Neill, "PCG: a family of simple fast
space-efficient statistically good algorithms for random number generation", 2014). Doubles are
the top 53 bits over 2**53; normals are numpy's 256-step ziggurat with its tables (as numba
ships them, `numba.np.random._constants`), including the rare tail and wedge paths, whose
`log1p` and `exp` are the C library's, as in numpy's C. Seeding from `SeedSequence` state words
is PCG64's `srandom`. tests/arenas/test_streams.py holds every value, and the state after, to
numpy's generators. Nothing imports this module unless the compiled backend is chosen.

The uniform draw `low + span × u` and the ziggurat's wedge test are a multiply and an add, each
rounded. A compiler may fuse such a pair into one multiply-add, rounded once; numpy's C is so
compiled in some builds (its macOS arm64 wheels), and there about one uniform draw in eight
differs in its last bit. `matches_numpy` checks, once a process, that numpy's own draws here are
these kernels'; where they are not, `purity.tournament.play.together` draws through numpy's
generators instead, so a run's tables never depend on the backend.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

from purity.arenas.streams import GeneratorStreams

MULTIPLIER_HIGH, MULTIPLIER_LOW = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)
LOW32, SHIFT32 = np.uint64(0xFFFFFFFF), np.uint64(32)
KI, WI, FI = ki_double.astype(np.uint64), wi_double.astype(np.float64), fi_double.astype(np.float64)
TAIL, INVERSE_TAIL = float(ziggurat_nor_r), float(ziggurat_nor_inv_r)


@njit(inline="always")
def _high_product(a, b):
    """The high 64 bits of the 128-bit product of two uint64."""
    a0, a1, b0, b1 = a & LOW32, a >> SHIFT32, b & LOW32, b >> SHIFT32
    low, cross1, cross2 = a0 * b0, a0 * b1, a1 * b0
    middle = (low >> SHIFT32) + (cross1 & LOW32) + (cross2 & LOW32)
    return a1 * b1 + (cross1 >> SHIFT32) + (cross2 >> SHIFT32) + (middle >> SHIFT32)


@njit(inline="always")
def _step(high, low, inc_high, inc_low):
    """state × multiplier + increment (mod 2**128): the new (high, low)."""
    new_low = low * MULTIPLIER_LOW + inc_low
    carry = np.uint64(1) if new_low < inc_low else np.uint64(0)
    new_high = (
        _high_product(low, MULTIPLIER_LOW) + high * MULTIPLIER_LOW + low * MULTIPLIER_HIGH + inc_high + carry
    )
    return new_high, new_low


@njit(inline="always")
def _next64(high, low, inc_high, inc_low):
    """The next output and the state after it: the state is stepped, then output (XSL-RR)."""
    high, low = _step(high, low, inc_high, inc_low)
    mixed, rotation = high ^ low, high >> np.uint64(58)
    return (mixed >> rotation) | (mixed << ((np.uint64(64) - rotation) & np.uint64(63))), high, low


@njit(inline="always")
def _double(high, low, inc_high, inc_low):
    bits, high, low = _next64(high, low, inc_high, inc_low)
    return np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0), high, low


@njit(inline="always")
def _normal(high, low, inc_high, inc_low):
    while True:
        r, high, low = _next64(high, low, inc_high, inc_low)
        idx = np.int64(r & np.uint64(0xFF))
        r >>= np.uint64(8)
        magnitude = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        x = np.float64(magnitude) * WI[idx]
        if r & np.uint64(1):
            x = -x
        if magnitude < KI[idx]:
            return x, high, low
        if idx == 0:  # the tail beyond the last layer
            while True:
                u, high, low = _double(high, low, inc_high, inc_low)
                xx = -INVERSE_TAIL * np.log1p(-u)
                u, high, low = _double(high, low, inc_high, inc_low)
                yy = -np.log1p(-u)
                if yy + yy > xx * xx:
                    if (magnitude >> np.uint64(8)) & np.uint64(1):
                        return -(TAIL + xx), high, low
                    return TAIL + xx, high, low
        else:
            u, high, low = _double(high, low, inc_high, inc_low)
            if (FI[idx - 1] - FI[idx]) * u + FI[idx] < np.exp(-0.5 * x * x):
                return x, high, low


@njit(cache=True)
def _seeded(words):
    """PCG64's state from SeedSequence words [K, 4] (state high, low, increment high, low)."""
    out = np.empty_like(words)
    for k in range(words.shape[0]):
        inc_high = (words[k, 2] << np.uint64(1)) | (words[k, 3] >> np.uint64(63))
        inc_low = (words[k, 3] << np.uint64(1)) | np.uint64(1)
        high, low = _step(np.uint64(0), np.uint64(0), inc_high, inc_low)
        added = low + words[k, 1]
        high, low = high + words[k, 0] + (np.uint64(1) if added < low else np.uint64(0)), added
        high, low = _step(high, low, inc_high, inc_low)
        out[k, 0], out[k, 1], out[k, 2], out[k, 3] = high, low, inc_high, inc_low
    return out


@njit(cache=True)
def _normals(states, rows, out):
    for i in range(rows.shape[0]):
        k = rows[i]
        high, low, inc_high, inc_low = states[k, 0], states[k, 1], states[k, 2], states[k, 3]
        for j in range(out.shape[1]):
            out[i, j], high, low = _normal(high, low, inc_high, inc_low)
        states[k, 0], states[k, 1] = high, low


@njit(cache=True)
def _uniforms(states, rows, low_end, span, out):
    for i in range(rows.shape[0]):
        k = rows[i]
        high, low, inc_high, inc_low = states[k, 0], states[k, 1], states[k, 2], states[k, 3]
        for j in range(out.shape[1]):
            u, high, low = _double(high, low, inc_high, inc_low)
            out[i, j] = low_end + span * u
        states[k, 0], states[k, 1] = high, low


def agrees_with(generators: list[np.random.Generator], words: np.ndarray) -> bool:
    """Whether these kernels, started from the SeedSequence `words` [K, 4] that started
    `generators`, draw what they draw: uniforms, whose last bit shows a fused multiply-add in
    about one draw in eight, and normals."""
    compiled, reference = CompiledStreams.seeded(words), GeneratorStreams(generators)
    return all(
        getattr(compiled, name)(*args).tobytes() == getattr(reference, name)(*args).tobytes()
        for name, args in (
            ("uniform", (-0.25, 1.25, (512,))),
            ("standard_normal", ((512,),)),
            ("random", ((64,),)),
        )
    )


@functools.cache
def matches_numpy() -> bool:
    """`agrees_with` numpy's generators in this process, checked once (about a millisecond)."""
    sequences = [np.random.SeedSequence(1234, spawn_key=(k,)) for k in range(8)]
    words = np.stack([sequence.generate_state(4, np.uint64) for sequence in sequences])
    return agrees_with([np.random.Generator(np.random.PCG64(sequence)) for sequence in sequences], words)


class CompiledStreams:
    """`Streams` over PCG64 states [K, 4] uint64, shared by every subset of them."""

    def __init__(self, states: np.ndarray, rows: np.ndarray | None = None):
        self.states = states
        self.rows = np.arange(len(states)) if rows is None else rows

    @classmethod
    def seeded(cls, words: np.ndarray) -> CompiledStreams:
        """The streams `np.random.PCG64(SeedSequence)` would start, from each's `generate_state(4,
        np.uint64)` words [K, 4] (`purity.tournament.seeding.states`)."""
        return cls(_seeded(np.ascontiguousarray(words, dtype=np.uint64)))

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, which: np.ndarray) -> CompiledStreams:
        return CompiledStreams(self.states, self.rows[np.asarray(which, dtype=np.int64)])

    def _out(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty((len(self.rows), math.prod(shape)))

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        out = self._out(shape)
        _normals(self.states, self.rows, out)
        return out.reshape(len(self.rows), *shape)

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        out = self._out(shape)
        _uniforms(self.states, self.rows, float(low), float(high) - float(low), out)
        return out.reshape(len(self.rows), *shape)

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        out = self._out(shape)
        _uniforms(self.states, self.rows, 0.0, 1.0, out)  # 0 + 1 × u is u, bit for bit
        return out.reshape(len(self.rows), *shape)
