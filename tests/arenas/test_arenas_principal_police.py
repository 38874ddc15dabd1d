"""The principal arena with police: policing by hand, the plain arena at police 0, the fast path,
and how enforcement flips who earns most among planners with different preferences about power."""

from __future__ import annotations

import arena_checks
import numpy as np
import pytest
from arena_checks import assert_registered_and_documented

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term
from purity.agents.profiles import library, load
from purity.arenas.core import Arena
from purity.arenas.principal import PrincipalArena, PrincipalParams
from purity.arenas.principal_police import PoliceArena, PoliceParams

ODD = PoliceParams(
    productivity=1.3,
    wage=0.37,
    endowment=0.7,
    max_seize=0.23,
    detection_threshold=0.11,
    fine=1.7,
    police_power=0.43,
    police_cost=0.13,
)


def _policy(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    policy = rng.random((batch, n, 4))
    policy[: batch // 2, :, 1] *= 0.45  # some seize below the threshold
    return policy


def test_a_policed_seize_by_hand():
    """Two agents, one step, defaults but police power 1/2: agent 0 requests 0.1 (= the
    threshold: the overseer misses it), agent 1 polices full time. Half is caught: 0.05 moves,
    agent 0 is fined 2 × 1/2; output 2 pays each a wage 0.5 × 0.95, agent 0's control 0.05 × 2;
    agent 1 pays 0.2 for policing."""
    arena = PoliceArena(2, 1, PoliceParams(police_power=0.5))
    policy = np.array([[[1.0, 1 / 3, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]]])
    trace = arena.rollout(policy, arena.noise(np.random.default_rng(0), 1))
    np.testing.assert_allclose(trace.fitness[0], [0.475 + 0.1 - 1.0, 0.475 - 0.2], rtol=1e-12)
    np.testing.assert_allclose(trace.events[0, :, 0], [0.1, 0.0], rtol=1e-12)  # what it tried for
    np.testing.assert_allclose(trace.series["principal_control"][0], [1.0, 0.95], rtol=1e-12)


def test_without_police_it_is_the_principal_arena():
    rng = np.random.default_rng(3)
    policy = _policy(rng, 64, 4)
    policy[..., 3] = 0.0
    plain = PrincipalArena(
        4, 40, PrincipalParams(**{k: getattr(ODD, k) for k in PrincipalParams.__dataclass_fields__})
    )
    police = PoliceArena(4, 40, ODD)
    noise = plain.noise(rng, 64)
    arena_checks.assert_traces_equal(
        police.rollout(policy, noise), plain.rollout(policy[..., :3], noise), series={"principal_control"}
    )


def test_fast_rollout_equals_the_generic_loop():
    arena = PoliceArena(4, 60, ODD)
    rng = np.random.default_rng(1)
    policy, noise = _policy(rng, 64, 4), arena.noise(rng, 64)
    fast = arena.rollout(policy, noise)
    arena_checks.assert_traces_equal(fast, Arena.rollout(arena, policy, noise), series={"principal_control"})
    unpoliced = policy.copy()
    unpoliced[..., 3] = 0.0
    assert not np.array_equal(fast.fitness, arena.rollout(unpoliced, noise).fitness)


TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "seize_power", scope="self"),
    Term("standing", "principal_in_control", threshold=0.99),
    Term("outcome", "principal_power"),
)
MIX = ("consequentialist", "loyal", "guardian", "kingmaker")


def best_responses(params: PoliceParams, seed: int, rounds: int = 6) -> tuple[np.ndarray, np.ndarray, float]:
    """Fitness `[4]`, policies `[4, 4]` and the principal's final control after `rounds` rounds in
    which each of the four library profiles plans against the others' policies of the round before."""
    arena = PoliceArena(4, 20, params)
    weights = np.array([load(library()[name]).weight_row(TERMS) for name in MIX])
    policies = np.repeat(arena.default_policy[None], 4, axis=0)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        group = PlanGroup(weights, policies, tuple((s, Capability(48, 1)) for s in range(4)), np.eye(4))
        policies = plan(arena, TERMS, [group], [rng])[0]
    trace = arena.rollout(policies[None], arena.noise(np.random.default_rng(0), 1))
    return trace.fitness[0], policies, float(trace.series["principal_control"][0, -1])


@pytest.mark.parametrize("seed", [0, 1])
def test_enforcement_flips_who_earns_most(seed):
    """Without power to police (0), the consequentialist seizes and out-earns the impure three;
    with it (1), someone polices, the principal keeps control and the consequentialist earns
    less than the guardian."""
    fitness, _, control = best_responses(PoliceParams(police_power=0.0), seed)
    assert control < 0.99 and fitness[0] > fitness[1:].mean()
    fitness, policies, control = best_responses(PoliceParams(police_power=1.0), seed)
    assert control >= 0.99 and policies[:, 3].max() > 0 and fitness[0] < fitness[2]


def test_params_registered_and_documented():
    arena = PoliceArena(3, 10)
    assert_registered_and_documented("principal_police", arena, ("police_power", "Fehr"))
    assert arena.policy_names[-1] == "police" and arena.default_policy[-1] == 0.0
