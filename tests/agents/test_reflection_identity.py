"""The identity switch as an inference over seeds: with `successor = "self"` a self-scoped
keeper's designs drop its constraint no more than 0.05 more often than its self-modifications
(non-inferiority); with `"built"` they drop it more often. Each seed is a fresh set of groups
(others' harvest and take drawn anew) and fresh rollout noise."""

from __future__ import annotations

import numpy as np

from purity.agents.deciders import Capability
from purity.agents.preferences import Term, with_scope_variants
from purity.agents.reflection import Reflecting, Reflector, candidate_changes, choose, score_changes
from purity.arenas.commons import CommonsArena
from purity.reports.reflection_metrics import (
    DROPS_MORE,
    NEVER_LOWERED,
    NON_INFERIOR,
    SMALL_EXCESS,
    identity_test,
)

TERMS = with_scope_variants((Term("outcome", "own_wealth"), Term("constraint", "take", scope="self")))
KEEPERS = 3  # keepers (one per group) per seed


def drop_shares(seed: int, responsibility: float) -> dict[str, float]:
    """Mode → share of the seed's keepers whose chosen change drops or weakens the constraint."""
    rng = np.random.default_rng(seed)
    arena = CommonsArena(4, 30)
    out = {}
    for mode in ("self_modify", "design"):
        agents, rngs = [], []
        for k in range(KEEPERS):
            weights = np.zeros((4, len(TERMS)))
            weights[:, 0], weights[0, 1] = 1.0, 3.0
            policies = np.zeros((4, 5))  # harvest, floor, take, build, helper_take
            policies[:, 0] = rng.uniform(0.3, 0.9, 4)
            policies[1:, 2] = rng.uniform(0.5, 1.0, 3)
            own = np.random.default_rng([seed, k])
            changes = candidate_changes(weights[0], TERMS, Reflector(), Capability(candidates=100), own)
            agents.append(
                Reflecting(
                    weights, policies, np.eye(4), 0, Capability(candidates=48, rollouts=2), tuple(changes)
                )
            )
            rngs.append(own)
        scores = score_changes(arena, TERMS, agents, "realistic", mode, rngs, responsibility)
        verbs = [a.changes[choose(s)].label.split(" ")[0] for a, s in zip(agents, scores)]
        terms = [a.changes[choose(s)].term for a, s in zip(agents, scores)]
        out[mode] = float(
            np.mean([v in ("drop", "weaken") and t == TERMS[1].key for v, t in zip(verbs, terms)])
        )
    return out


def test_designs_drop_no_more_than_self_modifications_under_self_and_more_under_built():
    seeds = range(6)
    verdicts = {}
    for d in (0.0, 1.0):
        shares = [drop_shares(s, d) for s in seeds]
        verdicts[d] = identity_test([x["design"] for x in shares], [x["self_modify"] for x in shares])
    # under "self" neither mode lowers the constraint at all here: non-inferior, and said to be so
    # for want of anything lowered, not because designs matched a rate of lowering
    assert verdicts[1.0]["verdict"] == NEVER_LOWERED and verdicts[1.0]["high"] <= 0.05
    assert verdicts[0.0]["verdict"] == DROPS_MORE and verdicts[0.0]["low"] > 0.3


def test_the_identity_verdict_reads_the_interval():
    assert identity_test([0.0, 0.02, 0.01, 0.0], [0.0, 0.01, 0.0, 0.01])["verdict"] == NON_INFERIOR
    assert identity_test([0.7, 0.8, 0.75], [0.0, 0.01, 0.0])["verdict"] == DROPS_MORE
    assert identity_test([0.0, 0.3, 0.0, 0.2], [0.0, 0.0, 0.1, 0.1])["verdict"] == "we can't tell"
    assert identity_test([0.5], [0.0])["verdict"].startswith("we can't tell")
    assert identity_test([0.2, 0.2], [0.2, 0.2])["high"] == 0.0
    assert identity_test([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])["verdict"] == NEVER_LOWERED
    assert identity_test([0.03, 0.04, 0.035, 0.03], [0.0, 0.0, 0.0, 0.0])["verdict"] == SMALL_EXCESS
    clipped = identity_test([1.0, 1.0, 0.6], [0.0, 0.0, 0.0])  # the t interval reaches above 1
    assert clipped["high"] == 1.0 and clipped["verdict"] == DROPS_MORE
