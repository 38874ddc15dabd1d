"""The promises arena: trust-game accounting by hand, helpers and scopes, public traits, batch
independence, its PettingZoo face, and what planners do when preferences are (not) observable."""

from __future__ import annotations

from dataclasses import fields, replace

import arena_checks
import numpy as np
import pytest
from arena_checks import assert_registered_and_documented, play, same_episode
from pettingzoo.test import parallel_api_test, parallel_seed_test

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term, features, traits
from purity.agents.profiles import library, load
from purity.arenas.core import Arena, concat_noise
from purity.arenas.promises import PromisesArena, PromisesParams
from purity.arenas.wrapper import ParallelArenaEnv
from purity.inputs import read_params

# trust_threshold, believe, promise, keep, via_helper, misreport
KEEPER = np.array([0.5, 0.0, 1.0, 1.0, 0.0, 0.0])  # trusts what looks like a keeper, keeps
BREAKER = np.array([0.5, 0.0, 1.0, 0.0, 0.0, 1.0])  # same trust, breaks, claims to be a keeper
VIA_HELPER = np.array([0.5, 0.0, 1.0, 0.0, 1.0, 0.0])  # breaks through its helper
# two public keepers, two consequentialists; the population's mean trait (the prior) is 1/2
SHOWN = np.array([[1.0, 0.5], [1.0, 0.5], [0.0, 0.5], [0.0, 0.5]])
# entries that are not dyadic fractions, so that the order of every sum shows in the last bit
ODD = PromisesParams(
    factor=3.7,
    return_share=0.43,
    stake=1.3,
    endowment=0.3,
    observe=0.6,
    reputation_noise=0.2,
    helper_fee=0.07,
)


def assert_traces_equal(a, b) -> None:
    arena_checks.assert_traces_equal(a, b, series={"trust"})


def episode(arena, policy, seed=0, shown=SHOWN):
    return arena.rollout(
        np.asarray(policy)[None], arena.noise(np.random.default_rng(seed), 1), traits=shown[None]
    )


# --- accounting by hand ---------------------------------------------------------------------------


def test_payoffs_when_profiles_are_seen_and_when_they_are_not():
    """Four agents, 30 steps (10 rounds of meeting the 3 others once in each role); factor 4,
    return share 1/2: a kept promise gives +1 to the trustor and +2 to the trustee, a broken one
    −1 and +4.

    observe = 1: everyone trusts the two keepers (seen 1 ≥ 0.5) and nobody the breakers (seen 0).
    Per round a keeper is trusted 3 times (+6) and gains +1 trusting the other keeper: 7; a
    breaker gains +1 twice trusting the keepers: 2. Over 10 rounds 70 and 20.
    observe = 0: everyone sees the prior, the population's mean trait 1/2 ≥ 0.5, and trusts everyone. Per round
    a keeper gets +6 as trustee and +1 −1 −1 as trustor: 5; a breaker +12 and +1 +1 −1: 13.
    The breakers' reports (1, trait 0) are lies told to partners who cannot check: 30 steps × 1
    each. Nobody believes them (believe 0).
    """
    policy = [KEEPER, KEEPER, BREAKER, BREAKER]
    seen = episode(PromisesArena(4, 30, PromisesParams(observe=1.0)), policy)
    np.testing.assert_array_equal(seen.fitness, [[70.0, 70.0, 20.0, 20.0]])
    assert seen.events.sum() == 0.0  # nobody trusts the breakers, so they break nothing
    np.testing.assert_array_equal(seen.opportunities[0, :, 0], [30.0, 30.0, 0.0, 0.0])
    np.testing.assert_array_equal(seen.series["trust"][0], [0.0] + [0.5] * 30)

    blind = episode(PromisesArena(4, 30, PromisesParams(observe=0.0)), policy)
    np.testing.assert_array_equal(blind.fitness, [[50.0, 50.0, 130.0, 130.0]])
    np.testing.assert_array_equal(blind.events[0, :4, 0], [0.0, 0.0, 60.0, 60.0])  # 30 breaks × owed 2
    np.testing.assert_array_equal(blind.events[0, :4, 1], [0.0, 0.0, 30.0, 30.0])
    assert blind.events[0, 4:].sum() == 0.0
    np.testing.assert_array_equal(blind.opportunities[0, :, 1], [30.0] * 4)
    np.testing.assert_array_equal(blind.series["trust"][0, 1:], 1.0)


def test_believed_reports_let_a_liar_pass_for_a_keeper():
    """observe = 0, trustors believe reports fully and trust from 0.9: a truthful consequentialist
    (report 0) is never trusted, a lying one (report 1) always is — and breaks. (Neither trusts.)"""
    arena = PromisesArena(2, 10, PromisesParams(observe=0.0))
    believer = np.array([0.9, 1.0, 1.0, 1.0, 0.0, 0.0])
    honest, liar = BREAKER.copy(), BREAKER.copy()
    honest[[0, 5]] = 1.0, 0.0
    liar[0] = 1.0
    shown = np.array([[1.0, 0.5], [0.0, 0.5]])
    truthful = episode(arena, [believer, honest], shown=shown)
    lying = episode(arena, [believer, liar], shown=shown)
    assert truthful.fitness[0, 1] == 0.0 and truthful.events[0, 1, 1] == 0.0
    np.testing.assert_array_equal(lying.fitness[0], [-10.0, 40.0])
    np.testing.assert_array_equal(lying.events[0, 1], [20.0, 10.0])  # 10 breaks × 2, 10 lies × 1


@pytest.mark.parametrize("partners", [([1.0], [0.0]), ([1.0, 1.0, 0.0], [1.0, 0.0, 0.0])])
def test_an_unseen_partners_trait_does_not_reach_its_trustor(partners):
    """observe = 0: which partners are keepers (trait 1) or consequentialists (0) changes nothing
    — every trustor sees the population's mean, 1/2 here, and everyone plays the same policy, so
    the whole episode is the same: trust, payoffs, events. The group's mean, the old prior, would
    give the partners away: agent 0 (trait 0, trusting from 1/2) in a pair sees 1/2 beside a keeper
    and trusts, 0 beside a consequentialist and does not; in a group of four, 2/4 and 1/4."""
    keepers, fewer = partners
    n = len(keepers) + 1
    arena = PromisesArena(n, 12, PromisesParams(observe=0.0))
    policy = [KEEPER] * n  # the same play whatever the trait: threshold 1/2, keeps, no reports believed
    traces = []
    for others in (keepers, fewer):
        trait = np.array([0.0, *others])
        traces.append(episode(arena, policy, seed=3, shown=np.stack([trait, np.full(n, 0.5)], axis=1)))
        group_mean = np.stack([trait, np.full(n, trait.mean())], axis=1)
        traces.append(episode(arena, policy, seed=3, shown=group_mean))
    population, group_prior = traces[0::2], traces[1::2]
    assert_traces_equal(*population)
    np.testing.assert_array_equal(population[0].series["trust"][0, 1:], 1.0)  # 1/2 ≥ 1/2: all trust
    assert group_prior[0].fitness[0, 0] != group_prior[1].fitness[0, 0]  # the leak the prior closes
    assert group_prior[1].series["trust"][0, 1:].min() == 0.0


def test_rewards_sum_to_fitness_and_investments_create_the_surplus():
    arena = PromisesArena(5, 40, ODD)
    rng = np.random.default_rng(3)
    batch = 16
    policy = rng.random((batch, 5, 6))
    shown = rng.random((batch, 5, 2))
    noise = arena.noise(rng, batch)
    state = arena.begin(batch, traits=shown)
    total = np.zeros((batch, 5))
    for t in range(40):
        actions = arena.act(policy, arena.observe(state), t)
        state, result = arena.step(state, actions, {k: v[:, t] for k, v in noise.items()})
        total += result.rewards
        fees = ((actions[..., 2] > 0.5) & (actions[..., 4] > 0.5)).sum(axis=1) * ODD.helper_fee
        invested = result.opportunities[..., 0].sum(axis=1)  # one trustor per trustee
        surplus = invested * (ODD.factor - 1) * ODD.stake - fees
        np.testing.assert_allclose(result.rewards.sum(axis=1), surplus, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state["trust"], invested / 5)
    np.testing.assert_allclose(total, state["store"] - ODD.endowment, rtol=1e-12, atol=1e-12)
    trace = arena.rollout(policy, noise, traits=shown)
    np.testing.assert_array_equal(trace.fitness, state["store"])
    assert trace.events[..., 0].sum() > 0 and trace.events[..., 1].sum() > 0


def test_everyone_meets_everyone_in_both_roles():
    """Agent 0 trusts every promise, nobody else trusts; over n − 1 = 3 steps it meets each other
    agent once as trustor: each of them gains factor·stake − owed = 2 exactly once."""
    arena = PromisesArena(4, 3, PromisesParams(observe=1.0))
    distrust = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    truster = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    trace = episode(arena, [truster, distrust, distrust, distrust], shown=np.zeros((4, 2)))
    np.testing.assert_array_equal(trace.fitness, [[3.0, 2.0, 2.0, 2.0]])
    alone = PromisesArena(1, 5).rollout(
        truster[None, None], PromisesArena(1, 5).noise(np.random.default_rng(0), 1)
    )
    assert alone.fitness[0, 0] == 0.0 and alone.events.sum() == 0.0


# --- helpers and scopes: the loophole ---------------------------------------------------------------


def test_a_promise_broken_through_the_helper_is_the_helpers_act():
    """Each step, both trust each other (traits 1 and 3/4 seen): agent 0 keeps (+2 for it, +1 for
    agent 1), agent 1's helper breaks (+4 − fee 0.1 for agent 1, −1 for agent 0)."""
    arena = PromisesArena(2, 10, PromisesParams(observe=1.0))
    trace = episode(arena, [KEEPER, VIA_HELPER], shown=np.array([[1.0, 0.875], [0.75, 0.875]]))
    np.testing.assert_array_equal(trace.events[0, :, 0], [0.0, 0.0, 0.0, 20.0])  # helper slot 3
    np.testing.assert_allclose(trace.fitness[0], [10 * (2 - 1), 10 * (4 - 0.1 + 1)], rtol=1e-12)
    terms = tuple(Term("constraint", "break_promise", scope=s) for s in ("self", "lineage", "world"))
    values = features(trace, terms)[0]
    np.testing.assert_array_equal(values[1], [0.0, -20.0, -20.0])  # self does not count it
    np.testing.assert_array_equal(values[0], [0.0, 0.0, -20.0])


N, STEPS = 2, 10
LOOPHOLE_TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "break_promise", scope="self"),
    Term("constraint", "break_promise", scope="lineage"),
)
HONEST = np.array([0.5, 0.0, 1.0, 1.0, 0.0, 0.0])


def _plan_focal(weights_row, seed, blame=0.0, reveal_scope=0.0):
    """A capable planner (slot 0) with trait 0.75 beside a fixed partner that trusts any trait of
    at least 0.5 it sees (observe = 1) and keeps: what does the planner do as trustee?"""
    arena = PromisesArena(N, STEPS, PromisesParams(observe=1.0, blame=blame, reveal_scope=reveal_scope))
    weights = np.array([weights_row, [1.0, np.inf, 0.0]])
    shown = traits(weights, LOOPHOLE_TERMS, arena.trait_names)
    group = PlanGroup(weights, np.stack([HONEST, HONEST]), ((0, Capability(64, 2)),), np.eye(N), shown)
    chosen = plan(arena, LOOPHOLE_TERMS, [group], [np.random.default_rng(seed)])[0]
    return (
        chosen,
        arena.rollout(chosen[None], arena.noise(np.random.default_rng(99), 1), traits=shown[None]),
        shown,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_a_self_scoped_keeper_breaks_through_its_helper_and_a_lineage_scoped_one_does_not(seed):
    """Both weigh breaking 3 (trait 3/4: trusted). Breaking pays 4 a step instead of 2, so the
    self-scoped keeper has its helper break (cost: the 0.1 fee); its own hands stay clean. The
    lineage scope counts the helper's breaking, so that keeper keeps, and earns less."""
    chosen, loophole, shown = _plan_focal([1.0, 3.0, 0.0], seed)
    np.testing.assert_array_equal(shown[:, 0], [0.75, 1.0])
    assert chosen[0, 4] > 0.5 and chosen[0, 2] > 0.5  # promises, through the helper
    assert loophole.events[0, 0, 0] == 0.0 and loophole.events[0, 2, 0] > 0  # the helper breaks
    _, kept, _ = _plan_focal([1.0, 0.0, 3.0], seed)
    assert kept.events[0, :, 0].sum() == 0.0
    assert kept.opportunities[0, 0, 0] == STEPS  # trusted every step, kept every promise
    assert loophole.fitness[0, 0] > kept.fitness[0, 0]


def test_blame_pins_a_helpers_breach_on_its_owner():
    """As above, with blame 1: step 1 is the same (agent 0: +2 − 1, agent 1: +3.9 + 1); from then
    on agent 0 sees agent 1 as a breaker (0 < 0.5) and stops trusting it, so agent 1's helper
    breaks nothing more and agent 1 earns +1 − 0.1 (its promise through the helper, not taken up)
    a step: 1 + 9 × 2 = 19 and 4.9 + 9 × 0.9 = 13. Blame 0 is the arena without it, bit for bit."""
    shown = np.array([[1.0, 0.875], [0.75, 0.875]])
    blamed = episode(
        PromisesArena(2, 10, PromisesParams(observe=1.0, blame=1.0)), [KEEPER, VIA_HELPER], shown=shown
    )
    np.testing.assert_allclose(blamed.fitness[0], [19.0, 13.0], rtol=1e-12)
    np.testing.assert_array_equal(blamed.events[0, :, 0], [0.0, 0.0, 0.0, 2.0])
    unseen = PromisesParams(observe=0.0, blame=1.0)  # nobody sees profiles: blame changes nothing
    policy = [KEEPER, VIA_HELPER]
    np.testing.assert_array_equal(
        episode(PromisesArena(2, 10, unseen), policy, shown=shown).fitness,
        episode(PromisesArena(2, 10, PromisesParams(observe=0.0)), policy, shown=shown).fitness,
    )
    assert "blame" not in PromisesArena(2, 10).noise(np.random.default_rng(0), 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_blame_removes_the_self_scoped_keepers_advantage(seed):
    """Without blame the self-scoped keeper out-earns the lineage-scoped one by breaking through
    its helper; with blame 1 its first breach exposes it, so it keeps like the lineage keeper
    (10 steps × (2 + 1) = 30 each) and gains nothing from its narrower scope."""
    _, loophole, _ = _plan_focal([1.0, 3.0, 0.0], seed)
    _, kept, _ = _plan_focal([1.0, 0.0, 3.0], seed)
    assert loophole.fitness[0, 0] > kept.fitness[0, 0]
    _, self_blamed, _ = _plan_focal([1.0, 3.0, 0.0], seed, blame=1.0)
    _, lineage_blamed, _ = _plan_focal([1.0, 0.0, 3.0], seed, blame=1.0)
    assert self_blamed.fitness[0, 0] <= lineage_blamed.fitness[0, 0] == pytest.approx(30.0)
    assert self_blamed.events[0, :, 0].sum() <= 2.0  # at most the one breach that exposes it


# --- observability decides which preferences pay ----------------------------------------------------

DEY_TERMS = (Term("outcome", "own_wealth"), Term("constraint", "break_promise", scope="lineage"))
DEY_WEIGHTS = np.array([[1.0, 3.0], [1.0, 3.0], [1.0, 0.0], [1.0, 0.0]])  # two keepers, two consequentialists


def _best_responses(observe: float, seed: int, rounds: int = 6) -> np.ndarray:
    """[n] mean fitness after `rounds` rounds in which every member plans against the others'
    policies of the round before (all start as honest trusters)."""
    arena = PromisesArena(4, 12, PromisesParams(observe=observe))
    shown = traits(DEY_WEIGHTS, DEY_TERMS, arena.trait_names)
    policies = np.repeat(arena.default_policy[None], 4, axis=0)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        group = PlanGroup(
            DEY_WEIGHTS, policies, tuple((s, Capability(64, 2)) for s in range(4)), np.eye(4), shown
        )
        policies = plan(arena, DEY_TERMS, [group], [rng])[0]
    episodes = 64
    trace = arena.rollout(
        np.repeat(policies[None], episodes, 0),
        arena.noise(np.random.default_rng(9), episodes),
        traits=np.repeat(shown[None], episodes, 0),
    )
    return trace.fitness.mean(axis=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_keepers_out_earn_consequentialists_only_when_profiles_are_observable(seed):
    """Dekel, Ely & Yilankaya 2007: a preference that is not materially optimal can pay only if
    others can see it. Seen (observe 1), keepers (trait 3/4) are trusted by everyone and kept
    their word; consequentialists (trait 0) nobody trusts: per 3 steps a keeper gets 7, a
    consequentialist 2 (12 steps: 28 against 8). Unseen (observe 0), nobody can tell them apart
    (the four are the whole population, so the prior is their mean trait, 3/8, for everyone):
    the keepers, who meet more consequentialists than keepers, stop trusting; the
    consequentialists trust everyone and break: per 3 steps 4 against 5 (16 against 20). Unseen,
    best responses do not always settle in 6 rounds (over seeds 0-19 the gap was −4 in 12,
    between −24 and −3 in 7, +2 in one), so only its sign is asserted."""
    seen, blind = _best_responses(1.0, seed), _best_responses(0.0, seed)
    keeper, consequentialist = slice(0, 2), slice(2, 4)
    assert seen[keeper].mean() == pytest.approx(28.0, abs=0.5) and seen[
        consequentialist
    ].mean() == pytest.approx(8.0, abs=0.5)
    assert blind[keeper].mean() < blind[consequentialist].mean()
    if seed == 0:  # settled: exactly the values above
        assert blind[keeper].mean() == pytest.approx(16.0, abs=0.5) and blind[
            consequentialist
        ].mean() == pytest.approx(20.0, abs=0.5)


# --- batched core, PettingZoo face --------------------------------------------------------------------


VARIANTS = {
    "plain": ODD,
    "blame": replace(ODD, blame=0.5),
    "image": replace(ODD, assessment="image", blame=0.5),
    "standing-scope": replace(ODD, assessment="standing", reveal_scope=0.5),
}


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_fast_rollout_equals_the_generic_loop(params):
    for n in (1, 2, 5):
        arena = PromisesArena(n, 45, params)
        rng = np.random.default_rng(n)
        columns = len(arena.trait_names)
        policy, shown, noise = rng.random((64, n, 6)), rng.random((64, n, columns)), arena.noise(rng, 64)
        fast = arena.rollout(policy, noise, traits=shown)
        assert_traces_equal(fast, Arena.rollout(arena, policy, noise, traits=shown))
        assert_traces_equal(
            arena.rollout(policy, noise, 7, shown), Arena.rollout(arena, policy, noise, 7, shown)
        )
        assert_traces_equal(arena.rollout(policy, noise), Arena.rollout(arena, policy, noise))  # traits 0
        assert n == 1 or (
            fast.fitness.std() > 0 and fast.events[:, n:].sum() > 0 and fast.events[:, :n].sum() > 0
        )


def test_a_batch_equals_its_episodes_played_one_at_a_time():
    arena = PromisesArena(9, 60, ODD)
    rng = np.random.default_rng(2)
    policy, shown, noise = rng.random((3, 9, 6)), rng.random((3, 9, 2)), arena.noise(rng, 3)
    for rollout in (arena.rollout, lambda *args, **kw: Arena.rollout(arena, *args, **kw)):
        together = rollout(policy, noise, traits=shown)
        for b in range(3):
            alone = rollout(
                policy[b : b + 1], {k: v[b : b + 1] for k, v in noise.items()}, traits=shown[b : b + 1]
            )
            for name in ("fitness", "events", "opportunities"):
                np.testing.assert_array_equal(getattr(together, name)[b : b + 1], getattr(alone, name))
            np.testing.assert_array_equal(together.series["trust"][b : b + 1], alone.series["trust"])
    big = arena.rollout(
        np.concatenate([policy, rng.random((200, 9, 6))]),
        concat_noise([noise, arena.noise(rng, 200)]),
        traits=np.concatenate([shown, rng.random((200, 9, 2))]),
    )
    np.testing.assert_array_equal(big.fitness[:3], together.fitness)
    assert together.fitness.std() > 0 and together.events.std() > 0


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_pettingzoo_parallel_api_and_seed_tests(params):
    env = ParallelArenaEnv(PromisesArena(3, 20, params))
    parallel_api_test(env, num_cycles=40)
    assert env.arena.steps == 40 and env.arena.params == params
    parallel_seed_test(lambda: ParallelArenaEnv(PromisesArena(3, 30, params)), num_cycles=30)


def test_same_seed_same_500_steps():
    shown = {"traits": [[0.9, 0.4], [0.2, 0.4], [0.5, 0.4]]}

    def run(actions_seed, seed=5):
        env = ParallelArenaEnv(PromisesArena(3, 500, ODD))
        env.reset(seed=seed, options=shown)
        return play(env, np.random.default_rng(actions_seed), seed)  # traits hold over resets

    runs = [run(11), run(11)]
    assert len(runs[0]) == 501 and same_episode(*runs)
    assert runs[0][0][0]["agent_0"][:2].tolist() == [0.9, 0.4]  # own trait, prior
    rewards = [r[1]["agent_0"] for r in runs[0][1:]]
    assert np.std(rewards) > 0
    assert not same_episode(runs[0], run(12))
    assert not same_episode(runs[0], run(11, seed=6))


def test_the_wrapper_replays_the_core():
    """Same per-step rewards, events and opportunities, and the same fitness and trust series, as
    the batched core's rollout with the traits passed at reset."""
    arena = PromisesArena(3, 40, ODD)
    policy = np.array([[KEEPER, BREAKER, VIA_HELPER]])
    shown = np.array([[0.8, 0.5], [0.1, 0.5], [0.6, 0.5]])
    env = ParallelArenaEnv(arena)
    obs, _ = env.reset(seed=7, options={"traits": shown})
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(7), 1), traits=shown[None])
    events, helper_events, opportunities, t = np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), 0
    while env.agents:
        stacked = np.stack([obs[a] for a in env.possible_agents])[None]
        np.testing.assert_array_equal(stacked, arena.observe(env.arena_state))
        obs, _, _, _, infos = env.step(dict(zip(env.possible_agents, arena.act(policy, stacked, t)[0])))
        for i, a in enumerate(env.possible_agents):
            events[i] += list(infos[a]["events"].values())
            helper_events[i] += list(infos[a]["helper_events"].values())
            opportunities[i] += list(infos[a]["opportunities"].values())
        t += 1
    np.testing.assert_array_equal(events, trace.events[0, :3])
    np.testing.assert_array_equal(helper_events, trace.events[0, 3:])
    np.testing.assert_array_equal(opportunities, trace.opportunities[0])
    np.testing.assert_array_equal(env.arena_state["store"][0], trace.fitness[0])
    np.testing.assert_array_equal(arena.record(env.arena_state)["trust"], trace.series["trust"][:, -1])
    assert helper_events[2, 0] > 0 and events[1, 0] > 0 and events[1, 1] > 0


# --- inputs, registration, documentation ----------------------------------------------------------


def test_traits_are_checked_and_default_to_zeros():
    arena = PromisesArena(3, 5)
    np.testing.assert_array_equal(arena.public_traits(None, 2), np.zeros((2, 3, 2)))
    assert arena.public_traits([[0.1, 0.2], [0.2, 0.2], [0.3, 0.2]], 4).shape == (4, 3, 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        arena.public_traits([[0.1, 0.2], [1.5, 0.2], [0.3, 0.2]], 1)
    with pytest.raises(ValueError):
        arena.public_traits(np.zeros((2, 2)), 1)
    with pytest.raises(ValueError, match="2 columns"):  # one column is not broadcast into the prior
        arena.public_traits([[0.1], [0.2], [0.3]], 1)


def test_arenas_without_traits_ignore_them():
    from purity.arenas.commons import CommonsArena
    from purity.arenas.principal import PrincipalArena

    rng = np.random.default_rng(0)
    for arena in (CommonsArena(3, 10), PrincipalArena(3, 10)):
        assert arena.trait_names == () and "traits" not in arena.begin(2, traits=rng.random((2, 3, 0)))
        policy, noise = rng.random((2, 3, len(arena.policy_names))), arena.noise(rng, 2)
        arena_checks.assert_traces_equal(
            arena.rollout(policy, noise), arena.rollout(policy, noise, traits=np.zeros((2, 3, 0)))
        )


def test_params_registered_and_documented():
    numeric = [f for f in fields(PromisesParams) if f.type == "float"]
    assert len(numeric) == len(fields(PromisesParams)) - 1  # all but `assessment`, a name
    assert all("low" in f.metadata and "high" in f.metadata for f in numeric)
    with pytest.raises(ValueError, match="assessment must be one of 'profile', 'image', 'standing'"):
        PromisesArena(3, 10, PromisesParams(assessment="gossip"))
    scoped = PromisesArena(3, 10, PromisesParams(reveal_scope=0.5))
    assert scoped.trait_names == ("keeps_promises", "keeps_promises@population", "keeps_promises_beyond_self")
    assert read_params(PromisesParams, {"observe": 1}, "x.toml", "arena") == PromisesParams(observe=1.0)
    arena = PromisesArena(3, 10)
    assert_registered_and_documented("promises", arena, ("Standing", "observe", "Dekel", *arena.trait_names))
    assert arena.n_actors == 6 and arena.has_helpers
    assert arena.trait_names == ("keeps_promises", "keeps_promises@population")
    assert [trait.name for trait in arena.traits] == ["keeps_promises", "keeps_promises_beyond_self"]
    for name in ("promise-keeper", "word-keeper"):
        assert library()[name].read_text().startswith("# Models ")
    scopes = {name: load(library()[name]).terms[1].scope for name in ("promise-keeper", "word-keeper")}
    assert scopes == {"promise-keeper": "lineage", "word-keeper": "self"}


# --- reputation that shows scope, and the assessment rule ------------------------------------------


def test_a_reputation_that_shows_scope_sees_through_the_helper():
    """Profile terms (self, lineage) of break_promise: the word-keeper (self 3) shows 3/4 by weight
    but 0 beyond itself; the promise-keeper (lineage 3) 3/4 both ways. With reveal_scope 1 the wary
    keeper never trusts the word-keeper, whose helper breaks nothing: the keeper earns 10 × 2 as
    trustee, the word-keeper 10 × (1 − 0.1), +1 trusting the keeper less its fee for a promise
    nobody takes up. With a vanishing reveal_scope it is the arena without it."""
    weights = np.array([[1.0, 0.0, 3.0], [1.0, 3.0, 0.0]])
    arena = PromisesArena(2, 10, PromisesParams(observe=1.0, reveal_scope=1.0))
    shown = traits(weights, LOOPHOLE_TERMS, arena.trait_names)
    np.testing.assert_allclose(shown[:, [0, 2]], [[0.75, 0.75], [0.75, 0.0]])
    seen = episode(arena, [KEEPER, VIA_HELPER], shown=shown)
    np.testing.assert_array_equal(seen.events[0, :, 0], 0.0)  # never trusted, nothing broken
    np.testing.assert_allclose(seen.fitness[0], [10 * 2.0, 10 * (1.0 - 0.1)], rtol=1e-12)
    plain = PromisesArena(2, 10, PromisesParams(observe=1.0))
    blind = episode(plain, [KEEPER, VIA_HELPER], shown=shown[:, :2])
    assert blind.events[0, 3, 0] == 20.0  # without scope the helper breaks every step
    assert "scope" not in plain.noise(np.random.default_rng(0), 1)
    hidden = PromisesArena(2, 10, PromisesParams(observe=1.0, reveal_scope=1e-300))
    np.testing.assert_array_equal(episode(hidden, [KEEPER, VIA_HELPER], shown=shown).fitness, blind.fitness)


@pytest.mark.parametrize("seed", [0, 1])
def test_showing_scope_removes_the_self_scoped_keepers_advantage(seed):
    """As blame does: where the scope shows, the word-keeper is not trusted as a keeper, so it
    cannot break through its helper; the lineage keeper earns 10 × (2 + 1) = 30 as before (less
    a fee of 0.1 a step where the planner's sampled candidate promises through its helper), and
    the word-keeper, trusted by nobody, at most what trusting brings (10 × 1)."""
    _, lineage, _ = _plan_focal([1.0, 0.0, 3.0], seed, reveal_scope=1.0)
    _, word, _ = _plan_focal([1.0, 3.0, 0.0], seed, reveal_scope=1.0)
    assert 29.0 - 1e-9 <= lineage.fitness[0, 0] <= 30.0 + 1e-9
    assert word.fitness[0, 0] <= 10.0 and word.events[0, :, 0].sum() == 0.0


# five wary keepers (trust a seen reputation of at least 1/2, keep) and one open breaker (trait 0)
WARY = np.array([0.5, 0.0, 1.0, 1.0, 0.0, 0.0])
OPEN_BREAKER = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])


def _keepers_with(breaker: bool, assessment: str) -> np.ndarray:
    arena = PromisesArena(6, 25, PromisesParams(observe=1.0, assessment=assessment))
    shown = np.array([[0.75, 0.625]] * 5 + [[0.0 if breaker else 0.75, 0.625]])
    policy = [WARY] * 5 + [OPEN_BREAKER if breaker else WARY]
    return episode(arena, policy, shown=shown).fitness[0]


def test_image_scoring_punishes_justified_refusals_and_standing_does_not():
    """Everyone sees everyone (observe 1). Keepers refuse the open breaker (trait 0 < 1/2). Image
    scoring (Nowak & Sigmund 1998) judges a refusal bad, so the refusing keeper looks like a
    breaker (0) to the others next step, who refuse it in turn and are judged bad too: trust
    among keepers collapses. Standing (Ohtsuki & Iwasa 2004) judges refusing a bad reputation
    good, so keepers keep trusting each other and earn more. Without the breaker both rules
    and the profile rule pay the same, bit for bit: nobody ever refuses."""
    image, standing, profile = (_keepers_with(True, rule) for rule in ("image", "standing", "profile"))
    assert standing[:5].mean() > image[:5].mean() + 5.0
    np.testing.assert_array_equal(standing, profile)  # refusing the breaker is all anyone does
    clean = [_keepers_with(False, rule) for rule in ("image", "standing", "profile")]
    np.testing.assert_array_equal(clean[0], clean[2])
    np.testing.assert_array_equal(clean[1], clean[2])
    assert clean[0].min() == pytest.approx(25 * 3.0)  # a kept promise as trustee (+2) and trustor (+1)


def test_a_breach_costs_one_refusal_and_a_good_act_redeems():
    """Two agents, observe 1; agent 1 looks like a keeper (trait 1), trusts anyone and always
    breaks. Step 0: agent 0 invests, agent 1 breaks (bad) though it also invested (good): bad.
    Step 1: agent 0 refuses it (seen 0); agent 1 invests again and, with no promise to break,
    is good. So it breaks every other step under either rule — 15 breaches of 2 in 30 steps —
    where the profile rule, which assesses nothing without blame, lets it break all 30."""
    liar = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    shown = np.array([[1.0, 1.0], [1.0, 1.0]])
    for rule, breaches in (("image", 15), ("standing", 15), ("profile", 30)):
        arena = PromisesArena(2, 30, PromisesParams(observe=1.0, assessment=rule))
        trace = episode(arena, [WARY, liar], shown=shown)
        assert trace.events[0, 1, 0] == 2.0 * breaches, rule


def test_the_self_keepers_advantage_over_seeds():
    """The self-scoped keeper's fitness minus the lineage-scoped keeper's, planned with 12 seeds:
    without blame its 95% interval lies far above 0 (18.2 [17.0, 19.3]); with blame 1 it contains
    0 (exactly 0 in every seed here); with the scope shown instead it lies below 0: untrusted, the
    self-keeper earns only what trusting brings."""
    from purity.statistics import mean_interval

    def advantage(**switch):
        return mean_interval(
            [
                _plan_focal([1.0, 3.0, 0.0], seed, **switch)[1].fitness[0, 0]
                - _plan_focal([1.0, 0.0, 3.0], seed, **switch)[1].fitness[0, 0]
                for seed in range(12)
            ]
        )

    _, low, _ = advantage()
    assert low > 10.0
    mean, low, high = advantage(blame=1.0)
    assert low - 1e-9 <= 0.0 <= high + 1e-9 and abs(mean) < 1.0
    _, _, high = advantage(reveal_scope=1.0)
    assert high < 0.0
