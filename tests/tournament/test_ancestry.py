"""Lineage graph: founders, descent, self-modifications, and rebuilding it from edge rows."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from purity.tournament.ancestry import EDGE_COLUMNS, SELF_MODIFY, Lineage

#   0 (a) ─inherit→ 2 ─self_modify→ 4 ─inherit→ 5
#     └──design──→ 3 ─inherit→ 7
#   1 (b) ─inherit→ 6


def _tree() -> Lineage:
    lin = Lineage()
    lin.add_founders([0, 1], ["a", "b"])
    lin.add_child(0, 2, "inherit", 1, "a")
    lin.add_child(0, 3, "design", 1, "a-successor")
    lin.add_child(2, 4, "self_modify", 1, "a-modified")
    lin.add_child(4, 5, "inherit", 2, "a-modified")
    lin.add_child(1, 6, "inherit", 1, "b")
    lin.add_child(3, 7, "inherit", 2, "a-successor")
    return lin


def _founder(lin: Lineage, agent) -> object:
    return lin.graph.nodes[agent]["founder"]


def _changes(lin: Lineage, agent) -> list[dict]:
    """The self-modifications of `agent`, oldest first."""
    return list(lin.graph.edges[agent, agent]["changes"]) if lin.graph.has_edge(agent, agent) else []


def edges_frame(lin: Lineage, generation: int | None = None) -> dict[str, list]:
    """The lineage's edges as columns, as a run's lineage tables hold them (plus each child's
    profile): births in insertion order, then self-modifications oldest first."""
    cols: dict[str, list] = {c: [] for c in EDGE_COLUMNS}
    g = lin.graph

    def add(*values) -> None:
        if generation is None or values[3] == generation:
            for name, value in zip(EDGE_COLUMNS, values):
                cols[name].append(value)

    for child, node in g.nodes(data=True):  # each child enters with its one in-edge
        parent = lin.parent(child)
        if parent is not None:
            data = g.edges[parent, child]
            add(
                parent,
                child,
                data["kind"],
                data["generation"],
                node["profile"],
                data.get("change", ""),
                None,
                None,
            )
    modifications = [
        (entry, agent, g.nodes[agent]["profile"])
        for agent, _, changes in g.edges(data="changes")
        if changes is not None
        for entry in changes
    ]
    for entry, agent, profile in sorted(modifications, key=lambda m: m[0]["generation"]):
        add(
            agent,
            agent,
            SELF_MODIFY,
            entry["generation"],
            profile,
            entry["change"],
            list(entry["before"]),
            list(entry["after"]),
        )
    return cols


def test_founders_and_attributes() -> None:
    lin = _tree()
    assert [_founder(lin, i) for i in range(8)] == [0, 1, 0, 0, 0, 0, 1, 0]
    g = lin.graph
    assert isinstance(g, nx.DiGraph)
    assert g.nodes[4] == {"generation": 1, "profile": "a-modified", "founder": 0}
    assert g.edges[2, 4] == {"kind": "self_modify", "generation": 1}
    assert lin.parent(5) == 4 and lin.parent(0) is None
    assert len(g) == 8 and 7 in g and 99 not in g


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (0, 0, True),
        (0, 5, True),
        (2, 5, True),
        (4, 5, True),
        (3, 7, True),
        (3, 5, False),  # a sibling branch
        (2, 7, False),
        (5, 0, False),  # ancestors are not descendants
        (1, 5, False),  # another founder
        (6, 6, True),
    ],
)
def test_descends(a: int, b: int, expected: bool) -> None:
    lin = _tree()
    assert lin.descends(a, b) is expected
    assert expected == (a == b or nx.has_path(lin.graph, a, b))


def test_descends_unknown_raises() -> None:
    with pytest.raises(KeyError):
        _tree().descends(0, 99)


def test_add_child_validation() -> None:
    lin = _tree()
    with pytest.raises(ValueError, match="kind"):
        lin.add_child(0, 10, "clone", 1, "a")
    with pytest.raises(KeyError):
        lin.add_child(99, 10, "inherit", 1, "a")
    with pytest.raises(ValueError, match="already"):
        lin.add_child(0, 5, "inherit", 3, "a")
    with pytest.raises(ValueError, match="older"):
        lin.add_child(5, 10, "inherit", 1, "a")
    with pytest.raises(ValueError, match="already"):
        lin.add_founders([1], "b")


def test_edges_frame_columns() -> None:
    frame = edges_frame(_tree())
    assert frame["parent"] == [0, 0, 2, 4, 1, 3]
    assert frame["child"] == [2, 3, 4, 5, 6, 7]
    assert frame["kind"] == ["inherit", "design", "self_modify", "inherit", "inherit", "inherit"]
    assert frame["generation"] == [1, 1, 1, 2, 1, 2]
    assert frame["profile"] == ["a", "a-successor", "a-modified", "a-modified", "b", "a-successor"]
    gen2 = edges_frame(_tree(), generation=2)
    assert gen2["child"] == [5, 7] and gen2["parent"] == [4, 3]


def _same(x: Lineage, y: Lineage) -> None:
    gx, gy = x.graph, y.graph
    assert nx.is_isomorphic(gx, gy, node_match=lambda p, q: p == q, edge_match=lambda p, q: p == q)
    assert dict(gx.nodes(data=True)) == dict(gy.nodes(data=True))
    assert {(u, v): d for u, v, d in gx.edges(data=True)} == {(u, v): d for u, v, d in gy.edges(data=True)}


def test_from_edges_round_trip() -> None:
    lin = _tree()
    frame = edges_frame(lin)
    same_order = Lineage.from_edges({0: "a", 1: "b"}, frame)
    _same(lin, same_order)
    assert edges_frame(same_order) == frame
    # Columns as numpy arrays (as read back from Parquet) and rows in reverse order.
    arrays = {k: np.asarray(v) for k, v in frame.items()}
    _same(lin, Lineage.from_edges({0: "a", 1: "b"}, arrays))
    rows = list(zip(*(frame[c] for c in ("parent", "child", "kind", "generation", "profile"))))
    _same(lin, Lineage.from_edges({0: "a", 1: "b"}, reversed(rows)))
    rebuilt = Lineage.from_edges({0: "a", 1: "b"}, reversed(rows))
    assert _founder(rebuilt, 5) == 0 and rebuilt.descends(2, 5) and not rebuilt.descends(3, 5)


def test_from_edges_without_profile_inherits_parent_profile() -> None:
    lin = Lineage.from_edges({"x": "p"}, [("x", "y", "inherit", 1), ("y", "z", "inherit", 2)])
    assert lin.graph.nodes["z"]["profile"] == "p"
    assert _founder(lin, "z") == "x"


def test_from_edges_orphans_raise() -> None:
    with pytest.raises(ValueError, match="never reached"):
        Lineage.from_edges({0: "a"}, [(0, 1, "inherit", 1, "a"), (8, 9, "inherit", 1, "a")])


def _modified() -> Lineage:
    """The tree, with founder 0 changing itself twice and agent 5 once (same ids)."""
    lin = _tree()
    lin.add_self_modification(0, 2, "weaken w1", [1.0, 2.0], [1.0, 1.0])
    lin.add_self_modification(5, 3, "drop w0", [3.0, 0.5], [0.0, 0.5])
    lin.add_self_modification(0, 3, "strengthen w0", [1.0, 1.0], [2.0, 1.0])
    return lin


def test_self_modification_is_a_self_loop_that_ancestry_ignores() -> None:
    lin, plain = _modified(), _tree()
    g = lin.graph
    assert g.has_edge(0, 0) and g.has_edge(5, 5) and not g.has_edge(2, 2)
    assert g.edges[0, 0]["kind"] == "self_modify"
    assert [lin.parent(i) for i in range(8)] == [plain.parent(i) for i in range(8)]
    assert lin.parent(0) is None and lin.parent(5) == 4
    assert [_founder(lin, i) for i in range(8)] == [_founder(plain, i) for i in range(8)]
    for a in range(8):
        for b in range(8):
            assert lin.descends(a, b) is plain.descends(a, b)


def test_self_modifications_are_kept_in_order() -> None:
    lin = _modified()
    changes = _changes(lin, 0)
    assert [c["generation"] for c in changes] == [2, 3]
    assert [c["change"] for c in changes] == ["weaken w1", "strengthen w0"]
    assert changes[0]["before"] == (1.0, 2.0) and changes[1]["after"] == (2.0, 1.0)
    assert _changes(lin, 7) == []
    with pytest.raises(KeyError):
        lin.add_self_modification(99, 1, "keep", [], [])
    with pytest.raises(ValueError, match="before it was born"):
        lin.add_self_modification(5, 1, "drop w0", [1.0], [0.0])


def test_edges_frame_with_self_modifications() -> None:
    frame = edges_frame(_modified())
    # Self-modifications oldest first; within a generation in node order.
    assert frame["parent"] == [0, 0, 2, 4, 1, 3, 0, 0, 5]
    assert frame["child"] == [2, 3, 4, 5, 6, 7, 0, 0, 5]
    assert frame["kind"][6:] == ["self_modify"] * 3
    assert frame["generation"][6:] == [2, 3, 3]
    assert frame["change"] == [""] * 6 + ["weaken w1", "strengthen w0", "drop w0"]
    assert frame["before"][:6] == [None] * 6 and frame["before"][8] == [3.0, 0.5]
    assert frame["after"][7] == [2.0, 1.0]
    gen3 = edges_frame(_modified(), generation=3)
    assert gen3["child"] == [0, 5] and gen3["change"] == ["strengthen w0", "drop w0"]


def test_self_modifications_round_trip_through_a_table(tmp_path) -> None:
    import polars as pl

    lin = _modified()
    lin.add_child(0, 8, "design", 4, "a", change="weaken w1")
    frame = edges_frame(lin)
    _same(lin, Lineage.from_edges({0: "a", 1: "b"}, frame))
    rows = list(zip(*(frame[c] for c in frame)))
    _same(lin, Lineage.from_edges({0: "a", 1: "b"}, reversed(rows)))  # self-loops before births
    schema = {
        "parent": pl.Int64,
        "child": pl.Int64,
        "kind": pl.String,
        "generation": pl.Int64,
        "profile": pl.String,
        "change": pl.String,
        "before": pl.List(pl.Float64),
        "after": pl.List(pl.Float64),
    }
    pl.DataFrame(frame, schema=schema).write_parquet(tmp_path / "edges.parquet")
    back = pl.read_parquet(tmp_path / "edges.parquet")
    rebuilt = Lineage.from_edges({0: "a", 1: "b"}, {c: back[c].to_list() for c in back.columns})
    _same(lin, rebuilt)
    assert edges_frame(rebuilt) == frame
    assert rebuilt.graph.edges[0, 8]["change"] == "weaken w1"


def test_from_edges_rejects_other_self_loops() -> None:
    with pytest.raises(ValueError, match="self-loop"):
        Lineage.from_edges({0: "a"}, [(0, 0, "inherit", 1, "a")])


def test_kin_equals_descends_pair_by_pair() -> None:
    """`kin` walks each member's ancestors once; it must agree with `descends` on every pair,
    self-modifications, repeated members and unrelated founders included."""
    lin = _modified()
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 8, size=(40, 5))
    kin = lin.kin(ids)
    expected = [
        [[1.0 if i == j else float(lin.descends(int(g[i]), int(g[j]))) for j in range(5)] for i in range(5)]
        for g in ids
    ]
    assert (kin > 0).astype(float).tolist() == expected
    for g, i, j in zip(*np.nonzero((kin > 0) & ~np.eye(5, dtype=bool))):
        depth = nx.shortest_path_length(lin.graph, int(ids[g, i]), int(ids[g, j]))
        assert kin[g, i, j] == 1.0 / max(depth, 1)  # a child 1, a grandchild 1/2, the same agent 1
    assert lin.kin(ids, lineages=False).tolist() == np.repeat(np.eye(5)[None], 40, axis=0).tolist()
    with pytest.raises(KeyError):
        lin.kin(np.array([[0, 99]]))
