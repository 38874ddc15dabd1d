"""Well-mixed matching: a partition of the population into random groups."""

from __future__ import annotations

import numpy as np
import pytest

from tournament.matching import well_mixed


def test_every_slot_exactly_once() -> None:
    groups = well_mixed(24, 4, np.random.default_rng(0))
    assert groups.shape == (6, 4)
    assert groups.dtype == np.int64
    np.testing.assert_array_equal(np.sort(groups.ravel()), np.arange(24))


def test_group_size_one_and_whole_population() -> None:
    assert well_mixed(5, 1, np.random.default_rng(0)).shape == (5, 1)
    whole = well_mixed(6, 6, np.random.default_rng(0))
    assert whole.shape == (1, 6)
    assert sorted(whole[0].tolist()) == list(range(6))


@pytest.mark.parametrize("n_agents, group_size", [(10, 4), (7, 2), (5, 0), (-2, 2)])
def test_bad_sizes_raise(n_agents: int, group_size: int) -> None:
    with pytest.raises(ValueError):
        well_mixed(n_agents, group_size, np.random.default_rng(0))


def test_deterministic_per_seed_and_varies_across_seeds() -> None:
    a = well_mixed(30, 3, np.random.default_rng(42))
    b = well_mixed(30, 3, np.random.default_rng(42))
    c = well_mixed(30, 3, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pairs_meet_uniformly() -> None:
    """Well-mixed means any two agents share a group equally often: (g-1)/(n-1) per generation."""
    n, g, reps = 8, 2, 7000
    rng = np.random.default_rng(7)
    meet = np.zeros((n, n))
    for _ in range(reps):
        groups = well_mixed(n, g, rng)
        meet[groups[:, 0], groups[:, 1]] += 1
    meet = meet + meet.T
    p = (g - 1) / (n - 1)
    off = meet[~np.eye(n, dtype=bool)]
    assert (np.abs(off - reps * p) < 4 * np.sqrt(reps * p * (1 - p))).all()
    assert (np.diag(meet) == 0).all()
