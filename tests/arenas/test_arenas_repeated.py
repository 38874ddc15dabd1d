"""The repeated arena: PettingZoo's tests, its fast path against the generic loop, its events, and
simulated payoffs against the exact chain of `memory_one`."""

from __future__ import annotations

import arena_checks
import numpy as np
import pytest
from arena_checks import pettingzoo_tests, play, same_episode

from purity.arenas import memory_one, repeated
from purity.arenas.core import Arena, concat_noise
from purity.arenas.repeated import RepeatedArena, RepeatedParams
from purity.arenas.wrapper import ParallelArenaEnv
from purity.inputs import InputError, read_params

FIXED = RepeatedParams()
NOISY = RepeatedParams(noise=0.05)
ENDING = RepeatedParams(continuation=0.9)
BOTH = RepeatedParams(continuation=0.95, noise=0.05)
# payoffs that are not dyadic fractions, so that the order of every sum shows in the last bit
ODD = RepeatedParams(reward=0.3, sucker=-0.7, temptation=1.1, punishment=0.1, continuation=0.97, noise=0.02)
CASES = {"fixed": FIXED, "noisy": NOISY, "ending": ENDING, "both": BOTH, "odd": ODD}
NAMED = memory_one.strategies()


def assert_traces_equal(a, b) -> None:
    arena_checks.assert_traces_equal(a, b, series={"cooperation"})


def pair(batch: int, first: str | np.ndarray, second: str | np.ndarray) -> np.ndarray:
    """[batch, 2, 5]: agent 0 plays `first`, agent 1 `second` (library names or policies)."""
    a, b = (NAMED[x] if isinstance(x, str) else np.asarray(x, float) for x in (first, second))
    return np.tile(np.stack([a, b])[None], (batch, 1, 1))


# --- PettingZoo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("params", CASES.values(), ids=CASES.keys())
def test_pettingzoo_parallel_api_and_seed_tests(params):
    env = pettingzoo_tests(lambda steps: ParallelArenaEnv(RepeatedArena(2, steps, params)))
    assert env.arena.params == params


@pytest.mark.parametrize("params", [NOISY, BOTH], ids=["noisy", "both"])
def test_same_seed_same_500_steps(params):
    """Two episodes with the same seed and actions are equal bit for bit; a game with δ < 1 ends
    early, as a termination (not a truncation) of both agents."""
    runs = [
        play(ParallelArenaEnv(RepeatedArena(2, 500, params)), np.random.default_rng(11), seed=5)
        for _ in range(2)
    ]
    assert same_episode(*runs)
    rewards = [r[1]["agent_0"] for r in runs[0][1:]]
    assert len(set(rewards)) > 2
    _, _, terminations, truncations, _ = runs[0][-1]
    if params.continuation == 1.0:
        assert len(runs[0]) == 501 and not any(terminations.values()) and all(truncations.values())
    else:  # P(500 rounds at δ ≤ 0.97) < 3e-7
        assert len(runs[0]) < 501 and all(terminations.values()) and not any(truncations.values())


def test_a_different_seed_gives_a_different_episode():
    def moves(seed: int) -> list[float]:
        steps = play(ParallelArenaEnv(RepeatedArena(2, 300, NOISY)), np.random.default_rng(11), seed)
        return [obs["agent_1"][0] for obs, *_ in steps[1:]]

    assert moves(5) == moves(5) and moves(5) != moves(6)


def test_parallel_env_factory():
    env = repeated.parallel_env(max_cycles=7, params=BOTH)
    assert env.possible_agents == ["agent_0", "agent_1"] and env.arena.steps == 7
    assert env.observation_space("agent_0").shape == (5,)


@pytest.mark.parametrize("params", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("seed", [0, 1])
def test_the_wrapper_replays_the_core(params, seed):
    """A Python loop over the PettingZoo env, acting by the arena's own `act`, gives the rollout."""
    arena = RepeatedArena(2, 60, params)
    policy = np.random.default_rng(100 + seed).random((1, 2, 5))
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(seed), 1))
    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=seed)
    total = np.zeros(2)
    events = np.zeros((2, len(arena.event_kinds)))
    opportunities = np.zeros_like(events)
    t = 0
    while env.agents:  # until the game ends (δ) or its `steps` rounds are played
        stacked = np.stack([obs[a] for a in env.possible_agents])[None]
        np.testing.assert_array_equal(stacked, arena.observe(env.arena_state))
        actions = arena.act(policy, stacked, t)[0]
        obs, reward, _, _, infos = env.step(dict(zip(env.possible_agents, actions)))
        total += [reward[a] for a in env.possible_agents]
        events += [[infos[a]["events"][k] for k in arena.event_kinds] for a in env.possible_agents]
        opportunities += [
            [infos[a]["opportunities"][k] for k in arena.event_kinds] for a in env.possible_agents
        ]
        t += 1
    assert t == (arena.steps if params.continuation == 1.0 else trace.opportunities[0, 0, 0])
    np.testing.assert_array_equal(total, trace.fitness[0])
    np.testing.assert_array_equal(events, trace.events[0])
    np.testing.assert_array_equal(opportunities, trace.opportunities[0])


# --- the batched core -----------------------------------------------------------------------------


@pytest.mark.parametrize("params", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("chunk", [None, 1, 7], ids=["whole", "chunk-1", "chunk-7"])
def test_fast_rollout_equals_the_generic_loop(params, chunk, monkeypatch):
    if chunk is not None:  # rollouts transpose the noise this many rounds at a time
        monkeypatch.setattr(repeated, "_CHUNK", chunk * 2 * 64)
    arena = RepeatedArena(2, 80, params)
    rng = np.random.default_rng(1)
    policy, noise = rng.random((64, 2, 5)), arena.noise(rng, 64)
    policy[:8] = np.round(policy[:8])  # deterministic strategies too
    policy[8:15] = np.stack(list(NAMED.values()))[:, None]
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise))
    assert_traces_equal(arena.rollout(policy, noise, steps=7), Arena.rollout(arena, policy, noise, steps=7))
    assert fast.fitness.std() > 0 and fast.events[..., 1].std() > 0 and fast.events[..., 2].std() > 0


def test_the_fast_rollout_stops_when_every_game_has_ended():
    """δ = 0.5 over a cap of 400 rounds: every game ends early, the series holds its last value."""
    arena = RepeatedArena(2, 400, RepeatedParams(continuation=0.5, noise=0.1))
    rng = np.random.default_rng(2)
    policy, noise = rng.random((32, 2, 5)), arena.noise(rng, 32)
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise))
    assert fast.opportunities[..., 0].max() < 100


@pytest.mark.parametrize("params", [BOTH, ODD], ids=["both", "odd"])
def test_a_batch_equals_its_episodes_played_one_at_a_time(params):
    arena = RepeatedArena(2, 200, params)
    rng = np.random.default_rng(3)
    policy, noise = rng.random((3, 2, 5)), arena.noise(rng, 3)
    for rollout in (arena.rollout, lambda p, n: Arena.rollout(arena, p, n)):
        together = rollout(policy, noise)
        alone = [rollout(policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}) for b in range(3)]
        for name in ("fitness", "events", "opportunities"):
            np.testing.assert_array_equal(
                getattr(together, name), np.concatenate([getattr(t, name) for t in alone])
            )
    big = arena.rollout(
        np.concatenate([policy, rng.random((500, 2, 5))]), concat_noise([noise, arena.noise(rng, 500)])
    )
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    np.testing.assert_array_equal(big.series["cooperation"][:3], together.series["cooperation"])


def test_act_reads_the_last_outcome_from_the_agents_view():
    arena = RepeatedArena(2, 5)
    policy = np.array([[[0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0]]])
    state = arena.reset(1)
    np.testing.assert_array_equal(arena.act(policy, arena.observe(state), 0)[0, :, 0], [0.1, 0.6])
    # agent 0 cooperates, agent 1 defects: agent 0 is at CD (p_cd), agent 1 at DC (p_dc)
    actions = np.array([[[1.0], [0.0]]])
    state, _ = arena.step(state, actions, {"uniform": np.array([[0.5, 0.5]]), "go_on": np.zeros((1,))})
    np.testing.assert_array_equal(arena.act(policy, arena.observe(state), 1)[0, :, 0], [0.3, 0.9])


def test_noise_flips_moves_and_continuation_ends_the_game():
    arena = RepeatedArena(2, 3, RepeatedParams(noise=0.25, continuation=0.5))
    uniform = np.array([[0.74, 0.76]])  # intended cooperation plays as 0.75: cooperate, defect
    state, result = arena.step(
        arena.reset(1), np.ones((1, 2, 1)), {"uniform": uniform, "go_on": np.array([0.5])}
    )
    np.testing.assert_array_equal(result.rewards, [[0.0, 5.0]])
    assert not state["playing"][0]  # 0.5 is not below δ = 0.5: that was the last round
    state, result = arena.step(state, np.ones((1, 2, 1)), {"uniform": np.zeros((1, 2)), "go_on": np.zeros(1)})
    np.testing.assert_array_equal(result.rewards, [[0.0, 0.0]])
    np.testing.assert_array_equal(result.events, np.zeros((1, 2, 3)))
    np.testing.assert_array_equal(result.opportunities, np.zeros((1, 2, 3)))
    np.testing.assert_array_equal(arena.record(state)["cooperation"], [0.5])  # the last round played
    np.testing.assert_array_equal(arena.observe(state)[0, :, 3], [0.0, 0.0])


# --- events ---------------------------------------------------------------------------------------


def test_events_of_tft_against_alld():
    """ALLD defects first and exploits TFT's opening cooperation once; TFT never defects first."""
    arena = RepeatedArena(2, 10)
    trace = arena.rollout(pair(2, "tft", "alld"), arena.noise(np.random.default_rng(0), 2))
    kinds = arena.event_kinds
    assert kinds == ("defect", "defect_first", "exploit")
    np.testing.assert_array_equal(trace.events[0], [[9, 0, 0], [10, 1, 1]])
    np.testing.assert_array_equal(trace.opportunities[0], [[10, 1, 0], [10, 1, 1]])
    np.testing.assert_array_equal(trace.fitness[0], [0 + 9 * 1, 5 + 9 * 1])


def test_nice_strategies_never_defect_first_without_noise():
    arena = RepeatedArena(2, 50, ENDING)
    nice = ["allc", "tft", "gtft", "wsls", "grim"]
    for first in nice:
        for second in nice:
            trace = arena.rollout(pair(20, first, second), arena.noise(np.random.default_rng(1), 20))
            assert trace.events.sum() == 0
            np.testing.assert_array_equal(trace.fitness, 3.0 * trace.opportunities[..., 0])
    extortion = arena.rollout(pair(200, "extortioner", "allc"), arena.noise(np.random.default_rng(2), 200))
    assert extortion.events[:, 0, 1].sum() > 0 and extortion.events[:, 1].sum() == 0
    # an extortioner defecting against ALLC always exploits it
    np.testing.assert_array_equal(extortion.events[:, 0, 2], extortion.events[:, 0, 0])


# --- payoffs against the exact chain --------------------------------------------------------------

PAIRS = [
    ("tft", "wsls"),
    ("wsls", "wsls"),
    ("tft", "tft"),
    ("gtft", "extortioner"),
    ("grim", "allc"),
    ([0.3, 0.9, 0.2, 0.6, 0.4], [0.7, 0.1, 0.8, 0.5, 0.3]),
]
GAMES = {
    "fixed-50": (RepeatedParams(), 50),
    "noisy-50": (RepeatedParams(noise=0.05), 50),
    "ending-0.9": (RepeatedParams(continuation=0.9), 120),
    "ending-noisy": (RepeatedParams(continuation=0.9, noise=0.05), 120),
}


@pytest.mark.parametrize("game", GAMES, ids=GAMES.keys())
@pytest.mark.parametrize("pairing", PAIRS, ids=lambda p: "-".join(p) if isinstance(p[0], str) else "mixed")
def test_simulated_payoffs_match_the_exact_chain(game, pairing):
    """Mean fitness over 20,000 independent games within 4 standard errors of Σ_t δ^t v₀M^t f (the
    cap of `steps` rounds included); deterministic pairs without noise, exactly."""
    params, steps = GAMES[game]
    arena = RepeatedArena(2, steps, params)
    batch = 20_000
    policy = pair(batch, *pairing)
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(7), batch))
    exact = memory_one.payoffs(
        policy[0, 0], policy[0, 1], params.game, params.continuation, steps, params.noise
    )
    se = trace.fitness.std(axis=0) / np.sqrt(batch)
    assert (np.abs(trace.fitness.mean(axis=0) - exact) <= np.maximum(4 * se, 1e-9 * np.abs(exact))).all()


@pytest.mark.parametrize("pairing", [("tft", "wsls"), ("wsls", "wsls"), ("tft", "tft")], ids="-".join)
def test_long_noisy_games_approach_the_delta_one_limit(pairing):
    """With noise 0.05, 2000 fixed rounds: the payoff per round is within 4 standard errors of the
    exact finite game, which is within 2e-3 of the stationary (δ → 1) value: (R+S+T+P)/4 for TFT
    pairs, close to R for WSLS pairs."""
    params, rounds, batch = RepeatedParams(noise=0.05), 2000, 400
    arena = RepeatedArena(2, rounds, params)
    policy = pair(batch, *pairing)
    per_round = arena.rollout(policy, arena.noise(np.random.default_rng(8), batch)).fitness / rounds
    exact = np.array(memory_one.payoffs(policy[0, 0], policy[0, 1], params.game, 1.0, rounds, 0.05)) / rounds
    limit = np.array(memory_one.long_run_payoffs(policy[0, 0], policy[0, 1], params.game, 0.05))
    assert (np.abs(per_round.mean(axis=0) - exact) < 4 * per_round.std(axis=0) / np.sqrt(batch)).all()
    assert np.abs(exact - limit).max() < 10 / rounds
    if pairing == ("tft", "tft"):
        np.testing.assert_allclose(limit, 2.25, atol=1e-12)
    if pairing == ("wsls", "wsls"):
        assert 3.0 - 0.3 < limit[0] < 3.0


@pytest.mark.parametrize("delta", [0.45, 0.55])
def test_the_tft_alld_threshold_in_played_games(delta):
    """δ > (T − R)/(T − P) = 1/2: a lone ALLD earns less against TFT than TFT against itself, in
    games actually played (capped at 200 rounds, δ^200 < 1e-50)."""
    arena = RepeatedArena(2, 200, RepeatedParams(continuation=delta))
    noise = arena.noise(np.random.default_rng(9), 40_000)
    alld = arena.rollout(pair(40_000, "alld", "tft"), noise).fitness[:, 0]
    tft = arena.rollout(pair(40_000, "tft", "tft"), noise).fitness[:, 0]
    difference = alld - tft  # common random numbers: the same game lengths
    assert (difference.mean() < 0) == (delta > 0.5)
    assert abs(difference.mean()) > 4 * difference.std() / np.sqrt(len(difference))


# --- parameters -----------------------------------------------------------------------------------


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="groups of 2"):
        RepeatedArena(3, 10)
    with pytest.raises(ValueError, match="noise"):
        RepeatedArena(2, 10, RepeatedParams(noise=0.6))
    with pytest.raises(InputError, match=r"arena.noise: expected a number in \[0.0, 0.5\]"):
        read_params(RepeatedParams, {"noise": 0.7}, "x.toml", "arena")
    with pytest.raises(InputError, match=r"arena.continuation"):
        read_params(RepeatedParams, {"continuation": 1.5}, "x.toml", "arena")


def test_named_policies_follow_the_game():
    game = RepeatedParams(reward=2.0, sucker=-1.0, temptation=3.0, punishment=0.0)  # donation b=3, c=1
    named = RepeatedArena(2, 5, game).named_policies
    assert set(named) == {"allc", "alld", "tft", "gtft", "wsls", "grim", "extortioner"}
    assert named["gtft"][2] == pytest.approx(min(1 - 1 / 3, 2 / 3))
    np.testing.assert_array_equal(named["extortioner"], memory_one.zero_determinant(game.game, 3.0))
