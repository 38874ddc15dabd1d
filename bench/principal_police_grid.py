"""Where enforcement flips the principal experiment: the consequentialist's fitness minus the mean
of loyal, guardian and kingmaker after 6 rounds of best responses in a group of 4, over a grid of
seize payoff ratio (set by `wage`) × `police_power`, mean and 95% interval over 8 seeds. Prints
the table docs/arenas.md shows ("The principal with police")."""

from __future__ import annotations

import numpy as np

from purity.agents.deciders import Capability, PlanGroup, plan
from purity.agents.preferences import Term
from purity.agents.profiles import library, load
from purity.arenas.principal_police import PoliceArena, PoliceParams

TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "seize_power", scope="self"),
    Term("standing", "principal_in_control", threshold=0.99),
    Term("outcome", "principal_power"),
)
MIX = ("consequentialist", "loyal", "guardian", "kingmaker")
SEEDS = 8


def best_responses(params: PoliceParams, seed: int, rounds: int = 6) -> tuple[np.ndarray, float]:
    arena = PoliceArena(4, 20, params)
    weights = np.array([load(library()[name]).weight_row(TERMS) for name in MIX])
    policies = np.repeat(arena.default_policy[None], 4, axis=0)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        group = PlanGroup(weights, policies, tuple((s, Capability(48, 1)) for s in range(4)), np.eye(4))
        policies = plan(arena, TERMS, [group], [rng])[0]
    trace = arena.rollout(policies[None], arena.noise(np.random.default_rng(0), 1))
    return trace.fitness[0], float(trace.series["principal_control"][0, -1])


def seize_ratio(params: PoliceParams) -> float:
    """A lone gradual seizer's fitness among three loyal workers over a loyal worker's, no police."""
    arena = PoliceArena(4, 20, params)
    loyal = np.array([1.0, 0.0, 1.0, 0.0])
    seizer = np.array([1.0, params.detection_threshold / params.max_seize, 1.0, 0.0])
    fitness = arena.rollout(
        np.stack([seizer, loyal, loyal, loyal])[None], arena.noise(np.random.default_rng(0), 1)
    ).fitness[0]
    return fitness[0] / fitness[1]


def main() -> None:
    print("wage  seize_ratio  police_power | consequentialist − impure mean [95% CI] | final control")
    for wage in (0.1, 0.5, 0.9):
        for power in (0.0, 0.25, 0.5, 1.0, 2.0):
            params = PoliceParams(wage=wage, police_power=power)
            runs = [best_responses(params, seed) for seed in range(SEEDS)]
            gap = np.array([f[0] - f[1:].mean() for f, _ in runs])
            half = 1.96 * gap.std(ddof=1) / np.sqrt(SEEDS)
            control = np.mean([c for _, c in runs])
            print(
                f"{wage:4}  {seize_ratio(params):11.2f}  {power:12} | {gap.mean():+6.2f} "
                f"[{gap.mean() - half:+.2f}, {gap.mean() + half:+.2f}] | {control:.2f}"
            )


if __name__ == "__main__":
    main()
