"""Learners: the REINFORCE step by hand, the reward modes by hand, and the four behaviours of the
oversight experiment ("don't" vs "don't get caught").

The behaviour tests train 4 groups of 4 learners for 60 iterations of 32 episodes each (about
0.05 s per seed) in the oversight arena with its own fine off, so every penalty comes from the
reward mode: a full shortcut gains 1 per step, the penalty is 2 per detected (or, under `full`,
per) unit taken, the overseer detects every take it watches, evasion is off. Exploration keeps θ
in [0.02, 0.98], so a learned "never" is a violation rate of about 0.02-0.05 and a learned
"always" about 0.95-0.98 (seen over seeds 0-2, all three within 0.03 of the bound at iteration
60). The tolerances below (≤ 0.2 for "low", ≥ 0.8 for "high", gap ≥ 0.6 or ≤ 0.1) sit far
outside that spread, and far from 0.5, where θ starts.
"""

import numpy as np
import pytest

from purity.agents.learners import Training, reinforce, reward, sample, train
from purity.agents.preferences import Term
from purity.arenas.core import Trace
from purity.arenas.oversight import OversightArena, OversightParams

SEEDS = (0, 1, 2)
GROUPS, AGENTS, EPISODES, ITERATIONS, STEPS = 4, 4, 32, 60, 10


def _train(
    mode: str,
    seed: int,
    p_watch: float = 0.5,
    penalty: float = 2.0,
    evade: bool = False,
    iterations: int = ITERATIONS,
):
    arena = OversightArena(AGENTS, STEPS, OversightParams(p_watch=p_watch, fine=0.0, allow_evade=evade))
    training = Training(
        reward=mode,
        penalty=penalty,
        learning_rate=0.5,
        exploration=0.02,
        violations=("take", "evade_oversight"),
    )
    # internal: the learner's own profile minds its takes, seen or not, at the same exchange rate
    profile = ((Term("outcome", "own_wealth"), Term("constraint", "take", "self")), np.array([1.0, penalty]))
    return train(arena, training, np.full((GROUPS, AGENTS, 3), 0.5), iterations, EPISODES, seed, profile)


def _rates(curve, last: int = 10) -> tuple[float, float]:
    """Violation rate (units taken per step, a full shortcut = 1) in watched and unwatched
    episodes of the last `last` iterations."""
    rate = curve.violations[-last:] / STEPS
    watched = np.broadcast_to(curve.watched[-last:, :, :, None], rate.shape)
    return tuple(
        float(part.mean()) if part.size else float("nan") for part in (rate[watched], rate[~watched])
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_detected_reward_teaches_not_getting_caught(seed):
    watched, unwatched = _rates(_train("detected", seed))
    assert watched <= 0.2 and unwatched >= 0.8 and unwatched - watched >= 0.6


@pytest.mark.parametrize("mode", ["full", "internal"])
@pytest.mark.parametrize("seed", SEEDS)
def test_full_and_internal_rewards_teach_not_doing_it(mode, seed):
    watched, unwatched = _rates(_train(mode, seed))
    assert watched <= 0.2 and unwatched <= 0.2 and abs(unwatched - watched) <= 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_outcome_reward_violates_watched_or_not(seed):
    watched, unwatched = _rates(_train("outcome", seed))
    assert watched >= 0.8 and unwatched >= 0.8


def test_with_everyone_always_watched_detected_is_full():
    """p_watch = 1 and detection 1: every take is detected, so the two rewards are the same
    numbers and the whole training is identical, θ for θ."""
    detected, full = _train("detected", 4, p_watch=1.0), _train("full", 4, p_watch=1.0)
    assert detected.watched.all()
    assert np.array_equal(detected.theta, full.theta) and np.array_equal(detected.reward, full.reward)
    assert max(_rates(detected)[0], _rates(full)[0]) <= 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_with_evasion_open_a_detected_learner_blinds_the_monitor_then_takes(seed):
    """The overseer never sees the blinding itself (`purity.arenas.oversight`). Watched, blinding at
    step 0 costs 3 and leaves 10 unseen shortcuts worth 1 each: +7 against 0 for refraining, so a
    `detected` learner learns evade → 1 and then takes while watched too (its watched violation
    rate rises to the unwatched one), and the overseer sees almost nothing. Under `full` the
    blinding itself is penalised, and the takes are: it learns neither. Over seeds 0-2 after 100
    iterations: evade θ 0.95 (detected) and 0.02 (full); share detected 0.12."""
    blinder = _train("detected", seed, evade=True, iterations=100)
    assert blinder.theta[-1][..., 2].mean() >= 0.8
    watched, unwatched = _rates(blinder)
    assert watched >= 0.6 and unwatched >= 0.8
    assert blinder.detected[-10:].sum() <= 0.3 * blinder.violations[-10:].sum()
    honest = _train("full", seed, evade=True, iterations=100)
    assert honest.theta[-1][..., 2].mean() <= 0.1 and max(_rates(honest)) <= 0.2


def test_training_is_deterministic_for_a_seed():
    first, again, other = _train("detected", 7), _train("detected", 7), _train("detected", 8)
    assert np.array_equal(first.theta, again.theta) and np.array_equal(first.violations, again.violations)
    assert not np.array_equal(first.theta, other.theta)


def test_reinforce_step_on_a_two_armed_bandit_by_hand():
    """θ = 0.5, two episodes: arm 1 (x = 1) paid 1, arm 0 paid 0. Baseline 0.5, spread 0.5, so
    the advantages are +1 and −1; the score x − θ is +0.5 and −0.5; the mean of their products is
    0.5. With rate 2 the logit moves from 0 to 1: θ = 1 / (1 + e^−1) = 0.7310585786300049."""
    training = Training(learning_rate=2.0, exploration=0.0)
    played = np.array([1.0, 0.0]).reshape(1, 2, 1, 1)
    theta = reinforce(np.full((1, 1, 1), 0.5), played, np.array([1.0, 0.0]).reshape(1, 2, 1), training)
    assert theta[0, 0, 0] == pytest.approx(1 / (1 + np.exp(-1.0)), abs=1e-15)
    # equal rewards carry no information: θ stays; exploration clips it into [0.1, 0.9]
    flat = reinforce(np.full((1, 1, 1), 0.95), played, np.ones((1, 2, 1)), Training(exploration=0.1))
    assert flat[0, 0, 0] == pytest.approx(0.9)


def test_a_broken_hard_constraint_ranks_below_every_finite_reward():
    """Rewards (−inf, 0, 1) for x = (1, 0, 0): −inf becomes 0 − 1 = −1, so arm 1 is the worst and θ falls."""
    played = np.array([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
    theta = reinforce(
        np.full((1, 1, 1), 0.5), played, np.array([-np.inf, 0.0, 1.0]).reshape(1, 3, 1), Training()
    )
    assert 0.02 <= theta[0, 0, 0] < 0.5


def test_reward_modes_by_hand():
    """One episode, two agents, kinds (take, build): agent 0 took 3, of which 1 was detected, and
    built once (no violation); fitness (10, 4); penalty 2, violations (take,)."""
    trace = Trace(
        kinds=("take", "build"),
        fitness=np.array([[10.0, 4.0]]),
        events=np.array([[[3.0, 1.0], [0.0, 0.0]]]),
        opportunities=np.ones((1, 2, 2)),
        series={},
        watched=np.array([True]),
        detected=np.array([[[1.0, 0.0], [0.0, 0.0]]]),
    )
    own = np.array([[-5.0, 4.0]])
    expected = {"outcome": [10.0, 4.0], "detected": [8.0, 4.0], "full": [4.0, 4.0], "internal": [-5.0, 4.0]}
    for mode, values in expected.items():
        training = Training(reward=mode, penalty=2.0, violations=("take",))
        assert reward(training, trace, own).tolist() == [values], mode


def test_sample_draws_learners_only():
    theta = np.array([[[0.3, 1.0], [0.3, 0.0]]])
    uniform = np.array([[[0.2, 0.5], [0.2, 0.5]]])
    played = sample(theta, uniform, np.array([[True, False]]))
    assert played.tolist() == [[[1.0, 1.0], [0.3, 0.0]]]
