"""Selection numbers: Moran and Wright–Fisher fixation probabilities, fitness maps."""

from __future__ import annotations

import numpy as np
import pytest

from tournament import selection
from tournament.selection import (
    Births,
    fitness_from_payoff,
    moran_birth_death,
    neutral,
    wright_fisher,
)


# ---------------------------------------------------------------- fitness_from_payoff


def test_linear_fitness_values() -> None:
    fit = fitness_from_payoff(np.array([0.0, 1.0, 2.0]), 0.5)
    np.testing.assert_allclose(fit, [0.5, 1.0, 1.5])


def test_linear_fitness_keeps_shape() -> None:
    fit = fitness_from_payoff(np.array([[0.0, 4.0], [2.0, 1.0]]), 0.25)
    np.testing.assert_allclose(fit, [[0.75, 1.75], [1.25, 1.0]])


def test_linear_fitness_clips_at_zero() -> None:
    fit = fitness_from_payoff(np.array([-5.0, 0.0, 3.0]), 0.5)
    np.testing.assert_allclose(fit, [0.0, 0.5, 2.0])
    assert (fit >= 0).all()


def test_all_zero_fitness_becomes_uniform() -> None:
    fit = fitness_from_payoff(np.array([-10.0, -3.0, -4.0]), 0.5)
    np.testing.assert_array_equal(fit, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("rule", ["linear", "exponential"])
def test_zero_intensity_is_neutral(rule: str) -> None:
    payoff = np.array([-1e6, 0.0, 3.0, 1e6])
    np.testing.assert_array_equal(fitness_from_payoff(payoff, 0.0, rule), np.ones(4))


def test_exponential_fitness_ratios() -> None:
    fit = fitness_from_payoff(np.array([0.0, 1.0, 2.0]), 0.7, "exponential")
    np.testing.assert_allclose(fit / fit[0], np.exp(0.7 * np.array([0.0, 1.0, 2.0])))


def test_exponential_fitness_is_stable_for_large_payoffs() -> None:
    payoff = np.array([1000.0, 1001.0, -1000.0, 5000.0, 5002.0])
    with np.errstate(all="raise"):
        fit = fitness_from_payoff(payoff, 1.0, "exponential")
    assert np.isfinite(fit).all()
    assert fit[4] == 1.0
    np.testing.assert_allclose(fit[3] / fit[4], np.exp(-2.0))
    assert fit[2] == 0.0 and fit[0] == 0.0  # underflow to zero weight, not NaN


def test_fitness_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="rule"):
        fitness_from_payoff(np.ones(3), 0.1, "quadratic")
    with pytest.raises(ValueError, match="intensity"):
        fitness_from_payoff(np.ones(3), -0.1)
    with pytest.raises(ValueError, match="finite"):
        fitness_from_payoff(np.array([1.0, np.nan]), 0.1)


# ---------------------------------------------------------------- Moran


def _moran_fixation(r: float, n: int, trials: int, seed: int) -> float:
    """Share of runs in which one mutant of relative fitness r takes over (real sampler)."""
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(trials):
        types = [True] + [False] * (n - 1)
        count = 1
        while 0 < count < n:
            births = moran_birth_death(np.where(types, r, 1.0), rng, 32)
            for p, d in zip(births.parent_slot.tolist(), births.dead_slot.tolist()):
                types[d] = types[p]
            count = sum(types)
        wins += count == n
    return wins / trials


@pytest.fixture(params=["rejection", "cumsum"])
def moran_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both exact parent samplers."""
    if request.param == "cumsum":
        monkeypatch.setattr(selection, "_MIN_ACCEPTANCE", 2.0)
    return request.param


@pytest.mark.parametrize("r", [1.5, 1.0, 0.8])
def test_moran_fixation_probability(r: float, moran_path: str) -> None:
    n, trials = 8, 3000
    expected = 1.0 / n if r == 1.0 else (1 - 1 / r) / (1 - r ** (-n))
    observed = _moran_fixation(r, n, trials, seed=int(r * 100) + len(moran_path))
    se = np.sqrt(expected * (1 - expected) / trials)
    assert abs(observed - expected) < 4 * se, (r, observed, expected)


def test_moran_first_parent_proportional_to_fitness(moran_path: str) -> None:
    fitness = np.array([1.0, 2.0, 3.0, 0.0, 4.0, 40.0])
    rng = np.random.default_rng(3)
    trials = 10000
    first = np.array([moran_birth_death(fitness, rng, 1).parent_slot[0] for _ in range(trials)])
    counts = np.bincount(first, minlength=fitness.size)
    p = fitness / fitness.sum()
    assert counts[3] == 0
    se = np.sqrt(trials * p * (1 - p))
    assert (np.abs(counts - trials * p) < 4 * se + 1e-9).all(), counts


@pytest.mark.parametrize("n", [4, 40])
def test_moran_offspring_carry_parent_fitness(n: int) -> None:
    """Only slot 0 can reproduce at first; a parent must always be a copy of it."""
    fitness = np.zeros(n)
    fitness[0] = 1.0
    births = moran_birth_death(fitness, np.random.default_rng(5), 500)
    alive = np.zeros(n, dtype=bool)
    alive[0] = True
    for p, d in zip(births.parent_slot, births.dead_slot):
        assert alive[p]
        alive[d] = alive[p]
    # Dead slots are uniform, so copies spread: later parents are not all slot 0.
    assert len(set(births.parent_slot.tolist())) > 1


def test_moran_switches_sampler_when_fit_types_die_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejection starts (mean/max 0.625 >= 0.6) and hands over once the 4s are gone (0.25).

    After the hand-over every slot has fitness 1, so parents must be uniform over slots.
    """
    switched: list[int] = []
    real = selection._moran_cumsum

    def spy(f, dead, out, rng):  # type: ignore[no-untyped-def]
        switched.append(len(dead))
        return real(f, dead, out, rng)

    monkeypatch.setattr(selection, "_MIN_ACCEPTANCE", 0.6)
    monkeypatch.setattr(selection, "_moran_cumsum", spy)
    fitness = np.array([4.0, 4.0, 1.0, 1.0])
    late = np.zeros(4)
    for seed in range(300):
        births = moran_birth_death(fitness, np.random.default_rng(seed), 300)
        assert ((births.parent_slot >= 0) & (births.parent_slot < 4)).all()
        cur = fitness.copy()
        for p, d in zip(births.parent_slot.tolist(), births.dead_slot.tolist()):
            if cur.max() == 1.0:
                late[p] += 1
            cur[d] = cur[p]
    assert len(switched) >= 5 and all(0 < k < 300 for k in switched)
    total = late.sum()
    assert total > 1000
    assert (np.abs(late - total / 4) < 4 * np.sqrt(total * 0.25 * 0.75)).all(), late


def test_moran_shapes_determinism_and_input_untouched() -> None:
    fitness = np.array([1.0, 2.0, 3.0])
    keep = fitness.copy()
    a = moran_birth_death(fitness, np.random.default_rng(9), 50)
    b = moran_birth_death(fitness, np.random.default_rng(9), 50)
    assert isinstance(a, Births) and len(a) == 50
    assert a.parent_slot.shape == a.dead_slot.shape == (50,)
    np.testing.assert_array_equal(a.parent_slot, b.parent_slot)
    np.testing.assert_array_equal(a.dead_slot, b.dead_slot)
    np.testing.assert_array_equal(fitness, keep)
    assert len(moran_birth_death(fitness, np.random.default_rng(9), 0)) == 0
    zero = moran_birth_death(np.zeros(3), np.random.default_rng(9), 10)
    assert ((zero.parent_slot >= 0) & (zero.parent_slot < 3)).all()


def test_moran_dead_slots_uniform() -> None:
    births = moran_birth_death(np.array([1.0, 5.0, 1.0, 1.0]), np.random.default_rng(2), 40000)
    counts = np.bincount(births.dead_slot, minlength=4)
    assert (np.abs(counts - 10000) < 4 * np.sqrt(40000 * 0.25 * 0.75)).all()


def test_moran_rejects_bad_fitness() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        moran_birth_death(np.array([1.0, -1.0]), rng, 3)
    with pytest.raises(ValueError):
        moran_birth_death(np.array([1.0, np.inf]), rng, 3)


# ---------------------------------------------------------------- Wright–Fisher / neutral


def test_wright_fisher_neutral_fixation() -> None:
    n, trials = 8, 3000
    rng = np.random.default_rng(11)
    ones = np.ones(n)
    wins = 0
    for _ in range(trials):
        types = np.zeros(n, dtype=bool)
        types[0] = True
        while 0 < types.sum() < n:
            types = types[wright_fisher(ones, rng)]
        wins += bool(types.all())
    se = np.sqrt((1 / n) * (1 - 1 / n) / trials)
    assert abs(wins / trials - 1 / n) < 4 * se


def test_wright_fisher_expected_share_is_fitness_weighted() -> None:
    n, k, r = 10, 3, 2.0
    types = np.arange(n) < k
    fitness = np.where(types, r, 1.0)
    expected = k * r / (k * r + (n - k))  # 6/13, not the unweighted 3/10
    rng = np.random.default_rng(12)
    draws = 20000
    shares = np.array([types[wright_fisher(fitness, rng)].mean() for _ in range(draws)])
    se = np.sqrt(expected * (1 - expected) / (n * draws))
    assert abs(shares.mean() - expected) < 4 * se
    # Variance of one generation's share is binomial: p(1-p)/n.
    np.testing.assert_allclose(shares.var(), expected * (1 - expected) / n, rtol=0.05)


def test_wright_fisher_size_zero_fitness_and_determinism() -> None:
    fitness = np.array([0.0, 1.0, 0.0, 3.0, 0.0])
    a = wright_fisher(fitness, np.random.default_rng(1), n=5000)
    b = wright_fisher(fitness, np.random.default_rng(1), n=5000)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5000,)
    assert set(np.unique(a).tolist()) == {1, 3}
    assert abs((a == 3).mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 5000)
    assert not (np.diff(a) >= 0).all()  # draw order, not sorted
    assert wright_fisher(fitness, np.random.default_rng(1)).shape == (5,)
    uniform = wright_fisher(np.zeros(4), np.random.default_rng(1), n=100)
    assert ((uniform >= 0) & (uniform < 4)).all()


def test_neutral_is_uniform() -> None:
    rng = np.random.default_rng(13)
    n = 10
    counts = np.zeros(n)
    for _ in range(5000):
        parents = neutral(n, rng)
        assert parents.shape == (n,)
        counts += np.bincount(parents, minlength=n)
    total = 5000 * n
    assert (np.abs(counts - total / n) < 4 * np.sqrt(total * 0.1 * 0.9)).all()
    assert neutral(0, rng).shape == (0,)
