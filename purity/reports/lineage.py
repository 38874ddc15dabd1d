"""A picture of the dominant lineages, read from the lineage table.

The lineage table is a forest (every birth has one parent), built here as a networkx DiGraph
parent → child whose roots are the generation-0 agents; its self-modification rows (parent ==
child, same id) are left out. A picture with one node per agent is
unreadable once there are thousands of agents a generation, so each of the k lineages with the most
living descendants in the last generation is collapsed into one band: one node per (founder,
generation), its area the number of the lineage's agents alive then, its colour their mean process
share, at most `max_columns` evenly spaced generations. The layout is fixed (generation on x, the
lineage's rank on y), so the same run always gives the same SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from .metrics import born, pick_rows
from .svg import nice_ticks
from .text import esc, fmt

K = 5
MAX_COLUMNS = 60
NOTE = (
    f"The lineages (descendants of one generation-0 founder, from the lineage table) with the "
    f"most living descendants in the last generation, at most {K}. Each is collapsed to one band: "
    "a node per generation (at most {MAX_COLUMNS}, evenly spaced) whose area is the number of its "
    "agents alive then and whose colour is their mean process share. One node per lineage and "
    "generation stays readable with thousands of agents, where a node per agent would not; "
    "every birth is in the lineage table."
).replace("{MAX_COLUMNS}", str(MAX_COLUMNS))

# viridis at five stops: perceptually even, readable in grey, safe for colour-blind readers
STOPS = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62), (0xFD, 0xE7, 0x25))
MISSING_COLOR = "#bbbbbb"


@dataclass(frozen=True)
class DominantLineages:
    """lineages: rank, founder, profile, living, share, process_share (of the living), peak, peak_generation.
    nodes: rank, founder, generation, agents, process_share (shown generations only)."""

    lineages: pl.DataFrame
    nodes: pl.DataFrame
    generations: list[int]
    last: int
    population: int
    founders: int


def founders_of(agents: pl.DataFrame, lineage: pl.DataFrame) -> pl.DataFrame:
    """id → founder for every agent, from the lineage DiGraph (parent → child): an agent's founder
    is the generation-0 agent at the root of its tree. Agents the table does not connect to a
    generation-0 agent keep their `founder` column."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(agents.get_column("id").unique().to_list())
    births = born(lineage)  # a self-modification (parent == child) is no parent link
    graph.add_edges_from(zip(births.get_column("parent").to_list(), births.get_column("child").to_list()))
    first = agents.get_column("generation").min()
    roots = set(agents.filter(pl.col("generation") == first).get_column("id").to_list())
    ids: list[int] = []
    owners: list[int] = []
    for component in nx.weakly_connected_components(graph):
        root = [n for n in component if n in roots and graph.in_degree(n) == 0]
        if len(root) == 1:
            ids += list(component)
            owners += [root[0]] * len(component)
    mapped = pl.DataFrame({"id": ids, "_root": owners}, schema={"id": pl.Int64, "_root": pl.Int64})
    return (
        agents.select("id", "founder")
        .unique("id", keep="first")
        .join(mapped, on="id", how="left")
        .select("id", founder=pl.coalesce("_root", "founder"))
    )


def dominant_lineages(
    agents: pl.DataFrame, lineage: pl.DataFrame, k: int = K, max_columns: int = MAX_COLUMNS
) -> DominantLineages:
    roots = founders_of(agents, lineage)
    rows = agents.select("generation", "id", "process_share").join(roots, on="id", how="left")
    gens = rows.get_column("generation").unique().sort().to_list()
    last = gens[-1]
    living = rows.filter(pl.col("generation") == last)
    profiles = agents.filter(pl.col("generation") == gens[0]).select(pl.col("id").alias("founder"), "profile")
    sizes = rows.group_by("founder", "generation").agg(
        agents=pl.len().cast(pl.Int64), process_share=pl.col("process_share").mean()
    )
    peaks = (
        sizes.sort("agents", "generation", descending=[True, False])
        .group_by("founder", maintain_order=True)
        .first()
        .select("founder", peak="agents", peak_generation="generation")
    )
    top = (
        living.group_by("founder")
        .agg(living=pl.len().cast(pl.Int64), process_share=pl.col("process_share").mean())
        .sort("living", "founder", descending=[True, False])
        .head(k)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .with_columns(share=pl.col("living") / living.height)
        .join(profiles, on="founder", how="left")
        .join(peaks, on="founder", how="left")
        .select("rank", "founder", "profile", "living", "share", "process_share", "peak", "peak_generation")
    )
    shown = pick_rows(gens, max_columns)
    nodes = (
        sizes.filter(pl.col("generation").is_in(shown))
        .join(top.select("rank", "founder"), on="founder")
        .select("rank", "founder", "generation", "agents", "process_share")
        .sort("rank", "generation")
    )
    return DominantLineages(
        top, nodes, shown, int(last), living.height, int(rows.filter(pl.col("generation") == gens[0]).height)
    )


def dominant_rows(dom: DominantLineages) -> tuple[list[str], list[list[str]]]:
    headers = [
        "rank",
        "founder",
        "founding profile",
        f"living at gen {dom.last}",
        "share",
        "their mean process share",
        "largest size (generation)",
    ]
    rows = [
        [
            fmt(r["rank"]),
            fmt(r["founder"]),
            fmt(r["profile"]),
            fmt(r["living"]),
            fmt(r["share"]),
            fmt(r["process_share"]),
            f"{fmt(r['peak'])} ({fmt(r['peak_generation'])})",
        ]
        for r in dom.lineages.iter_rows(named=True)
    ]
    return headers, rows


def color(share: float | None) -> str:
    """Process share in [0, 1] on the viridis scale (grey when unknown)."""
    if share is None or not math.isfinite(share):
        return MISSING_COLOR
    x = min(max(share, 0.0), 1.0) * (len(STOPS) - 1)
    i = min(int(x), len(STOPS) - 2)
    t = x - i
    a, b = STOPS[i], STOPS[i + 1]
    return "#" + "".join(f"{round(u + (v - u) * t):02x}" for u, v in zip(a, b))


def lineage_svg(dom: DominantLineages, width: int = 900) -> str:
    """Bands of the dominant lineages: generation on x, rank on y, node area ∝ agents, colour =
    mean process share; a legend for the colour scale below."""
    left, right, top, band = 190, 140, 34, 54
    n = dom.lineages.height
    plot_h = band * max(n, 1)
    legend_y = top + plot_h + 34
    height = legend_y + 40
    pw = width - left - right
    g0, g1 = dom.generations[0], dom.generations[-1]
    span = (g1 - g0) or 1
    biggest = max(dom.nodes.get_column("agents").max() or 1, 1)  # type: ignore[operator]
    # the largest node may overlap its neighbours a little, never swallow them
    largest = min(band * 0.42, max(3.0, 0.75 * pw / max(len(dom.generations) - 1, 1)))

    def px(g: float) -> float:
        return left + (g - g0) / span * pw if g1 != g0 else left + pw / 2

    title = f"Dominant lineages ({n} largest by living descendants at generation {dom.last})"
    out = [
        (
            f'<svg class="lineage" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{esc(title)}">'
        ),
        f"<title>{esc(title)}</title>",
        f'<text x="8" y="18" style="font-weight:600">{esc(title)}</text>',
    ]
    ticks = [int(t) for t in nice_ticks(g0, g1, 6) if float(t).is_integer() and g0 <= t <= g1] or [g0]
    for g in ticks:
        out.append(f'<line x1="{px(g):.1f}" x2="{px(g):.1f}" y1="{top}" y2="{top + plot_h}" stroke="#eee" />')
        out.append(f'<text x="{px(g):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{g}</text>')
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{top + plot_h + 28}" text-anchor="middle">generation</text>'
    )
    by_rank = dom.nodes.partition_by("rank", as_dict=True, maintain_order=True)
    for r in dom.lineages.iter_rows(named=True):
        cy = top + band * (r["rank"] - 0.5)
        out.append(f'<text x="{left - 10}" y="{cy - 2:.1f}" text-anchor="end">founder {r["founder"]}</text>')
        out.append(
            f'<text x="{left - 10}" y="{cy + 11:.1f}" text-anchor="end" style="font-size:10px">'
            f"{esc(fmt(r['profile']))}</text>"
        )
        out.append(
            f'<text x="{left + pw + largest + 8:.1f}" y="{cy + 4:.1f}">{r["living"]} alive '
            f"({fmt(r['share'])})</text>"
        )
        nodes = by_rank.get((r["rank"],))
        if nodes is None:
            continue
        pts = [
            (int(g), int(a), ps)
            for g, a, ps in nodes.select("generation", "agents", "process_share").iter_rows()
        ]
        idx = {g: i for i, g in enumerate(dom.generations)}
        runs: list[list[int]] = []
        for g, _, _ in pts:  # consecutive shown generations form one line; a gap breaks it
            if runs and idx[g] == idx[runs[-1][-1]] + 1:
                runs[-1].append(g)
            else:
                runs.append([g])
        for run in runs:
            if len(run) > 1:
                line = " ".join(f"{px(g):.1f},{cy:.1f}" for g in run)
                out.append(f'<polyline points="{line}" fill="none" stroke="#999" stroke-width="1.5" />')
        for g, a, ps in pts:
            rad = max(1.5, math.sqrt(a / biggest) * largest)
            tip = f"founder {r['founder']}, generation {g}: {a} agents, mean process share {fmt(ps)}"
            out.append(
                f'<circle cx="{px(g):.1f}" cy="{cy:.1f}" r="{rad:.1f}" fill="{color(ps)}" '
                f'stroke="#fff" stroke-width="0.5"><title>{esc(tip)}</title></circle>'
            )
    steps = 10
    bar_w = 22
    out.append(f'<text x="{left - 10}" y="{legend_y + 12}" text-anchor="end">mean process share</text>')
    for i in range(steps):
        out.append(
            f'<rect x="{left + i * bar_w}" y="{legend_y}" width="{bar_w}" height="14" '
            f'fill="{color((i + 0.5) / steps)}" />'
        )
    for v in (0.0, 0.5, 1.0):
        out.append(
            f'<text x="{left + v * steps * bar_w:.1f}" y="{legend_y + 28}" '
            f'text-anchor="middle">{fmt(v)}</text>'
        )
    out.append(
        f'<text x="{left + steps * bar_w + 16}" y="{legend_y + 12}">node area ∝ agents of the '
        f"lineage alive then (largest: {biggest})</text>"
    )
    out.append("</svg>")
    return "".join(out)


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
