"""Hand-written inline SVG charts: no plotting library, no scripts, nothing fetched.

Every chart draws its plot area with one `Frame`: the SVG element and its title, the grid and
tick labels, the border, the axis labels and the legend's slots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .page import esc, fmt


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


def tick_label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def svg_open(title: str, width: int, height: int, *, at: tuple[float, float] = (8, 16), cls: str = "") -> str:
    """The <svg> element of a chart, its accessible title and the title drawn at `at`, squeezed
    to the chart's width when it would run past it (a title is never cut off)."""
    klass = f'class="{cls}" ' if cls else ""
    return (
        f'<svg {klass}width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}">'
        f"<title>{esc(title)}</title>"
        f'<text x="{at[0]}" y="{at[1]}" style="font-weight:600"{fit(title, width - at[0] - 4)}>'
        f"{esc(title)}</text>"
    )


TITLE_CHAR_WIDTH = 7.0  # px per character of an 11px bold title, a generous upper estimate


def fit(text: str, room: float) -> str:
    """The attributes that squeeze `text` into `room` pixels when its estimated width exceeds it
    ("" when it fits as it is)."""
    if len(text) * TITLE_CHAR_WIDTH <= room:
        return ""
    return f' textLength="{max(room, 1.0):.0f}" lengthAdjust="spacingAndGlyphs"'


@dataclass(frozen=True)
class Frame:
    """The plot area of an x–y chart `width` × `height` with its margins; the legend goes below.

    `px` and `py` map data to pixels (set by the chart: linear, log or one slot per category).
    """

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    px: Callable[[float], float]
    py: Callable[[float], float]

    @property
    def pw(self) -> int:
        return self.width - self.left - self.right

    @property
    def ph(self) -> int:
        return self.height - self.top - self.bottom

    def open(self, title: str, total_height: int) -> str:
        return svg_open(title, self.width, total_height, at=(self.left, 16))

    def y_grid(self, ticks: Sequence[float], label: Callable[[float], str] = tick_label) -> list[str]:
        """A light horizontal line and a label at the left for each tick."""
        out = []
        for t in ticks:
            y = self.py(t)
            out.append(
                f'<line x1="{self.left}" x2="{self.left + self.pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee" />'
            )
            out.append(f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{label(t)}</text>')
        return out

    def x_tick(self, x: float, label: str) -> list[str]:
        """A tick mark under the plot at pixel `x` and its label (`label` is SVG text, escaped)."""
        bottom = self.top + self.ph
        return [
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#888" />',
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>',
        ]

    def border(self) -> str:
        return (
            f'<rect x="{self.left}" y="{self.top}" width="{self.pw}" height="{self.ph}" '
            'fill="none" stroke="#888" />'
        )

    def axis_labels(self, x_label: str, y_label: str, x_below: int = 32) -> list[str]:
        """The x axis' name `x_below` pixels under the plot, the y axis' turned along the left."""
        mid = self.top + self.ph / 2
        return [
            f'<text x="{self.left + self.pw / 2:.1f}" y="{self.top + self.ph + x_below}" '
            f'text-anchor="middle">{x_label}</text>',
            f'<text x="12" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 12 {mid:.1f})">'
            f"{esc(y_label)}</text>",
        ]

    def legend_at(self, i: int, cols: int) -> tuple[float, float]:
        """Where the i-th legend entry starts: `cols` entries a row under the plot."""
        return self.left + (i % cols) * (self.pw / cols), self.height + 4 + 16 * (i // cols)


def legend_line(x: float, y: float, color: str, dashed: bool, label: str) -> list[str]:
    """A legend entry: a short line in the series' colour and style, then its label."""
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return [
        f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2"{dash} />',
        f'<text x="{x + 28:.1f}" y="{y + 4:.1f}">{esc(label)}</text>',
    ]


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
    cols = 1 if width < 520 else 2
    legend_rows = math.ceil(len(series) / cols) + (1 if hlines else 0)
    total_h = height + 16 * legend_rows + 6
    xs_all = [x for s in series for x in s.xs]
    ys_all = [y for s in series for y in s.ys if y is not None]
    for s in series:
        if s.band:
            ys_all += [y for y in (*s.band[0], *s.band[1]) if y is not None]
    if y_range is not None:
        ys_all = [*ys_all, *y_range]
    if not xs_all or not ys_all:
        return svg_empty(title, width)
    x0, x1 = min(xs_all), max(xs_all)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(ys_all), max(ys_all)
    if y_range is None:
        spread = y1 - y0 if y1 - y0 > max(abs(y0), abs(y1)) * 1e-9 else 0.0  # rounding noise is no spread
        pad = spread * 0.08 or (abs(y0) * 0.1 or 1.0)
        y0, y1 = y0 - pad, y1 + pad
    left, top, pw, ph = 52, 26, width - 52 - 14, height - 26 - 38
    f = Frame(
        width,
        height,
        left,
        14,
        top,
        38,
        px=lambda x: left + (x - x0) / (x1 - x0) * pw,
        py=lambda y: top + (1 - (y - y0) / (y1 - y0)) * ph,
    )
    out = [f.open(title, total_h), *f.y_grid(nice_ticks(y0, y1))]
    lo_x, hi_x = min(xs_all), max(xs_all)
    for t in nice_ticks(x0, x1, 6):
        if float(t).is_integer() and lo_x <= t <= hi_x:
            out += f.x_tick(f.px(t), tick_label(t))
    out.append(f.border())
    out += f.axis_labels(esc(x_label), y_label)
    out += _reference_lines(f, (y0, y1), (x0, x1), hlines, vlines)
    for s in series:
        out += _series_marks(f, s)
    for i, s in enumerate(series):
        out += legend_line(*f.legend_at(i, cols), s.color, s.dashed, s.label)
    if hlines:
        row_y = height + 4 + 16 * math.ceil(len(series) / cols)
        out.append(
            f'<line x1="{left}" x2="{left + 22}" y1="{row_y:.1f}" y2="{row_y:.1f}" '
            'stroke="#b00020" stroke-dasharray="2 3" />'
        )
        label = ", ".join(f"{lbl} {fmt(y)}" for y, lbl in hlines)
        out.append(f'<text x="{left + 28}" y="{row_y + 4:.1f}">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _reference_lines(
    f: Frame,
    y_span: tuple[float, float],
    x_span: tuple[float, float],
    hlines: Sequence[tuple[float, str]],
    vlines: Sequence[tuple[float, str]],
) -> list[str]:
    """Dotted horizontal lines at the `hlines`' y; dashed vertical markers at the `vlines`' x, each
    labelled at the top of the plot (inside it, on whichever side the label fits)."""
    out = []
    for y, _ in hlines:
        if y_span[0] <= y <= y_span[1]:
            out.append(
                f'<line x1="{f.left}" x2="{f.left + f.pw}" y1="{f.py(y):.1f}" y2="{f.py(y):.1f}" '
                'stroke="#b00020" stroke-dasharray="2 3" />'
            )
    for i, (x, label) in enumerate(vlines):
        if not x_span[0] <= x <= x_span[1]:
            continue
        vx, ty = f.px(x), f.top + 11 + 12 * (i % 4)
        out.append(
            f'<line class="vline" x1="{vx:.1f}" x2="{vx:.1f}" y1="{f.top}" y2="{f.top + f.ph}" '
            'stroke="#444" stroke-width="1.2" stroke-dasharray="3 3" />'
        )
        fits = vx + 3 + 5.6 * len(label) <= f.left + f.pw  # ~5.6 px a character at 10 px
        anchor, tx = ("start", vx + 3) if fits else ("end", vx - 3)
        out.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" paint-order="stroke" '
            f'stroke="#fff" stroke-width="3" style="font-size:10px">{esc(label)}</text>'
        )
    return out


def _series_marks(f: Frame, s: Series) -> list[str]:
    """One series: its band, then its line (a dot where a point stands alone)."""
    out = []
    if s.band:
        pts = [(x, lo, hi) for x, lo, hi in zip(s.xs, *s.band) if lo is not None and hi is not None]
        if pts:
            poly = [f"{f.px(x):.1f},{f.py(hi):.1f}" for x, _, hi in pts]
            poly += [f"{f.px(x):.1f},{f.py(lo):.1f}" for x, lo, _ in reversed(pts)]
            out.append(
                f'<polygon points="{" ".join(poly)}" fill="{s.color}" '
                f'fill-opacity="{s.band_opacity:g}" stroke="none" />'
            )
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    for seg in segments([(x, y) if y is not None else None for x, y in zip(s.xs, s.ys)]):
        if len(seg) == 1:
            ((x, y),) = seg
            out.append(f'<circle cx="{f.px(x):.1f}" cy="{f.py(y):.1f}" r="2.5" fill="{s.color}" />')
        else:
            pts = " ".join(f"{f.px(x):.1f},{f.py(y):.1f}" for x, y in seg)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="2"{dash} />')
    return out


def segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """The runs of points between the gaps (None)."""
    segs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            if segs[-1]:
                segs.append([])
        else:
            segs[-1].append(p)
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
        return svg_empty(title, width)
    label_w, right, top, bar_h, gap = 190, 40, 26, 11, 10
    group_h = bar_h * len(bars) + gap
    pw = width - label_w - right
    vmax = max(1.0, max(values))
    plot_h = group_h * len(groups)
    legend_y = top + plot_h + 26
    total_h = legend_y + 16 * math.ceil(len(bars) / 2) + 6
    out = [svg_open(title, width, total_h)]
    for t in nice_ticks(0.0, vmax, 5):
        x = label_w + t / vmax * pw
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#eee" />')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle">{tick_label(t)}</text>')
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


def svg_empty(title: str, width: int) -> str:
    return (
        f'<svg width="{width}" height="40" viewBox="0 0 {width} 40" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<text x="8" y="24"{fit(title + ": no data", width - 12)}>{esc(title)}: no data</text></svg>'
    )
