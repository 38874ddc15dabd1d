"""Hand-written inline SVG charts: no plotting library, no scripts, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .text import esc, fmt


@dataclass(frozen=True)
class Series:
    label: str
    xs: list[float]
    ys: list[float | None]
    color: str
    dashed: bool = False
    band: tuple[list[float | None], list[float | None]] | None = None
    band_opacity: float = 0.15


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    if raw <= max(abs(lo), abs(hi)) * 1e-12:  # below float resolution: stepping would never reach hi
        return [lo]
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _tick_label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    x_label: str = "generation",
    y_range: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 260,
    hlines: Sequence[tuple[float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    """An inline SVG line chart; missing or non-finite points break the line.

    hlines: dotted horizontal reference lines (labelled in the legend); vlines: dashed vertical
    markers at an x (a generation), each labelled at the top of the plot.
    """
    left, right, top, bottom = 52, 14, 26, 38
    cols = 1 if width < 520 else 2
    legend_rows = math.ceil(len(series) / cols) + (1 if hlines else 0)
    total_h = height + 16 * legend_rows + 6
    pw, ph = width - left - right, height - top - bottom
    xs_all = [x for s in series for x in s.xs]
    ys_all = [y for s in series for y in s.ys if y is not None]
    for s in series:
        if s.band:
            ys_all += [y for y in (*s.band[0], *s.band[1]) if y is not None]
    if y_range is not None:
        y0, y1 = y_range
        ys_all = [*ys_all, y0, y1]
    if not xs_all or not ys_all:
        return _svg_empty(title, width)
    x0, x1 = min(xs_all), max(xs_all)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(ys_all), max(ys_all)
    if y_range is None:
        spread = y1 - y0 if y1 - y0 > max(abs(y0), abs(y1)) * 1e-9 else 0.0  # rounding noise is no spread
        pad = spread * 0.08 or (abs(y0) * 0.1 or 1.0)
        y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    out = [
        f'<svg width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" role="img" '
        f'aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<text x="{left}" y="16" style="font-weight:600">{esc(title)}</text>',
    ]
    for t in nice_ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee" />')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_tick_label(t)}</text>')
    lo_x, hi_x = min(xs_all), max(xs_all)
    xticks = [t for t in nice_ticks(x0, x1, 6) if float(t).is_integer() and lo_x <= t <= hi_x]
    for t in xticks:
        out.append(
            f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#888" />'
        )
        out.append(f'<text x="{px(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{_tick_label(t)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888" />')
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{top + ph + 32}" text-anchor="middle">{esc(x_label)}</text>'
    )
    out.append(
        f'<text x="12" y="{top + ph / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + ph / 2:.1f})">{esc(y_label)}</text>'
    )
    for y, _ in hlines:
        if y0 <= y <= y1:
            out.append(
                f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
                'stroke="#b00020" stroke-dasharray="2 3" />'
            )
    for i, (x, label) in enumerate(vlines):
        if not x0 <= x <= x1:
            continue
        vx, ty = px(x), top + 11 + 12 * (i % 4)
        out.append(
            f'<line class="vline" x1="{vx:.1f}" x2="{vx:.1f}" y1="{top}" y2="{top + ph}" '
            'stroke="#444" stroke-width="1.2" stroke-dasharray="3 3" />'
        )
        fits = vx + 3 + 5.6 * len(label) <= left + pw  # ~5.6 px a character at 10 px
        anchor, tx = ("start", vx + 3) if fits else ("end", vx - 3)
        out.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" paint-order="stroke" '
            f'stroke="#fff" stroke-width="3" style="font-size:10px">{esc(label)}</text>'
        )
    for s in series:
        if s.band:
            pts = [(x, lo, hi) for x, lo, hi in zip(s.xs, *s.band) if lo is not None and hi is not None]
            if pts:
                poly = [f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in pts]
                poly += [f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(pts)]
                out.append(
                    f'<polygon points="{" ".join(poly)}" fill="{s.color}" '
                    f'fill-opacity="{s.band_opacity:g}" stroke="none" />'
                )
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        for seg in _segments(s.xs, s.ys):
            if len(seg) == 1:
                ((x, y),) = seg
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{s.color}" />')
            else:
                pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in seg)
                out.append(
                    f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="2"{dash} />'
                )
    ly = height + 4
    for i, s in enumerate(series):
        lx = left + (i % cols) * (pw / cols)
        row_y = ly + 16 * (i // cols)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(
            f'<line x1="{lx:.1f}" x2="{lx + 22:.1f}" y1="{row_y:.1f}" y2="{row_y:.1f}" '
            f'stroke="{s.color}" stroke-width="2"{dash} />'
        )
        out.append(f'<text x="{lx + 28:.1f}" y="{row_y + 4:.1f}">{esc(s.label)}</text>')
    if hlines:
        row_y = ly + 16 * math.ceil(len(series) / cols)
        out.append(
            f'<line x1="{left}" x2="{left + 22}" y1="{row_y:.1f}" y2="{row_y:.1f}" '
            'stroke="#b00020" stroke-dasharray="2 3" />'
        )
        label = ", ".join(f"{lbl} {fmt(y)}" for y, lbl in hlines)
        out.append(f'<text x="{left + 28}" y="{row_y + 4:.1f}">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _segments(xs: Sequence[float], ys: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    segs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys):
        if y is None:
            if segs[-1]:
                segs.append([])
        else:
            segs[-1].append((x, y))
    return [s for s in segs if s]


def bar_chart(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    bars: Sequence[tuple[str, str]],
    *,
    title: str,
    width: int = 640,
) -> str:
    """Horizontal grouped bars: one group per row label, one bar per (label, color) in `bars`."""
    values = [v for _, vs in groups for v in vs if v is not None and math.isfinite(v)]
    if not groups or not values:
        return _svg_empty(title, width)
    label_w, right, top, bar_h, gap = 190, 40, 26, 11, 10
    group_h = bar_h * len(bars) + gap
    pw = width - label_w - right
    vmax = max(1.0, max(values))
    plot_h = group_h * len(groups)
    legend_y = top + plot_h + 26
    total_h = legend_y + 16 * math.ceil(len(bars) / 2) + 6
    out = [
        f'<svg width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" role="img" '
        f'aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<text x="8" y="16" style="font-weight:600">{esc(title)}</text>',
    ]
    for t in nice_ticks(0.0, vmax, 5):
        x = label_w + t / vmax * pw
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#eee" />')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{_tick_label(t)}</text>')
    for gi, (label, vs) in enumerate(groups):
        gy = top + gi * group_h
        out.append(
            f'<text x="{label_w - 6}" y="{gy + group_h / 2 + 2:.1f}" text-anchor="end">{esc(label)}</text>'
        )
        if all(v is None or not math.isfinite(v) for v in vs):
            out.append(f'<text x="{label_w + 4}" y="{gy + group_h / 2 + 2:.1f}">no opportunity</text>')
            continue
        for bi, ((_, color), v) in enumerate(zip(bars, vs)):
            y = gy + bi * bar_h
            if v is None or not math.isfinite(v):
                out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 2}">–</text>')
                continue
            w = max(v / vmax * pw, 0.0)
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" fill="{color}" />')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 2}">{fmt(v)}</text>')
    out.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{top + plot_h}" stroke="#888" />')
    for i, (label, color) in enumerate(bars):
        lx = label_w + (i % 2) * (pw / 2)
        ly = legend_y + 16 * (i // 2)
        out.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="14" height="10" fill="{color}" />')
        out.append(f'<text x="{lx + 20:.1f}" y="{ly + 1}">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _svg_empty(title: str, width: int) -> str:
    return (
        f'<svg width="{width}" height="40" viewBox="0 0 {width} 40" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<text x="8" y="24">{esc(title)}: no data</text></svg>'
    )
