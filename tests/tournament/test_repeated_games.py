"""The repeated arena in experiments: named policies, and `purity invade`'s chain for TFT against
ALLD, whose crossing of 1/N is known (Nowak, Sasaki, Taylor & Fudenberg 2004)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pytest

from purity.arenas import memory_one
from purity.inputs import InputError
from purity.tournament import invasion
from purity.tournament.config import load
from purity.tournament.executor import InProcess
from purity.tournament.experiment_data import dump

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """
[experiment]
name = "tft-alld"
seed = 3
generations = 1
population = {n}

[arena]
name = "repeated"
episodes = 1
group_size = 2
steps = 200
continuation = {delta}

[[population.mix]]
profile = "tft"
share = 0.5
decider = "fixed"
policy = "tft"

[[population.mix]]
profile = "alld"
share = 0.5
decider = "fixed"
policy = {alld}

[matching]
play = "all_pairs"

[selection]
kind = "moran"
intensity = {w}
"""
NAMED = memory_one.strategies()


def _experiment(tmp_path, n=10, delta=0.64, w=0.1, alld='"alld"'):
    path = tmp_path / "tft-alld.toml"
    path.write_text(textwrap.dedent(EXPERIMENT.format(n=n, delta=delta, w=w, alld=alld)))
    return load(path)


def test_a_fixed_decider_plays_a_named_policy(tmp_path):
    experiment = _experiment(tmp_path)
    assert experiment.mix[0].policy == (1.0, 1.0, 0.0, 1.0, 0.0)
    assert experiment.mix[1].policy == (0.0,) * 5
    assert dump(experiment)["population"]["mix"][0]["policy"] == [1.0, 1.0, 0.0, 1.0, 0.0]
    table = _experiment(tmp_path, alld="{ p0 = 0.0, p_cc = 0.0, p_cd = 0.0, p_dc = 0.0, p_dd = 0.0 }")
    assert table.mix[1].policy == (0.0,) * 5


def test_an_unknown_policy_name_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"population.mix\[1\].policy: expected one of 'allc', 'alld'"):
        _experiment(tmp_path, alld='"tit-for-two-tats"')


def test_arenas_without_named_policies_want_a_table(tmp_path):
    path = tmp_path / "matrix.toml"
    text = EXPERIMENT.format(n=10, delta=0.5, w=0.1, alld='"alld"').replace('"repeated"', '"matrix"')
    path.write_text(text.replace("continuation = 0.5\n", ""))
    with pytest.raises(InputError, match=r"population.mix\[0\].policy: expected a table"):
        load(path)


def exact_tables(delta: float) -> tuple[np.ndarray, np.ndarray]:
    """π_M(k), π_R(k) of one ALLD mutant among TFT from the exact chain (uncapped games)."""
    a, _ = memory_one.payoffs(NAMED["alld"], NAMED["alld"], continuation=delta)
    b, c = memory_one.payoffs(NAMED["alld"], NAMED["tft"], continuation=delta)
    d, _ = memory_one.payoffs(NAMED["tft"], NAMED["tft"], continuation=delta)
    return np.array([0.0, b, a]), np.array([d, c, 0.0])


def alld_fixation(experiment, delta: float) -> float:
    return invasion.exact_fixation(invasion.chain(experiment, *exact_tables(delta)))


def crossing(experiment) -> float:
    """The δ at which ALLD's exact fixation probability among TFT equals 1/N (it falls with δ)."""
    low, high = 0.3, 0.99
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (
            (middle, high) if alld_fixation(experiment, middle) > 1 / experiment.population else (low, middle)
        )
    return (low + high) / 2


def test_alld_fixation_crosses_one_over_n_near_064_for_ten_agents(tmp_path):
    """N = 10, w = 0.1, linear fitness, summed payoffs: the crossing lies at δ ≈ 0.6365, above the
    infinite-population threshold (T − R)/(T − P) = 1/2 and above the weak-selection value of
    the same N, (87/32 rounds) δ = 1 − 32/87 ≈ 0.632 (Nowak et al. 2004's condition
    (N−2)a + (2N−1)b > (N+1)c + (2N−4)d with the TFT/ALLD sums)."""
    experiment = _experiment(tmp_path)
    found = crossing(experiment)
    assert found == pytest.approx(0.6365, abs=5e-4)
    weak = crossing(
        dataclasses.replace(experiment, selection=dataclasses.replace(experiment.selection, intensity=1e-4))
    )
    assert weak == pytest.approx(1 - 32 / 87, abs=5e-4)


def test_the_crossing_tends_to_five_ninths_for_large_populations_under_weak_selection(tmp_path):
    """The one-third law (Nowak et al. 2004): for large N and weak selection ALLD is favoured iff
    a + 2b > c + 2d, i.e. L < 9/4 rounds, δ < 5/9."""
    experiment = _experiment(tmp_path, n=2000, w=1e-6)
    found = crossing(experiment)
    assert found == pytest.approx(5 / 9, abs=2e-3)
    assert abs(found - 5 / 9) < abs(crossing(_experiment(tmp_path, n=200, w=1e-6)) - 5 / 9)


@pytest.mark.parametrize("delta, verdict", [(0.55, "favoured"), (0.75, "disfavoured")])
def test_invade_plays_the_repeated_arena_on_both_sides_of_the_crossing(tmp_path, delta, verdict):
    """`purity invade` builds its payoff table from 20,000 played games per composition: each entry
    within 4 standard errors of the exact sum; its chain's verdict is the exact one, and its
    20,000 simulated invasions contain the exact chain's ρ in their 95% interval."""
    experiment = _experiment(tmp_path, delta=delta)
    result = invasion.invade(experiment, "tft", "alld", 20_000, InProcess(), episodes=20_000)
    pay_m, pay_r = exact_tables(delta)
    assert result.payoff_mutant == pytest.approx(pay_m[1:].tolist(), rel=0.03)
    assert result.payoff_resident == pytest.approx(pay_r[:-1].tolist(), rel=0.03)
    exact = alld_fixation(experiment, delta)
    assert result.verdict == verdict
    assert (exact > 0.1) == (verdict == "favoured")
    assert result.low <= exact <= result.high
    assert result.exact == pytest.approx(exact, abs=0.004)


def test_the_payoff_table_of_played_games_is_within_four_standard_errors(tmp_path):
    experiment = _experiment(tmp_path, delta=0.75)
    arena = experiment.arena.build()
    pay_m, pay_r = (table[1] for table in invasion.payoff_table(experiment, 0, 1, 20_000))  # state i = 1
    noise = arena.noise(np.random.default_rng(0), 20_000)
    sds = []
    for first, second in (("alld", "tft"), ("alld", "alld"), ("tft", "tft")):
        policy = np.tile(np.stack([NAMED[first], NAMED[second]])[None], (20_000, 1, 1))
        sds.append(arena.rollout(policy, noise).fitness[:, 0].std() / np.sqrt(20_000))
    exact_m, exact_r = exact_tables(0.75)
    assert abs(pay_m[1] - exact_m[1]) < 4 * sds[0] and abs(pay_m[2] - exact_m[2]) < 4 * sds[1]
    assert abs(pay_r[0] - exact_r[0]) < 4 * sds[2]


def test_the_axelrod_tournament_pays_what_the_chain_predicts(tmp_path):
    """`experiments/axelrod.toml`'s round robin (generation 0, one seed): each strategy's mean payoff
    over its ten players lies within 4 standard errors of the exact expectation over its 69
    partners (200 rounds, noise 0.01), and WSLS and GTFT lead while the extortioner comes last."""
    import polars as pl

    from purity.tournament.runner import run

    experiment = dataclasses.replace(
        load(ROOT / "experiments" / "axelrod.toml"), generations=1, seeds=1, neutral_drift=False
    )
    run_dir = run(experiment, tmp_path, workers=0, progress=False)
    agents = pl.read_parquet(run_dir / "agents" / "**" / "*.parquet")
    names = [entry.profile.name for entry in experiment.mix]
    policies = np.stack([np.asarray(entry.policy) for entry in experiment.mix])
    params = experiment.arena.params
    table, _ = memory_one.payoffs(
        policies[:, None], policies[None], params.game, 1.0, experiment.arena.steps, params.noise
    )
    partners = np.full((7, 7), 10.0) - np.eye(7)  # each meets 10 of every other kind, 9 of its own
    expected = (table * partners).sum(axis=1) / 69
    means = {}
    for name, exact in zip(names, expected):
        payoff = agents.filter(pl.col("profile") == name)["payoff"].to_numpy()
        assert len(payoff) == 10
        assert abs(payoff.mean() - exact) < 4 * payoff.std(ddof=1) / np.sqrt(10) + 1e-9
        means[name] = payoff.mean()
    ranked = sorted(means, key=means.get, reverse=True)
    assert set(ranked[:2]) == {"wsls", "gtft"} and ranked[-1] == "extortioner"
