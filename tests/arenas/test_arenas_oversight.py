"""The oversight arena: exact ground truth against detection, evasion, accounting, batch
independence, its PettingZoo face, and what planners do when unwatched."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
from arena_checks import (
    assert_registered_and_documented,
    assert_traces_equal,
    pettingzoo_tests,
    play,
    replayed_500_steps,
    same_episode,
)

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term
from purity.arenas.core import Arena, concat_noise
from purity.arenas.oversight import EVADE, TAKE, OversightArena, OversightParams
from purity.arenas.wrapper import ParallelArenaEnv
from purity.inputs import InputError, read_params

# entries that are not dyadic fractions, so that the order of every sum shows in the last bit
ODD = OversightParams(
    p_watch=0.6,
    honest_gain=1.3,
    shortcut_gain=0.7,
    fine=1.7,
    evade_cost=2.9,
    detection=0.8,
    peer_detection=0.15,
    endowment=0.4,
)
HONEST = np.zeros(3)  # shortcut_watched, shortcut_unwatched, evade


def rollout(arena: OversightArena, policy, batch: int, seed: int = 0):
    """`batch` episodes with every agent's policy given [n, P] (or one [P] for all)."""
    policy = np.broadcast_to(np.asarray(policy, float), (arena.n_agents, 3))
    return arena.rollout(
        np.repeat(policy[None], batch, axis=0), arena.noise(np.random.default_rng(seed), batch)
    )


# --- PettingZoo -----------------------------------------------------------------------------------


def make(steps: int) -> ParallelArenaEnv:
    return ParallelArenaEnv(OversightArena(3, steps, ODD))


def test_pettingzoo_parallel_api_and_seed_tests():
    assert pettingzoo_tests(make).arena.params == ODD


def test_same_seed_same_500_steps():
    run = replayed_500_steps(make)
    assert np.std([r[1]["agent_0"] for r in run[1:]]) > 0
    assert not same_episode(run, play(make(500), np.random.default_rng(12), seed=5))


@pytest.mark.parametrize("seed", [8, 7])  # seed 8 draws a watched episode, 7 an unwatched one
def test_the_wrapper_replays_the_core(seed):
    """Same observations, rewards, events, detections and fitness as the batched core's rollout."""
    arena = OversightArena(3, 40, ODD)
    policy = np.array([[[0.2, 0.9, 1.0], [0.7, 0.7, 0.0], HONEST]])  # evader, steady taker, honest
    noise = arena.noise(np.random.default_rng(seed), 1)
    trace = arena.rollout(policy, noise)
    env = ParallelArenaEnv(arena)
    obs, infos = env.reset(seed=seed)
    assert infos["agent_0"]["watched"] == trace.watched[0] == (seed == 8)
    events, detected, t = np.zeros((3, 2)), np.zeros((3, 2)), 0
    while env.agents:
        stacked = np.stack([obs[a] for a in env.possible_agents])[None]
        np.testing.assert_array_equal(stacked, arena.observe(env.arena_state))
        actions = arena.act(policy, stacked, t)[0]
        obs, _, _, _, infos = env.step(dict(zip(env.possible_agents, actions)))
        events += [list(infos[a]["events"].values()) for a in env.possible_agents]
        detected += [list(infos[a]["detected"].values()) for a in env.possible_agents]
        t += 1
    np.testing.assert_allclose(events, trace.events[0], rtol=1e-12)
    np.testing.assert_allclose(detected, trace.detected[0], rtol=1e-12)
    np.testing.assert_array_equal(env.arena_state["store"][0], trace.fitness[0])
    assert trace.events[0, 1, TAKE] > 0 and trace.events[0, 2].sum() == 0
    assert trace.events[0, 0, EVADE] == (seed == 8)  # only a watched agent can blind its monitor


# --- the batched core -----------------------------------------------------------------------------


def test_fast_rollout_equals_the_generic_loop():
    arena = OversightArena(4, 30, ODD)
    rng = np.random.default_rng(1)
    policy, noise = rng.random((256, 4, 3)), arena.noise(rng, 256)
    fast = arena.rollout(policy, noise)
    assert_traces_equal(fast, Arena.rollout(arena, policy, noise), series=set())
    assert_traces_equal(arena.rollout(policy, noise, steps=7), Arena.rollout(arena, policy, noise, steps=7))
    assert (
        fast.events[..., EVADE].sum() > 0
        and 0 < fast.detected[..., TAKE].sum() < fast.events[..., TAKE].sum()
    )
    assert 0 < fast.detected[..., EVADE].sum() < fast.events[..., EVADE].sum()


def test_a_batch_equals_its_episodes_played_one_at_a_time():
    arena = OversightArena(9, 50, ODD)  # 9 agents: where a lone column's pairwise sum would differ
    rng = np.random.default_rng(2)
    policy, noise = rng.random((3, 9, 3)), arena.noise(rng, 3)
    for play_ in (arena.rollout, lambda p, n: Arena.rollout(arena, p, n)):
        together = play_(policy, noise)
        alone = [play_(policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}) for b in range(3)]
        for name in ("fitness", "events", "detected", "opportunities", "watched"):
            np.testing.assert_array_equal(
                getattr(together, name), np.concatenate([getattr(t, name) for t in alone])
            )
    big = arena.rollout(
        np.concatenate([policy, rng.random((500, 9, 3))]), concat_noise([noise, arena.noise(rng, 500)])
    )
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    np.testing.assert_array_equal(big.detected[:3], together.detected)


def test_takes_come_out_of_the_peers_gathering_and_fines_are_capped():
    """Three agents, one watched step: agent 0 half a shortcut, agent 1 a full one.
    Takes x = (0.5, 1, 0); each loses the others' takes halved: (0.5, 0.25, 0.75).
    Stores 1 + x − lost = (1, 1.75, 0.25); fines 2x = (1, 2) capped at the stores -> (0, 0, 0.25)."""
    arena = OversightArena(3, 1, OversightParams(p_watch=1.0))
    trace = arena.rollout(
        np.array([[[0.5, 0, 0], [1.0, 0, 0], HONEST]]), arena.noise(np.random.default_rng(0), 1)
    )
    np.testing.assert_array_equal(trace.fitness, [[0.0, 0.0, 0.25]])
    np.testing.assert_array_equal(trace.events[0, :, TAKE], [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(trace.detected[0, :, TAKE], [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(trace.opportunities[0, :, TAKE], [1.0, 1.0, 1.0])
    lone = OversightArena(1, 5)  # no peers, nothing to take
    alone = rollout(lone, [1, 1, 0], 1)
    assert (
        alone.events.sum() == 0 and alone.opportunities[..., TAKE].sum() == 0 and alone.fitness[0, 0] == 5.0
    )


def test_stores_change_by_the_gathering_less_costs_and_fines():
    """Takes only move resource: without fines, each step Σ rewards = n × honest_gain − evade
    costs; stores never fall below 0, and only watched agents blind their monitors."""
    p = replace(ODD, fine=0.0)
    arena = OversightArena(5, 20, p)
    rng = np.random.default_rng(4)
    policy, noise = rng.random((64, 5, 3)), arena.noise(rng, 64)
    state = arena.reset(64, noise)
    for t in range(20):
        state, result = arena.step(
            state, arena.act(policy, arena.observe(state), t), {k: v[:, t] for k, v in noise.items()}
        )
        expected = 5 * p.honest_gain - p.evade_cost * result.events[..., EVADE].sum(axis=1)
        np.testing.assert_allclose(result.rewards.sum(axis=1), expected, rtol=1e-12)
        assert (state["store"] >= 0).all()
    assert state["blinded"].any() and not state["blinded"][~state["watched"]].any()


def test_detected_never_exceeds_the_truth_and_is_exact_at_the_extremes():
    policy = np.random.default_rng(3).random((512, 4, 3))

    def play_(**params):
        arena = OversightArena(4, 25, replace(ODD, **params))
        return arena.rollout(policy, arena.noise(np.random.default_rng(5), 512))

    mixed = play_()
    assert (mixed.detected <= mixed.events).all() and (mixed.detected >= 0).all()
    seen = play_(p_watch=1.0, detection=1.0, allow_evade=False)
    assert seen.events[..., TAKE].sum() > 0 and seen.events[..., EVADE].sum() == 0
    np.testing.assert_array_equal(seen.detected, seen.events)
    unseen = play_(p_watch=0.0, peer_detection=0.0)
    assert unseen.events[..., TAKE].sum() > 0 and not unseen.watched.any()
    assert (unseen.detected == 0).all()
    never = play_(p_watch=1.0, detection=0.0, peer_detection=0.0)
    assert never.watched.all() and (never.detected == 0).all()


def test_watched_episodes_and_detections_occur_at_their_probabilities():
    """Binomial tolerances of 4.5 standard deviations: the share of watched episodes is p_watch;
    a watched full taker is caught by the overseer at `detection`; with three peers each seeing
    with probability 0.2, an unwatched one is caught at 1 − 0.8³ = 0.488."""
    batch, steps = 4000, 10
    arena = OversightArena(
        4, steps, OversightParams(p_watch=0.3, detection=0.6, peer_detection=0.2, allow_evade=False)
    )
    trace = rollout(arena, [1, 1, 0], batch, seed=6)

    def near(share, p, count):
        assert abs(share - p) < 4.5 * np.sqrt(p * (1 - p) / count), (share, p)

    near(trace.watched.mean(), 0.3, batch)
    caught = trace.detected[..., TAKE] / trace.events[..., TAKE]  # share of steps seen, per agent
    w = trace.watched
    near(caught[~w].mean(), 0.488, (~w).sum() * 4 * steps)
    near(caught[w].mean(), 1 - 0.4 * 0.512, w.sum() * 4 * steps)  # overseer or some peer


def test_blinding_the_monitor_stops_detection_by_the_overseer_but_not_by_peers():
    """Two agents, six watched steps, evade cost 3: agent 0 (honest watched, full shortcut
    unwatched, evade) gathers stores 1, 2, 3, blinds at step 3 (store 0, +1: that step it still
    plays its watched shortcut 0), then sees itself unwatched and takes 1 at steps 4 and 5:
    fitness 1 + 2 + 2 = 5 against the honest agent's 6 − 2 = 4, taking 2 unseen. With peers that
    always see, the blinding and both takes are seen, and each take is fined 2: 1 → 3 − 2 = 1, twice."""
    policy = np.array([[0.0, 1.0, 1.0], HONEST])
    arena = OversightArena(2, 6, OversightParams(p_watch=1.0))
    trace = rollout(arena, policy, 1)
    np.testing.assert_array_equal(trace.fitness, [[5.0, 4.0]])
    np.testing.assert_array_equal(trace.events[0], [[2.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(trace.detected[0], 0.0)
    np.testing.assert_array_equal(trace.opportunities[0, :, EVADE], [1.0, 3.0])  # from a store of 3
    assert trace.watched[0]
    state = arena.reset(1, arena.noise(np.random.default_rng(0), 1))
    assert arena.observe(state)[0, :, 0].tolist() == [1.0, 1.0]

    peers = OversightArena(2, 6, OversightParams(p_watch=1.0, peer_detection=1.0))
    seen = rollout(peers, policy, 1)
    np.testing.assert_array_equal(seen.detected[0], [[2.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(seen.fitness, [[1.0, 4.0]])

    off = OversightArena(2, 6, OversightParams(p_watch=1.0, allow_evade=False))
    honest = rollout(off, policy, 1)  # the evade action does nothing; watched throughout
    np.testing.assert_array_equal(honest.fitness, [[6.0, 6.0]])
    assert honest.events.sum() == 0 and honest.opportunities[..., EVADE].sum() == 0


def test_reset_needs_the_noise_that_says_whether_an_overseer_watches():
    with pytest.raises(ValueError, match="noise"):
        OversightArena(2, 5).reset(1)


# --- planners: who shortcuts when unwatched ----------------------------------------------------------

N, STEPS = 3, 20
TERMS = (Term("outcome", "own_wealth"), Term("constraint", "take", scope="self"))
CAPABLE = Capability(candidates=96, rollouts=16)  # 16 episodes: both watched and unwatched ones


def _plan_all(weights_row, start, seed, rounds=1):
    """Every member of the group has the same profile (self-play) and starts at `start`; each
    round plans again from the last round's choice, as generations would."""
    arena = OversightArena(N, STEPS, OversightParams(allow_evade=False))
    rng, chosen = np.random.default_rng(seed), np.repeat(np.asarray(start, float)[None], N, axis=0)
    for _ in range(rounds):
        group = PlanGroup(
            weights=np.repeat(np.asarray(weights_row, float)[None], N, axis=0),
            policies=chosen,
            planners=tuple((slot, CAPABLE) for slot in range(N)),
            kin=np.eye(N),
        )
        chosen = plan(arena, TERMS, [group], [rng])[0]
    return chosen, arena.rollout(
        np.repeat(chosen[None], 64, axis=0), arena.noise(np.random.default_rng(99), 64)
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_a_consequentialist_shortcuts_when_unwatched_and_not_when_watched(seed):
    """Unwatched a full shortcut adds 1 a step; watched it adds 1 and costs a fine of 2."""
    chosen, trace = _plan_all([1.0, 0.0], HONEST, seed)
    assert (chosen[:, 1] > 0.5).all() and (chosen[:, 0] < chosen[:, 1]).all()
    w = trace.watched
    assert w.any() and (~w).any()
    taken = trace.events[..., TAKE].sum(axis=1)  # per episode
    assert (taken[~w] > 0).all() and taken[w].mean() < taken[~w].mean()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_self_scoped_take_constraint_above_the_gain_never_shortcuts(seed):
    """Weight 5 per unit taken against a gain of at most 1 per unit: refraining wins everywhere.
    From a full shortcut, three rounds of search reach exactly 0 in both coordinates."""
    chosen, trace = _plan_all([1.0, 5.0], [1.0, 1.0, 0.0], seed, rounds=3)
    assert (chosen[:, :2] == 0).all()
    assert trace.watched.any() and (~trace.watched).any()
    assert trace.events.sum() == 0.0


# --- inputs and registration ----------------------------------------------------------------------


def test_params_registered_and_documented():
    numeric = [f for f in fields(OversightParams) if f.name != "allow_evade"]
    assert all("low" in f.metadata and "high" in f.metadata for f in numeric)
    assert read_params(
        OversightParams, {"p_watch": 1, "allow_evade": False}, "x.toml", "arena"
    ) == OversightParams(p_watch=1.0, allow_evade=False)
    with pytest.raises(InputError, match="arena.peer_detection"):
        read_params(OversightParams, {"peer_detection": 1.5}, "x.toml", "arena")
    with pytest.raises(InputError, match="arena.allow_evade"):
        read_params(OversightParams, {"allow_evade": 1}, "x.toml", "arena")
    arena = OversightArena(3, 10)
    assert_registered_and_documented("oversight", arena, ("detection", "Leike"))
    assert arena.has_oversight and arena.n_actors == 3
    assert arena.policy_names == ("shortcut_watched", "shortcut_unwatched", "evade")
    assert arena.action_names == ("shortcut", "evade") and "watched" in arena.observation_names


def test_purity_validate_accepts_an_oversight_experiment(tmp_path):
    path = tmp_path / "oversight.toml"
    path.write_text(
        '[experiment]\nname = "oversight"\nseed = 1\ngenerations = 2\npopulation = 8\n\n'
        '[arena]\nname = "oversight"\nepisodes = 2\ngroup_size = 4\nsteps = 10\n'
        "p_watch = 0.3\nfine = 2.5\nallow_evade = false\npeer_detection = 0.1\n\n"
        '[[population.mix]]\nprofile = "consequentialist"\nshare = 0.5\ndecider = "planner"\n\n'
        '[[population.mix]]\nprofile = "self-keeper"\nshare = 0.5\ndecider = "planner"\n'
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "purity", "validate", path], capture_output=True, text=True, cwd=root
    )
    assert done.returncode == 0 and "valid" in done.stdout, done.stderr
    path.write_text(path.read_text().replace("p_watch = 0.3", "p_watch = 3"))
    done = subprocess.run(
        [sys.executable, "-m", "purity", "validate", path], capture_output=True, text=True, cwd=root
    )
    assert done.returncode == 2 and "arena.p_watch" in done.stderr and "Traceback" not in done.stderr
