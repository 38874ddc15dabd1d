"""The matrix arena: exact payoffs against game theory, batch independence, and its PettingZoo face."""

from __future__ import annotations

from dataclasses import fields

import arena_checks
import numpy as np
import pytest
from arena_checks import (
    assert_registered_and_documented,
    pettingzoo_tests,
    play,
    replayed_500_steps,
    same_episode,
)

import purity.arenas as arenas
from purity.arenas import matrix
from purity.arenas.core import Arena, concat_noise
from purity.arenas.matrix import FORMULAS, MatrixArena, MatrixParams, register_formula
from purity.arenas.wrapper import ParallelArenaEnv
from purity.inputs import InputError, read_params


def assert_traces_equal(a, b) -> None:
    arena_checks.assert_traces_equal(a, b, series={"cooperation"})


PD = MatrixParams()  # R=3, S=0, T=5, P=1
DONATION = MatrixParams(reward=3.0, sucker=-1.0, temptation=4.0, punishment=0.0)  # b=4, c=1
# entries that are not dyadic fractions, so that the order of every sum shows in the last bit
ODD = MatrixParams(reward=0.3, sucker=-0.7, temptation=1.1, punishment=0.1)
CONTINUOUS = MatrixParams(mode="continuous", benefit=0.7, cost=0.3)
SNOWDRIFT = MatrixParams(mode="continuous", formula="snowdrift", benefit=1.1, cost=0.9)
MODES = {"discrete": ODD, "continuous": CONTINUOUS, "snowdrift": SNOWDRIFT}


def policies(batch: int, *values: float) -> np.ndarray:
    """[batch, 2, 1] with agent i playing values[i]."""
    return np.tile(np.array(values, dtype=np.float64)[None, :, None], (batch, 1, 1))


# --- PettingZoo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("params", MODES.values(), ids=MODES.keys())
def test_pettingzoo_parallel_api_and_seed_tests(params):
    assert (
        pettingzoo_tests(lambda steps: ParallelArenaEnv(MatrixArena(2, steps, params))).arena.params == params
    )


@pytest.mark.parametrize("params", MODES.values(), ids=MODES.keys())
def test_same_seed_same_500_steps(params):
    run = replayed_500_steps(lambda steps: ParallelArenaEnv(MatrixArena(2, steps, params)))
    rewards = [r[1]["agent_0"] for r in run[1:]]
    assert len(set(rewards)) > 2  # the episode is not trivially constant


def test_a_different_seed_gives_a_different_discrete_episode():
    def moves(seed: int) -> list[float]:
        env = ParallelArenaEnv(MatrixArena(2, 500, ODD))
        steps = play(env, np.random.default_rng(11), seed)
        return [obs["agent_1"][0] for obs, *_ in steps[1:]]

    assert moves(5) == moves(5)
    assert moves(5) != moves(6)


def test_the_continuous_game_uses_no_noise():
    """Continuous payoffs follow from the contributions alone: the seed changes nothing."""
    env = ParallelArenaEnv(MatrixArena(2, 50, CONTINUOUS))
    first = play(env, np.random.default_rng(11), seed=5)
    assert same_episode(first, play(env, np.random.default_rng(11), seed=6))
    assert not same_episode(first, play(env, np.random.default_rng(12), seed=5))


@pytest.mark.parametrize("params", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("seed", [0, 1])
def test_the_wrapper_replays_the_core(params, seed):
    arena = MatrixArena(2, 40, params)
    policy = np.random.default_rng(100 + seed).random((1, 2, 1))
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(seed), 1))
    state, noise = arena.reset(1), arena.noise(np.random.default_rng(seed), 1)
    core_rewards = []
    for t in range(arena.steps):
        actions = arena.act(policy, arena.observe(state), t)
        state, result = arena.step(state, actions, {"uniform": noise["uniform"][:, t]})
        core_rewards.append(result.rewards[0])

    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=seed)
    rewards, total = [], np.zeros(2)
    events, opportunities = np.zeros(2), np.zeros(2)
    for t in range(arena.steps):
        stacked = np.stack([obs[a] for a in env.possible_agents])[None]
        np.testing.assert_array_equal(stacked, arena.observe(env.arena_state))
        actions = arena.act(policy, stacked, t)[0]
        obs, reward, _, _, infos = env.step(dict(zip(env.possible_agents, actions)))
        rewards.append([reward[a] for a in env.possible_agents])
        total += rewards[-1]
        events += [infos[a]["events"]["defect"] for a in env.possible_agents]
        opportunities += [infos[a]["opportunities"]["defect"] for a in env.possible_agents]
        assert all(infos[a]["helper_events"] == {"defect": 0.0} for a in env.possible_agents)
    assert env.agents == []
    np.testing.assert_array_equal(rewards, core_rewards)
    np.testing.assert_array_equal(total, trace.fitness[0])
    np.testing.assert_array_equal(env.arena_state["payoff"][0], trace.fitness[0])
    np.testing.assert_array_equal(events, trace.events[0, :, 0])
    np.testing.assert_array_equal(opportunities, [40.0, 40.0])
    np.testing.assert_array_equal(
        arena.record(env.arena_state)["cooperation"], trace.series["cooperation"][:, -1]
    )


# --- the batched core -----------------------------------------------------------------------------


@pytest.mark.parametrize("params", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("chunk", [None, 1, 7], ids=["whole", "chunk-1", "chunk-7"])
def test_fast_rollout_equals_the_generic_loop(params, chunk, monkeypatch):
    if chunk is not None:  # discrete rollouts go through the steps this many at a time
        monkeypatch.setattr(matrix, "_CHUNK", chunk * 2 * 64)
    arena = MatrixArena(2, 60, params)
    rng = np.random.default_rng(1)
    policy, noise = rng.random((64, 2, 1)), arena.noise(rng, 64)
    policy[:8] = np.round(policy[:8])  # pure players too
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise))
    assert_traces_equal(arena.rollout(policy, noise, steps=7), Arena.rollout(arena, policy, noise, steps=7))
    assert fast.fitness.std() > 0 and fast.events.std() > 0


@pytest.mark.parametrize("params", MODES.values(), ids=MODES.keys())
def test_a_batch_equals_its_episodes_played_one_at_a_time(params):
    arena = MatrixArena(2, 300, params)
    rng = np.random.default_rng(2)
    policy, noise = rng.random((3, 2, 1)), arena.noise(rng, 3)
    for rollout in (arena.rollout, lambda p, n: Arena.rollout(arena, p, n)):
        together = rollout(policy, noise)
        alone = [rollout(policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}) for b in range(3)]
        for name in ("fitness", "events", "opportunities"):
            np.testing.assert_array_equal(
                getattr(together, name), np.concatenate([getattr(t, name) for t in alone])
            )
        alone_series = np.concatenate([t.series["cooperation"] for t in alone])
        np.testing.assert_array_equal(together.series["cooperation"], alone_series)
    big = arena.rollout(
        np.concatenate([policy, rng.random((500, 2, 1))]), concat_noise([noise, arena.noise(rng, 500)])
    )
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    np.testing.assert_array_equal(big.events[:3], together.events)
    np.testing.assert_array_equal(big.series["cooperation"][:3], together.series["cooperation"])


def test_noise_reset_observations_and_series():
    arena = MatrixArena(2, 8)
    noise = arena.noise(np.random.default_rng(0), 5)
    assert set(noise) == {"uniform"} and noise["uniform"].shape == (5, 8, 2)
    state = arena.reset(3)
    np.testing.assert_array_equal(arena.observe(state), np.zeros((3, 2, 2)))
    np.testing.assert_array_equal(arena.record(state)["cooperation"], np.zeros(3))
    actions = policies(3, 1.0, 0.0)
    state, result = arena.step(state, actions, {"uniform": np.full((3, 2), 0.5)})
    obs = arena.observe(state)
    np.testing.assert_array_equal(
        obs[..., 0], [[0.0, 1.0]] * 3
    )  # agent 0 sees a defector, agent 1 a cooperator
    np.testing.assert_array_equal(obs[..., 1], np.full((3, 2), 1 / 8))
    np.testing.assert_array_equal(arena.record(state)["cooperation"], np.full(3, 0.5))
    np.testing.assert_array_equal(result.rewards, [[0.0, 5.0]] * 3)
    np.testing.assert_array_equal(result.events[..., 0], [[0.0, 1.0]] * 3)
    np.testing.assert_array_equal(result.opportunities, np.ones((3, 2, 1)))
    assert np.array_equal(arena.act(actions, obs, 1), actions)
    cont = MatrixArena(2, 4, CONTINUOUS)
    state, _ = cont.step(cont.reset(1), policies(1, 0.25, 0.75), {"uniform": np.zeros((1, 2))})
    np.testing.assert_array_equal(cont.observe(state)[0, :, 0], [0.75, 0.25])
    np.testing.assert_array_equal(cont.record(state)["cooperation"], [0.5])


def test_a_move_is_cooperation_iff_the_uniform_is_below_the_action():
    arena = MatrixArena(2, 1)
    uniform = np.array([[0.3, 0.3], [0.29, 0.31], [0.0, 0.999]])
    _, result = arena.step(arena.reset(3), policies(3, 0.3, 0.3), {"uniform": uniform})
    np.testing.assert_array_equal(result.events[..., 0], [[1, 1], [0, 1], [0, 1]])
    trace = arena.rollout(policies(3, 0.3, 0.3), {"uniform": uniform[:, None]})
    np.testing.assert_array_equal(trace.events[..., 0], [[1, 1], [0, 1], [0, 1]])


# --- payoffs against theory -----------------------------------------------------------------------

PAIRINGS = {  # (agent 0, agent 1) cooperates -> the entries they earn
    (1, 1): ("reward", "reward"),
    (1, 0): ("sucker", "temptation"),
    (0, 1): ("temptation", "sucker"),
    (0, 0): ("punishment", "punishment"),
}
HAWK_DOVE = MatrixParams(reward=1.0, sucker=0.0, temptation=2.0, punishment=-1.0)  # V=2, C=4


@pytest.mark.parametrize("params", [PD, DONATION], ids=["prisoners-dilemma", "donation"])
@pytest.mark.parametrize("pairing", PAIRINGS, ids=["CC", "CD", "DC", "DD"])
def test_pure_pairings_earn_exactly_the_matrix_entry(params, pairing):
    steps = 500
    arena = MatrixArena(2, steps, params)
    trace = arena.rollout(policies(4, *pairing), arena.noise(np.random.default_rng(3), 4))
    entries = [getattr(params, name) for name in PAIRINGS[pairing]]
    np.testing.assert_array_equal(trace.fitness, np.tile(np.array(entries) * steps, (4, 1)))
    np.testing.assert_array_equal(trace.events[..., 0], np.tile((1 - np.array(pairing)) * steps, (4, 1)))
    np.testing.assert_array_equal(trace.opportunities, np.full((4, 2, 1), steps))
    np.testing.assert_array_equal(trace.series["cooperation"][:, 1:], np.mean(pairing))


@pytest.mark.parametrize(
    "params, p, q",
    [(PD, 0.5, 0.5), (PD, 0.3, 0.8), (DONATION, 0.9, 0.2), (HAWK_DOVE, 0.5, 0.5)],
    ids=["pd-half", "pd-mixed", "donation", "hawk-dove-ess"],
)
def test_mixed_policies_earn_the_expected_payoff(params, p, q):
    """Agent 0 cooperating with probability p against q earns pqR + p(1−q)S + (1−p)qT + (1−p)(1−q)P
    per step on average (within five standard errors over 200,000 independent steps)."""
    arena = MatrixArena(2, 100, params)
    trace = arena.rollout(policies(2000, p, q), arena.noise(np.random.default_rng(4), 2000))
    R, S, T, P = params.reward, params.sucker, params.temptation, params.punishment
    probs = np.array([p * q, p * (1 - q), (1 - p) * q, (1 - p) * (1 - q)])
    for agent, entries in ((0, np.array([R, S, T, P])), (1, np.array([R, T, S, P]))):
        mean, second = probs @ entries, probs @ entries**2
        se = np.sqrt((second - mean**2) / (2000 * 100))
        assert abs(trace.fitness[:, agent].mean() / 100 - mean) < 5 * se
    rate = trace.events[:, 0, 0].mean() / 100
    assert abs(rate - (1 - p)) < 5 * np.sqrt(p * (1 - p) / 200_000)


def test_hawk_dove_mixed_ess_makes_both_moves_pay_the_same():
    """V=2, C=4: against doves-with-probability 1 − V/C = 1/2, a dove and a hawk earn alike."""
    V, C = 2.0, 4.0
    arena = MatrixArena(2, 100, MatrixParams(reward=V / 2, sucker=0.0, temptation=V, punishment=(V - C) / 2))
    noise = arena.noise(np.random.default_rng(5), 2000)
    dove = arena.rollout(policies(2000, 1.0, 1 - V / C), noise).fitness[:, 0].mean() / 100
    hawk = arena.rollout(policies(2000, 0.0, 1 - V / C), noise).fitness[:, 0].mean() / 100
    assert abs(dove - 0.5) < 0.02 and abs(hawk - 0.5) < 0.04
    off = arena.rollout(policies(2000, 0.0, 0.9), noise).fitness[:, 0].mean() / 100
    assert off > 1.5  # against mostly doves, hawks do better


def test_the_discrete_donation_game_matches_the_continuous_public_goods_game_on_average():
    b, c, p, q = 4.0, 1.0, 0.3, 0.6
    discrete = MatrixArena(2, 100, MatrixParams(reward=b - c, sucker=-c, temptation=b, punishment=0.0))
    trace = discrete.rollout(policies(2000, p, q), discrete.noise(np.random.default_rng(6), 2000))
    continuous = MatrixArena(2, 100, MatrixParams(mode="continuous", benefit=b, cost=c))
    exact = continuous.rollout(policies(1, p, q), continuous.noise(np.random.default_rng(6), 1))
    np.testing.assert_allclose(exact.fitness[0] / 100, [b * q - c * p, b * p - c * q], rtol=1e-12)
    np.testing.assert_allclose(trace.fitness.mean(axis=0) / 100, exact.fitness[0] / 100, atol=0.03)


# --- continuous mode ------------------------------------------------------------------------------


@pytest.mark.parametrize("x, y", [(0.25, 0.75), (1.0, 0.0), (0.0, 0.0), (0.5, 1.0)])
def test_public_goods_payoffs_and_shortfalls_are_exact(x, y):
    steps = 256
    params = MatrixParams(mode="continuous", benefit=3.0, cost=1.0)
    arena = MatrixArena(2, steps, params)
    noise = arena.noise(np.random.default_rng(7), 2)
    for trace in (arena.rollout(policies(2, x, y), noise), Arena.rollout(arena, policies(2, x, y), noise)):
        np.testing.assert_array_equal(trace.fitness, [[steps * (3 * y - x), steps * (3 * x - y)]] * 2)
        np.testing.assert_array_equal(trace.events[..., 0], [[steps * (1 - x), steps * (1 - y)]] * 2)
        np.testing.assert_array_equal(trace.series["cooperation"][:, 1:], (x + y) / 2)
        np.testing.assert_array_equal(trace.series["cooperation"][:, 0], 0.0)


def test_public_goods_best_response_is_to_contribute_nothing_but_the_pair_earns_most_at_full():
    arena = MatrixArena(2, 10, MatrixParams(mode="continuous"))
    grid = np.linspace(0, 1, 11)
    noise = arena.noise(np.random.default_rng(0), 11)
    for y in (0.0, 0.5, 1.0):
        own = arena.rollout(np.stack([grid, np.full(11, y)], axis=1)[..., None], noise).fitness[:, 0]
        assert np.argmax(own) == 0
    alike = arena.rollout(np.repeat(grid[:, None, None], 2, axis=1), noise).fitness.sum(axis=1)
    assert np.argmax(alike) == 10


def test_snowdrift_payoff_and_its_singular_strategy():
    """b(x+y) − c x²: the best response to anything is x* = b / (2c), here 1/2."""
    arena = MatrixArena(2, 8, MatrixParams(mode="continuous", formula="snowdrift", benefit=1.0, cost=1.0))
    noise = arena.noise(np.random.default_rng(0), 21)
    trace = arena.rollout(policies(1, 0.25, 0.5), noise)
    np.testing.assert_array_equal(trace.fitness, [[8 * (0.75 - 0.0625), 8 * (0.75 - 0.25)]])
    grid = np.linspace(0, 1, 21)
    for y in (0.0, 0.3, 1.0):
        own = arena.rollout(np.stack([grid, np.full(21, y)], axis=1)[..., None], noise).fitness[:, 0]
        assert grid[np.argmax(own)] == 0.5


def test_a_registered_formula_is_used():
    name = "test_saturating"
    try:
        register_formula(name, lambda x, y, p: p.benefit * ((x + y) - (x + y) ** 2 / 4) - p.cost * x)
        arena = MatrixArena(2, 4, MatrixParams(mode="continuous", formula=name, benefit=2.0, cost=1.0))
        trace = arena.rollout(policies(1, 0.5, 1.0), arena.noise(np.random.default_rng(0), 1))
        # z = 1.5: 2 (1.5 − 0.5625) − x
        np.testing.assert_array_equal(trace.fitness, [[4 * (1.875 - 0.5), 4 * (1.875 - 1.0)]])
        assert (
            arenas.arena_class("matrix")(2, 4, MatrixParams(mode="continuous", formula=name)).params.formula
            == name
        )
    finally:
        FORMULAS.pop(name, None)
    with pytest.raises(ValueError, match="test_saturating"):
        MatrixArena(2, 4, MatrixParams(mode="continuous", formula=name))
    with pytest.raises(TypeError):
        register_formula("broken", 3.0)  # type: ignore[arg-type]
    assert "broken" not in FORMULAS


def test_bad_modes_formulas_and_group_sizes_are_rejected():
    with pytest.raises(ValueError, match="'discrete', 'continuous'.*'cooperative'"):
        MatrixArena(2, 4, MatrixParams(mode="cooperative"))
    with pytest.raises(ValueError, match="'public_goods', 'snowdrift'.*'nope'"):
        MatrixArena(2, 4, MatrixParams(mode="continuous", formula="nope"))
    with pytest.raises(ValueError, match="'nope'"):  # a typo is caught even while the formula is unused
        MatrixArena(2, 4, MatrixParams(formula="nope"))
    for n in (1, 3, 4):
        with pytest.raises(ValueError, match="groups of 2"):
            MatrixArena(n, 4)
    with pytest.raises(ValueError):
        MatrixArena(2, 0)


# --- inputs and registration ----------------------------------------------------------------------


def test_params_are_read_from_toml_tables():
    numeric = [f for f in fields(MatrixParams) if isinstance(f.default, float)]
    assert len(numeric) == 6 and all("low" in f.metadata and "high" in f.metadata for f in numeric)
    table = {
        "reward": 4,
        "sucker": -1.5,
        "temptation": 5.0,
        "punishment": 0,
        "mode": "continuous",
        "formula": "snowdrift",
        "benefit": 2,
    }
    params = read_params(MatrixParams, table, "x.toml", "arena")
    assert params == MatrixParams(4.0, -1.5, 5.0, 0.0, mode="continuous", formula="snowdrift", benefit=2.0)
    assert isinstance(params.reward, float) and params.cost == 1.0
    MatrixArena(2, 5, params)
    with pytest.raises(InputError, match="arena.reward: expected a number"):
        read_params(MatrixParams, {"reward": "high"}, "x.toml", "arena")
    with pytest.raises(InputError, match="arena.cost"):
        read_params(MatrixParams, {"cost": -1.0}, "x.toml", "arena")
    with pytest.raises(InputError, match="arena.mode: expected a non-empty string"):
        read_params(MatrixParams, {"mode": 1}, "x.toml", "arena")
    with pytest.raises(InputError, match="arena.rounds"):
        read_params(MatrixParams, {"rounds": 3}, "x.toml", "arena")


def test_registered_and_documented():
    arena = MatrixArena(2, 10)
    words = ("Standing", "hawk", "stag", "donation", "Doebeli", *FORMULAS)
    assert_registered_and_documented("matrix", arena, words)
    assert arena.n_actors == 2 and not arena.has_helpers and not arena.has_oversight
    assert arena.default_policy.tolist() == [0.5]
