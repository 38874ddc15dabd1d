"""Power before spending compute: the seeds an effect needs, and `purity power`."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from purity.reports import inference
from purity.statistics import detection_power, mc_pvalue, seed_means, seeds_needed, shift_for
from purity.tournament import config, null
from purity.tournament.power import describe, power

ROOT = Path(__file__).resolve().parents[2]


def test_no_effect_is_detected_at_most_at_the_level() -> None:
    null = np.where(np.random.default_rng(0).random(5000) < 0.5, 0.0, 0.5)
    rate = detection_power(null, 0.0, 4, 0.05, np.random.default_rng(1), trials=4000)
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000)


def test_power_is_that_of_the_test_as_a_run_makes_it() -> None:
    """Drawn the way a run tests (R = 2000 fresh null replicates, M = R // K disjoint K-seed means,
    the Monte-Carlo p-value at α/3), a decline of 0.2 on a null that piles up at 0 and 1 is
    called at the rate `detection_power` gives for M means. Against 4000 means (a finer p-value
    than the run's test has) it claims far more power than the test has."""
    rng = np.random.default_rng(5)

    def drift(n: int) -> np.ndarray:
        u = rng.random(n)
        return np.where(u < 0.5, 0.0, np.where(u > 0.94, 1.0, rng.random(n)))

    null, seeds, level, trials = drift(200_000), 12, 0.05 / 3, 3000
    means, shift = 2000 // seeds, shift_for(null, -0.2)
    called = sum(
        mc_pvalue(np.clip(drift(seeds) + shift, 0, 1).mean(), seed_means(drift(2000), seeds)) <= level
        for _ in range(trials)
    )
    rate = called / trials
    model = detection_power(null, shift, seeds, level, np.random.default_rng(1), trials=4000, means=means)
    finer = detection_power(null, shift, seeds, level, np.random.default_rng(1), trials=4000)
    sd = math.sqrt(rate * (1 - rate) * (1 / trials + 1 / 4000))
    assert abs(model - rate) <= 4 * sd, (model, rate)
    assert finer - rate > 8 * sd, (finer, rate)


def test_seeds_for_a_normal_null_match_the_textbook_formula() -> None:
    """Far from 0 and 1 nothing is clipped: K ≈ ((z_{1−α/2} + z_{power}) σ/δ)² = 31.4 for
    σ = 0.1, δ = 0.05, α = 0.05, power 0.8."""
    null = np.random.default_rng(2).normal(0.5, 0.1, 20000)
    k = seeds_needed(null, -0.05, tests=1)
    assert 27 <= k <= 37, k
    assert seeds_needed(null, 0.1, tests=1) < k  # a larger effect needs fewer seeds
    assert seeds_needed(null, -0.05, tests=6) > k  # Holm over more terms needs more


def test_shift_for_moves_the_mean_by_the_effect() -> None:
    null = np.where(np.random.default_rng(3).random(4000) < 0.4, 0.0, 0.6)  # mean 0.36
    s = shift_for(null, -0.1)
    assert np.clip(null + s, 0, 1).mean() - null.mean() == pytest.approx(-0.1, abs=1e-9)
    assert shift_for(null, -0.5) is None  # below extinction everywhere
    assert seeds_needed(null, -0.5) is None


def test_power_of_a_small_experiment(small_experiment) -> None:
    """The small experiment (16 agents, 4 generations): one run's end share is spread widely,
    and a larger effect needs no more seeds than a smaller one."""
    result = power(config.load(small_experiment), effects=(0.1, 0.3), replicates=600)
    assert [t.term for t in result.terms] == ["constraint:take:lineage", "universalization:own_wealth"]
    for t in result.terms:
        assert t.low <= t.mean <= t.high and 0 <= t.extinct <= 1
        assert t.declines[1] == 0 or t.declines[0] is None or t.declines[1] <= t.declines[0]
    text = describe(result)
    # 2 terms × 2 forces (selection, mutation): Holm's first threshold α/4 needs M ≥ 160
    assert "95% drift band" in text and "K × 160 drift replicates" in text and "α/4" in text


def test_the_replicates_power_asks_for_serve_every_family_of_a_report(small_experiment) -> None:
    """A null of `null_replicates(K)` replicates tests both the end shares and the forces of K
    seeds; one sized for the end shares alone (the terms' family) is refused by the forces'."""
    experiment = config.load(small_experiment)
    result = power(experiment, effects=(0.3,), replicates=300)
    seeds = 3
    spec = null.spec(experiment)
    observed = null.simulate(spec, seeds, 99).figures()
    for replicates, forces_pass in ((result.null_replicates(seeds), True), (seeds * 80, False)):
        drawn = null.simulate(spec, replicates, 1).figures()
        inference.verdicts(observed, drawn)  # the terms' family: 2 tests, enough either way
        try:
            inference.force_tests(observed, drawn)
        except inference.NullTooSmall:
            assert not forces_pass
        else:
            assert forces_pass


def test_purity_power_prints_and_refuses_bad_options(small_experiment) -> None:
    def purity(*args):
        return subprocess.run(
            [sys.executable, "-m", "purity", "power", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )

    done = purity(small_experiment, "--replicates", 300, "--effect", 0.2)
    assert done.returncode == 0, done.stderr
    assert "never take (lineage acts)" in done.stdout
    for option, value, expected in (
        ("--effect", 0, "(0, 1]"),
        ("--alpha", 1, "(0, 1)"),
        ("--replicates", 5, "≥ 100"),
    ):
        bad = purity(small_experiment, option, value)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        assert option in bad.stderr and expected in bad.stderr


def test_power_says_when_the_drift_null_leaves_reflection_out(write_experiment) -> None:
    reflecting = config.load(
        write_experiment(("[control]", "[reflection]\nenabled = true\nself_modify = true\n\n[control]"))
    )
    result = power(reflecting, effects=(0.3,), replicates=200)
    assert result.reflects and "verdicts need the mechanism null" in describe(result)


def test_purity_power_refuses_a_sweep() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "purity", "power", "experiments/successors.toml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2 and "base experiment" in done.stderr and "Traceback" not in done.stderr
