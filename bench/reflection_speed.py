"""Cost of reflection: seconds per generation per 1,000 agents with reflection off, successor
design only, self-modification + design, and with a reference evaluation of 32 rollouts; and batched scoring of every agent's changes in one
rollout against one `score_changes` call per agent (the naive alternative).

Usage: .venv/bin/python bench/reflection_speed.py [--sizes 256 1024] [--generations 3]
In-process, experiments/successors-base.toml (commons, group 4, 2 episodes × 30 steps, planners
with 12 candidates × 2 rollouts), no drift twin.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from purity.agents.deciders import Capability
from purity.agents.preferences import term_universe, with_scope_variants
from purity.agents.reflection import Reflecting, candidate_changes, score_changes
from purity.tournament.config import load
from purity.tournament.executor import InProcess
from purity.tournament.runner import run

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "off": dict(enabled=False),
    "design": dict(enabled=True, self_modify=False, successors="design"),
    "self_modify + design": dict(enabled=True, self_modify=True, successors="design"),
    # the switches sweep's setting: every change also scored on 32 fresh rollouts
    "+ reference 32": dict(enabled=True, self_modify=True, successors="design", reference=32),
}


def per_generation(size: int, generations: int) -> None:
    base = load(ROOT / "experiments" / "successors-base.toml")
    print(f"N={size}, {generations} generations; {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'reflection':>22} {'s per generation':>17} {'s per gen per 1,000 agents':>27} {'vs off':>7}")
    off = None
    for label, changes in SETTINGS.items():
        experiment = dataclasses.replace(
            base,
            population=size,
            generations=generations,
            neutral_drift=False,
            reflection=dataclasses.replace(base.reflection, **changes),
        )
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            run(experiment, Path(out), pool=InProcess(), progress=False)
            seconds = (time.perf_counter() - start) / generations
        off = off or seconds
        print(f"{label:>22} {seconds:17.3f} {seconds * 1000 / size:27.3f} {seconds / off:6.1f}x")


def batched_vs_each(agents: int) -> None:
    """The same `agents` keepers (in groups of 4 with consequentialists) scored in one call, and
    one call each."""
    base = load(ROOT / "experiments" / "successors-base.toml")
    arena = base.arena.build()
    terms = with_scope_variants(term_universe([entry.profile for entry in base.mix]))
    keeper, pure = (entry.profile.weight_row(terms) for entry in base.mix)
    weights = np.stack([keeper, pure, pure, pure])
    policies = np.tile(arena.default_policy, (4, 1))
    capability = Capability(candidates=12, rollouts=2)
    rng = np.random.default_rng(0)
    reflecting = [
        Reflecting(
            weights,
            policies,
            np.eye(4),
            0,
            capability,
            tuple(candidate_changes(keeper, terms, base.reflection.reflector, capability, rng)),
        )
        for _ in range(agents)
    ]
    rngs = [np.random.default_rng(k) for k in range(agents)]
    start = time.perf_counter()
    batched = score_changes(arena, terms, reflecting, "realistic", "design", rngs)
    one = time.perf_counter() - start
    rngs = [np.random.default_rng(k) for k in range(agents)]
    start = time.perf_counter()
    each = [
        score_changes(arena, terms, [agent], "realistic", "design", [rng])[0]
        for agent, rng in zip(reflecting, rngs)
    ]
    many = time.perf_counter() - start
    assert all(np.array_equal(a, b) for a, b in zip(batched, each)), "batching changed a score"
    print(
        f"{agents} agents x {len(reflecting[0].changes)} changes: one batched call {one:.3f} s, "
        f"one call per agent {many:.3f} s ({many / one:.1f}x), identical scores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--agents", type=int, default=256)
    args = parser.parse_args()
    for size in args.sizes:
        per_generation(size, args.generations)
    batched_vs_each(args.agents)


if __name__ == "__main__":
    main()
