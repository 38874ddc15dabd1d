"""Ancestry: who begot, built or modified whom, as the run goes (docs/concepts.md#vocabulary).

The ``lineage`` scope of a constraint needs ancestry, so it is kept as a graph rather than
inferred from per-generation tables; a resumed run rebuilds it from the lineage table
(:meth:`Lineage.from_edges`). Every agent has at most one parent
edge, so the graph is a forest whose roots are founders; a self-modification is a self-loop,
which no ancestry walk follows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from purity.tournament.record import EDGE_KINDS

EDGE_COLUMNS = ("parent", "child", "kind", "generation", "profile", "change", "before", "after")
SELF_MODIFY = "self_modify"

AgentId = Hashable


class Lineage:
    """A directed forest of agent ids, parent -> child, with the founder stored on every node.

    Node attributes: ``generation`` (when the id came into being), ``profile`` (str) and
    ``founder`` (root ancestor, set at insertion so lookups are O(1)). Edge attributes:
    ``kind`` (``inherit`` | ``design`` | ``self_modify``), ``generation`` and, for ``design``,
    ``change`` (the designer's change label). The runner's births are ``inherit`` or ``design``.

    An agent that modifies itself keeps its id, so its self-modifications are one self-loop
    ``a -> a`` of kind ``self_modify`` whose ``changes`` attribute lists them oldest first, each
    ``{generation, change, before, after}`` (``before``/``after``: the weight rows, tuples in the
    run's term order; ``generation``: the first generation that plays the new weights). A
    DiGraph holds one edge per pair, hence the list. Parents are never the node itself:
    :meth:`parent`, :meth:`descends` and every predecessor walk skip the self-loop.
    """

    def __init__(self) -> None:
        self._g = nx.DiGraph()
        self._up: dict[AgentId, tuple[AgentId | None, int]] = {}  # agent -> (parent, generation)

    @property
    def graph(self) -> nx.DiGraph:
        return self._g

    def add_founders(
        self, ids: Iterable[AgentId], profiles: str | Sequence[str], generation: int = 0
    ) -> None:
        """Add root agents; ``profiles`` is one name for all or one per id."""
        ids = list(ids)
        names = [profiles] * len(ids) if isinstance(profiles, str) else list(profiles)
        if len(names) != len(ids):
            raise ValueError(f"{len(ids)} founder ids but {len(names)} profiles")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate founder ids")
        for agent in ids:
            if agent in self._g:
                raise ValueError(f"agent {agent!r} is already in the lineage")
        for agent, name in zip(ids, names):
            self._g.add_node(agent, generation=int(generation), profile=str(name), founder=agent)
            self._up[agent] = (None, int(generation))

    def add_child(
        self,
        parent: AgentId,
        child: AgentId,
        kind: str,
        generation: int,
        profile: str,
        change: str = "",
    ) -> None:
        """Record that ``parent`` produced ``child`` by ``kind`` in ``generation``."""
        if kind not in EDGE_KINDS:
            raise ValueError(f"unknown lineage edge kind {kind!r}; expected one of {EDGE_KINDS}")
        if parent not in self._g:
            raise KeyError(f"parent {parent!r} is not in the lineage")
        if child in self._g:
            raise ValueError(f"agent {child!r} is already in the lineage")
        generation = int(generation)
        pnode = self._g.nodes[parent]
        # Children are never older than parents; descends() relies on it to stop early.
        if generation < pnode["generation"]:
            raise ValueError(
                f"child {child!r} (generation {generation}) is older than its parent "
                f"{parent!r} (generation {pnode['generation']})"
            )
        self._g.add_node(child, generation=generation, profile=str(profile), founder=pnode["founder"])
        self._g.add_edge(parent, child, kind=kind, generation=generation)
        self._up[child] = (parent, generation)
        if change:
            self._g.edges[parent, child]["change"] = str(change)

    def add_self_modification(
        self,
        agent: AgentId,
        generation: int,
        change: str,
        before: Sequence[float],
        after: Sequence[float],
    ) -> None:
        """Record that ``agent`` changed its own weights from ``before`` to ``after`` (same id),
        the new weights played from ``generation`` on: one more entry on its self-loop."""
        if agent not in self._g:
            raise KeyError(f"agent {agent!r} is not in the lineage")
        generation = int(generation)
        born = self._g.nodes[agent]["generation"]
        if generation < born:
            raise ValueError(
                f"self-modification of {agent!r} in generation {generation}, before it was "
                f"born (generation {born})"
            )
        entry = {
            "generation": generation,
            "change": str(change),
            "before": tuple(float(w) for w in before),
            "after": tuple(float(w) for w in after),
        }
        if self._g.has_edge(agent, agent):
            edge = self._g.edges[agent, agent]
            edge["changes"].append(entry)
            edge["changes"].sort(key=lambda c: c["generation"])  # stable: ties keep their order
            edge["generation"] = edge["changes"][0]["generation"]
        else:
            self._g.add_edge(agent, agent, kind=SELF_MODIFY, generation=generation, changes=[entry])

    def parent(self, agent: AgentId) -> AgentId | None:
        """The single parent of ``agent``, or None for a founder (a self-loop is no parent)."""
        return self._up[agent][0]

    def descends(self, a: AgentId, b: AgentId) -> bool:
        """True if ``b`` is ``a`` or a descendant of ``a`` (the ``lineage`` scope of ``a``)."""
        nodes = self._g.nodes
        if a not in nodes:
            raise KeyError(f"agent {a!r} is not in the lineage")
        if b not in nodes:
            raise KeyError(f"agent {b!r} is not in the lineage")
        if nodes[a]["founder"] != nodes[b]["founder"]:
            return False
        return a in self._line(b, self._generation(a))

    def kin(self, ids: np.ndarray, lineages: bool = True) -> np.ndarray:
        """[G, n, n] kin[g, i, j] > 0: member j of group g (of agent ids [G, n]) is member i or
        descends from it; off the diagonal the value is 1 / (generations of descent), so graded
        responsibility can decay with distance. With `lineages` false, only itself (the identity).

        Equal to `descends` pair by pair, but each member's line is walked once per group, only
        down to the group's oldest generation, through the (parent, generation) index."""
        groups, n = ids.shape
        if not lineages:
            return np.repeat(np.eye(n)[None], groups, axis=0)
        lines: dict[tuple[AgentId, int], dict] = {}
        rows = []
        for members in ids.tolist():
            floor = min(self._generation(agent) for agent in members)
            columns = []
            for b in members:
                line = lines.get((b, floor))
                if line is None:
                    line = lines[(b, floor)] = self._line(b, floor)
                columns.append([1.0 / max(line[a], 1) if a in line else 0.0 for a in members])
            rows.append(columns)
        return np.array(rows, dtype=np.float64).reshape(groups, n, n).transpose(0, 2, 1).copy()

    def _generation(self, agent: AgentId) -> int:
        if agent not in self._up:
            raise KeyError(f"agent {agent!r} is not in the lineage")
        return self._up[agent][1]

    def _line(self, agent: AgentId, floor: int) -> dict:
        """``agent`` and its ancestors born in generation ``floor`` or later (children are never
        older than parents, so the walk stops there), each with its generations of descent."""
        up, line, node = self._up, {}, agent
        while node is not None and up[node][1] >= floor:
            line[node] = len(line)
            node = up[node][0]
        return line

    @classmethod
    def from_edges(
        cls,
        founders: Mapping[AgentId, str],
        edges: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any] | Sequence[Any]],
        founder_generation: int | Mapping[AgentId, int] = 0,
    ) -> Lineage:
        """Rebuild a lineage from founders and edge rows (e.g. read back from Parquet).

        ``edges`` is a column mapping (the columns of lineage tables), or an iterable of rows
        (mappings or ``(parent, child, kind, generation[, profile, change, before, after])``
        tuples). Rows may come in any order; a row without a profile inherits its parent's. A
        row with ``parent == child`` is a self-modification (kind ``self_modify``). Rows whose
        parent is never reached from a founder raise ``ValueError``.
        """
        lin = cls()
        for agent, name in founders.items():
            gen = founder_generation[agent] if isinstance(founder_generation, Mapping) else founder_generation
            lin.add_founders([agent], [name], generation=gen)

        waiting: dict[AgentId, list[dict[str, Any]]] = {}
        for row in _rows(edges):
            if row["parent"] in lin._g:
                lin._add_row(row, waiting)
            else:
                waiting.setdefault(row["parent"], []).append(row)
        if waiting:
            missing = sorted(map(repr, waiting))[:5]
            n = sum(map(len, waiting.values()))
            raise ValueError(f"{n} lineage edges have parents never reached from a founder: {missing}")
        return lin

    def _add_row(self, row: dict[str, Any], waiting: dict[AgentId, list[dict[str, Any]]]) -> None:
        stack = [row]
        while stack:
            r = stack.pop()
            if r["parent"] == r["child"]:
                if r["kind"] != SELF_MODIFY:
                    raise ValueError(
                        f"a self-loop of kind {r['kind']!r} on {r['child']!r}; only {SELF_MODIFY} edges are"
                    )
                before, after = r.get("before"), r.get("after")
                self.add_self_modification(
                    r["child"],
                    r["generation"],
                    r.get("change") or "",
                    () if before is None else before,
                    () if after is None else after,
                )
                continue
            profile = r.get("profile")
            if profile is None:
                profile = self._g.nodes[r["parent"]]["profile"]
            self.add_child(
                r["parent"], r["child"], r["kind"], r["generation"], profile, r.get("change") or ""
            )
            stack.extend(reversed(waiting.pop(r["child"], [])))


def _rows(
    edges: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any] | Sequence[Any]],
) -> Iterable[dict[str, Any]]:
    if isinstance(edges, Mapping):
        cols = {k: v.tolist() if isinstance(v, np.ndarray) else list(v) for k, v in edges.items()}
        missing = [c for c in EDGE_COLUMNS[:4] if c not in cols]
        if missing:
            raise ValueError(f"lineage edge columns missing: {missing}")
        n = len(cols["parent"])
        for i in range(n):
            yield {k: cols[k][i] for k in cols if k in EDGE_COLUMNS}
        return
    for row in edges:
        if isinstance(row, Mapping):
            yield dict(row)
        else:
            yield dict(zip(EDGE_COLUMNS, row))
