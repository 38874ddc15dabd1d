"""Matching: well-mixed groups, graph structures, round robin and assortative matching."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from purity.tournament.matching import (
    Structure,
    all_pairs,
    appearance_mean,
    assortative,
    graph_edges,
    graph_groups,
    graph_structure,
    well_mixed,
)


def neighbours(structure: Structure, i: int) -> np.ndarray:
    """The neighbours of slot `i`, in increasing order."""
    return structure.indices[structure.indptr[i] : structure.indptr[i + 1]]


def test_every_slot_exactly_once() -> None:
    groups = well_mixed(24, 4, np.random.default_rng(0))
    assert groups.shape == (6, 4)
    assert groups.dtype == np.int64
    np.testing.assert_array_equal(np.sort(groups.ravel()), np.arange(24))


def test_group_size_one_and_whole_population() -> None:
    assert well_mixed(5, 1, np.random.default_rng(0)).shape == (5, 1)
    whole = well_mixed(6, 6, np.random.default_rng(0))
    assert whole.shape == (1, 6)
    assert sorted(whole[0].tolist()) == list(range(6))


@pytest.mark.parametrize("n_agents, group_size", [(10, 4), (7, 2), (5, 0), (-2, 2)])
def test_bad_sizes_raise(n_agents: int, group_size: int) -> None:
    with pytest.raises(ValueError):
        well_mixed(n_agents, group_size, np.random.default_rng(0))


def test_deterministic_per_seed_and_varies_across_seeds() -> None:
    a = well_mixed(30, 3, np.random.default_rng(42))
    b = well_mixed(30, 3, np.random.default_rng(42))
    c = well_mixed(30, 3, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pairs_meet_uniformly() -> None:
    """Well-mixed means any two agents share a group equally often: (g-1)/(n-1) per generation."""
    n, g, reps = 8, 2, 7000
    rng = np.random.default_rng(7)
    meet = np.zeros((n, n))
    for _ in range(reps):
        groups = well_mixed(n, g, rng)
        meet[groups[:, 0], groups[:, 1]] += 1
    meet = meet + meet.T
    p = (g - 1) / (n - 1)
    off = meet[~np.eye(n, dtype=bool)]
    assert (np.abs(off - reps * p) < 4 * np.sqrt(reps * p * (1 - p))).all()
    assert (np.diag(meet) == 0).all()


# ---------------------------------------------------------------- graphs


def test_structure_from_grid_relabels_in_sorted_order() -> None:
    s = Structure.from_graph(nx.grid_2d_graph(3, 3), "grid")
    assert s.n == 9 and s.name == "grid"
    np.testing.assert_array_equal(s.degree, [2, 3, 2, 3, 4, 3, 2, 3, 2])
    # cell (r, c) -> slot 3r + c; the centre (1, 1) is slot 4.
    np.testing.assert_array_equal(neighbours(s, 4), [1, 3, 5, 7])
    np.testing.assert_array_equal(neighbours(s, 0), [1, 3])
    np.testing.assert_array_equal(neighbours(s, 8), [5, 7])
    assert s.indptr.shape == (10,) and s.indices.shape == (24,)
    assert s.indptr.dtype == s.indices.dtype == np.int64


def test_structure_relabels_arbitrary_integer_labels() -> None:
    g = nx.Graph([(30, 10), (10, 20)])  # sorted labels 10, 20, 30 -> 0, 1, 2
    s = Structure.from_graph(g)
    np.testing.assert_array_equal(neighbours(s, 0), [1, 2])
    np.testing.assert_array_equal(neighbours(s, 2), [0])


@pytest.mark.parametrize(
    "graph, message",
    [
        (nx.Graph(), "no nodes"),
        (nx.Graph([(0, 1), (1, 1)]), "self-loop"),
        (nx.Graph([(0, 1), (1, 2)]).copy(), None),
        (nx.DiGraph([(0, 1)]), "directed"),
    ],
)
def test_structure_rejects_bad_graphs(graph: nx.Graph, message: str | None) -> None:
    if message is None:  # a valid path graph; add an isolated node to make it bad
        graph.add_node(7)
        message = "isolated"
    with pytest.raises(ValueError, match=message):
        Structure.from_graph(graph)


def test_graph_structure_generators() -> None:
    s = graph_structure("cycle_graph", {"n": 6}, None)
    assert s.n == 6 and (s.degree == 2).all() and "cycle_graph" in s.name
    a = graph_structure("random_regular_graph", {"d": 3, "n": 10, "seed": 4}, None)
    b = graph_structure("random_regular_graph", {"d": 3, "n": 10, "seed": 4}, None)
    np.testing.assert_array_equal(a.indices, b.indices)  # the seed is passed through
    assert (a.degree == 3).all()
    grid = graph_structure("grid_2d_graph", {"m": 4, "n": 5}, None)
    assert grid.n == 20


@pytest.mark.parametrize(
    "generator, args, message",
    [
        ("no_such_graph", {}, "unknown graph generator"),
        ("cycle", {"n": 4}, "unknown graph generator"),
        ("shortest_path", {}, "unknown graph generator"),  # exists but is not a *_graph
        ("cycle_graph", {"nodes": 4}, "cycle_graph"),  # TypeError from the generator
        ("random_regular_graph", {"d": 3, "n": 5}, "random_regular_graph"),  # n*d odd
        ("empty_graph", {"n": 3}, "isolated"),
        ("is_directed_acyclic_graph", {"G": nx.path_graph(3)}, "graph"),
    ],
)
def test_graph_structure_generator_errors(generator: str, args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        graph_structure(generator, args, None)


def test_graph_structure_reads_files(tmp_path: Path) -> None:
    edgelist = tmp_path / "ring.edgelist"
    edgelist.write_text("0 1\n1 2\n2 3\n3 0\n10 0\n")
    s = graph_structure(None, {}, str(edgelist))
    assert s.n == 5 and s.name == "ring.edgelist"
    np.testing.assert_array_equal(neighbours(s, 0), [1, 3, 4])  # node 10 is slot 4, not slot 2
    txt = tmp_path / "g.txt"
    txt.write_text("0 1\n1 2\n")
    assert graph_structure(None, None, str(txt)).n == 3
    g = nx.cycle_graph(5)
    nx.write_graphml(g, tmp_path / "c.graphml")
    nx.write_gml(g, tmp_path / "c.gml")
    nx.write_adjlist(g, tmp_path / "c.adjlist")
    for name in ("c.graphml", "c.gml", "c.adjlist"):
        got = graph_structure(None, None, str(tmp_path / name))
        assert got.n == 5 and (got.degree == 2).all(), name


def test_graph_structure_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        graph_structure(None, None, str(tmp_path / "missing.edgelist"))
    bad = tmp_path / "bad.edgelist"
    bad.write_text("a b\n")
    with pytest.raises(ValueError, match="cannot read graph file"):
        graph_structure(None, None, str(bad))
    other = tmp_path / "g.csv"
    other.write_text("0,1\n")
    with pytest.raises(ValueError, match="suffix"):
        graph_structure(None, None, str(other))
    with pytest.raises(ValueError, match="exactly one"):
        graph_structure(None, None, None)
    with pytest.raises(ValueError, match="exactly one"):
        graph_structure("cycle_graph", {"n": 3}, str(bad))


def test_graph_groups_shape_and_membership() -> None:
    s = Structure.from_graph(nx.barabasi_albert_graph(50, 3, seed=2))
    rng = np.random.default_rng(0)
    low = int(s.degree.min())
    assert low >= 2 and s.degree.max() > 10
    for group_size in (1, 2, low + 1):
        groups = graph_groups(s, group_size, rng)
        assert groups.shape == (50, group_size) and groups.dtype == np.int64
        np.testing.assert_array_equal(groups[:, 0], np.arange(50))
        for i, row in enumerate(groups.tolist()):
            assert len(set(row)) == group_size
            assert set(row[1:]) <= set(neighbours(s, i).tolist())
    with pytest.raises(ValueError, match="neighbours"):
        graph_groups(s, low + 2, rng)


def test_graph_groups_exact_degree_in_csr_order_and_uniform_otherwise() -> None:
    ring = Structure.from_graph(nx.cycle_graph(5))
    groups = graph_groups(ring, 3, np.random.default_rng(1))
    np.testing.assert_array_equal(groups[:, 1:], np.stack([neighbours(ring, i) for i in range(5)]))
    star = Structure.from_graph(nx.star_graph(4))  # hub 0 with 4 leaves
    rng = np.random.default_rng(2)
    reps = 4000
    counts = np.zeros(5)
    for _ in range(reps):
        counts += np.bincount(graph_groups(star, 2, rng)[0, 1:], minlength=5)
    assert counts[0] == 0
    assert (np.abs(counts[1:] - reps / 4) < 4 * np.sqrt(reps * 0.25 * 0.75)).all()


def test_graph_edges_each_edge_once() -> None:
    s = Structure.from_graph(nx.grid_2d_graph(3, 4))
    edges = graph_edges(s)
    assert edges.shape == (17, 2) and (edges[:, 0] < edges[:, 1]).all()
    assert len({tuple(e) for e in edges.tolist()}) == 17
    appearances = np.bincount(edges.ravel(), minlength=12)
    np.testing.assert_array_equal(appearances, s.degree)


def test_all_pairs() -> None:
    pairs = all_pairs(5)
    assert pairs.shape == (10, 2) and pairs.dtype == np.int64
    assert (pairs[:, 0] < pairs[:, 1]).all()
    np.testing.assert_array_equal(np.bincount(pairs.ravel()), [4] * 5)
    np.testing.assert_array_equal(pairs[:3], [[0, 1], [0, 2], [0, 3]])
    assert all_pairs(1).shape == (0, 2) and all_pairs(0).shape == (0, 2)
    with pytest.raises(ValueError):
        all_pairs(-1)


def test_appearance_mean() -> None:
    groups = np.array([[0, 1], [1, 2], [0, 2], [2, 1]])
    values = np.array([[1.0, 2.0], [4.0, 6.0], [3.0, 5.0], [7.0, 9.0]])
    got = appearance_mean(groups, values, 4)
    np.testing.assert_allclose(got[:3], [2.0, 5.0, 6.0])  # (1+3)/2, (2+4+9)/3, (6+5+7)/3
    assert np.isnan(got[3])  # agent 3 never played
    pairs = all_pairs(4)
    np.testing.assert_allclose(appearance_mean(pairs, np.ones(pairs.shape), 4), 1.0)
    with pytest.raises(ValueError):
        appearance_mean(groups, values[:, :1], 4)
    with pytest.raises(ValueError):
        appearance_mean(groups, values, 2)


# ---------------------------------------------------------------- assortative


@pytest.mark.parametrize("sigma", [0.0, 0.4, 1.0])
def test_assortative_is_a_partition(sigma: float) -> None:
    rng = np.random.default_rng(3)
    types = rng.integers(0, 4, size=60) * 10 - 5  # arbitrary labels
    for group_size in (1, 2, 3):
        groups = assortative(types, group_size, sigma, rng)
        assert groups.shape == (60 // group_size, group_size) and groups.dtype == np.int64
        np.testing.assert_array_equal(np.sort(groups.ravel()), np.arange(60))


def test_assortative_sigma_one_is_pure() -> None:
    types = np.repeat([2, 0, 1], [9, 6, 3])
    rng = np.random.default_rng(4)
    for _ in range(50):
        t = rng.permutation(types)
        groups = assortative(t, 3, 1.0, rng)
        assert (t[groups] == t[groups][:, :1]).all()


def test_assortative_sigma_one_with_leftovers_still_partitions() -> None:
    t = np.array([0, 0, 0, 1, 1, 1])  # 3 and 3 in pairs: one mixed pair is unavoidable
    groups = assortative(t, 2, 1.0, np.random.default_rng(5))
    np.testing.assert_array_equal(np.sort(groups.ravel()), np.arange(6))
    assert (t[groups][:, 0] != t[groups][:, 1]).sum() == 1


def test_assortative_sigma_zero_is_well_mixed() -> None:
    """Any two agents share a pair with probability 1/(n-1), whatever their types."""
    n, reps = 8, 7000
    types = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    rng = np.random.default_rng(6)
    meet = np.zeros((n, n))
    for _ in range(reps):
        groups = assortative(types, 2, 0.0, rng)
        meet[groups[:, 0], groups[:, 1]] += 1
    meet = meet + meet.T
    p = 1 / (n - 1)
    off = meet[~np.eye(n, dtype=bool)]
    assert (np.abs(off - reps * p) < 4 * np.sqrt(reps * p * (1 - p))).all()


@pytest.mark.parametrize("sigma", [0.0, 0.5, 0.8])
def test_assortative_donation_game_gap_is_sigma_b_minus_c(sigma: float) -> None:
    """Donation game in pairs: cooperators minus defectors earn σb − c (Hamilton's rule with
    relatedness σ; e.g. Eshel & Cavalli-Sforza 1982, Fletcher & Doebeli 2009)."""
    b, c, n, reps = 3.0, 1.0, 2000, 150
    coop = np.arange(n) < n // 2
    rng = np.random.default_rng(int(sigma * 10) + 7)
    gaps = np.empty(reps)
    for rep in range(reps):
        pairs = assortative(coop.astype(int), 2, sigma, rng)
        given = coop[pairs[:, ::-1]] * b  # what each member receives from its partner
        paid = coop[pairs] * c
        payoff = appearance_mean(pairs, given - paid, n)
        gaps[rep] = payoff[coop].mean() - payoff[~coop].mean()
    se = gaps.std(ddof=1) / np.sqrt(reps)
    assert abs(gaps.mean() - (sigma * b - c)) < 4 * se, (gaps.mean(), sigma * b - c, se)


def test_assortative_rejects_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sigma"):
        assortative(np.zeros(4, dtype=int), 2, 1.5, rng)
    with pytest.raises(ValueError):
        assortative(np.zeros(5, dtype=int), 2, 0.5, rng)
    with pytest.raises(ValueError):
        assortative(np.zeros((2, 2), dtype=int), 2, 0.5, rng)
    assert assortative(np.zeros(0, dtype=int), 2, 0.5, rng).shape == (0, 2)


def test_assortative_is_deterministic_per_seed() -> None:
    types = np.random.default_rng(0).integers(0, 3, size=40)
    a = assortative(types, 4, 0.6, np.random.default_rng(9))
    b = assortative(types, 4, 0.6, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
