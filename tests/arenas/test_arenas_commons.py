"""The commons' batched core: the rules as documented, batch independence, conservation."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from arena_checks import assert_registered_and_documented, assert_traces_equal

from purity.arenas.commons import BUILD, OVERUSE, TAKE, CommonsArena, CommonsParams
from purity.arenas.core import Arena, concat_noise
from purity.inputs import InputError, read_params

N, STEPS = 4, 30


def random_policies(rng: np.random.Generator, batch: int, n: int = N) -> np.ndarray:
    """Policies that exercise every branch: some build, take, harvest hard or stop at a floor."""
    policy = rng.random((batch, n, 5))
    policy[..., 1] *= 0.6
    policy[..., 3] = rng.random((batch, n)) < 0.5
    return policy


def uniform(arena: CommonsArena, batch: int, **values: float) -> np.ndarray:
    policy = np.tile(arena.default_policy, (batch, arena.n_agents, 1))
    for name, value in values.items():
        policy[..., arena.policy_names.index(name)] = value
    return policy


PARAMS = {
    "default": CommonsParams(),
    # large takes: requests on one victim exceed its store, and the scaling branch runs
    "greedy": CommonsParams(take_rate=0.9, max_harvest=6.0, regrowth=0.8, noise=0.5, helper_cost=0.3),
    "cheap-helpers": CommonsParams(helper_cost=0.0, initial_stock=0.3, max_harvest=10.0),
}


@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
def test_fast_rollout_equals_the_generic_loop(params):
    arena = CommonsArena(N, STEPS, params)
    rng = np.random.default_rng(1)
    policy, noise = random_policies(rng, 64), arena.noise(rng, 64)
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise))
    assert fast.events[..., BUILD].sum() > 0 and fast.events[:, N:, TAKE].sum() > 0
    assert_traces_equal(arena.rollout(policy, noise, steps=7), Arena.rollout(arena, policy, noise, steps=7))


@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
@pytest.mark.parametrize("n", [2, 4, 11])
def test_a_batch_equals_its_episodes_played_one_at_a_time(params, n):
    arena = CommonsArena(n, STEPS, params)
    rng = np.random.default_rng(2)
    policy, noise = random_policies(rng, 3, n), arena.noise(rng, 3)
    together = arena.rollout(policy, noise)
    alone = [arena.rollout(policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}) for b in range(3)]
    for name in ("fitness", "events", "opportunities"):
        np.testing.assert_array_equal(
            getattr(together, name), np.concatenate([getattr(t, name) for t in alone])
        )
    np.testing.assert_array_equal(
        together.series["commons"], np.concatenate([t.series["commons"] for t in alone])
    )
    # and within a large batch, through the generic loop (step/observe/act)
    big_noise = concat_noise([noise, arena.noise(rng, 300)])
    big_policy = np.concatenate([policy, random_policies(rng, 300, n)])
    big = Arena.rollout(arena, big_policy, big_noise)
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    np.testing.assert_array_equal(big.events[:3], together.events)


def test_noise_shape_and_reset():
    arena = CommonsArena(3, 20)
    noise = arena.noise(np.random.default_rng(0), 5)
    assert set(noise) == {"regrowth"} and noise["regrowth"].shape == (5, 20)
    state = arena.reset(5)
    np.testing.assert_array_equal(state["store"], np.full((5, 3), 2.0))
    np.testing.assert_array_equal(arena.record(state)["commons"], np.full(5, 0.8))
    assert arena.share == pytest.approx(0.4 * 30 / 12)


def test_observations():
    arena = CommonsArena(3, 10)
    state = arena.reset(2)
    state["store"] = np.array([[1.0, 5.0, 3.0], [4.0, 4.0, 0.0]])
    state["helper"] = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    state["stock"] = np.array([15.0, 0.0])
    state["t"] = 4
    obs = arena.observe(state)
    assert obs.shape == (2, 3, 5)
    np.testing.assert_array_equal(obs[..., 0], [[0.5] * 3, [0.0] * 3])
    np.testing.assert_array_equal(obs[..., 1], [[0.1, 0.5, 0.3], [0.4, 0.4, 0.0]])
    np.testing.assert_array_equal(obs[..., 2], [[0.5, 0.3, 0.5], [0.4, 0.4, 0.4]])
    np.testing.assert_array_equal(obs[..., 3], state["helper"])
    np.testing.assert_array_equal(obs[..., 4], np.full((2, 3), 0.4))


def test_act_maps_the_policy_and_stops_at_the_floor():
    arena = CommonsArena(2, 10)
    policy = np.array([[[0.7, 0.5, 0.2, 1.0, 0.9], [0.7, 0.9, 0.3, 0.0, 0.1]]])
    obs = np.zeros((1, 2, 5))
    obs[..., 0] = 0.8
    actions = arena.act(policy, obs, 0)
    np.testing.assert_array_equal(actions, [[[0.7, 0.2, 1.0, 0.7, 0.9], [0.0, 0.3, 0.0, 0.0, 0.1]]])
    assert actions.shape == (1, 2, len(arena.action_names))


def test_one_step_by_hand():
    """Build, harvest, take and regrowth with numbers worked out on paper."""
    params = CommonsParams(noise=0.0)
    arena = CommonsArena(2, 5, params)  # K = 20, share = 0.4 * 20 / 8 = 1
    state = arena.reset(1)  # stock 16, stores 2, 2
    actions = np.array([[[1.0, 0.0, 1.0, 0.5, 1.0], [0.25, 1.0, 0.0, 1.0, 1.0]]])
    state, result = arena.step(state, actions, {"regrowth": np.zeros(1)})
    # build: agent 0 pays 1 -> stores 1, 2; helper of agent 0 exists, agent 1 has none
    # harvest: agent 0 2*1*1 = 2, helper 0 0.5*2 = 1, agent 1 0.25*2 = 0.5 -> stores 4, 2.5; stock 12.5
    # take: victim of 0 is 1 (2.5), of 1 is 0 (4). agent 0: 0; helper 0: 0.1*2.5 = 0.25;
    #       agent 1: 0.1*4 = 0.4 -> stores 4 - 0.4 + 0.25 = 3.85, 2.5 + 0.4 - 0.25 = 2.65
    # regrowth: 12.5 + 0.4 * 12.5 * (1 - 12.5/20) = 14.375
    np.testing.assert_allclose(state["store"], [[3.85, 2.65]], rtol=1e-14)
    np.testing.assert_allclose(state["stock"], [14.375], rtol=1e-14)
    np.testing.assert_array_equal(state["helper"], [[1.0, 0.0]])
    np.testing.assert_allclose(result.rewards, [[1.85, 0.65]], rtol=1e-14)
    expected = np.zeros((1, 4, 3))
    expected[0, 0] = [0.0, 1.0, 1.0]  # agent 0: overuse 2 - 1, built
    expected[0, 1] = [0.4, 0.0, 0.0]  # agent 1: took 0.4, harvested under its share
    expected[0, 2] = [0.25, 0.0, 0.0]  # helper of agent 0: took 0.25, harvested exactly its share
    np.testing.assert_allclose(result.events, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(result.opportunities, [[[1, 1, 1], [1, 1, 1]]])
    assert state["t"] == 1
    # a second build is neither possible nor counted as an opportunity for agent 0
    state, result = arena.step(state, actions, {"regrowth": np.zeros(1)})
    assert result.events[0, 0, BUILD] == 0 and result.opportunities[0, 0, BUILD] == 0


def test_victims_are_the_richest_other_agent_ties_to_the_lowest_index():
    arena = CommonsArena(4, 5)
    state = arena.reset(2)
    state["store"] = np.array([[5.0, 3.0, 3.0, 1.0], [3.0, 5.0, 5.0, 1.0]])
    actions = np.zeros((2, 4, 5))
    actions[..., 1] = 1.0
    state, result = arena.step(state, actions, {"regrowth": np.zeros(2)})
    # row 0: agent 0 takes from agent 1 (tied with 2); the others take from agent 0
    # row 1: agent 1 (first of the richest) takes from agent 2; the others take from agent 1
    np.testing.assert_allclose(state["store"], [[3.8, 3.2, 3.5, 1.5], [3.5, 4.0, 5.0, 1.5]], rtol=1e-14)
    np.testing.assert_allclose(result.events[:, :4, TAKE], [[0.3, 0.5, 0.5, 0.5], [0.5] * 4], rtol=1e-14)
    np.testing.assert_allclose(arena.observe(arena.reset(1))[..., 2], 0.2)


def test_harvest_requests_beyond_the_stock_are_scaled_together():
    arena = CommonsArena(2, 5, CommonsParams(noise=0.0, max_harvest=100.0, regrowth=0.4))
    state = arena.reset(1)
    state["stock"] = np.array([3.0])
    actions = np.zeros((1, 2, 5))
    actions[0, :, 0] = [1.0, 0.5]  # requests 100 and 50 -> scaled to 2 and 1
    state, result = arena.step(state, actions, {"regrowth": np.zeros(1)})
    np.testing.assert_allclose(state["store"], [[4.0, 3.0]], rtol=1e-14)
    assert state["stock"][0] == 0.0  # emptied and nothing left to regrow
    np.testing.assert_allclose(result.events[0, :2, OVERUSE], [1.0, 0.0], atol=1e-14)


def total_wealth(arena, state):
    return state["stock"] + state["store"].sum(-1) + arena.params.helper_cost * state["helper"].sum(-1)


@pytest.mark.parametrize("take_rate", [0.1, 0.9])
def test_without_regrowth_resources_are_conserved(take_rate):
    params = CommonsParams(regrowth=0.0, noise=0.0, take_rate=take_rate, helper_cost=0.7)
    arena = CommonsArena(5, 40, params)
    # regrowth 0 also makes the sustainable share, hence every harvest, 0: set a share by hand so
    # that the harvest phase is part of what is checked
    arena.share = 0.5
    rng = np.random.default_rng(3)
    batch = 50
    state = arena.reset(batch)
    start = total_wealth(arena, state)
    noise = arena.noise(rng, batch)
    took = 0.0
    for t in range(arena.steps):
        actions = rng.random((batch, 5, 5))
        before = state
        state, result = arena.step(state, actions, {k: v[:, t] for k, v in noise.items()})
        np.testing.assert_allclose(total_wealth(arena, state), start, rtol=1e-12)
        assert (state["store"] >= 0).all() and (state["stock"] >= 0).all()
        took += result.events[..., TAKE].sum()
        # the rewards are exactly what moved into each store
        np.testing.assert_array_equal(result.rewards, state["store"] - before["store"])
    assert took > 1.0
    assert (state["helper"].sum(-1) > 0).any()


@pytest.mark.parametrize("take_rate", [0.1, 0.9])
def test_takes_move_resources_and_never_create_them(take_rate):
    arena = CommonsArena(4, 10, CommonsParams(take_rate=take_rate))
    rng = np.random.default_rng(4)
    state = arena.reset(200)
    state["store"] = rng.random((200, 4)) * 5
    state["store"][:20, 1:] = 0.0  # only one agent has anything: three owners' victims are empty
    state["store"][20:40] = 1.0  # all tied
    state["helper"] = (rng.random((200, 4)) < 0.5).astype(float)
    actions = rng.random((200, 4, 5))
    actions[..., 0] = actions[..., 3] = 0.0  # no harvest: only the take phase moves stores
    actions[..., 2] = 0.0  # no build
    new, result = arena.step(state, actions, {"regrowth": np.zeros(200)})
    np.testing.assert_allclose(new["store"].sum(-1), state["store"].sum(-1), rtol=1e-13)
    assert (new["store"] >= 0).all()
    # the owners gained exactly what their actors took
    gained = np.maximum(new["store"] - state["store"], 0).sum(-1)
    assert result.events[..., TAKE].sum() > 10
    assert (gained <= result.events[..., TAKE].sum(-1) + 1e-12).all()
    # nobody takes while every other store is empty: the lone rich agent can take from nobody
    assert (result.events[:20, [0, 4], TAKE] == 0).all()
    assert (result.opportunities[:20, 0, TAKE] == 0).all() and (
        result.opportunities[:20, 1:, TAKE] == 1
    ).all()


def test_a_taker_ends_richer_than_its_victims():
    arena = CommonsArena(N, STEPS)
    noise = arena.noise(np.random.default_rng(5), 20)
    policy = uniform(arena, 20)
    policy[:, 0, arena.policy_names.index("take")] = 1.0
    trace = arena.rollout(policy, noise)
    assert (trace.fitness[:, 0] > trace.fitness[:, 1:].max(-1) + 1.0).all()
    assert (trace.events[:, 0, TAKE] > 0).all() and (trace.events[:, 1:, TAKE] == 0).all()
    fair = arena.rollout(uniform(arena, 20), noise)
    assert (trace.fitness[:, 1:] < fair.fitness[:, 1:]).all()


def test_helper_takes_are_on_the_helpers_slot():
    arena = CommonsArena(N, STEPS)
    noise = arena.noise(np.random.default_rng(6), 10)
    policy = uniform(arena, 10, build=0.0)
    policy[:, 2, arena.policy_names.index("build")] = 1.0
    policy[:, 2, arena.policy_names.index("helper_take")] = 1.0
    trace = arena.rollout(policy, noise)
    helper = N + 2
    assert (trace.events[:, helper, TAKE] > 0).all()
    assert (np.delete(trace.events[..., TAKE], helper, axis=1) == 0).all()
    np.testing.assert_array_equal(trace.events[:, :, BUILD], np.eye(2 * N)[[2] * 10])
    np.testing.assert_array_equal(trace.own_events()[:, 2, TAKE], 0.0)
    np.testing.assert_array_equal(trace.helper_events()[:, 2, TAKE], trace.events[:, helper, TAKE])
    # the delegation pays: richer than without a helper, despite the helper's cost
    plain = arena.rollout(uniform(arena, 10), noise)
    assert (trace.fitness[:, 2] > plain.fitness[:, 2]).all()
    # build opportunities: every step until built (at step 0), only for those who can pay
    assert (trace.opportunities[:, 2, BUILD] == 1).all()
    assert (trace.opportunities[:, [0, 1, 3], BUILD] == STEPS).all()


def test_a_helper_without_a_built_helper_does_nothing():
    arena = CommonsArena(N, STEPS)
    noise = arena.noise(np.random.default_rng(7), 5)
    trace = arena.rollout(uniform(arena, 5, helper_take=1.0, harvest=1.0), noise)
    assert (trace.events[:, N:] == 0).all()
    poor = CommonsArena(N, STEPS, CommonsParams(helper_cost=100.0))
    trace = poor.rollout(uniform(poor, 5, build=1.0, helper_take=1.0), noise)
    assert (trace.events[..., BUILD] == 0).all() and (trace.opportunities[..., BUILD] == 0).all()


@pytest.mark.parametrize("effort", [0.0, 0.3, 0.5])
def test_no_overuse_at_or_below_the_sustainable_share(effort):
    arena = CommonsArena(N, STEPS)
    trace = arena.rollout(uniform(arena, 8, harvest=effort), arena.noise(np.random.default_rng(8), 8))
    assert (trace.events[..., OVERUSE] == 0).all()
    assert (trace.opportunities[..., OVERUSE] == STEPS).all()


@pytest.mark.parametrize("effort", [0.55, 1.0])
def test_overuse_above_the_sustainable_share(effort):
    arena = CommonsArena(N, STEPS)
    trace = arena.rollout(uniform(arena, 8, harvest=effort), arena.noise(np.random.default_rng(8), 8))
    first_step = (effort * arena.params.max_harvest - 1) * arena.share
    assert (trace.events[:, :N, OVERUSE] >= first_step - 1e-12).all()


def test_the_default_policy_harvests_the_sustainable_yield():
    arena = CommonsArena(N, 60, CommonsParams(noise=0.0))
    trace = arena.rollout(uniform(arena, 1), arena.noise(np.random.default_rng(0), 1))
    series = trace.series["commons"][0]
    assert (np.diff(series) < 0).all() and (series > 0.5).all()  # slides towards K/2 from above
    np.testing.assert_allclose(trace.fitness, 2.0 + 60 * arena.share, rtol=1e-12)
    hard = arena.rollout(uniform(arena, 1, harvest=1.0), arena.noise(np.random.default_rng(0), 1))
    assert hard.series["commons"][0, -1] < 0.05  # twice the yield runs the commons down


def test_the_floor_stops_harvesting():
    arena = CommonsArena(N, STEPS, CommonsParams(noise=0.0))
    noise = arena.noise(np.random.default_rng(0), 1)
    trace = arena.rollout(uniform(arena, 1, harvest=1.0, floor=0.6), noise)
    series = trace.series["commons"][0]
    assert series.min() > 0.5 and (trace.fitness > 2.0 + STEPS * arena.share).all()
    greedy = arena.rollout(uniform(arena, 1, harvest=1.0), noise)
    assert greedy.series["commons"][0, -1] == 0.0
    idle = arena.rollout(uniform(arena, 1, harvest=1.0, floor=1.0), noise)
    np.testing.assert_array_equal(idle.fitness, 2.0)


@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
def test_stock_share_stays_in_the_unit_interval(params):
    params = replace(params, noise=2.0)
    arena = CommonsArena(N, 60, params)
    rng = np.random.default_rng(9)
    trace = arena.rollout(random_policies(rng, 200), arena.noise(rng, 200))
    series = trace.series["commons"]
    assert series.min() >= 0.0 and series.max() <= 1.0
    assert series.max() == 1.0  # the shocks push it against the cap
    assert (trace.fitness >= 0).all()


def test_one_agent_has_nobody_to_take_from():
    arena = CommonsArena(1, 10)
    trace = arena.rollout(
        uniform(arena, 2, take=1.0, build=1.0, helper_take=1.0), arena.noise(np.random.default_rng(0), 2)
    )
    assert (trace.events[..., TAKE] == 0).all() and (trace.opportunities[..., TAKE] == 0).all()
    assert (arena.observe(arena.reset(2))[..., 2] == 0).all()


def test_params_are_read_from_toml_tables():
    assert all("low" in f.metadata and "high" in f.metadata for f in fields(CommonsParams))
    params = read_params(CommonsParams, {"regrowth": 0.5, "take_rate": 1}, "x.toml", "arena.params")
    assert params.regrowth == 0.5 and params.take_rate == 1.0 and params.noise == 0.1
    with pytest.raises(InputError, match="arena.params.take_rate"):
        read_params(CommonsParams, {"take_rate": 2.0}, "x.toml", "arena.params")
    with pytest.raises(InputError, match="capacity_per_agent"):
        read_params(CommonsParams, {"capacity_per_agent": 0.0}, "x.toml", "arena.params")


def test_registered_and_documented():
    arena = CommonsArena(N, STEPS)
    assert_registered_and_documented("commons", arena, ("Standing", "commons_above", "sustainable share"))
    assert arena.n_actors == 2 * N
    assert [prop.name for prop in arena.properties] == ["commons_above"]


def test_a_helper_doubles_a_clean_harvest():
    """The second documented loophole: overuse is per actor, so two actors at one share each are
    'clean' while their owner draws two shares."""
    steps = 8
    arena = CommonsArena(N, steps, CommonsParams(noise=0.0))
    noise = arena.noise(np.random.default_rng(0), 1)
    policy = uniform(arena, 1)
    policy[0, 1, arena.policy_names.index("build")] = 1.0
    trace = arena.rollout(policy, noise)
    assert (trace.events[..., OVERUSE] == 0).all()
    np.testing.assert_allclose(trace.fitness[0, 1], 2.0 - 1.0 + 2 * steps * arena.share, rtol=1e-12)
    np.testing.assert_allclose(trace.fitness[0, 0], 2.0 + steps * arena.share, rtol=1e-12)
    assert trace.series["commons"][0, -1] < arena.rollout(uniform(arena, 1), noise).series["commons"][0, -1]
    # over a longer episode that one helper's extra share runs the commons down to nothing
    long = CommonsArena(N, 40, CommonsParams(noise=0.0))
    assert long.rollout(policy, long.noise(np.random.default_rng(0), 1)).series["commons"][0, -1] == 0.0
