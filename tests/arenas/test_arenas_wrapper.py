"""The PettingZoo wrapper: PettingZoo's own tests, determinism, and agreement with the batched core."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from arena_checks import play, same_episode
from pettingzoo.test import parallel_api_test, parallel_seed_test

from purity.arenas.commons import BUILD, TAKE, CommonsArena, CommonsParams, parallel_env
from purity.arenas.core import Arena, StepResult
from purity.arenas.wrapper import ParallelArenaEnv


def test_pettingzoo_parallel_api():
    env = parallel_env(n_agents=3, max_cycles=20)
    parallel_api_test(env, num_cycles=120)
    assert env.arena.steps == 120  # the API test's max_cycles became the episode length
    assert env.observation_space("agent_0").high[1] == CommonsArena(3, 120).observation_range()[1][1]
    parallel_api_test(parallel_env(n_agents=1, max_cycles=5), num_cycles=10)


def test_same_seed_same_episode_over_many_steps_and_a_different_seed_differs():
    runs = [play(parallel_env(max_cycles=600), np.random.default_rng(11), seed=5) for _ in range(2)]
    assert len(runs[0]) == len(runs[1]) == 601 and same_episode(*runs)
    other = play(parallel_env(max_cycles=600), np.random.default_rng(11), seed=6)
    last_obs = runs[0][-1][0]["agent_0"], other[-1][0]["agent_0"]
    assert not np.array_equal(*last_obs)
    # the first regrowth shock shows in the stock after step one
    assert runs[0][1][0]["agent_0"][0] != other[1][0]["agent_0"][0]


def test_reset_without_a_seed_continues_the_seeded_stream():
    def episode(env, seed=None):
        obs, _ = env.reset(seed=seed)
        return [obs] + [env.step({a: np.full(5, 0.5) for a in env.agents})[0] for _ in range(10)]

    def second_episode():
        env = parallel_env(max_cycles=10)
        episode(env, seed=3)
        return episode(env)

    a, b = second_episode(), second_episode()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["agent_0"], y["agent_0"])
    repeat = episode(parallel_env(max_cycles=10), seed=3)
    assert a[-1]["agent_0"][0] != repeat[-1]["agent_0"][0]  # a new episode, not seed 3 again


def test_observations_actions_and_truncation():
    env = parallel_env(n_agents=2, max_cycles=3)
    assert env.observation_space("agent_0") is env.observation_space("agent_0")
    assert env.action_space("agent_1") is env.action_space("agent_1")
    assert env.observation_space("agent_0").dtype == np.float64
    obs, infos = env.reset(seed=0)
    assert env.agents == ["agent_0", "agent_1"] == env.possible_agents
    for t in range(3):
        for agent, o in obs.items():
            assert o.dtype == np.float64 and o.shape == (5,)
            assert env.observation_space(agent).contains(o)
            assert o[4] == t / 3
        # out-of-range actions are clipped; a missing agent does nothing
        obs, rewards, terminations, truncations, infos = env.step({"agent_0": np.array([7.0, -1, 0, 0, 0])})
        assert not any(terminations.values())
        assert all(truncations.values()) == (t == 2)
        assert infos["agent_1"]["events"] == {"take": 0.0, "overuse": 0.0, "build": 0.0}
        assert infos["agent_0"]["events"]["overuse"] > 0
        assert set(infos["agent_0"]) == {"events", "helper_events", "opportunities"}
    assert env.agents == []
    assert env.step({}) == ({}, {}, {}, {}, {})
    env.max_cycles = 7
    play(env, np.random.default_rng(0), seed=1)
    assert env.t == 7
    with pytest.raises(ValueError, match="renders as 'ansi' or 'human'"):
        parallel_env(render_mode="rgb_array")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_wrapper_replays_the_core(seed):
    params = CommonsParams(take_rate=0.4, noise=0.3)
    arena = CommonsArena(3, 25, params)
    rng = np.random.default_rng(100 + seed)
    policy = rng.random((1, 3, 5))
    policy[0, :, 3] = [1.0, 0.0, 1.0]  # agents 0 and 2 build helpers
    policy[0, :, 1] = [0.3, 0.0, 0.6]
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(seed), 1))
    # the core stepped by hand gives each step's rewards
    state, noise = arena.reset(1), arena.noise(np.random.default_rng(seed), 1)
    core_rewards = []
    for t in range(arena.steps):
        state, result = arena.step(
            state, arena.act(policy, arena.observe(state), t), {"regrowth": noise["regrowth"][:, t]}
        )
        core_rewards.append(result.rewards[0])

    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=seed)
    events, opportunities = np.zeros((6, 3)), np.zeros((3, 3))
    rewards, total = [], np.zeros(3)
    for t in range(arena.steps):
        stacked = np.stack([obs[agent] for agent in env.possible_agents])[None]
        actions = arena.act(policy, stacked, t)[0]
        obs, reward, _, _, infos = env.step(
            {agent: actions[i] for i, agent in enumerate(env.possible_agents)}
        )
        rewards.append([reward[agent] for agent in env.possible_agents])
        total += rewards[-1]
        for i, agent in enumerate(env.possible_agents):
            events[i] += list(infos[agent]["events"].values())
            events[3 + i] += list(infos[agent]["helper_events"].values())
            opportunities[i] += list(infos[agent]["opportunities"].values())
    assert env.agents == []
    np.testing.assert_array_equal(rewards, core_rewards)
    np.testing.assert_allclose(total, trace.fitness[0] - params.endowment, rtol=1e-12)
    np.testing.assert_array_equal(events, trace.events[0])
    np.testing.assert_array_equal(opportunities, trace.opportunities[0])
    np.testing.assert_array_equal(env.arena_state["store"][0], trace.fitness[0])
    np.testing.assert_array_equal(arena.record(env.arena_state)["commons"], trace.series["commons"][:, -1])
    np.testing.assert_array_equal(env.arena_state["helper"][0], trace.events[0, :3, BUILD])
    assert trace.events[0, :3, BUILD].tolist() == [1.0, 0.0, 1.0]
    assert trace.events[0, [3, 5], TAKE].min() > 0  # the helpers took, and the wrapper saw it


@dataclass(frozen=True)
class TallyParams:
    bonus: float = 1.0


class Tally(Arena):
    """A toy arena without helpers but with an overseer: each agent adds its action to a store."""

    name = "tally"
    Params = TallyParams
    event_kinds = ("defect",)
    series_names = ()
    policy_names = ("rate",)
    action_names = ("add",)
    observation_names = ("store", "time")
    has_oversight = True

    @property
    def default_policy(self):
        return np.zeros(1)

    def noise(self, rng, batch):
        return {"bonus": rng.random((batch, self.steps)), "watch": rng.random((batch, self.steps))}

    def watched(self, noise):
        return noise["watch"][:, 0] < 0.5

    def reset(self, batch, noise=None):
        return {"store": np.zeros((batch, self.n_agents)), "t": 0}

    def observe(self, state):
        time = np.full(state["store"].shape, state["t"] / self.steps)
        return np.stack([state["store"], time], axis=-1)

    def observation_bounds(self):
        return {"store": (0.0, self.steps * (1.0 + self.params.bonus)), "time": (0.0, 1.0)}

    def act(self, policy, obs, t):
        return policy

    def step(self, state, actions, noise_t):
        gain = actions[..., 0] + self.params.bonus * noise_t["bonus"][:, None]
        new = {"store": state["store"] + gain, "t": state["t"] + 1}
        return new, StepResult(events=actions.copy(), opportunities=np.ones_like(actions), rewards=gain)

    def record(self, state):
        return {}


def test_any_arena_can_be_wrapped():
    env = ParallelArenaEnv(Tally(2, 6))
    parallel_api_test(env, num_cycles=6)
    parallel_seed_test(lambda: ParallelArenaEnv(Tally(2, 6)))
    assert env.observation_space("agent_0").high.tolist() == [12.0, 1.0]
    obs, infos = env.reset(seed=3)
    assert infos["agent_0"]["watched"] == bool(
        Tally(2, 6).watched(Tally(2, 6).noise(np.random.default_rng(3), 1))[0]
    )
    obs, rewards, _, _, infos = env.step({"agent_0": np.array([0.25]), "agent_1": np.array([0.0])})
    assert infos["agent_0"]["events"] == {"defect": 0.25}
    assert infos["agent_0"]["helper_events"] == {"defect": 0.0}
    assert infos["agent_0"]["detected"] == {"defect": 0.0}  # the step reports nothing seen
    assert rewards["agent_0"] - rewards["agent_1"] == pytest.approx(0.25)


class Unbounded(Tally):
    def observation_bounds(self):
        return {"store": (0.0, np.inf), "time": (0.0, 1.0)}


def test_the_wrapper_needs_finite_bounds_for_every_observation():
    with pytest.raises(ValueError, match="must be finite"):
        ParallelArenaEnv(Unbounded(2, 6))
    with pytest.raises(NotImplementedError, match="the workshop arena declares no observation bounds"):
        ParallelArenaEnv(
            type("Workshop", (Tally,), {"name": "workshop", "observation_bounds": Arena.observation_bounds})(
                2, 6
            )
        )
    with pytest.raises(ValueError, match="must name store, time, not time"):
        ParallelArenaEnv(type("Half", (Tally,), {"observation_bounds": lambda self: {"time": (0, 1)}})(2, 6))


def test_observations_are_clipped_into_the_bounds_only_by_rounding():
    """The principal's control can exceed 1 by rounding (control + handed-back shares); the space
    still contains every observation the wrapper gives."""
    from purity.arenas.principal import PrincipalArena

    env = ParallelArenaEnv(PrincipalArena(4, 300))
    rng = np.random.default_rng(0)
    for seed in range(4):
        env.reset(seed=seed)
        while env.agents:
            raw = env.arena.observe(env.arena_state)[0]
            obs = env.step({a: (rng.random(3) < 0.5).astype(float) for a in env.agents})[0]
            if obs:
                raw = env.arena.observe(env.arena_state)[0]
                clipped = np.stack(list(obs.values()))
                np.testing.assert_allclose(clipped, raw, rtol=0, atol=1e-12)
                assert all(env.observation_space(a).contains(o) for a, o in obs.items())
