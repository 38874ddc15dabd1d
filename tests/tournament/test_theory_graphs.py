"""Moran processes on graphs against known answers: exact Markov chains and the isothermal theorem.

Exact values come from the full chain over the 2^N mutant sets (N <= 10), solved with numpy;
simulations use the real samplers and must agree within 4 standard errors.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from purity.tournament import moran
from purity.tournament.matching import Structure
from purity.tournament.moran import moran_birth_death, moran_death_birth

R = 1.5


def well_mixed_moran(r: float, n: int) -> float:
    """Fixation probability of one mutant in the classic Moran process (Nowak 2006, eq. 6.4)."""
    return (1 - 1 / r) / (1 - r ** (-n))


def neighbours(structure: Structure, i: int) -> np.ndarray:
    """The neighbours of slot `i`, in increasing order."""
    return structure.indices[structure.indptr[i] : structure.indptr[i + 1]]


def exact_fixation(structure: Structure | None, r: float, rule: str, n: int | None = None) -> float:
    """Fixation probability of one mutant of fitness ``r`` (residents 1), start uniform over slots.

    Builds the transition matrix over all 2^N mutant sets for birth–death (``bd``: parent ∝
    fitness, a uniform neighbour of it dies) or death–birth (``db``: a uniform slot dies, a
    neighbour ∝ fitness replaces it) and solves phi = P phi with phi(empty)=0, phi(all)=1.
    ``structure=None`` is the well-mixed process with the samplers' conventions (BD: the dead
    slot is uniform over all, parent's own included; DB: parent among all others).
    """
    n = structure.n if structure is not None else int(n)  # type: ignore[arg-type]
    size = 1 << n
    states = np.arange(size)
    bits = (states[:, None] >> np.arange(n)) & 1
    fit = np.where(bits == 1, r, 1.0)
    if structure is None:
        pairs = [(p, d) for p in range(n) for d in range(n) if rule == "bd" or p != d]
        nbrs = {d: [p for p in range(n) if p != d] for d in range(n)}
        deg = np.full(n, float(n))  # BD: dead uniform over all n slots
    else:
        src = np.repeat(np.arange(n), structure.degree)
        pairs = list(zip(src.tolist(), structure.indices.tolist()))
        nbrs = {d: neighbours(structure, d).tolist() for d in range(n)}
        deg = structure.degree.astype(float)
    trans = np.zeros((size, size))
    for p, d in pairs:  # offspring of p replaces d
        if rule == "bd":
            prob = fit[:, p] / fit.sum(axis=1) / deg[p]
        else:
            prob = fit[:, p] / fit[:, nbrs[d]].sum(axis=1) / n
        new = np.where(bits[:, p] == 1, states | (1 << d), states & ~(1 << d))
        np.add.at(trans, (states, new), prob)
    np.testing.assert_allclose(trans.sum(axis=1), 1.0)
    transient = np.arange(1, size - 1)
    a = np.eye(transient.size) - trans[np.ix_(transient, transient)]
    phi = np.linalg.solve(a, trans[transient, size - 1])
    single = (1 << np.arange(n)) - 1  # index into transient of state with only slot i mutant
    return float(phi[single].mean())


def simulate_fixation(
    structure: Structure | None, r: float, rule: str, trials: int, seed: int, n: int | None = None
) -> float:
    """Share of runs in which one mutant (uniform start) takes over, with the real sampler."""
    n = structure.n if structure is not None else int(n)  # type: ignore[arg-type]
    step = moran_birth_death if rule == "bd" else moran_death_birth
    rng = np.random.default_rng(seed)
    wins = 0
    for start in rng.integers(0, n, size=trials).tolist():
        types = [False] * n
        types[start] = True
        count = 1
        while 0 < count < n:
            births = step(np.where(types, r, 1.0), rng, 16, structure)
            for p, d in zip(births.parent_slot.tolist(), births.dead_slot.tolist()):
                types[d] = types[p]
            count = sum(types)
        wins += count == n
    return wins / trials


def _structure(name: str) -> Structure:
    graphs = {
        "cycle6": nx.cycle_graph(6),
        "rrg3_8": nx.random_regular_graph(3, 8, seed=1),
        "star6": nx.star_graph(5),
        "complete6": nx.complete_graph(6),
    }
    g = graphs[name]
    assert nx.is_connected(g)
    return Structure.from_graph(g, name)


def _four_se(p: float, trials: int) -> float:
    return 4 * np.sqrt(p * (1 - p) / trials)


@pytest.fixture(params=["rejection", "cumsum"])
def sampler(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a Moran test through both exact parent samplers (and both DB neighbourhood sums)."""
    if request.param == "cumsum":
        monkeypatch.setattr(moran, "_MIN_ACCEPTANCE", 2.0)
        monkeypatch.setattr(moran, "_HUB_DEGREE", 0)
    return request.param


# ---------------------------------------------------------------- exact chains


@pytest.mark.parametrize("name", ["cycle6", "rrg3_8"])
def test_exact_birth_death_on_regular_graph_is_isothermal(name: str) -> None:
    """Lieberman, Hauert & Nowak 2005: on a regular graph BD fixation equals the Moran value."""
    s = _structure(name)
    assert (s.degree == s.degree[0]).all()
    assert abs(exact_fixation(s, R, "bd") - well_mixed_moran(R, s.n)) < 1e-9


def test_exact_chains_reproduce_well_mixed_formulas() -> None:
    """The chain builder itself: well-mixed BD is the Moran formula; DB on the complete graph
    is well-mixed DB, whose fixation follows from its birth/death ratios (Ohtsuki et al. 2006)."""
    n = 6
    assert abs(exact_fixation(None, R, "bd", n=n) - well_mixed_moran(R, n)) < 1e-9
    i = np.arange(1, n)
    # T-/T+ with i mutants: [i/n * (n-i)/((i-1)R + n-i)] / [(n-i)/n * iR/(iR + n-i-1)]
    gamma = (i * R + n - i - 1) / (R * ((i - 1) * R + n - i))
    closed = 1 / (1 + np.cumprod(gamma).sum())
    assert abs(exact_fixation(None, R, "db", n=n) - closed) < 1e-9
    assert abs(exact_fixation(_structure("complete6"), R, "db") - closed) < 1e-9
    # The star amplifies selection under BD (Lieberman et al. 2005): a check of the chain's
    # non-regular case.
    assert exact_fixation(_structure("star6"), R, "bd") > well_mixed_moran(R, 6) + 0.05


@pytest.mark.parametrize("name", ["cycle6", "star6"])
def test_exact_death_birth_differs_from_well_mixed(name: str) -> None:
    """DB is not isothermal: on these graphs it is measurably below the Moran formula."""
    s = _structure(name)
    exact = exact_fixation(s, R, "db")
    assert exact < well_mixed_moran(R, s.n) - _four_se(exact, 4000)


# ---------------------------------------------------------------- simulations


@pytest.mark.parametrize("name", ["cycle6", "rrg3_8"])
def test_birth_death_simulation_is_isothermal(name: str, sampler: str) -> None:
    """Lieberman, Hauert & Nowak 2005, simulated with ``moran_birth_death(..., structure)``."""
    s = _structure(name)
    trials = 4000
    expected = well_mixed_moran(R, s.n)
    observed = simulate_fixation(s, R, "bd", trials, seed=len(name) + len(sampler))
    assert abs(observed - expected) < _four_se(expected, trials), (observed, expected)


@pytest.mark.parametrize("name", ["cycle6", "star6"])
def test_death_birth_simulation_matches_exact_chain(name: str, sampler: str) -> None:
    """``moran_death_birth(..., structure)`` against the exact chain."""
    s = _structure(name)
    trials = 4000
    expected = exact_fixation(s, R, "db")
    observed = simulate_fixation(s, R, "db", trials, seed=10 + len(name) + len(sampler))
    assert abs(observed - expected) < _four_se(expected, trials), (observed, expected)


def test_well_mixed_death_birth_simulation_matches_exact_chain(sampler: str) -> None:
    """Well-mixed DB (parent among the others) against its exact chain."""
    n, trials = 6, 4000
    expected = exact_fixation(None, R, "db", n=n)
    observed = simulate_fixation(None, R, "db", trials, seed=20 + len(sampler), n=n)
    assert abs(observed - expected) < _four_se(expected, trials), (observed, expected)
