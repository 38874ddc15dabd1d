"""The commons' rules as one fused, compiled, single-thread loop (numba): the reference for how far
the numpy core is from what this machine can do with the same rules.

It is the compiled backend's loop (`purity.arenas.commons_compiled`, one episode at a time, no
temporaries per step) with LLVM's exp for the regrowth shock, like `math.exp`: so it equals the
plain-Python env bit for bit, and the numpy core within the shock's last bit
(tests/bench/test_fused_commons.py). The backend itself takes numpy's exp and equals the core bit
for bit (tests/arenas/test_commons_compiled.py). It needs numba (the `bench` or `compiled` extra).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from purity.arenas.commons import CommonsArena
from purity.arenas.core import Noise, Trace


def _factors(eps: np.ndarray, sd: float) -> np.ndarray:
    """The regrowth factors `exp(sd ε − sd²/2)` with LLVM's (libm's) exp, as the plain env."""
    out = np.empty_like(eps)
    half_variance = 0.5 * sd * sd
    for b in range(eps.shape[0]):
        for t in range(eps.shape[1]):
            out[b, t] = math.exp(sd * eps[b, t] - half_variance)
    return out


_factors = njit(cache=True, error_model="numpy")(_factors)


class FusedCommons:
    """`CommonsArena.rollout` as one compiled loop, for the arena's agents, steps and parameters."""

    def __init__(self, arena: CommonsArena):
        if type(arena) is not CommonsArena:
            raise TypeError(f"the fused loop plays the commons only, not {type(arena).__name__}")
        self.arena = arena

    def rollout(self, policy: np.ndarray, noise: Noise) -> Trace:
        from purity.arenas import commons_compiled

        arena = self.arena
        eps = np.ascontiguousarray(noise["regrowth"][:, : arena.steps])
        factors = _factors(eps, arena.params.noise)
        return commons_compiled.rollout(arena, policy, noise, arena.steps, factors)
