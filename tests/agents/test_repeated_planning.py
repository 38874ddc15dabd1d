"""Planners search the repeated game's memory-one policies: against TFT a consequentialist finds
cooperation worth more than defection when the game goes on, against ALLD it defects, and a
weight on `defect_first` keeps a planner nice where defecting first would pay."""

import numpy as np
import pytest

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term
from purity.arenas import memory_one
from purity.arenas.repeated import RepeatedArena, RepeatedParams

TERMS = (Term("outcome", "own_wealth"), Term("constraint", "defect_first", scope="self"))
NAMED = memory_one.strategies()
CAPABLE = Capability(candidates=128, rollouts=16)


def _best_reply(
    partner: str, weights: list[float], params: RepeatedParams, seed: int = 0, steps: int = 100
) -> np.ndarray:
    """The policy a planner in slot 0 picks against a fixed partner playing `partner`."""
    arena = RepeatedArena(2, steps, params)
    group = PlanGroup(
        weights=np.array([weights, [1.0, 0.0]]),
        policies=np.stack([arena.default_policy, NAMED[partner]]),
        planners=((0, CAPABLE),),
        kin=np.eye(2),
    )
    return plan(arena, TERMS, [group], [np.random.default_rng(seed)])[0][0]


def _exact(policy: np.ndarray, partner: str, params: RepeatedParams) -> float:
    return float(memory_one.payoffs(policy, NAMED[partner], params.game, params.continuation, 100)[0])


def test_against_tft_a_consequentialist_cooperates_when_the_game_goes_on():
    """δ = 0.9: full cooperation earns 30, ALLD 14; the planner's choice earns far more than ALLD."""
    params = RepeatedParams(continuation=0.9)
    chosen = _best_reply("tft", [1.0, 0.0], params)
    assert _exact(chosen, "tft", params) > 20 > _exact(NAMED["alld"], "tft", params)


def test_against_alld_a_consequentialist_defects():
    params = RepeatedParams(continuation=0.9)
    chosen = _best_reply("alld", [1.0, 0.0], params)
    assert _exact(chosen, "alld", params) > _exact(NAMED["tft"], "alld", params)
    assert chosen[0] < 0.5 and chosen[4] < 0.5  # opens with defection and stays in DD (p_cd is never used)


@pytest.mark.parametrize("seed", range(4))
def test_a_weight_on_defecting_first_keeps_a_planner_nice_against_allc(seed):
    """Against ALLC defecting pays T − R = 2 a round. Over 10 fixed rounds a consequentialist
    defects first; so does a weight of 10 on `defect_first` (exploiting from the first round earns
    20), while a weight of 30 keeps the planner from ever defecting first."""
    params = RepeatedParams()
    arena = RepeatedArena(2, 10, params)
    noise = arena.noise(np.random.default_rng(5), 2000)

    def defect_first(weight: float) -> float:
        policy = _best_reply("allc", [1.0, weight], params, seed, steps=10)
        both = np.tile(np.stack([policy, NAMED["allc"]])[None], (2000, 1, 1))
        return float(arena.rollout(both, noise).events[:, 0, 1].mean())

    assert defect_first(0.0) > 0.9 and defect_first(10.0) > 0.9
    assert defect_first(30.0) < 0.1
