"""Enforcement against any event kind (`purity.arenas.sanctions`): fines on take, overuse,
break_promise and deceive, police that can miss, and agents of unequal power. The exact
arithmetic of costs and fines (destroyed, never created), detection 0 (nobody fined) and 1 (no
draw: the arenas as they were), the rate of detection against its parameter, starting stores
under unequal power, PettingZoo's tests and the fast paths under the new switches."""

from __future__ import annotations

import arena_checks
import numpy as np
import pytest
from arena_checks import pettingzoo_tests
from test_arenas_commons import random_policies as commons_policies

from purity.arenas import sanctions
from purity.arenas.commons import OVERUSE, TAKE, CommonsArena, CommonsParams
from purity.arenas.commons_sanctions import SANCTION, SanctionsCommonsArena, SanctionsParams
from purity.arenas.core import Arena
from purity.arenas.principal import PrincipalArena, PrincipalParams
from purity.arenas.principal_police import PoliceArena, PoliceParams
from purity.arenas.promises import PromisesArena, PromisesParams
from purity.arenas.promises_sanctions import PromisesSanctionsArena, PromisesSanctionsParams
from purity.arenas.wrapper import ParallelArenaEnv

N = 4
KEEP, BREAK_ = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # trust all; keep / break


def _commons_policies(rng, batch, n=N):
    return np.concatenate([commons_policies(rng, batch, n), rng.random((batch, n, 1))], axis=-1)


def _promises_policies(rng, batch, n=N):
    policy = rng.random((batch, n, 7))
    policy[: batch // 2, :, 4] = 0.0  # half without helpers
    return policy


def _police_policies(rng, batch, n=N):
    policy = rng.random((batch, n, 4))
    policy[: batch // 2, :, 1] *= 0.45  # some seize below the overseer's threshold
    return policy


# (arena, policies) under switches that exercise detection, another event kind and unequal power
CASES = {
    "commons-take": (
        SanctionsCommonsArena(N, 30, SanctionsParams(sanction_event="take", detection=0.6, take_rate=0.4)),
        _commons_policies,
    ),
    "commons-overuse": (SanctionsCommonsArena(N, 30, SanctionsParams(detection=0.3)), _commons_policies),
    "police": (
        PoliceArena(N, 30, PoliceParams(detection=0.5, police_power=0.7, endowment=1.0)),
        _police_policies,
    ),
    "promises-break": (
        PromisesSanctionsArena(N, 30, PromisesSanctionsParams(detection=0.7, blame=0.5, endowment=2.0)),
        _promises_policies,
    ),
    "promises-deceive": (
        PromisesSanctionsArena(N, 30, PromisesSanctionsParams(sanction_event="deceive", detection=0.4)),
        _promises_policies,
    ),
}


def _power(rng, batch, n=N):
    return rng.choice([0.5, 1.0, 2.0, 3.0], size=(batch, n))


@pytest.mark.parametrize("case", CASES)
def test_fast_rollout_equals_the_generic_loop(case):
    arena, policies = CASES[case]
    rng = np.random.default_rng(1)
    policy, noise, power = policies(rng, 48), arena.noise(rng, 48), _power(rng, 48)
    assert sanctions.NOISE_KEY in noise
    for steps, given in ((None, power), (9, power), (None, None)):
        fast = arena.rollout(policy, noise, steps, power=given)
        arena_checks.assert_traces_equal(fast, Arena.rollout(arena, policy, noise, steps, power=given))
    if case != "police":
        assert fast.events[..., -1].sum() > 0  # someone was sanctioned


@pytest.mark.parametrize("case", CASES)
def test_pettingzoo_api_and_seed_tests(case):
    arena, _ = CASES[case]
    env = pettingzoo_tests(lambda steps: ParallelArenaEnv(type(arena)(N, steps, arena.params)))
    assert env.arena.params.detection < 1


@pytest.mark.parametrize(
    "enforcing, plain, extra",
    [
        (SanctionsCommonsArena, CommonsArena, 5),
        (PromisesSanctionsArena, PromisesArena, 6),
    ],
)
@pytest.mark.parametrize("event", [0, 1])
def test_at_detection_0_nobody_is_fined_and_it_is_the_plain_arena(enforcing, plain, extra, event):
    """Everyone sanctions at full effort, nobody is ever seen: no cost, no fine, the plain arena's
    trace exactly (the sanction rows all 0)."""
    kinds = ("overuse", "take") if enforcing is SanctionsCommonsArena else ("break_promise", "deceive")
    base = plain.Params()
    params = enforcing.Params(
        **{f: getattr(base, f) for f in base.__dataclass_fields__}, detection=0.0, sanction_event=kinds[event]
    )
    arena, reference = enforcing(N, 25, params), plain(N, 25, base)
    rng = np.random.default_rng(3)
    policy = _commons_policies(rng, 40) if extra == 5 else _promises_policies(rng, 40)
    policy[..., extra] = 1.0
    noise = arena.noise(rng, 40)
    got, want = arena.rollout(policy, noise), reference.rollout(policy[..., :extra], noise)
    np.testing.assert_array_equal(got.fitness, want.fitness)
    np.testing.assert_array_equal(got.events[..., :-1], want.events)
    assert (got.events[..., -1] == 0).all() and (got.opportunities[..., -1] == 0).all()


def test_at_detection_0_police_catch_nothing_and_cost_their_patrol():
    rng = np.random.default_rng(4)
    policy = _police_policies(rng, 40)
    base = PrincipalParams(endowment=1.0)
    arena = PoliceArena(N, 20, PoliceParams(endowment=1.0, detection=0.0, police_power=5.0))
    noise = arena.noise(rng, 40)
    got, want = arena.rollout(policy, noise), PrincipalArena(N, 20, base).rollout(policy[..., :3], noise)
    np.testing.assert_array_equal(got.series["principal_control"], want.series["principal_control"])
    np.testing.assert_array_equal(got.events, want.events)
    patrol = 20 * arena.params.police_cost * policy[..., 3]
    np.testing.assert_allclose(got.fitness, want.fitness - patrol, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "arena", [SanctionsCommonsArena(N, 5), PoliceArena(N, 5), PromisesSanctionsArena(N, 5)]
)
def test_at_detection_1_no_draw_is_made(arena):
    """So every stream stays as it was: the arenas' other tests and the golden tables hold
    detection 1 to the arenas before detection existed."""
    noise = arena.noise(np.random.default_rng(0), 3)
    assert sanctions.NOISE_KEY not in noise
    offence = np.ones((2, 3))
    assert sanctions.seen(offence, 1.0, None) is offence


def test_a_fine_on_takes_by_hand():
    """One step, no harvest, no regrowth: agent 0 (power 2) takes 0.1 of agent 1's store of 10
    (agent 1 is the richest other), agents 1 and 2 sanction at 1/2 and 1, detection draws seen.
    Agent 0's take o = 1 is seen: agent 1 pays 0.2 · 1/2 · 1, agent 2 pays 0.2 · 1 · 1, agent 0
    is fined 0.6 · 1 · (1/2 + 1) (agent 0's own power does not fine itself)."""
    params = SanctionsParams(sanction_event="take", regrowth=0.0, noise=0.0, detection=0.5, endowment=5.0)
    arena = SanctionsCommonsArena(3, 1, params)
    policy = np.zeros((1, 3, 6))
    policy[0, 0, 2] = 1.0  # take
    policy[0, 1, 5], policy[0, 2, 5] = 0.5, 1.0
    power = np.array([[2.0, 2.0, 1.0]])  # agent 1 starts with 10: the richest other for agent 0
    noise = arena.noise(np.random.default_rng(0), 1)
    noise["detect"][:] = 0.2  # seen
    trace = arena.rollout(policy, noise, power=power)
    np.testing.assert_allclose(trace.events[0, :3, TAKE], [1.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(trace.events[0, :3, SANCTION], [0.0, 0.1, 0.2], rtol=1e-12)
    want = [10.0 + 1.0 - 0.6 * (0.5 * 2.0 + 1.0 * 1.0), 10.0 - 1.0 - 0.1, 5.0 - 0.2]
    np.testing.assert_allclose(trace.fitness[0], want, rtol=1e-12)
    noise["detect"][:] = 0.7  # missed: the take is free
    trace = arena.rollout(policy, noise, power=power)
    np.testing.assert_allclose(trace.fitness[0], [11.0, 9.0, 5.0], rtol=1e-12)
    assert (trace.events[0, :, SANCTION] == 0).all()


@pytest.mark.parametrize("event", ["overuse", "take"])
def test_costs_and_fines_are_destroyed_and_match_the_formula(event):
    """Many random steps with stores too large to cap anything, unequal power, detection 1/2:
    each sanctioner's spending is its `sanction` event, u_i = cost · a_i · Σ_{j≠i} o_j over seen
    offences; what everyone lost beyond harvest is Σ u + Σ f with f_j = fine · o_j · Σ_{i≠j} p_i a_i
    (takes only move store)."""
    params = SanctionsParams(
        sanction_event=event, regrowth=0.0, noise=0.0, detection=0.5, endowment=50.0, take_rate=0.05
    )
    arena = SanctionsCommonsArena(N, 1, params)
    arena.share = 0.5  # regrowth 0 makes the share 0: set one so that agents harvest and overuse
    rng, batch = np.random.default_rng(5), 400
    power = _power(rng, batch)
    state = arena.begin(batch, None, power=power)
    state["stock"] = np.full(batch, arena.capacity)
    actions = rng.random((batch, N, 6))
    actions[..., [2, 3, 4]] = 0.0  # no build, no helper
    draws = rng.random((batch, N))
    new, result = arena.step(state, actions, {"regrowth": np.zeros(batch), "detect": draws})
    kind = OVERUSE if event == "overuse" else TAKE
    seen = result.events[:, :N, kind] * (draws < 0.5)
    a = actions[..., 5]
    cost = params.sanction_cost * a * (seen.sum(-1, keepdims=True) - seen)
    fine = params.sanction_fine * seen * ((power * a).sum(-1, keepdims=True) - power * a)
    np.testing.assert_allclose(result.events[:, :N, SANCTION], cost, rtol=1e-12, atol=1e-14)
    harvest = (state["stock"] - new["stock"])[:, None]
    lost = harvest[:, 0] - (new["store"] - state["store"]).sum(-1)
    np.testing.assert_allclose(lost, cost.sum(-1) + fine.sum(-1), rtol=1e-9, atol=1e-12)
    assert (seen > 0).any() and ((result.events[:, :N, kind] > 0) & (draws >= 0.5)).any()
    np.testing.assert_array_equal(result.opportunities[..., SANCTION], seen.sum(-1, keepdims=True) - seen > 0)


def test_promise_sanctions_conserve_and_charge_the_helpers_owner():
    """Agent 0 breaks through its helper every step; the three others sanction fully. Every
    breach (owed 2) seen costs each sanctioner 0.2 · 2 and fines agent 0 0.6 · 2 · 3; a missed
    one costs nothing. Stores add up to the promises arena's minus exactly those."""
    params = PromisesSanctionsParams(detection=0.5)
    arena = PromisesSanctionsArena(N, 30, params)
    policy = np.array([BREAK_ + [0.0]] + [KEEP + [1.0]] * 3)
    policy[0, 4] = 1.0  # through the helper
    noise = arena.noise(np.random.default_rng(6), 1)
    trace = arena.rollout(policy[None], noise)
    plain = PromisesArena(N, 30, PromisesParams()).rollout(policy[None, :, :6], noise)
    seen = (noise["detect"][0, :, 0] < 0.5).sum()
    assert 0 < seen < 30 and trace.events[0, N, 0] == 60.0  # 30 breaches, all the helper's
    np.testing.assert_allclose(trace.events[0, 1:N, 2], 0.2 * 2 * seen, rtol=1e-12)
    paid = np.array([0.6 * 2 * 3, 0.4, 0.4, 0.4]) * seen
    np.testing.assert_allclose(trace.fitness[0], plain.fitness[0] - paid, rtol=1e-12)
    assert (trace.events[0, N:, 2] == 0).all()  # helpers never sanction


@pytest.mark.parametrize("detection", [0.15, 0.5, 0.9])
def test_the_rate_of_detection_is_the_parameter(detection):
    """Breaches seen over many steps and episodes, counted from what the sanctioners spent
    (each seen breach costs them 3 × 0.2 × 2): within 4 standard errors of `detection`."""
    arena = PromisesSanctionsArena(N, 25, PromisesSanctionsParams(detection=detection))
    policy = np.array([BREAK_ + [0.0]] + [KEEP + [1.0]] * 3)
    batch = 200
    trace = arena.rollout(
        np.repeat(policy[None], batch, axis=0), arena.noise(np.random.default_rng(7), batch)
    )
    breaches = batch * 25
    seen = trace.events[:, 1:N, 2].sum() / (3 * 0.2 * 2)
    rate, se = seen / breaches, np.sqrt(detection * (1 - detection) / breaches)
    assert abs(rate - detection) < 4 * se


def test_police_catch_only_seen_seizes():
    """Agent 0 seizes 0.1 a step (the overseer misses it), the others police fully with power 1:
    a seen request is caught whole and fined, a missed one moves control."""
    arena = PoliceArena(N, 20, PoliceParams(detection=0.7))
    policy = np.array([[1.0, 1 / 3, 1.0, 0.0]] + [[1.0, 0.0, 1.0, 1.0]] * 3)
    noise = arena.noise(np.random.default_rng(8), 1)
    trace = arena.rollout(policy[None], noise)
    missed = (noise["detect"][0, :, 0] >= 0.7).sum()
    assert 0 < missed < 20
    np.testing.assert_allclose(trace.series["principal_control"][0, -1], 1.0 - 0.1 * missed, rtol=1e-12)


@pytest.mark.parametrize(
    "arena",
    [
        SanctionsCommonsArena(N, 10),
        CommonsArena(N, 10, CommonsParams(endowment=3.0)),
        PoliceArena(N, 10, PoliceParams(endowment=1.5)),
        PromisesSanctionsArena(N, 10, PromisesSanctionsParams(endowment=2.5)),
    ],
    ids=["sanctions", "commons", "police", "promises"],
)
def test_unequal_power_multiplies_the_starting_store_exactly(arena):
    power = np.array([[0.0, 0.5, 1.0, 4.0]])
    noise = arena.noise(np.random.default_rng(0), 1)
    state = arena.begin(1, noise, power=power)
    np.testing.assert_array_equal(state["store"], arena.params.endowment * power)
    policy = np.zeros((1, N, len(arena.policy_names)))
    if isinstance(arena, CommonsArena):
        state = arena.rollout(policy, noise, steps=0, power=power)  # nothing happens in 0 steps
        np.testing.assert_array_equal(state.fitness, arena.params.endowment * power)
    equal = arena.rollout(np.tile(arena.default_policy, (1, N, 1)), noise)
    ones = arena.rollout(np.tile(arena.default_policy, (1, N, 1)), noise, power=np.ones((1, N)))
    np.testing.assert_array_equal(equal.fitness, ones.fitness)


def test_power_is_refused_where_an_arena_does_not_read_it():
    from purity.arenas.matrix import MatrixArena

    with pytest.raises(ValueError, match="does not read power"):
        MatrixArena(2, 3).rollout(
            np.zeros((1, 2, 1)), MatrixArena(2, 3).noise(np.random.default_rng(0), 1), power=np.ones(2)
        )
    with pytest.raises(ValueError, match="≥ 0"):
        CommonsArena(N, 3).begin(1, power=-np.ones(N))


def test_a_stronger_sanctioner_fines_harder():
    """One overuser, one sanctioner: the overuser loses in proportion to the sanctioner's power."""
    arena = SanctionsCommonsArena(2, 20, SanctionsParams(noise=0.0, endowment=20.0))
    policy = np.tile(arena.default_policy, (1, 2, 1))
    policy[0, 0, 0], policy[0, 1, 5] = 1.0, 1.0
    noise = arena.noise(np.random.default_rng(0), 1)
    weak, strong = (arena.rollout(policy, noise, power=np.array([[1.0, p]])) for p in (1.0, 3.0))
    free = arena.rollout(np.where(np.arange(6) == 5, 0.0, policy), noise)
    np.testing.assert_allclose(
        free.fitness[0, 0] - strong.fitness[0, 0], 3 * (free.fitness[0, 0] - weak.fitness[0, 0]), rtol=1e-9
    )
    np.testing.assert_allclose(strong.events[0, 1, SANCTION], weak.events[0, 1, SANCTION], rtol=1e-12)
