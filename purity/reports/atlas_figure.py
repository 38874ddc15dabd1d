"""The atlas's phase diagrams: one per argument, drawn from its focal cells (`atlas_page.cells`).

A grid of one or two varying keys is one panel: rows by the first key, columns by the last. A
grid of three or more is faceted: one panel per value of its first varying key, each with rows by
the keys between and columns by the last, stacked so that panels share their columns. The
Markdown page gets the same panels as tables (`grid_markdown`); the HTML draws them
(`phase_diagram`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import polars as pl

from purity.statistics import ALPHA

from .page import esc
from .sweep_chart import _diverging
from .sweep_report import value_label

CELL, ROW, TOP, PANEL_GAP = 150, 44, 70, 34
LEGEND = "green: above the null, orange: below; * the corrected test decides (Holm, α = 0.05); grey: no test"


def varying(keys: Sequence[str], settings: Sequence[dict]) -> list[str]:
    """The keys that vary over the grid (a key with one value is a setting, not an axis)."""
    return [k for k in keys if len({json.dumps(s.get(k)) for s in settings}) > 1]


def layout(keys: Sequence[str], settings: Sequence[dict]) -> tuple[str | None, list[str], str]:
    """(facet key or None, row keys, column key) of an argument's grid."""
    axes = varying(keys, settings) or list(keys[:1])
    if len(axes) >= 3:
        return axes[0], axes[1:-1], axes[-1]
    return None, axes[:-1], axes[-1]


def _label(s: dict, keys: Sequence[str]) -> str:
    return " · ".join(value_label(s.get(k)) for k in keys)


def panels(
    keys: Sequence[str], settings: Sequence[dict]
) -> list[tuple[str | None, list[str], list[list[int]]]]:
    """Per panel: its heading (None without facets), its row labels, and per row the grid point
    of each column (-1 where the grid has none); the columns are `columns`'s."""
    facet, row_keys, col_key = layout(keys, settings)
    columns = list(dict.fromkeys(value_label(s.get(col_key)) for s in settings))
    heads = list(dict.fromkeys(_label(s, [facet]) for s in settings)) if facet else [None]
    out = []
    for head in heads:
        mine = [p for p, s in enumerate(settings) if facet is None or _label(s, [facet]) == head]
        lines = list(dict.fromkeys(_label(settings[p], row_keys) for p in mine))
        grid = [[-1] * len(columns) for _ in lines]
        for p in mine:
            s = settings[p]
            grid[lines.index(_label(s, row_keys))][columns.index(value_label(s.get(col_key)))] = p
        out.append((None if facet is None else f"{facet} = {head}", lines, grid))
    return out


def columns(keys: Sequence[str], settings: Sequence[dict]) -> list[str]:
    col_key = layout(keys, settings)[2]
    return list(dict.fromkeys(value_label(s.get(col_key)) for s in settings))


def num(x: float | None, signed: bool = False, p: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if p:
        return f"{x:.3g}"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def _cell_texts(r: dict | None) -> tuple[str, str, str, bool]:
    """A cell's value line, outcome line, tooltip, and whether the corrected test decides it (*)."""
    if r is None:
        return "–", "no test", "no cell", False
    decided = r["outcome"] != "can't tell" and r["p_adjusted"] is not None and r["p_adjusted"] < ALPHA
    mark = " *" if decided else ""
    first = f"{num(r['value'])} [{num(r['low'])}, {num(r['high'])}]"
    tip = f"{r['verdict']}; effect {num(r['effect'], True)}; p (Holm) {num(r['p_adjusted'], p=True)}"
    return first, f"{r['outcome']}{mark}", tip, decided


def phase_diagram(title: str, keys: list[str], settings: list[dict], table: pl.DataFrame) -> str:
    """An SVG heatmap of the focal term's cells: colour by the effect (green above the null,
    orange below), the value with its interval in the cell, a star where the corrected test
    decides; faceted as `panels` says."""
    facet, row_keys, col_key = layout(keys, settings)
    by_point = {r["point"]: r for r in table.filter(pl.col("focal")).iter_rows(named=True)}
    cols, parts = columns(keys, settings), panels(keys, settings)
    labels = [line for _, lines, _ in parts for line in lines]
    rows_text = f"{' · '.join(row_keys) or 'setting'} ↓"  # on the line of the column values: never under them
    left = 16 + max(8 * max([len(line) for line in labels] + [6]), 7 * len(rows_text))
    heads = sum(1 for head, _, _ in parts if head)
    width = max(left + CELL * len(cols) + 16, 16 + 7 * len(title))
    height = TOP + ROW * len(labels) + PANEL_GAP * heads + 40
    out = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>',
        f'<text x="8" y="16" style="font-weight:600">{esc(title)}</text>',
        f'<text x="{left}" y="36">{esc(col_key)} →</text>',
        f'<text x="8" y="{TOP - 10}">{esc(rows_text)}</text>',
    ]
    out += [
        f'<text x="{left + CELL * j + CELL / 2}" y="{TOP - 10}" text-anchor="middle">{esc(c)}</text>'
        for j, c in enumerate(cols)
    ]
    y = TOP
    for head, lines, grid in parts:
        if head:
            y += PANEL_GAP
            out.append(f'<text x="8" y="{y - 10}" style="font-weight:600">{esc(head)}</text>')
        for line, row in zip(lines, grid):
            out.append(f'<text x="8" y="{y + 26}">{esc(line)}</text>')
            for j, point in enumerate(row):
                out.append(_cell(left + CELL * j, y, by_point.get(point) if point >= 0 else None))
            y += ROW
    out.append(f'<text x="8" y="{height - 12}" style="fill:#555">{LEGEND}</text></svg>')
    return "".join(out)


def _cell(x: float, y: float, r: dict | None) -> str:
    first, second, tip, star = _cell_texts(r)
    effect = None if r is None else r["effect"]
    fill = "#eeeeee" if effect is None or not math.isfinite(effect) else _diverging(effect)
    weight = ' style="font-weight:700"' if star else ""
    return (
        f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="42" fill="{fill}" stroke="#999">'
        f"<title>{esc(tip)}</title></rect>"
        f'<text x="{x + CELL / 2}" y="{y + 17}" text-anchor="middle">{esc(first)}</text>'
        f'<text x="{x + CELL / 2}" y="{y + 34}" text-anchor="middle"{weight}>{esc(second)}</text>'
    )


def grid_markdown(keys: list[str], settings: list[dict], table: pl.DataFrame) -> str:
    """The phase diagram as Markdown tables, one per panel (the HTML draws it)."""
    _facet, row_keys, col_key = layout(keys, settings)
    focal = {r["point"]: r for r in table.filter(pl.col("focal")).iter_rows(named=True)}
    head = [f"{' · '.join(row_keys) or 'setting'} ↓ / {col_key} →", *columns(keys, settings)]
    blocks = []
    for title, lines, grid in panels(keys, settings):
        out = [f"**{title}**\n"] if title else []
        out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for line, row in zip(lines, grid):
            texts = []
            for point in row:
                r = focal.get(point)
                texts.append("–" if r is None else f"{_cell_texts(r)[0]} {r['outcome']}")
            out.append("| " + " | ".join([line, *texts]) + " |")
        blocks.append("\n".join(out))
    return "\n\n".join(blocks)
