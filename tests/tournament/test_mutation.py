"""Log-normal weight mutation: absent and hard terms stay as they are, log-weights walk unbiased;
structural mutation of all rows at once is the per-row loop of bench/mutation_speed.py, exactly."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from purity.tournament.mutation import MutationSpec, TermSpace, mutate, mutate_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.mutation_speed import SPACE, per_row  # noqa: E402


def _population(m: int) -> np.ndarray:
    row = np.array([1.0, 0.0, np.inf, 2.5, 0.3])
    return np.tile(row, (m, 1))


def test_zeros_and_infs_unchanged_and_positive() -> None:
    w = _population(2000)
    new, mutated = mutate_weights(w, np.random.default_rng(0), rate=1.0, sigma=0.5)
    assert mutated.all()
    assert (new[:, 1] == 0.0).all()
    assert np.isposinf(new[:, 2]).all()
    present = new[:, [0, 3, 4]]
    assert (present > 0).all() and np.isfinite(present).all()
    assert (present != w[:, [0, 3, 4]]).all()


def test_rate_zero_is_identity() -> None:
    w = _population(50)
    new, mutated = mutate_weights(w, np.random.default_rng(0), rate=0.0, sigma=1.0)
    np.testing.assert_array_equal(new, w)
    assert not mutated.any()
    assert new is not w


def test_input_not_modified() -> None:
    w = _population(100)
    keep = w.copy()
    mutate_weights(w, np.random.default_rng(1), rate=1.0, sigma=0.2)
    np.testing.assert_array_equal(w, keep)


def test_log_change_mean_zero_sd_sigma() -> None:
    m, sigma = 20000, 0.2
    w = _population(m)
    new, _ = mutate_weights(w, np.random.default_rng(2), rate=1.0, sigma=sigma)
    for col in (0, 3, 4):
        d = np.log(new[:, col] / w[:, col])
        assert abs(d.mean()) < 4 * sigma / np.sqrt(m)
        assert abs(d.std() - sigma) < 0.03 * sigma
    # Independent per weight, not one factor per row.
    d0 = np.log(new[:, 0] / w[:, 0])
    d3 = np.log(new[:, 3] / w[:, 3])
    assert abs(np.corrcoef(d0, d3)[0, 1]) < 4 / np.sqrt(m)


def test_rate_selects_rows() -> None:
    m, rate = 20000, 0.3
    w = _population(m)
    new, mutated = mutate_weights(w, np.random.default_rng(3), rate=rate, sigma=0.1)
    assert mutated.shape == (m,) and mutated.dtype == bool
    assert abs(mutated.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / m)
    np.testing.assert_array_equal(new[~mutated], w[~mutated])
    assert (new[mutated][:, 0] != 1.0).all()


def test_deterministic_per_seed() -> None:
    w = _population(30)
    a = mutate_weights(w, np.random.default_rng(4), 0.5, 0.1)
    b = mutate_weights(w, np.random.default_rng(4), 0.5, 0.1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("rate, sigma", [(-0.1, 0.1), (1.1, 0.1), (0.5, -1.0), (0.5, np.nan)])
def test_bad_parameters_raise(rate: float, sigma: float) -> None:
    with pytest.raises(ValueError):
        mutate_weights(_population(3), np.random.default_rng(0), rate, sigma)


def test_requires_two_dimensions() -> None:
    with pytest.raises(ValueError):
        mutate_weights(np.ones(4), np.random.default_rng(0), 0.5, 0.1)


# --- structural mutation: every row at once, as the per-row loop of bench/mutation_speed.py ----


# the same columns, one scoped constraint not a process term (structural mutation leaves it be,
# but a scope move may still take it)
SPACES = {"bench": SPACE, "mixed": dataclasses.replace(SPACE, process=SPACE.process & (np.arange(7) != 3))}


@pytest.mark.parametrize("space", list(SPACES))
@pytest.mark.parametrize("seed", range(6))
def test_structural_mutation_of_all_rows_at_once_is_the_per_row_loop(seed, space) -> None:
    terms = SPACES[space]
    rng = np.random.default_rng(seed)
    values = [0.0, 0.0, -0.0, 0.5, 1.0, -1.0, np.inf, -np.inf, np.nan]
    rows = rng.choice(values, size=(3000, len(terms.keys)))
    rates = rng.uniform(0.0, 1.0, 3) * (seed % 3 != 0) + (seed % 3 == 0)  # every event, some seeds
    spec = MutationSpec(
        rate=0.3,
        distribution=("lognormal", "gaussian")[seed % 2],
        add_rate=rates[0],
        remove_rate=rates[1],
        scope_rate=rates[2],
    )
    a, b = np.random.default_rng(100 + seed), np.random.default_rng(100 + seed)
    got, labels = mutate(rows, a, spec, terms)
    want, expected = per_row(rows, b, spec, terms)
    np.testing.assert_array_equal(got, want)
    assert labels == expected
    assert a.bit_generator.state == b.bit_generator.state
    kinds = {part.split(":")[0] for label in labels for part in label.split(";") if part}
    assert kinds == {"weights", "add", "remove", "scope"}  # every branch was taken


def test_a_space_without_scopes_moves_nothing_between_scopes() -> None:
    space = TermSpace(
        keys=("a", "b"), process=np.array([True, True]), reference=np.ones(2), siblings=((), ())
    )
    rows = np.tile([1.0, 0.0], (50, 1))
    got, labels = mutate(rows, np.random.default_rng(0), MutationSpec(rate=0.0, scope_rate=1.0), space)
    np.testing.assert_array_equal(got, rows)
    assert labels == [""] * 50


@pytest.mark.parametrize("shape", [(0, 7), (5, 0)])
def test_no_rows_or_no_columns_mutate_to_what_the_loop_gives(shape) -> None:
    spec = MutationSpec(rate=0.5, add_rate=1.0, remove_rate=1.0, scope_rate=1.0)
    space = (
        SPACE
        if shape[1]
        else TermSpace(keys=(), process=np.zeros(0, bool), reference=np.zeros(0), siblings=())
    )
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    got, labels = mutate(np.zeros(shape), a, spec, space)
    want, expected = per_row(np.zeros(shape), b, spec, space)
    assert got.shape == want.shape == shape and labels == expected
    assert a.bit_generator.state == b.bit_generator.state
