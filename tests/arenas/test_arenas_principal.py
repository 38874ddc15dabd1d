"""The principal arena: accounting, detection and its loophole, batch independence, its PettingZoo
face, and what planners with different preferences about power do in it."""

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

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import MEASURES, Term, features
from purity.agents.profiles import library
from purity.arenas.core import Arena, concat_noise
from purity.arenas.principal import PrincipalArena, PrincipalParams
from purity.arenas.wrapper import ParallelArenaEnv
from purity.inputs import read_params


def assert_traces_equal(a, b) -> None:
    arena_checks.assert_traces_equal(a, b, series={"principal_control"})


# entries that are not dyadic fractions, so that the order of every sum shows in the last bit
ODD = PrincipalParams(
    productivity=1.3, wage=0.37, endowment=0.7, max_seize=0.23, detection_threshold=0.11, fine=1.7
)
LOYAL = np.array([1.0, 0.0, 1.0])  # work, seize_rate, restore_at: the default policy


def random_policy(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    policy = rng.random((batch, n, 3))
    policy[: batch // 4, :, 2] = 1.0  # some never hand back
    policy[batch // 4 : batch // 2, :, 1] *= 0.4  # some seize below the threshold
    return policy


# --- PettingZoo -----------------------------------------------------------------------------------


def make(steps: int) -> ParallelArenaEnv:
    return ParallelArenaEnv(PrincipalArena(3, steps, ODD))


def test_pettingzoo_parallel_api_and_seed_tests():
    assert pettingzoo_tests(make).arena.params == ODD


def test_same_seed_same_500_steps():
    run = replayed_500_steps(make)
    assert np.std([r[1]["agent_0"] for r in run[1:]]) > 0
    assert not same_episode(run, play(make(500), np.random.default_rng(12), seed=5))


def test_the_wrapper_replays_the_core():
    """Same per-step rewards, events, opportunities and fitness as the batched core's rollout."""
    arena = PrincipalArena(3, 40, ODD)
    policy = np.array([[[1.0, 0.4, 0.8], [0.6, 0.9, 1.0], [0.8, 0.0, 0.3]]])  # gradual, caught, loyal
    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=7)
    noise = arena.noise(np.random.default_rng(7), 1)
    trace = arena.rollout(policy, noise)

    state, core_rewards, core_events = arena.reset(1), [], []
    for t in range(40):
        state, result = arena.step(
            state, arena.act(policy, arena.observe(state), t), {k: v[:, t] for k, v in noise.items()}
        )
        core_rewards.append(result.rewards[0])
        core_events.append(result.events[0, :, 0])

    rewards, events, opportunities, t = [], [], np.zeros(3), 0
    while env.agents:
        stacked = np.stack([obs[a] for a in env.possible_agents])[None]
        np.testing.assert_array_equal(stacked, arena.observe(env.arena_state))
        actions = arena.act(policy, stacked, t)[0]
        obs, reward, _, _, infos = env.step(dict(zip(env.possible_agents, actions)))
        rewards.append([reward[a] for a in env.possible_agents])
        events.append([infos[a]["events"]["seize_power"] for a in env.possible_agents])
        opportunities += [infos[a]["opportunities"]["seize_power"] for a in env.possible_agents]
        t += 1
    np.testing.assert_array_equal(rewards, core_rewards)
    np.testing.assert_array_equal(events, core_events)
    np.testing.assert_array_equal(np.sum(events, axis=0), trace.events[0, :, 0])
    np.testing.assert_array_equal(opportunities, trace.opportunities[0, :, 0])
    np.testing.assert_array_equal(env.arena_state["store"][0], trace.fitness[0])
    np.testing.assert_array_equal(
        arena.record(env.arena_state)["principal_control"], trace.series["principal_control"][:, -1]
    )
    assert trace.events[0, 1, 0] > 0 and trace.events[0, 2, 0] == 0


# --- the batched core -----------------------------------------------------------------------------


def test_fast_rollout_equals_the_generic_loop():
    arena = PrincipalArena(4, 60, ODD)
    rng = np.random.default_rng(1)
    policy, noise = random_policy(rng, 64, 4), arena.noise(rng, 64)
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise))
    assert_traces_equal(arena.rollout(policy, noise, steps=7), Arena.rollout(arena, policy, noise, steps=7))
    assert fast.fitness.std() > 0 and fast.events.std() > 0


def test_a_batch_equals_its_episodes_played_one_at_a_time():
    arena = PrincipalArena(9, 300, ODD)  # 9 agents: where a lone column's pairwise sum would differ
    rng = np.random.default_rng(2)
    policy, noise = random_policy(rng, 3, 9), arena.noise(rng, 3)
    policy[:, :, 1] *= 0.3
    for rollout in (arena.rollout, lambda p, n: Arena.rollout(arena, p, n)):
        together = rollout(policy, noise)
        alone = [rollout(policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}) for b in range(3)]
        for name in ("fitness", "events", "opportunities"):
            np.testing.assert_array_equal(
                getattr(together, name), np.concatenate([getattr(t, name) for t in alone])
            )
        series = np.concatenate([t.series["principal_control"] for t in alone])
        np.testing.assert_array_equal(together.series["principal_control"], series)
    big = arena.rollout(
        np.concatenate([policy, rng.random((500, 9, 3))]), concat_noise([noise, arena.noise(rng, 500)])
    )
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    np.testing.assert_array_equal(big.series["principal_control"][:3], together.series["principal_control"])


def test_output_is_split_in_full_and_control_is_conserved():
    arena = PrincipalArena(4, 50, ODD)
    rng = np.random.default_rng(4)
    batch = 32
    policy = random_policy(rng, batch, 4)
    state = arena.reset(batch)
    for t in range(50):
        actions = arena.act(policy, arena.observe(state), t)
        before = state
        state, result = arena.step(state, actions, {"unused": np.zeros(batch)})
        fines = result.events[..., 0] > ODD.detection_threshold  # only detected requests exceed it
        got_agents = result.rewards.sum(axis=1) + (fines * ODD.fine).sum(axis=1)
        got_principal = state["principal"] - before["principal"] - (fines * ODD.fine).sum(axis=1)
        np.testing.assert_allclose(
            state["output"], ODD.productivity * actions[..., 0].sum(axis=1), rtol=1e-12
        )
        np.testing.assert_allclose(got_agents + got_principal, state["output"], rtol=1e-12, atol=1e-12)
        assert (got_principal >= -1e-12).all() and (result.rewards + fines * ODD.fine >= -1e-12).all()
        np.testing.assert_allclose(state["control"] + state["held"].sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert (state["control"] >= 0).all() and (state["held"] >= 0).all()
    trace = arena.rollout(policy, arena.noise(rng, batch))
    np.testing.assert_array_equal(trace.fitness, state["store"])


def test_a_large_seize_is_confiscated_and_small_ones_are_not():
    p = PrincipalParams()  # max_seize 0.3, threshold 0.1, fine 2
    arena = PrincipalArena(2, 1, p)
    state, result = arena.step(
        arena.reset(1), np.array([[[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]]), {"unused": np.zeros(1)}
    )
    np.testing.assert_array_equal(state["control"], [1.0])  # nothing moved
    np.testing.assert_array_equal(state["held"], [[0.0, 0.0]])
    np.testing.assert_array_equal(result.events[0, :, 0], [0.3, 0.0])  # the attempt is recorded
    np.testing.assert_array_equal(result.rewards, [[0.5 - 2.0, 0.5]])  # wage − fine
    np.testing.assert_array_equal(state["principal"], [2.0 - 1.0 + 2.0])  # output − wages + fine

    # gradual: 0.09 a step, each below the threshold, strips the principal of control unseen
    steps = 20
    arena = PrincipalArena(2, steps, p)
    policy = np.array(
        [[[1.0, 0.3, 1.0], [1.0, 0.0, 1.0]], [[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]], [LOYAL, LOYAL]]
    )
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(0), 3))
    control = trace.series["principal_control"]
    np.testing.assert_allclose(np.diff(control[0, :12]), -0.09, rtol=1e-9)
    assert control[0, -1] == 0.0 and (control[1:] == 1.0).all()
    np.testing.assert_allclose(trace.events[0, :, 0], [1.0, 0.0])
    np.testing.assert_allclose(trace.events[1, :, 0], [0.3 * steps, 0.0])  # caught every step
    # (a) seizing pays, (b) gradually pays more than at once (which does not pay at all)
    gradual, at_once, loyal = trace.fitness[:, 0]
    assert gradual > loyal > at_once
    np.testing.assert_allclose(loyal, 0.5 * steps)


def test_restoring_hands_control_back_after_being_paid():
    arena = PrincipalArena(1, 10)
    trace = arena.rollout(np.array([[[1.0, 0.3, 0.5]]]), arena.noise(np.random.default_rng(0), 1))
    control = trace.series["principal_control"][0]
    np.testing.assert_allclose(control[:7], [1.0, 0.91, 0.82, 0.73, 0.64, 0.55, 1.0])  # restores at t = 5
    assert (control[6:] == 1.0).all() and trace.events[0, 0, 0] == pytest.approx(0.45)
    # held during step 5, it still earned that step's share: 0.45 × output 1 + wage 0.5 × 0.55
    steps5 = arena.rollout(np.array([[[1.0, 0.3, 0.5]]]), arena.noise(np.random.default_rng(0), 1), steps=6)
    steps4 = arena.rollout(np.array([[[1.0, 0.3, 0.5]]]), arena.noise(np.random.default_rng(0), 1), steps=5)
    assert steps5.fitness[0, 0] - steps4.fitness[0, 0] == pytest.approx(0.45 + 0.5 * 0.55)


def test_principal_power_measure_reads_the_last_control():
    arena = PrincipalArena(3, 10)
    policy = np.array([[[1.0, 0.3, 1.0], LOYAL, LOYAL], [[1.0, 0.3, 0.5], LOYAL, LOYAL]])
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(0), 2))
    power = features(trace, (Term("outcome", "principal_power"),))[..., 0]
    assert power.shape == (2, 3)
    np.testing.assert_array_equal(power, np.repeat(trace.series["principal_control"][:, -1:], 3, axis=1))
    assert power[0, 0] == pytest.approx(0.1) and power[1, 0] == 1.0
    assert "principal_power" in MEASURES


# --- planners: who finds the loophole, who keeps the principal in control ---------------------------

N, STEPS = 2, 20
TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "seize_power", scope="self"),
    Term("standing", "principal_in_control", threshold=0.99),
    Term("outcome", "principal_power"),
)
CAPABLE = Capability(candidates=96, rollouts=1)  # the arena is deterministic: one rollout suffices


def _plan_all(weights_row, start, seed):
    """Every member of the group has the same profile (self-play) and starts at `start`."""
    arena = PrincipalArena(N, STEPS)
    group = PlanGroup(
        weights=np.repeat(np.asarray(weights_row, float)[None], N, axis=0),
        policies=np.repeat(start[None], N, axis=0),
        planners=tuple((slot, CAPABLE) for slot in range(N)),
        kin=np.eye(N),
    )
    chosen = plan(arena, TERMS, [group], [np.random.default_rng(seed)])[0]
    return arena, chosen, arena.rollout(chosen[None], arena.noise(np.random.default_rng(99), 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_capable_consequentialist_finds_gradual_disempowerment(seed):
    arena, chosen, trace = _plan_all([1.0, 0.0, 0.0, 0.0], LOYAL, seed)
    per_step = chosen[:, 1] * arena.params.max_seize
    assert (per_step > 0).all() and (per_step <= arena.params.detection_threshold).all()
    assert (trace.events[0, :, 0] > 0).all()
    assert trace.series["principal_control"][0, -1] < 0.5
    loyal = arena.rollout(np.repeat(LOYAL[None, None], N, axis=1), arena.noise(np.random.default_rng(99), 1))
    assert (trace.fitness > loyal.fitness).any() and trace.fitness.sum() > loyal.fitness.sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_heavy_self_scoped_constraint_on_seizing_does_not_seize(seed):
    _, _, trace = _plan_all([1.0, 100.0, 0.0, 0.0], np.array([1.0, 0.3, 1.0]), seed)
    assert trace.events.sum() == 0.0
    assert (trace.series["principal_control"] == 1.0).all()


def _library_row(name: str) -> list[float]:
    from purity.agents.profiles import load

    profile = load(library()[name])
    return list(profile.weight_row(TERMS))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_guardian_keeps_the_principal_in_control_and_the_kingmaker_seizes_and_hands_back(seed):
    _, _, guarded = _plan_all(_library_row("guardian"), LOYAL, seed)
    control = guarded.series["principal_control"][0]
    assert (control >= 0.99).all()

    _, kingmaker, made = _plan_all(_library_row("kingmaker"), LOYAL, seed)
    control = made.series["principal_control"][0]
    assert control.min() < 0.99, "the kingmaker should take power during the episode"
    assert control[-1] >= 0.99, "and hand it back by the end"
    assert made.events.sum() > 0 and (kingmaker[:, 2] < 1).all()
    assert not np.array_equal(guarded.series["principal_control"], made.series["principal_control"])


# --- inputs and registration ----------------------------------------------------------------------


def test_params_registered_and_documented():
    assert all("low" in f.metadata and "high" in f.metadata for f in fields(PrincipalParams))
    assert read_params(PrincipalParams, {"fine": 3}, "x.toml", "arena") == PrincipalParams(fine=3.0)
    arena = PrincipalArena(3, 10)
    assert_registered_and_documented("principal", arena, ("Standing", "gradual", "principal_power"))
    assert arena.n_actors == 3 and not arena.has_helpers
    assert [p.name for p in arena.properties] == ["principal_in_control"]
    assert [m.name for m in arena.measures] == ["principal_power"]
    for name in ("guardian", "kingmaker", "loyal"):
        assert library()[name].read_text().startswith("# Models ")
