"""The compiled Moran events and replay (`PURITY_BACKEND=numba`) are numpy's bit for bit: the same
events and the generator left in the same state, under birth–death and death–birth, well mixed and
on a graph, through the exact draw after the rejection rounds; the same replay in both packings;
and the same nulls for every case of test_null_batched, both kinds, chosen by the switch."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from purity.arenas import backend
from purity.tournament import batch_selection, batch_selection_compiled, null
from purity.tournament.matching import Structure
from tests.tournament.test_null_batched import CASES, FIGURES


def _both(reps, n, death_birth, structure, fitness, seed=1):
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = batch_selection.moran_events(reps, n, a, death_birth, structure, fitness)
    got = batch_selection_compiled.moran_events(reps, n, b, death_birth, structure, fitness)
    for x, y in zip(expected, got, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.random() == b.random()  # the stream goes on from the same place


@pytest.mark.parametrize("death_birth", [False, True])
@pytest.mark.parametrize("graph", [False, True])
def test_events_equal_numpy(death_birth: bool, graph: bool) -> None:
    n = 40
    fitness = np.random.default_rng(0).gamma(2.0, size=(64, n))
    fitness[:, 0] = 0.0
    structure = Structure.from_graph(nx.random_regular_graph(3, n, seed=1)) if graph else None
    _both(64, n, death_birth, structure, fitness)


@pytest.mark.parametrize("death_birth", [False, True])
def test_the_exact_draw_after_the_rounds_equals_numpy(death_birth: bool) -> None:
    """One agent far fitter than 199 others: proposals are rejected for 64 rounds in most rows,
    which then take the exact draw (numpy's pairwise sum); rows of all equal fitness never do."""
    fitness = np.full((30, 200), 1e-12)
    fitness[:, 0] = 1.0
    fitness[:4, 0] = 1e-12
    _both(30, 200, death_birth, None, fitness, seed=4)


@pytest.mark.parametrize(("reps", "n"), [(64, 40), (40, 300), (3, 1)])
def test_replay_equals_numpy(reps: int, n: int) -> None:
    """32-bit packing, 64-bit packing (R·2n rows need more bits at N = 300), one slot."""
    rng = np.random.default_rng(n)
    parent, dead = rng.integers(0, n, (reps, n)), rng.integers(0, n, (reps, n))
    expected = batch_selection.replay_events(parent, dead)
    got = batch_selection_compiled.replay_events(parent, dead)
    for x, y in zip(expected, got, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["drift", "shuffle"])
@pytest.mark.parametrize("case", [name for name, spec in CASES.items() if spec.rule in null.MORAN])
def test_nulls_equal_on_either_backend(case: str, kind: str, monkeypatch) -> None:
    spec = CASES[case]
    fitness = np.random.default_rng(2).gamma(2.0, size=(3, spec.generations, spec.population))
    fitness[..., 0] = 0.0
    draws = {}
    for chosen in backend.CHOICES:
        monkeypatch.setenv(backend.VARIABLE, chosen)
        draws[chosen] = null.simulate(
            spec, 150, seed=5, kind=kind, fitness=fitness if kind == "shuffle" else None
        )
    for name in FIGURES:
        np.testing.assert_array_equal(
            getattr(draws["numpy"], name), getattr(draws["numba"], name), err_msg=name
        )
