"""Structural mutation (terms appear, vanish, change scope) of M offspring rows: `mutate`, every
row at once, against the per-row loop a competent user would write (`per_row`, below), which
`tests/tournament/test_mutation.py` holds equal to it: the same rows, labels and random state.
Both draw the same numbers; runs interleaved, medians of CPU time. The nulls call it on every
wave of births of thousands of replicates at once (M in the tens of thousands), the engine on one
generation's births (M about N).

    .venv/bin/python bench/mutation_speed.py [--rounds 7] [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import Engine, interleave, load, machine  # noqa: E402
from purity.tournament.mutation import DISTRIBUTIONS, MutationSpec, TermSpace, mutate  # noqa: E402

# columns: an outcome term, a constraint under three scopes, one under two, a standing property
SPACE = TermSpace(
    keys=("wealth", "take@self", "take@lineage", "take@anyone", "lie@self", "lie@anyone", "clean"),
    process=np.array([False, True, True, True, True, True, True]),
    reference=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
    siblings=((), (2, 3), (1, 3), (1, 2), (5,), (4,), ()),
)
SPEC = MutationSpec(rate=0.05, add_rate=0.1, remove_rate=0.1, scope_rate=0.1)


def per_row(rows, rng, spec, space):
    """Structural mutation one row at a time, as `mutate`'s docstring reads: the baseline here
    and the oracle of the tests."""
    out, moved = DISTRIBUTIONS[spec.distribution](rows, rng, spec.rate, spec.sigma)
    labels = [["weights"] if moved_row else [] for moved_row in moved]
    draws, picks = rng.random((rows.shape[0], 3)), rng.random((rows.shape[0], 3))
    for i in range(rows.shape[0]):
        row = out[i]
        if draws[i, 0] < spec.add_rate:
            absent = np.flatnonzero(space.process & (row == 0))
            if len(absent):
                t = absent[int(picks[i, 0] * len(absent))]
                row[t] = space.reference[t]
                labels[i].append(f"add:{space.keys[t]}")
        if draws[i, 1] < spec.remove_rate:
            present = np.flatnonzero(space.process & (row != 0))
            if len(present):
                t = present[int(picks[i, 1] * len(present))]
                row[t] = 0.0
                labels[i].append(f"remove:{space.keys[t]}")
        if draws[i, 2] < spec.scope_rate:
            movable = [t for t in np.flatnonzero(row != 0) if any(row[s] == 0 for s in space.siblings[t])]
            if movable:
                t = movable[int(picks[i, 2] * len(movable))]
                free = [s for s in space.siblings[t] if row[s] == 0]
                s = free[int(picks[i, 2] * 997) % len(free)]
                row[s], row[t] = row[t], 0.0
                labels[i].append(f"scope:{space.keys[t]}>{space.keys[s]}")
    return out, [";".join(parts) for parts in labels]


def engines(m: int) -> list[Engine]:
    rows = np.random.default_rng(0).choice([0.0, 0.5, 1.0, 2.0], size=(m, len(SPACE.keys)))
    return [
        Engine(f"{name} M={m}", m, m, lambda f=f: f(rows, np.random.default_rng(1), SPEC, SPACE))
        for name, f in (("per-row loop", per_row), ("mutate", mutate))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args(argv)
    print(f"# {machine()}; load {load()}; rounds {args.rounds}; rows per CPU-second, medians")
    for m in (16, 1024, 32768):
        loop, vector = interleave(engines(m), args.rounds, args.seconds)
        print(
            f"M = {m:>6}: per-row loop {loop.rate('cpu'):>12,.0f}  mutate {vector.rate('cpu'):>12,.0f}"
            f"  ratio {vector.rate('cpu') / loop.rate('cpu'):.1f}x"
        )


if __name__ == "__main__":
    main()
