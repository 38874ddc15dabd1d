"""Two parts of a default generation outside the arena core, each against the plain way a
competent user would write it, interleaved, medians of CPU and wall time:

- a planner's scores: the term values of each episode's scored agent (`features(..., focal)`)
  against every agent's values, then the scored agent's column (`features(...)[rows, focal]`),
  on one planning rollout of the default experiment (B = 128 planners × 16 candidates × 4
  rollouts = 8,192 episodes of 4 agents and 50 steps, its 5 terms, kin of a lineage);
- a task's random generators: `play.streams` for 32 groups (numpy's SeedSequence hash over the
  groups at once) against one `np.random.default_rng(np.random.SeedSequence(...))` per group.

Both pairs are checked equal (bit for bit, state for state) before they are timed.

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
from purity.agents.preferences import features, term_universe  # noqa: E402
from purity.arenas.core import play  # noqa: E402
from purity.tournament.config import load as load_experiment  # noqa: E402
from purity.tournament.play import PURPOSES, streams  # noqa: E402

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
    for fast, slow in (timings[0:2], timings[2:4]):
        ratio = np.median(slow.cpu) / slow.calls / (np.median(fast.cpu) / fast.calls)
        print(f"{fast.engine.label} against {slow.engine.label}: {ratio:.2f}x less CPU")
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
