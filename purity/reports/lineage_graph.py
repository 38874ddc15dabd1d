"""The lineage table as a networkx graph, for notebooks and graph tools (GraphML for Gephi or yEd).

Reads only the frames it is given, so a loaded `Run` can offer it without the report modules."""

from __future__ import annotations

from typing import Any

import polars as pl


def lineage_graph(agents: pl.DataFrame, lineage: pl.DataFrame) -> Any:
    """The run's lineage as a networkx DiGraph, parent → child, ready for `networkx.write_graphml`.

    Nodes are agent ids with `generation` (first recorded), `profile`, `founder` and `origin`;
    birth edges carry `kind` (inherit | design) and `generation`, plus `change` for a design. A
    self-modification is a self-loop of kind `self_modify` whose `count` is how often the agent
    changed itself (`changes`: the generations, comma-separated). Every attribute is a plain
    string or number, which GraphML requires.
    """
    import networkx as nx

    graph = nx.DiGraph()
    first = agents.sort("generation").unique("id", keep="first", maintain_order=True)
    for row in first.select("id", "generation", "profile", "founder", "origin").iter_rows(named=True):
        attrs = {k: v for k, v in row.items() if k != "id" and v is not None}
        graph.add_node(int(row["id"]), **attrs)
    for row in lineage.sort("generation").iter_rows(named=True):
        parent, child, generation = int(row["parent"]), int(row["child"]), int(row["generation"])
        if parent == child:
            loop = graph.get_edge_data(parent, child)
            if loop is None:
                graph.add_edge(parent, child, kind="self_modify", count=1, changes=str(generation))
            else:
                loop["count"] += 1
                loop["changes"] += f",{generation}"
            continue
        attrs: dict[str, Any] = {"kind": str(row["kind"]), "generation": generation}
        if row.get("change"):
            attrs["change"] = str(row["change"])
        graph.add_edge(parent, child, **attrs)
    return graph
