"""Evolution of memory-one strategies: fixation against the invasion chain, determinism, the neutral
control, and (slow) win-stay lose-shift coming to dominate (Nowak & Sigmund 1993)."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

from purity.arenas import memory_one
from purity.tournament import invasion
from purity.tournament import memory_evolution as me
from purity.tournament.config import load

EXPERIMENT = """
[experiment]
name = "chain"
generations = 1
population = {n}

[arena]
name = "repeated"
group_size = 2

[[population.mix]]
profile = "tft"
share = 0.5

[[population.mix]]
profile = "alld"
share = 0.5

[selection]
kind = "moran"
intensity = {w}
rule = "exponential"
"""


@pytest.mark.parametrize("n, w", [(10, 0.5), (50, 2.0), (100, 0.01)])
def test_fixation_is_the_moran_chain_with_exponential_fitness(tmp_path, n, w):
    path = tmp_path / "chain.toml"
    path.write_text(textwrap.dedent(EXPERIMENT.format(n=n, w=w)))
    experiment = load(path)
    rng = np.random.default_rng(n)
    for a, b, c, d in rng.normal(2.0, 1.0, (5, 4)):
        chain = invasion.chain(experiment, np.array([0.0, b, a]), np.array([d, c, 0.0]))
        assert me.fixation(a, b, c, d, n, w) == pytest.approx(invasion.exact_fixation(chain), rel=1e-9)


def test_fixation_is_neutral_without_selection_and_batched():
    rng = np.random.default_rng(0)
    payoffs = rng.normal(size=(4, 7))
    np.testing.assert_allclose(me.fixation(*payoffs, 25, 0.0), 1 / 25)
    batched = me.fixation(*payoffs, 25, 0.3)
    np.testing.assert_allclose(batched, [me.fixation(*payoffs[:, k], 25, 0.3) for k in range(7)], rtol=1e-12)
    assert me.fixation(1.0, 2.0, 3.0, 4.0, 10, 0.1).shape == ()
    assert np.isfinite(me.fixation(0.0, 0.0, 500.0, 500.0, 100, 50.0))  # far beyond exp's range


def test_payoffs_are_the_exact_chain():
    spec = me.Evolution(noise=0.01)
    named = memory_one.strategies()
    x, y = me.payoffs(spec, named["tft"], named["tft"])
    assert x == pytest.approx(2.25) and y == pytest.approx(2.25)
    summed = dataclasses.replace(spec, continuation=0.9)
    np.testing.assert_allclose(
        me.payoffs(summed, named["wsls"], named["alld"]),
        memory_one.payoffs(named["wsls"], named["alld"], spec.game, 0.9, noise=0.01),
    )
    clean = dataclasses.replace(spec, noise=0.0)
    assert me.payoffs(clean, named["tft"], named["tft"])[0] == pytest.approx(3.0)


def test_runs_are_deterministic_and_each_seed_its_own():
    spec = me.Evolution(population=20, intensity=2.0, mutants=1500)
    both = me.evolve(spec, [4, 9])
    np.testing.assert_array_equal(both, me.evolve(spec, [4, 9]))
    np.testing.assert_array_equal(both[1], me.evolve(spec, [9])[0])
    assert not np.array_equal(both[0], both[1])
    assert both.shape == (2, 1500, 5)


def test_regions_round_the_four_reactive_probabilities():
    named = memory_one.strategies()
    codes = me.regions(np.stack([named[k] for k in ("wsls", "tft", "grim", "alld", "allc", "gtft")]))
    assert codes.tolist() == [0b1001, 0b1010, 0b1000, 0, 0b1111, 0b1010]
    shares = me.abundance(np.tile(named["wsls"], (3, 100, 1)), burn_in=0.5)
    assert shares.shape == (3, 16) and (shares[:, 0b1001] == 1).all()


def test_without_selection_every_region_is_as_abundant_as_mutants_make_it():
    """The control: at w = 0 every mutant fixes with probability 1/N and the resident is a draw from
    the mutation distribution, symmetric about 1/2, so each of the 16 regions holds 1/16 of the time."""
    spec = me.Evolution(population=5, intensity=0.0, mutants=4000)
    shares = me.abundance(me.evolve(spec, list(range(16))))
    mean, spread = shares.mean(axis=0), shares.std(axis=0) / np.sqrt(16)
    assert (np.abs(mean - 1 / 16) < 4 * spread + 1e-3).all()


def test_the_command_line(capsys):
    assert me.main(["--seeds", "2", "--mutants", "300", "--population", "10"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("region") and "WSLS" in out
    with pytest.raises(SystemExit) as stop:
        me.main(["--noise", "0.7"])
    assert stop.value.code == 2
    assert "--noise: expected a number in [0, 0.5], got 0.7" in capsys.readouterr().err


def _regions(spec: me.Evolution, seeds: int) -> dict[str, tuple[float, float, float]]:
    return {
        name: (mean, low, high)
        for name, mean, low, high in me.table(me.abundance(me.evolve(spec, list(range(seeds)))))
    }


@pytest.mark.slow
def test_wsls_comes_to_dominate_in_the_prisoners_dilemma():
    """Nowak & Sigmund's payoffs (3, 0, 5, 1) with noise 0.01, N = 100, w = 10 per round: WSLS is the
    most abundant region, its interval above every other's, far above its 1/16 without selection."""
    found = _regions(me.Evolution(intensity=10.0, noise=0.01, mutants=50_000), 16)
    wsls = found.pop("WSLS")
    assert wsls[1] > max(high for _, _, high in found.values())
    assert wsls[1] > 0.3


@pytest.mark.slow
def test_wsls_takes_over_when_mutual_cooperation_beats_alternation():
    """The donation game b = 3, c = 1 (R, S, T, P = 2, −1, 3, 0) has 2R > T + P, so ALLD cannot
    invade WSLS: WSLS holds over 90% of the time at w = 1 (Imhof, Fudenberg & Nowak 2007)."""
    spec = me.Evolution(game=memory_one.Game(2.0, -1.0, 3.0, 0.0), intensity=1.0, mutants=50_000)
    assert _regions(spec, 16)["WSLS"][1] > 0.9
