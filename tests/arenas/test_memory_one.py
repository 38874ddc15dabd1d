"""The exact chain of two memory-one strategies against closed forms of direct reciprocity."""

from __future__ import annotations

import numpy as np
import pytest

from purity.arenas import memory_one as m

GAME = m.Game()  # R=3, S=0, T=5, P=1
NAMED = m.strategies(GAME)
R, S, T, P = 3.0, 0.0, 5.0, 1.0


def test_the_library_strategies():
    assert NAMED["tft"].tolist() == [1, 1, 0, 1, 0]
    assert NAMED["wsls"].tolist() == [1, 1, 0, 0, 1]
    assert NAMED["grim"].tolist() == [1, 1, 0, 0, 0]
    assert m.generous_tit_for_tat(GAME) == pytest.approx(1 / 3)  # min(1 − 2/3, 2/4)
    # Press & Dyson's (2012) extortioner with χ = 3 in this game
    np.testing.assert_allclose(NAMED["extortioner"], [1, 11 / 13, 1 / 2, 7 / 26, 0], atol=1e-15)


@pytest.mark.parametrize("delta", [0.2, 0.5, 0.9, 0.99])
def test_tft_against_alld_in_closed_form(delta):
    """ALLD against TFT: T once, then P; TFT: S once, then P; L = 1/(1 − δ) rounds on average."""
    rounds = 1 / (1 - delta)
    tft, alld = m.payoffs(NAMED["tft"], NAMED["alld"], GAME, delta)
    assert tft == pytest.approx(S + P * (rounds - 1), rel=1e-12)
    assert alld == pytest.approx(T + P * (rounds - 1), rel=1e-12)
    both, _ = m.payoffs(NAMED["tft"], NAMED["tft"], GAME, delta)
    assert both == pytest.approx(R * rounds, rel=1e-12)


@pytest.mark.parametrize("delta", [0.45, 0.49, 0.51, 0.55])
def test_the_tft_alld_threshold_is_the_payoff_comparison(delta):
    """A lone ALLD earns less against TFT than TFT earns against itself iff δ > (T − R)/(T − P)."""
    threshold = (T - R) / (T - P)
    alld, _ = m.payoffs(NAMED["alld"], NAMED["tft"], GAME, delta)
    tft, _ = m.payoffs(NAMED["tft"], NAMED["tft"], GAME, delta)
    assert (alld < tft) == (delta > threshold)
    at, _ = m.payoffs(NAMED["alld"], NAMED["tft"], GAME, threshold)
    assert at == pytest.approx(m.payoffs(NAMED["tft"], NAMED["tft"], GAME, threshold)[0], rel=1e-12)


@pytest.mark.parametrize("noise", [0.0, 0.03])
@pytest.mark.parametrize("delta", [1.0, 0.9])
def test_capped_rounds_sum_the_chain_round_by_round(noise, delta):
    rng = np.random.default_rng(0)
    p, q = rng.random((6, 5)), rng.random((6, 5))
    v, mm = m.start(p, q, noise), m.transition(p, q, noise)
    expected = np.zeros((6, 4))
    for t in range(37):
        expected += delta**t * v
        v = (v[:, None, :] @ mm)[:, 0]
    np.testing.assert_allclose(m.occupancy(p, q, delta, 37, noise), expected, rtol=1e-12)
    assert np.allclose(m.occupancy(p, q, delta, 37, noise).sum(axis=-1), sum(delta**t for t in range(37)))


def test_uncapped_is_the_limit_of_capped():
    rng = np.random.default_rng(1)
    p, q = rng.random((5, 5)), rng.random((5, 5))
    np.testing.assert_allclose(m.occupancy(p, q, 0.9, 2000), m.occupancy(p, q, 0.9), rtol=1e-12)
    with pytest.raises(ValueError, match="below 1"):
        m.occupancy(p, q, 1.0)


def test_transition_rows_and_views():
    rng = np.random.default_rng(2)
    p, q = rng.random((3, 5)), rng.random((3, 5))
    mm = m.transition(p, q, 0.1)
    np.testing.assert_allclose(mm.sum(axis=-1), 1.0)
    # the same chain from Y's view is X's chain with both outcomes' letters swapped
    np.testing.assert_allclose(m.transition(q, p, 0.1), mm[:, m.SWAP][:, :, m.SWAP])
    x, y = m.payoffs(p, q, GAME, 0.8, noise=0.1)
    y2, x2 = m.payoffs(q, p, GAME, 0.8, noise=0.1)
    np.testing.assert_allclose([x, y], [x2, y2], rtol=1e-12)


@pytest.mark.parametrize("noise", [0.001, 0.05, 0.2])
def test_with_noise_the_long_run_is_the_stationary_distribution_and_the_delta_limit(noise):
    rng = np.random.default_rng(3)
    p, q = rng.random((8, 5)), rng.random((8, 5))
    long = m.long_run(p, q, noise)
    np.testing.assert_allclose(long, m.stationary(m.transition(p, q, noise)), atol=1e-12)
    delta = 1 - 1e-7
    np.testing.assert_allclose((1 - delta) * m.occupancy(p, q, delta, noise=noise), long, atol=1e-5)


def test_without_noise_the_long_run_depends_on_the_start():
    """TFT against TFT keeps what it starts with; started by a defection it cycles CD ↔ DC."""
    assert m.long_run_payoffs(NAMED["tft"], NAMED["tft"], GAME)[0] == pytest.approx(R, abs=1e-12)
    suspicious = np.array([0.0, 1, 0, 1, 0])  # TFT that opens with a defection
    x, y = m.long_run_payoffs(NAMED["tft"], suspicious, GAME)
    assert (x, y) == (pytest.approx((S + T) / 2, abs=1e-12), pytest.approx((S + T) / 2, abs=1e-12))
    delta = 1 - 1e-7
    np.testing.assert_allclose(
        (1 - delta) * m.occupancy(NAMED["tft"], suspicious, delta),
        m.long_run(NAMED["tft"], suspicious),
        atol=1e-5,
    )


@pytest.mark.parametrize("noise", [1e-4, 0.01, 0.1, 0.3])
@pytest.mark.parametrize("partner", ["tft", "wsls"])
def test_tft_under_noise_earns_the_mean_payoff(noise, partner):
    """Any noise sends TFT, against itself or against WSLS, through all four outcomes equally often:
    (R + S + T + P)/4 per round for both players."""
    x, y = m.long_run_payoffs(NAMED["tft"], NAMED[partner], GAME, noise)
    assert x == pytest.approx((R + S + T + P) / 4, abs=1e-12) and y == pytest.approx(x, abs=1e-12)
    np.testing.assert_allclose(m.long_run(NAMED["tft"], NAMED[partner], noise), 0.25, atol=1e-12)


@pytest.mark.parametrize("noise", [1e-4, 0.001, 0.01])
def test_wsls_against_itself_under_noise_earns_close_to_r(noise):
    """An error costs WSLS pairs two rounds (CD or DC, then DD) and they are back at CC: about
    2ε errors per round, each losing (R − (S + T)/2) + (R − P) = 2.5, so R − 5ε to first order."""
    x, _ = m.long_run_payoffs(NAMED["wsls"], NAMED["wsls"], GAME, noise)
    assert x < R
    assert x == pytest.approx(R - 5 * noise, abs=20 * noise**2)


def _extortion_error(p: np.ndarray, opponents: np.ndarray, noise: float, chi: float) -> np.ndarray:
    sx, sy = m.long_run_payoffs(p, opponents, GAME, noise)
    return (sx - P) - chi * (sy - P)


def _opponents() -> np.ndarray:
    rng = np.random.default_rng(4)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * 5)).reshape(5, -1).T  # every deterministic strategy
    return np.concatenate([rng.random((2000, 5)), corners, np.stack(list(NAMED.values()))])


@pytest.mark.parametrize("chi", [1.5, 3.0, 6.0])
def test_the_extortioner_enforces_its_relation_against_any_opponent(chi):
    """Press & Dyson (2012): s_X − P = χ (s_Y − P) in the δ → 1 limit without noise, to 1e-6, against
    2000 random memory-one strategies and all 32 deterministic ones (reducible chains included)."""
    error = _extortion_error(m.zero_determinant(GAME, chi), _opponents(), 0.0, chi)
    assert np.abs(error).max() < 1e-6


def test_a_generous_zero_determinant_strategy_enforces_its_relation():
    """κ = R (Hilbe, Nowak & Sigmund 2013): s_X − R = χ (s_Y − R)."""
    p = m.zero_determinant(GAME, 2.0, kappa=R)
    sx, sy = m.long_run_payoffs(p, _opponents(), GAME)
    assert np.abs((sx - R) - 2.0 * (sy - R)).max() < 1e-6


def test_implementation_noise_breaks_extortion():
    """With noise both players' moves are blurred, p is no longer of the zero-determinant form, and
    the relation fails by more the larger the noise."""
    opponents = _opponents()
    worst = [
        np.abs(_extortion_error(NAMED["extortioner"], opponents, e, 3.0)).max() for e in (1e-3, 1e-2, 5e-2)
    ]
    assert worst[0] > 1e-3 and worst[0] < worst[1] < worst[2]


def test_no_zero_determinant_strategy_outside_the_cube():
    with pytest.raises(ValueError, match="zero-determinant"):
        m.zero_determinant(GAME, 3.0, phi=0.0)
