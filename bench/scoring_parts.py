"""Three parts of a default generation outside the arena core, each against the plain way a
competent user would write it, interleaved, medians of CPU and wall time:

- a planner's scores: the term values of each episode's scored agent (`features(..., focal)`)
  against every agent's values, then the scored agent's column (`features(...)[rows, focal]`),
  on one planning rollout of the default experiment (B = 128 planners × 16 candidates × 4
  rollouts = 8,192 episodes of 4 agents and 50 steps, its 5 terms, kin of a lineage);
- a task's random generators: `play.streams` for 32 groups (numpy's SeedSequence hash over the
  groups at once) against one `np.random.default_rng(np.random.SeedSequence(...))` per group;
- a generation's draws for 32 groups of 4 planners (16 candidates, 4 rollouts) and 4 played
  episodes a group: every group's streams drawn together (`play.together`, compiled, and
  `play.episode_noise`) against a generator per group from which each planner draws its
  candidates and rollout noise in turn, then each group its episodes' noise.

Every pair is checked equal (bit for bit, state for state) before it is timed.

Usage: .venv/bin/python bench/scoring_parts.py [--rounds 9] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import Engine, interleave, load, machine  # noqa: E402
from purity.agents.deciders import PlanGroup, _every_draw, candidate_policies  # noqa: E402
from purity.agents.preferences import features, term_universe  # noqa: E402
from purity.arenas.core import concat_noise, play  # noqa: E402
from purity.tournament.config import load as load_experiment  # noqa: E402
from purity.tournament.play import PURPOSES, episode_noise, streams, together  # noqa: E402

BATCH, GROUPS = 128 * 16 * 4, 32


def _planning_rollout():
    """The default's arena and terms, one rollout of B random policies, kin and the scored slot."""
    experiment = load_experiment(ROOT / "experiments" / "default.toml")
    arena = experiment.arena.build()
    terms = term_universe([entry.profile for entry in experiment.mix])
    rng = np.random.default_rng(0)
    policies = rng.random((BATCH, arena.n_agents, len(arena.policy_names)))
    trace = play(arena, policies, arena.noise(rng, BATCH))
    kin = np.broadcast_to(np.eye(arena.n_agents), (BATCH, arena.n_agents, arena.n_agents)).copy()
    kin[:, 0, 1] = kin[:, 1, 3] = 1.0  # a child of agent 0 and one of agent 1 in every group
    return trace, terms, kin, rng.integers(0, arena.n_agents, BATCH)


def _draws() -> tuple[Engine, Engine]:
    """A generation's planner and episode draws, both ways; each call is a new generation."""
    experiment = load_experiment(ROOT / "experiments" / "default.toml")
    arena, capability = experiment.arena.build(), experiment.mix[0].capability
    episodes, n, ids = experiment.arena.episodes, experiment.arena.group_size, np.arange(GROUPS)
    rng = np.random.default_rng(1)
    groups = [
        PlanGroup(
            np.zeros((n, 5)),
            rng.random((n, len(arena.policy_names))),
            tuple((s, capability) for s in range(n)),
            np.eye(n),
        )
        for _ in ids
    ]
    calls = {"together": 0, "plain": 0}

    def drawn_together():
        calls["together"] += 1
        generation = calls["together"]
        planned = _every_draw(arena, groups, together(7, generation, ids, "plan", arena.plays_compiled()))
        return planned, episode_noise(arena, 7, generation, ids, episodes)

    def plain():
        calls["plain"] += 1
        generation = calls["plain"]
        planned = [
            (candidate_policies(group.policies[slot], c.candidates, g), arena.noise(g, c.rollouts))
            for group, g in zip(groups, streams(7, generation, ids, "plan"))
            for slot, c in group.planners
        ]
        return planned, concat_noise([arena.noise(g, episodes) for g in streams(7, generation, ids, "play")])

    draws = GROUPS * n * (capability.candidates * len(arena.policy_names) + capability.rollouts * arena.steps)
    return (
        Engine("draws: every group's streams together", GROUPS, draws, drawn_together),
        Engine("draws: a generator per group, planner by planner", GROUPS, draws, plain),
    )


def same_draws(a, b) -> bool:
    """Two generations' draws (each planner's candidates and noise, the episodes' noise) equal bit for bit."""
    (planned_a, noise_a), (planned_b, noise_b) = a, b
    return (
        len(planned_a) == len(planned_b)
        and all(
            ca.tobytes() == cb.tobytes() and all(na[k].tobytes() == nb[k].tobytes() for k in na)
            for (ca, na), (cb, nb) in zip(planned_a, planned_b)
        )
        and all(noise_a[k].tobytes() == noise_b[k].tobytes() for k in noise_a)
    )


def _engines() -> list[Engine]:
    trace, terms, kin, focal = _planning_rollout()
    rows = np.arange(BATCH)
    one = features(trace, terms, kin, None, focal)
    assert one.tobytes() == features(trace, terms, kin)[rows, focal].tobytes()
    groups, calls = np.arange(GROUPS), {"fast": 0, "plain": 0}

    def fast():  # a new generation each call: `seeding` never reuses the hash of the words before the groups
        calls["fast"] += 1
        return streams(7, calls["fast"], groups, "plan")

    def plain():
        calls["plain"] += 1
        generation, purpose = calls["plain"], PURPOSES["plan"]
        return [
            np.random.default_rng(np.random.SeedSequence(7, spawn_key=(generation, int(g), purpose)))
            for g in groups
        ]

    calls["plain"] = -1
    assert [a.bit_generator.state for a in streams(7, 0, groups, "plan")] == [
        b.bit_generator.state for b in plain()
    ]  # generation 0, before the timed calls
    steps = BATCH * trace.fitness.shape[1] * 50
    drawn_together, drawn_plain = _draws()
    assert same_draws(drawn_together.call(), drawn_plain.call())  # generation 1, before the timed calls
    return [
        Engine("features: scored agent only", BATCH, steps, lambda: features(trace, terms, kin, None, focal)),
        Engine(
            "features: every agent, then a column",
            BATCH,
            steps,
            lambda: features(trace, terms, kin)[rows, focal],
        ),
        Engine("generators: play.streams, 32 groups", GROUPS, GROUPS, fast),
        Engine("generators: default_rng(SeedSequence) x 32", GROUPS, GROUPS, plain),
        drawn_together,
        drawn_plain,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    print(f"{machine()}; load {load()}")
    timings = interleave(_engines(), args.rounds, args.seconds)
    for timing in timings:
        per_call = sorted(c / timing.calls for c in timing.cpu)[len(timing.cpu) // 2]
        print(
            f"{timing.engine.label}: {per_call * 1e3:.3f} ms CPU a call "
            f"({timing.seconds_per_call() * 1e3:.3f} ms wall; rounds spread {timing.spread():.0%})"
        )
    for fast, slow in (timings[0:2], timings[2:4], timings[4:6]):
        ratio = np.median(slow.cpu) / slow.calls / (np.median(fast.cpu) / fast.calls)
        print(f"{fast.engine.label} against {slow.engine.label}: {ratio:.2f}x less CPU")
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
