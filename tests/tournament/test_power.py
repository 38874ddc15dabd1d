"""Power before spending compute: the seeds an effect needs, and `purity power`."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from purity.statistics import detection_power, seeds_needed, shift_for
from purity.tournament import config
from purity.tournament.power import describe, power

ROOT = Path(__file__).resolve().parents[2]


def test_no_effect_is_detected_at_most_at_the_level() -> None:
    null = np.where(np.random.default_rng(0).random(5000) < 0.5, 0.0, 0.5)
    rate = detection_power(null, 0.0, 4, 0.05, np.random.default_rng(1), trials=4000)
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 4000)


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
    assert "95% drift band" in text and "K × 80 drift replicates" in text


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
