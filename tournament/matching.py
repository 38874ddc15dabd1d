"""Matching: which agents play together in a generation (DESIGN §4, step 1)."""

from __future__ import annotations

import numpy as np

__all__ = ["well_mixed"]


def well_mixed(n_agents: int, group_size: int, rng: np.random.Generator) -> np.ndarray:
    """Random groups: a permutation of the ``n_agents`` slots cut into rows of ``group_size``.

    Every agent plays exactly once and any two agents are equally likely to meet, which is
    the no-structure baseline against which graph and assortative matching are compared.
    Returns an int64 array of shape ``[n_agents // group_size, group_size]``.
    """
    n_agents = int(n_agents)
    group_size = int(group_size)
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    if n_agents < 0 or n_agents % group_size:
        raise ValueError(
            f"n_agents ({n_agents}) must be a non-negative multiple of group_size ({group_size})"
        )
    return rng.permutation(n_agents).astype(np.int64).reshape(-1, group_size)
