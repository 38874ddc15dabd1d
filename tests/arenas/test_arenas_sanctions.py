"""The commons with sanctions: the PettingZoo face, batching, exact reduction to the commons at
sanction 0, the accounting of costs and fines, and what sanctions do to overuse."""

from __future__ import annotations

import numpy as np
import pytest
from arena_checks import assert_registered_and_documented, play, replayed_500_steps, same_episode
from test_arenas_commons import assert_traces_equal, uniform
from test_arenas_commons import random_policies as commons_policies

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term
from purity.arenas import commons_sanctions
from purity.arenas.commons import BUILD, OVERUSE, CommonsArena, CommonsParams
from purity.arenas.commons_sanctions import SANCTION, SanctionsCommonsArena, SanctionsParams
from purity.arenas.core import Arena, Trace, concat_noise
from purity.arenas.wrapper import ParallelArenaEnv

N, STEPS = 4, 30
HARVEST, SANCTIONS = 0, 5  # policy columns

PARAMS = {
    "default": SanctionsParams(),
    # sanctions dearer than stores: costs and fines are capped, and the take scaling branch runs
    "harsh": SanctionsParams(
        sanction_cost=3.0, sanction_fine=4.0, take_rate=0.9, max_harvest=6.0, helper_cost=0.3
    ),
}


def random_policies(rng: np.random.Generator, batch: int, n: int = N) -> np.ndarray:
    """The commons' branch-exercising policies with a uniform sanction appended."""
    return np.concatenate([commons_policies(rng, batch, n), rng.random((batch, n, 1))], axis=-1)


def test_registered_and_documented():
    arena = SanctionsCommonsArena(N, STEPS)
    assert_registered_and_documented("commons_sanctions", arena, ("sanction_cost", "sanction_fine", "Fehr"))
    assert arena.action_names[-1] == arena.policy_names[-1] == "sanction"
    assert arena.event_kinds == ("take", "overuse", "build", "sanction")
    assert len(arena.default_policy) == 6 and arena.default_policy[-1] == 0.0
    assert commons_sanctions.parallel_env().action_space("agent_0").shape == (6,)


def test_500_steps_are_deterministic_for_a_seed():
    run = replayed_500_steps(lambda steps: commons_sanctions.parallel_env(max_cycles=steps))
    assert sum(info["events"]["sanction"] for step in run[1:] for info in step[4].values()) > 0
    assert not same_episode(
        run, play(commons_sanctions.parallel_env(max_cycles=500), np.random.default_rng(11), seed=8)
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_the_wrapper_replays_the_core(seed):
    arena = SanctionsCommonsArena(3, 25, PARAMS["harsh"] if seed else PARAMS["default"])
    policy = random_policies(np.random.default_rng(10 + seed), 1, 3)
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(seed), 1))
    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=seed)
    events, opportunities, total = np.zeros((6, 4)), np.zeros((3, 4)), np.zeros(3)
    t = 0
    while env.agents:
        agents = list(env.agents)
        actions = arena.act(policy, np.stack([obs[a] for a in agents])[None], t)[0]
        obs, rewards, _, _, infos = env.step(dict(zip(agents, actions)))
        for i, agent in enumerate(agents):
            events[i] += list(infos[agent]["events"].values())
            events[3 + i] += list(infos[agent]["helper_events"].values())
            opportunities[i] += list(infos[agent]["opportunities"].values())
            total[i] += rewards[agent]
        t += 1
    np.testing.assert_allclose(events, trace.events[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(opportunities, trace.opportunities[0])
    np.testing.assert_allclose(total + arena.params.endowment, trace.fitness[0], rtol=1e-12)
    assert trace.events[0, :3, SANCTION].sum() > 0


@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
def test_fast_rollout_equals_the_generic_loop(params):
    arena = SanctionsCommonsArena(N, STEPS, params)
    rng = np.random.default_rng(1)
    policy, noise = random_policies(rng, 64), arena.noise(rng, 64)
    for steps in (None, 7):  # whole episodes, and cut short
        fast = arena.rollout(policy, noise, steps)
        assert_traces_equal(fast, Arena.rollout(arena, policy, noise, steps))
        assert fast.events[..., SANCTION].sum() > 0


def _rows(trace: Trace, rows: slice) -> Trace:
    return Trace(
        trace.kinds,
        trace.fitness[rows],
        trace.events[rows],
        trace.opportunities[rows],
        {name: series[rows] for name, series in trace.series.items()},
        trace.watched[rows],
    )


@pytest.mark.parametrize("params", PARAMS.values(), ids=PARAMS.keys())
@pytest.mark.parametrize("n", [2, 4, 11])
def test_a_batch_of_three_equals_three_single_rollouts(params, n):
    """Bit for bit, alone, together, and as the first three of a batch of 203."""
    arena, rng = SanctionsCommonsArena(n, STEPS, params), np.random.default_rng(2)
    policy = np.concatenate([random_policies(rng, 3, n), random_policies(rng, 200, n)])
    noise = concat_noise([arena.noise(rng, 3), arena.noise(rng, 200)])
    three = arena.rollout(policy[:3], {key: value[:3] for key, value in noise.items()})
    assert_traces_equal(_rows(arena.rollout(policy, noise), slice(0, 3)), three)
    for b in range(3):
        alone = arena.rollout(policy[b : b + 1], {key: value[b : b + 1] for key, value in noise.items()})
        assert_traces_equal(alone, _rows(three, slice(b, b + 1)))


@pytest.mark.parametrize("harsh", [False, True])
def test_without_sanctions_it_is_exactly_the_commons(harsh):
    base = CommonsParams(take_rate=0.9, max_harvest=6.0, helper_cost=0.3) if harsh else CommonsParams()
    params = SanctionsParams(
        **{f: getattr(base, f) for f in base.__dataclass_fields__}, sanction_cost=1.0, sanction_fine=2.0
    )
    plain, variant = CommonsArena(N, STEPS, base), SanctionsCommonsArena(N, STEPS, params)
    rng = np.random.default_rng(4)
    policy, noise = random_policies(rng, 50), plain.noise(rng, 50)
    policy[..., SANCTIONS] = 0.0
    want, got = plain.rollout(policy[..., :5], noise), variant.rollout(policy, noise)
    np.testing.assert_array_equal(got.fitness, want.fitness)
    np.testing.assert_array_equal(got.events[..., :3], want.events)
    np.testing.assert_array_equal(got.opportunities[..., :3], want.opportunities)
    np.testing.assert_array_equal(got.series["commons"], want.series["commons"])
    assert (got.events[..., SANCTION] == 0).all() and got.opportunities[..., SANCTION].sum() > 0
    # and step by step through the generic loop
    np.testing.assert_array_equal(Arena.rollout(variant, policy, noise).fitness, want.fitness)


def test_costs_and_fines_match_the_sanction_events():
    """Without regrowth, takes and builds, every store change is harvest − cost − fine: the costs
    are the sanction events and the fines are sanction_fine · o_j · Σ_{i≠j} a_i, all destroyed."""
    params = SanctionsParams(regrowth=0.0, noise=0.0, sanction_cost=0.3, sanction_fine=0.7)
    arena = SanctionsCommonsArena(5, 8, params)
    arena.share = 0.5  # regrowth 0 makes the share 0: set one so that agents harvest and overuse
    rng = np.random.default_rng(5)
    batch = 40
    state = arena.reset(batch)
    state["stock"] = np.full(batch, arena.capacity)  # 8 steps of at most 5 × 1 never squeeze it
    spent = destroyed = 0.0
    for _t in range(arena.steps):
        actions = rng.random((batch, 5, 6))
        actions[..., [1, 2, 4]] = 0.0  # no take, no build, no helper
        before = state
        state, result = arena.step(state, actions, {"regrowth": np.zeros(batch)})
        harvest = actions[..., 0] * params.max_harvest * arena.share
        overuse = np.maximum(harvest - arena.share, 0.0)
        np.testing.assert_allclose(result.events[:, :5, OVERUSE], overuse, rtol=1e-13, atol=1e-14)
        a = actions[..., 5]
        cost = params.sanction_cost * a * (overuse.sum(-1, keepdims=True) - overuse)
        fine = params.sanction_fine * overuse * (a.sum(-1, keepdims=True) - a)
        assert (before["store"] + harvest > cost + fine).all()  # nothing capped here
        np.testing.assert_allclose(result.events[:, :5, SANCTION], cost, rtol=1e-12, atol=1e-14)
        assert (result.events[:, 5:, SANCTION] == 0).all()
        np.testing.assert_allclose(
            result.rewards, harvest - result.events[:, :5, SANCTION] - fine, rtol=1e-12, atol=1e-12
        )
        np.testing.assert_array_equal(
            result.opportunities[..., SANCTION], overuse.sum(-1, keepdims=True) - overuse > 0
        )
        # nothing is transferred: what left the stock minus what reached the stores is destroyed
        lost = (before["stock"] - state["stock"]) - (state["store"] - before["store"]).sum(-1)
        np.testing.assert_allclose(lost, (cost + fine).sum(-1), rtol=1e-9, atol=1e-12)
        spent += result.events[..., SANCTION].sum()
        destroyed += fine.sum()
    assert spent > 1.0
    # each unit costs sanction_cost and destroys sanction_fine
    np.testing.assert_allclose(destroyed, spent * params.sanction_fine / params.sanction_cost, rtol=1e-12)


def test_nobody_pays_or_loses_more_than_its_store():
    arena = SanctionsCommonsArena(N, STEPS, PARAMS["harsh"])
    state = arena.reset(100)
    rng = np.random.default_rng(6)
    state["store"] = rng.random((100, N)) * (rng.random((100, N)) < 0.5)  # many broke sanctioners
    actions = rng.random((100, N, 6))
    actions[..., [1, 2, 4]] = 0.0
    new, result = arena.step(state, actions, {"regrowth": np.zeros(100)})
    assert (new["store"] >= 0).all()
    harvest = actions[..., 0] * arena.params.max_harvest * arena.share
    assert (result.events[:, :N, SANCTION] <= state["store"] + harvest + 1e-12).all()
    assert (new["store"] == 0).any() and result.events[..., SANCTION].sum() > 0


def test_sanctioners_make_overuse_stop_paying():
    arena = SanctionsCommonsArena(N, STEPS)
    noise = arena.noise(np.random.default_rng(7), 20)
    for sanction, overuser_poorer in ((1.0, True), (0.0, False)):
        policy = uniform(arena, 20, sanction=sanction)
        policy[:, 0, HARVEST] = 1.0  # agent 0 overuses, never sanctions
        policy[:, 0, SANCTIONS] = 0.0
        trace = arena.rollout(policy, noise)
        assert (trace.events[:, 0, OVERUSE] > 0).all() and (trace.events[:, 1:N, OVERUSE] == 0).all()
        if overuser_poorer:
            assert (trace.fitness[:, 0] < trace.fitness[:, 1:].min(-1)).all()
            assert (trace.events[:, 1:N, SANCTION] > 0).all() and (trace.events[:, 0, SANCTION] == 0).all()
        else:
            assert (trace.fitness[:, 0] > trace.fitness[:, 1:].max(-1)).all()
    # a sanctioner among restrained agents pays nothing: nobody overuses
    calm = arena.rollout(uniform(arena, 20, sanction=1.0), noise)
    assert (calm.events[..., SANCTION] == 0).all() and (calm.opportunities[..., SANCTION] == 0).all()


def test_delegated_overuse_is_fined_on_its_owner():
    arena = SanctionsCommonsArena(N, STEPS, SanctionsParams(noise=0.0))
    noise = arena.noise(np.random.default_rng(0), 1)
    policy = uniform(arena, 1, sanction=1.0)
    policy[0, 2, [HARVEST, 3, SANCTIONS]] = [1.0, 1.0, 0.0]  # agent 2 builds a helper and both overuse
    trace = arena.rollout(policy, noise)
    assert trace.events[0, N + 2, OVERUSE] > 0
    plain = arena.rollout(np.where(np.arange(6) == SANCTIONS, 0.0, policy), noise)
    assert trace.fitness[0, 2] < plain.fitness[0, 2] - trace.events[0, N + 2, OVERUSE]


TERMS = (Term("outcome", "own_wealth"),)


def _plan_against(others_sanction: float, helper_cost: float = 1e6):
    """Agent 0 plans for its own wealth; the others harvest the sustainable share and sanction.
    Only harvesting is left to choose: helpers are priced out by default (a helper doubles a clean
    harvest, the commons' loophole, which a capable planner prefers to overuse whether or not
    anyone sanctions), and takes move nothing (their gains would drown the harvest's)."""
    arena = SanctionsCommonsArena(N, STEPS, SanctionsParams(helper_cost=helper_cost, take_rate=0.0))
    policies = np.tile(arena.default_policy, (N, 1))
    policies[1:, SANCTIONS] = others_sanction
    group = PlanGroup(
        weights=np.ones((N, 1)), policies=policies, planners=((0, Capability(96, 4)),), kin=np.eye(N)
    )
    chosen = plan(arena, TERMS, [group], [np.random.default_rng(0)])[0]
    noise = arena.noise(np.random.default_rng(99), 16)
    return arena.rollout(np.repeat(chosen[None], 16, axis=0), noise)


def test_a_consequentialist_overuses_unless_the_others_sanction_hard():
    free = _plan_against(0.0)
    assert (free.events[:, 0, OVERUSE] + free.events[:, N, OVERUSE] > 0).all()
    policed = _plan_against(1.0)
    assert (policed.events[:, [0, N], OVERUSE] == 0).all()
    # with helpers affordable it harvests two clean shares through one instead: no sanction sees it
    loophole = _plan_against(1.0, helper_cost=1.0)
    assert (loophole.events[:, 0, BUILD] == 1).all() and (loophole.events[..., SANCTION] == 0).all()
