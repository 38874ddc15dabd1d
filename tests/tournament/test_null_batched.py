"""The batched Moran replay of the cheap nulls gives, bit for bit, what the per-event loop it
replaced gave (kept in bench/null_reference.py): every figure of every replicate, under every
selection rule, graph, mutation kind, invaders, lock-in and stop at fixation, for both nulls."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from purity.tournament import config, null
from purity.tournament.batch_selection import replay_events, unpack
from purity.tournament.matching import Structure
from purity.tournament.mutation import MutationSpec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import null_reference  # noqa: E402

FIGURES = ("start", "end", "selection", "mutation", "lock_in", "generations", "curve")


def _small(name: str, population: int = 12, generations: int = 10) -> null.NullSpec:
    experiment = config.load(ROOT / "experiments" / name)
    return null.spec(dataclasses.replace(experiment, population=population, generations=generations))


def _cases() -> dict[str, null.NullSpec]:
    base = _small("default.toml")
    n = base.population
    cycle = Structure.from_graph(nx.cycle_graph(n))
    regular = Structure.from_graph(nx.random_regular_graph(3, n, seed=1))
    return {
        "moran": base,
        "moran_db": dataclasses.replace(base, rule="moran_db"),
        "moran on a cycle": dataclasses.replace(base, structure=cycle),
        "moran_db on a regular graph": dataclasses.replace(base, rule="moran_db", structure=regular),
        "wright_fisher": dataclasses.replace(base, rule="wright_fisher"),
        "replicator": dataclasses.replace(base, rule="replicator"),
        "keep": dataclasses.replace(base, rule="keep"),
        "no mutation, lock-in at 0.2": dataclasses.replace(
            base, mutation=MutationSpec(rate=0.0), lock_in=0.2
        ),
        "gaussian mutation": dataclasses.replace(
            base, mutation=MutationSpec(rate=0.4, sigma=0.5, distribution="gaussian")
        ),
        "structural mutation": dataclasses.replace(
            base, mutation=MutationSpec(rate=0.3, add_rate=0.2, remove_rate=0.2)
        ),
        "invaders": _small("singleton-invaders.toml", 16, 30),
        "stop at fixation": _small("matrix-pd.toml", 6, 40),
    }


CASES = _cases()


def _same(a: null.NullDraws, b: null.NullDraws) -> None:
    for name in FIGURES:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["drift", "shuffle"])
def test_batched_replay_equals_the_per_event_loop(case: str, kind: str) -> None:
    spec = CASES[case]
    fitness = None
    if kind == "shuffle":  # 3 runs' fitness, skewed, one agent at 0
        fitness = np.random.default_rng(2).gamma(2.0, size=(3, spec.generations, spec.population))
        fitness[..., 0] = 0.0
    _same(
        null.simulate(spec, 150, seed=5, kind=kind, fitness=fitness),
        null_reference.simulate(spec, 150, seed=5, kind=kind, fitness=fitness),
    )


def test_equal_across_chunks_and_at_a_population_above_256() -> None:
    """More replicates than a chunk, and slots that need 16-bit sort keys."""
    wide = _small("default.toml", population=300, generations=3)
    _same(null.simulate(wide, 40, seed=1), null_reference.simulate(wide, 40, seed=1))
    tiny = dataclasses.replace(_small("default.toml", population=4, generations=4), rule="moran_db")
    count = null.CHUNK + 7
    _same(null.simulate(tiny, count, seed=2), null_reference.simulate(tiny, count, seed=2))


def test_replay_finds_the_last_birth_into_each_slot() -> None:
    """Hand-checked: 3 slots, events (parent → dead) 0→1, 1→2, 2→0. Birth 0 copies slot 0;
    birth 1 copies slot 1, which now holds birth 0 (row 3); birth 2 copies slot 2, holding birth
    1 (row 4). At the end slot 0 holds birth 2 (row 5), slot 1 birth 0 (row 3), slot 2 birth 1
    (row 4); depths 1, 2, 3, every birth descending from slot 0."""
    source, depth, last = replay_events(np.array([[0, 1, 2]]), np.array([[1, 2, 0]]))
    np.testing.assert_array_equal(source.T, [[0, 3, 4]])
    np.testing.assert_array_equal(depth.T, [[1, 2, 3]])
    row, ancestor = unpack(last)
    np.testing.assert_array_equal(row, [[5, 3, 4]])
    np.testing.assert_array_equal(ancestor, [[0, 0, 0]])


def test_a_generational_rule_without_a_batched_form_is_replayed_by_the_engine_rule(monkeypatch):
    """A new selection rule needs one entry in selection.RULES: the null replays it replicate by
    replicate. Here every child copies the fittest slot, so every replicate's parents are that slot."""
    from purity.tournament import batch_selection, selection

    fittest = selection._generational(
        lambda fitness, types, rng: np.full(len(fitness), int(np.argmax(fitness)))
    )
    monkeypatch.setitem(selection.RULES, "fittest", fittest)
    fitness = np.array([[1.0, 5.0, 2.0], [3.0, 1.0, 0.5]])
    parents = batch_selection.parents_of_generation(
        "fittest", 2, 3, np.random.default_rng(0), np.zeros((2, 3), int), fitness
    )
    assert parents.tolist() == [[1, 1, 1], [0, 0, 0]]
    neutral = batch_selection.parents_of_generation(
        "fittest", 2, 3, np.random.default_rng(0), np.zeros((2, 3), int)
    )
    assert neutral.tolist() == [[0, 0, 0], [0, 0, 0]]  # all fitness 1: argmax is the first slot
    with pytest.raises(ValueError, match="not generational"):
        batch_selection.parents_of_generation(
            "moran", 2, 3, np.random.default_rng(0), np.zeros((2, 3), int), fitness
        )


# Digests of every figure, taken with the sort-based replay and the per-round rejection code of
# 2026-12-06 before the single-pass replay: N = 64 (deeper waves than CASES), both nulls.
FROZEN = {
    ("moran", "drift"): "07f589a48871194b",
    ("moran", "shuffle"): "85787be1b41f6152",
    ("moran_db regular", "drift"): "e3ef28d83dc573d7",
    ("moran_db regular", "shuffle"): "8f38bac384fffd5d",
}


def _digest(draws: null.NullDraws) -> str:
    h = hashlib.sha256()
    for name in FIGURES:
        h.update(np.ascontiguousarray(getattr(draws, name)).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(("case", "kind"), list(FROZEN))
def test_figures_equal_those_frozen_before_the_single_pass_replay(case: str, kind: str) -> None:
    base = _small("default.toml", population=64, generations=8)
    spec = {
        "moran": base,
        "moran_db regular": dataclasses.replace(
            base, rule="moran_db", structure=Structure.from_graph(nx.random_regular_graph(4, 64, seed=3))
        ),
    }[case]
    fitness = np.random.default_rng(8).gamma(3.0, size=(2, 8, 64)) if kind == "shuffle" else None
    assert _digest(null.simulate(spec, 300, seed=11, kind=kind, fitness=fitness)) == FROZEN[case, kind]
