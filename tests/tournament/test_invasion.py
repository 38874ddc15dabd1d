"""Invasion analysis against closed forms of evolutionary game theory."""

import dataclasses
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from purity.tournament.config import load
from purity.tournament.executor import InProcess
from purity.tournament.invasion import invade, wilson

ROOT = Path(__file__).resolve().parents[2]
GAME = """
[experiment]
name = "game"
seed = 5
generations = 1
population = {n}

[arena]
name = "matrix"
episodes = 1
group_size = 2
steps = 1
reward = {a}
sucker = {b}
temptation = {c}
punishment = {d}

[[population.mix]]
profile = "cooperator"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 1.0 }}

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 0.0 }}

[matching]
play = "all_pairs"

[selection]
kind = "{kind}"
intensity = {w}
"""


def _experiment(tmp_path, n=10, a=3.0, b=0.0, c=5.0, d=1.0, w=0.1, kind="moran"):
    path = tmp_path / "game.toml"
    path.write_text(textwrap.dedent(GAME.format(n=n, a=a, b=b, c=c, d=d, w=w, kind=kind)))
    return load(path)


def nowak_rho(a, b, c, d, n, w):
    """Fixation probability of one A mutant among B in the frequency-dependent Moran process,
    Nowak, Sasaki, Taylor & Fudenberg 2004 (Nature 428:646), eq. 1: with i mutants,
    f_i = (a(i−1) + b(N−i))/(N−1), g_i = (ci + d(N−i−1))/(N−1), fitness 1 − w + w·payoff,
    ρ = 1 / (1 + Σ_{k=1}^{N−1} Π_{i=1}^{k} g_i/f_i)."""
    total, product = 1.0, 1.0
    for i in range(1, n):
        f = 1 - w + w * (a * (i - 1) + b * (n - i)) / (n - 1)
        g = 1 - w + w * (c * i + d * (n - i - 1)) / (n - 1)
        product *= g / f
        total += product
    return 1 / total


@pytest.mark.parametrize(
    "game",
    [
        dict(a=3.0, b=0.0, c=5.0, d=1.0, w=0.1),  # prisoner's dilemma: cooperators disfavoured
        dict(a=4.0, b=0.0, c=3.0, d=3.0, w=0.3),  # stag hunt
        dict(a=1.0, b=0.0, c=2.0, d=-1.0, w=0.2),  # hawk-dove (cooperate = dove)
    ],
)
def test_frequency_dependent_moran_matches_nowak_et_al_2004(tmp_path, game):
    experiment = _experiment(tmp_path, **game)
    result = invade(experiment, "consequentialist", "cooperator", 4000, InProcess(), episodes=1)
    expected = nowak_rho(game["a"], game["b"], game["c"], game["d"], 10, game["w"])
    assert result.exact == pytest.approx(expected, abs=1e-12)
    se = math.sqrt(expected * (1 - expected) / 4000)
    assert abs(result.estimate - expected) < 4 * se
    assert result.low <= result.estimate <= result.high


def test_constant_fitness_gives_the_moran_formula(tmp_path):
    """Payoffs that ignore the partner make relative fitness constant: with linear fitness
    1 − w + w·π and w = 1, r = π_M/π_R, so ρ = (1 − 1/r)/(1 − 1/r^N) (Moran 1958)."""
    experiment = _experiment(tmp_path, a=1.5, b=1.5, c=1.0, d=1.0, w=1.0)
    result = invade(experiment, "consequentialist", "cooperator", 4000, InProcess(), episodes=1)
    r, n = 1.5, 10
    expected = (1 - 1 / r) / (1 - 1 / r**n)
    assert result.exact == pytest.approx(expected, abs=1e-12)
    assert abs(result.estimate - expected) < 4 * math.sqrt(expected * (1 - expected) / 4000)


@pytest.mark.parametrize("kind", ["moran", "moran_db", "wright_fisher"])
def test_neutral_mutants_fix_with_probability_one_over_n(tmp_path, kind):
    experiment = _experiment(tmp_path, w=0.0, kind=kind)
    result = invade(experiment, "consequentialist", "cooperator", 4000, InProcess(), episodes=1)
    assert abs(result.estimate - 0.1) < 4 * math.sqrt(0.1 * 0.9 / 4000)
    if result.exact is not None:
        assert result.exact == pytest.approx(0.1, abs=1e-12)


def test_death_birth_exact_value_matches_a_direct_chain(tmp_path):
    """Well-mixed death–birth: a random agent dies and a neighbour (any other agent) replaces
    it in proportion to fitness; solve the chain's linear equations directly."""
    game = dict(a=3.0, b=0.0, c=5.0, d=1.0, w=0.2)
    experiment = _experiment(tmp_path, kind="moran_db", **game)
    result = invade(experiment, "consequentialist", "cooperator", 2000, InProcess(), episodes=1)
    n, w = 10, game["w"]
    m = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    m[0, 0] = m[n, n] = 1
    rhs[n] = 1
    for i in range(1, n):
        f = 1 - w + w * (game["a"] * (i - 1) + game["b"] * (n - i)) / (n - 1)
        g = 1 - w + w * (game["c"] * i + game["d"] * (n - i - 1)) / (n - 1)
        up = (n - i) / n * i * f / (i * f + (n - i - 1) * g)
        down = i / n * (n - i) * g / ((i - 1) * f + (n - i) * g)
        m[i, i - 1], m[i, i], m[i, i + 1] = -down, up + down, -up
    exact = np.linalg.solve(m, rhs)[1]
    assert result.exact == pytest.approx(exact, abs=1e-12)
    assert abs(result.estimate - exact) < 4 * math.sqrt(exact * (1 - exact) / 2000)


def test_same_seed_same_answer_and_seeds_differ(tmp_path):
    experiment = _experiment(tmp_path)
    first = invade(experiment, "consequentialist", "cooperator", 600, InProcess(), episodes=1)
    again = invade(experiment, "consequentialist", "cooperator", 600, InProcess(), episodes=1)
    other = invade(
        dataclasses.replace(experiment, seed=6),
        "consequentialist",
        "cooperator",
        600,
        InProcess(),
        episodes=1,
    )
    assert first == again
    assert (first.fixations, first.mean_steps) != (other.fixations, other.mean_steps)


def test_wilson_interval():
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 10)[0] == 0.0


def _purity(*args):
    return subprocess.run(
        [sys.executable, "-m", "purity", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_invade_json_and_errors():
    done = _purity(
        "invade",
        "experiments/matrix-pd.toml",
        "--resident",
        "consequentialist",
        "--mutant",
        "cooperator",
        "--repeats",
        "300",
        "--engine-repeats",
        "10",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["repeats"] == 300 and 0 <= data["low"] <= data["estimate"] <= data["high"] <= 1
    assert data["verdict"] in ("favoured", "neutral", "disfavoured") and data["neutral"] == 0.1
    assert data["engine"]["repeats"] == 10 and data["idealised"]  # planners replan: the chain is idealised
    bad = _purity(
        "invade", "experiments/matrix-pd.toml", "--resident", "consequentialist", "--mutant", "saint"
    )
    assert bad.returncode == 2 and "--mutant" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def fermi_rho(a, b, c, d, n, beta):
    """Fixation probability of one A mutant under the pairwise-comparison (Fermi) process with
    intensity β (Traulsen, Nowak & Pacheco 2006): T⁻/T⁺ = exp(−β(f_i − g_i)) with the payoffs of
    Nowak et al. 2004. For exponential fitness exp(w·π) Moran birth–death has the same ratio at
    β = w, so this independent formula checks the exponential rule."""
    total, product = 1.0, 1.0
    for i in range(1, n):
        f = (a * (i - 1) + b * (n - i)) / (n - 1)
        g = (c * i + d * (n - i - 1)) / (n - 1)
        product *= math.exp(-beta * (f - g))
        total += product
    return 1 / total


def _direct_chain(game, n, w, rule, kind):
    """ρ from the chain's linear equations, fitness written out here for each rule."""
    fit = (lambda p: 1 - w + w * p) if rule == "linear" else (lambda p: math.exp(w * p))
    m, rhs = np.zeros((n + 1, n + 1)), np.zeros(n + 1)
    m[0, 0] = m[n, n] = rhs[n] = 1
    for i in range(1, n):
        f = fit((game["a"] * (i - 1) + game["b"] * (n - i)) / (n - 1))
        g = fit((game["c"] * i + game["d"] * (n - i - 1)) / (n - 1))
        if kind == "moran":
            up = i * f / (i * f + (n - i) * g) * (n - i) / n
            down = (n - i) * g / (i * f + (n - i) * g) * i / n
        else:
            up = (n - i) / n * i * f / (i * f + (n - i - 1) * g)
            down = i / n * (n - i) * g / ((i - 1) * f + (n - i) * g)
        m[i, i - 1], m[i, i], m[i, i + 1] = -down, up + down, -up
    return float(np.linalg.solve(m, rhs)[1])


PD = dict(a=3.0, b=0.0, c=5.0, d=1.0)


@pytest.mark.parametrize("rule", ["linear", "exponential"])
@pytest.mark.parametrize("kind", ["moran", "moran_db"])
@pytest.mark.parametrize("w", [0.01, 0.5, 1.0])
def test_exact_value_for_every_fitness_and_update_rule(tmp_path, rule, kind, w):
    experiment = _experiment(tmp_path, w=w, kind=kind, **PD)
    experiment = experiment.__class__(
        **{
            **experiment.__dict__,
            "selection": experiment.selection.__class__(**{**experiment.selection.__dict__, "rule": rule}),
        }
    )
    result = invade(experiment, "consequentialist", "cooperator", 200, InProcess(), episodes=1)
    expected = _direct_chain(PD, 10, w, rule, kind)
    assert result.exact == pytest.approx(expected, rel=1e-9)
    assert result.verdict == ("disfavoured" if expected < 0.1 else "favoured")


def test_exponential_birth_death_equals_the_fermi_process(tmp_path):
    """The bug this guards: each type normalised by its own maximum called the cooperator
    favoured (ρ ≈ 0.17) in the PD at N = 10, w = 0.5; the exact value is about 1.4e-4."""
    experiment = _experiment(tmp_path, w=0.5, **PD)
    experiment = experiment.__class__(
        **{
            **experiment.__dict__,
            "selection": experiment.selection.__class__(
                **{**experiment.selection.__dict__, "rule": "exponential"}
            ),
        }
    )
    result = invade(experiment, "consequentialist", "cooperator", 400, InProcess(), episodes=1)
    expected = fermi_rho(**PD, n=10, beta=0.5)
    assert 1e-4 < expected < 2e-4
    assert result.exact == pytest.approx(expected, rel=1e-9)
    assert result.verdict == "disfavoured"


def test_no_fixation_and_a_zero_chain_value_is_not_called_neutral(tmp_path):
    experiment = _experiment(tmp_path, n=64, w=1.0, **PD)
    result = invade(experiment, "consequentialist", "cooperator", 200, InProcess(), episodes=1)
    assert result.fixations == 0 and result.exact < 1e-12
    assert result.high > result.neutral  # the interval alone could not tell
    assert result.verdict == "disfavoured"


# ---------------------------------------------------------------- the engine beside the chain


STAG_HUNT = dict(a=4.0, b=0.0, c=3.0, d=3.0)
CONSTANT = dict(a=3.0, b=3.0, c=2.0, d=2.0)  # a mutant earns 3 and a resident 2, whoever they meet


@pytest.mark.parametrize(
    ("kind", "game", "repeats"),
    [
        ("moran", CONSTANT, 40),
        pytest.param("moran", CONSTANT, 1500, marks=pytest.mark.slow),
        pytest.param("wright_fisher", STAG_HUNT, 1500, marks=pytest.mark.slow),
    ],
)
def test_engine_estimate_agrees_where_the_chain_is_the_process(tmp_path, kind, game, repeats):
    """Fixed deciders, the round robin, a well-mixed population, and fitness that the engine and
    the chain compute alike (constant under Moran; per generation under Wright–Fisher): the
    engine's invasions fix at the chain's rate (its exact value, or 40000 repeats of the chain)."""
    experiment = _experiment(tmp_path, n=4, w=0.5, kind=kind, **game)
    result = invade(
        experiment, "consequentialist", "cooperator", 40000, InProcess(), episodes=1, engine_repeats=repeats
    )
    assert result.idealised == ()
    engine = result.engine
    assert engine.decided == repeats == engine.repeats
    chain = result.exact if result.exact is not None else result.estimate
    se = math.sqrt(chain * (1 - chain) / engine.decided + chain * (1 - chain) / result.repeats)
    print(f"{kind}: engine {engine.fixations}/{engine.decided} = {engine.estimate:.4f}, chain {chain:.4f}")
    assert abs(engine.estimate - chain) <= 4 * se, (engine.estimate, chain)
    if kind == "moran":
        assert result.exact == pytest.approx(nowak_rho(n=4, w=0.5, **CONSTANT), rel=1e-9)


def test_moran_with_frequency_dependent_payoffs_is_idealised(tmp_path):
    """A Moran generation's N births use one generation's fitness, where the chain recomputes
    fitness after every birth: with payoffs that depend on the mutants (a stag hunt) the chain is
    idealised, and the verdict without engine runs still follows its exact value."""
    result = invade(
        _experiment(tmp_path, n=4, w=0.5, **STAG_HUNT),
        "consequentialist",
        "cooperator",
        100,
        InProcess(),
        episodes=1,
    )
    assert result.idealised == (
        "the chain recomputes fitness after every birth, the engine once per generation of N births",
    )
    assert result.basis == "the chain's exact value against 1/N (idealised)"


def test_the_chain_is_labelled_idealised_where_the_engine_differs(tmp_path):
    """Groups of two drawn at random, on a ring, assortatively, or with planners: the chain's
    assumptions do not hold, the text says so, and the engine's interval decides."""
    from purity.tournament.invasion import describe
    from purity.tournament.invasion_engine import chain_assumptions

    base = _experiment(tmp_path, n=4, w=0.5)
    groups = base.__class__(**{**base.__dict__, "matching": base.matching.__class__(play="groups")})
    assert "the payoff of its one group" in chain_assumptions(groups, 1, 0)[1]
    ring = base.__class__(
        **{
            **base.__dict__,
            "matching": base.matching.__class__(kind="graph", generator="cycle_graph", args=(("n", 4),)),
        }
    )
    assert any("graph" in reason for reason in chain_assumptions(ring, 1, 0))
    planners = base.__class__(
        **{
            **base.__dict__,
            "mix": tuple(m.__class__(**{**m.__dict__, "decider": "planner"}) for m in base.mix),
        }
    )
    assert any("deciders" in reason for reason in chain_assumptions(planners, 1, 0))
    result = invade(groups, "consequentialist", "cooperator", 100, InProcess(), episodes=1, engine_repeats=30)
    assert result.idealised and result.engine.decided == 30
    assert result.basis.startswith("the engine's interval")
    text = describe(result, groups)
    assert "engine estimate" in text and "(idealised: " in text
    assert f"{result.engine.fixations}/30 runs of the engine" in text
