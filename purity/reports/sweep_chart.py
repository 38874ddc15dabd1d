"""The charts of a sweep report: final shares by the value of a swept key (a dot per value and
term, its min–max bar, drift twins as open circles), and each grid point's survival curves."""

from __future__ import annotations

import math

import polars as pl

from .inference import DECLINED, SPREAD
from .page import chart_grid, color, esc, figure
from .svg import Frame, Series, legend_line, line_chart, segments, svg_open
from .sweep_report import DRIFT_SHARE, PROCESS, SHARE, KeyAxis, SweepReport, setting_label, value_label

BLACK = "#000000"


def key_chart(data: SweepReport, ax: KeyAxis, *, width: int = 660, height: int = 300) -> str:
    """Inline SVG: per process term the mean final share at each value with a min–max bar; the mean
    process share in black; drift twins dashed. Numeric keys get a numeric (or log) x axis and
    connected means; other keys one slot per value."""
    # (label, figure name, color, drift, dodge slot): each series has its own slot beside the value
    terms = data.terms
    series = [(t["label"], SHARE + t["key"], color(i), False, i) for i, t in enumerate(terms)]
    series.append(("mean process share", PROCESS, BLACK, False, len(terms)))
    if data.has_drift:
        series += [
            (f"{t['label']} (drift)", DRIFT_SHARE + t["key"], color(i), True, len(terms) + 1 + i)
            for i, t in enumerate(terms)
        ]
    cols = 2
    total_h = height + 16 * math.ceil(len(series) / cols) + 6
    title = f"Final shares by {ax.key}"
    f = _frame(ax, width, height)
    out = [f.open(title, total_h)]
    if not ax.values:
        out.append(f'<text x="{f.left}" y="{f.top + 20}">no values</text></svg>')
        return "".join(out)
    out += f.y_grid((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), label=lambda t: f"{t:g}")
    out.append(f.border())
    out += _x_ticks(f, ax)
    out += f.axis_labels(f"{esc(ax.key)}{' (log scale)' if ax.log else ''}", "final share", x_below=46)
    slots = len(series)
    step = min(7.0, (f.pw / len(ax.values)) / (slots + 1))
    for _label, name, c, drift, slot in series:
        out += _marks(f, ax, name, c, drift, (slot - (slots - 1) / 2) * step)
    for j, (label, name, c, drift, _) in enumerate(series):
        lx, row_y = f.legend_at(j, cols)
        line, text = legend_line(lx, row_y, c, drift, label)
        out.append(line)
        out.append(_marker(lx + 11, row_y, c, drift, name == PROCESS, legend=True))
        out.append(text)
    out.append("</svg>")
    return "".join(out)


def _frame(ax: KeyAxis, width: int, height: int) -> Frame:
    left, right, top, bottom = 52, 18, 28, 58
    pw, ph = width - left - right, height - top - bottom
    n = max(len(ax.values), 1)
    if ax.numeric and ax.values:
        tx = [math.log10(x) for x in ax.xs()] if ax.log else ax.xs()
        lo, hi = min(tx), max(tx)
        pad = (hi - lo) * 0.06 or 1.0
        lo, hi = lo - pad, hi + pad

        def px(i: float) -> float:
            return left + (tx[int(i)] - lo) / (hi - lo) * pw
    else:

        def px(i: float) -> float:
            return left + (i + 0.5) / n * pw

    return Frame(width, height, left, right, top, bottom, px=px, py=lambda y: top + (1 - y) * ph)


def _x_ticks(f: Frame, ax: KeyAxis) -> list[str]:
    """Every value when they fit, else evenly thinned (first and last kept); n under each."""
    n = len(ax.values)
    fit = max(2, int(f.pw // 60))
    shown = range(n) if n <= fit else sorted({round(k * (n - 1) / (fit - 1)) for k in range(fit)})
    out = []
    for i in shown:
        x, label = f.px(i), ax.labels[i]
        short = label if len(label) <= 14 else label[:13] + "…"
        out += f.x_tick(x, f"<title>{esc(label)}</title>{esc(short)}")
        out.append(
            f'<text x="{x:.1f}" y="{f.top + f.ph + 29}" text-anchor="middle" '
            f'style="font-size:9px;fill:#777">n={ax.runs[i]}</text>'
        )
    return out


def _marks(f: Frame, ax: KeyAxis, name: str, c: str, drift: bool, dodge: float) -> list[str]:
    """One series: a min–max bar at each value (not for drift), the connecting line (numeric keys)
    and the markers."""
    out = []
    pts: list[tuple[float, float] | None] = []
    for i, st in enumerate(ax.stats):
        mean, vmin, vmax, n = st.get(name, (math.nan, math.nan, math.nan, 0))
        if n == 0 or not math.isfinite(mean):
            pts.append(None)
            continue
        x = f.px(i) + dodge
        pts.append((x, f.py(mean)))
        if not drift and vmax > vmin:
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.py(vmax):.1f}" y2="{f.py(vmin):.1f}" '
                f'stroke="{c}" stroke-width="1.5" />'
            )
            for yv in (vmin, vmax):
                out.append(
                    f'<line x1="{x - 3:.1f}" x2="{x + 3:.1f}" y1="{f.py(yv):.1f}" '
                    f'y2="{f.py(yv):.1f}" stroke="{c}" stroke-width="1.5" />'
                )
    if ax.numeric:
        dash = ' stroke-dasharray="6 4"' if drift else ""
        for seg in segments(pts):
            if len(seg) > 1:
                out.append(
                    '<polyline points="'
                    + " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                    + f'" fill="none" stroke="{c}" stroke-width="{1.5 if drift else 2}"'
                    f'{dash} opacity="0.8" />'
                )
    out += [_marker(x, y, c, drift, name == PROCESS) for x, y in (p for p in pts if p is not None)]
    return out


def _marker(x: float, y: float, c: str, drift: bool, square: bool, legend: bool = False) -> str:
    """An open circle (drift twin), a square (mean process share) or a dot (a term's share)."""
    if drift:
        width = "" if legend else ' stroke-width="1.5"'
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="#fff" stroke="{c}"{width} />'
    if square:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{c}" />'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{c}" />'


def setting_charts(data: SweepReport) -> str:
    """One small chart per grid point: the survival curve of each process term, mean over seeds."""
    figs = []
    for setting in data.settings:
        if setting.curves.height == 0:
            continue
        series = []
        for i, term in enumerate(data.terms):
            c = setting.curves.filter(pl.col("term") == term["key"])
            if c.height:
                series.append(
                    Series(term["label"], [float(g) for g in c["generation"]], c["share"].to_list(), color(i))
                )
        svg = line_chart(
            series,
            title=setting_label(setting),
            y_label="share carrying",
            y_range=(0.0, 1.0),
            width=440,
            height=220,
        )
        figs.append(figure(svg, esc(f"{len(setting.observations)} seed(s)")))
    return chart_grid(figs)


MAX_EFFECT_ROWS = 60  # grid points drawn in the effect chart; the table below lists them all


def effect_chart(data: SweepReport) -> str:
    """Inline SVG, the sweep's answer at a glance: one row per grid point, one column per process
    term, each cell coloured by the effect (mean end share minus the null's mean; orange below,
    green above) and starred where the corrected test rejects."""
    v = data.verdicts
    points = sorted(set(v["point"].to_list()))[:MAX_EFFECT_ROWS]
    terms = data.terms
    labels = [_short_setting(data.settings[p].settings) for p in points]
    left = int(min(260, 12 + 6.2 * max((len(s) for s in labels), default=4)))
    cell_w, cell_h, top = 96, 22, 52
    width = max(left + cell_w * len(terms) + 12, 360)
    height = top + cell_h * len(points) + 40
    title = "Effect beyond the null: mean end share − null mean (* corrected test rejects)"
    out = [svg_open(title, width, height)]
    cells = {(r["point"], r["term"]): r for r in v.iter_rows(named=True)}
    for j, t in enumerate(terms):
        x = left + j * cell_w + cell_w / 2
        short = t["label"] if len(t["label"]) <= 15 else t["label"][:14] + "…"
        out.append(
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle"><title>{esc(t["label"])}</title>'
            f"{esc(short)}</text>"
        )
    for i, (p, label) in enumerate(zip(points, labels)):
        y = top + i * cell_h
        short = label if len(label) * 6.2 <= left - 12 else label[: int((left - 12) / 6.2) - 1] + "…"
        out.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end"><title>{esc(label)}</title>'
            f"{esc(short)}</text>"
        )
        for j, t in enumerate(terms):
            r = cells.get((p, t["key"]))
            effect = None if r is None else r["effect"]
            fill = "#eeeeee" if effect is None or not math.isfinite(effect) else _diverging(effect)
            x = left + j * cell_w
            out.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}">'
                f"<title>{esc(r['verdict'] if r else 'no run')}</title></rect>"
            )
            star = r is not None and r["verdict"] in (SPREAD, DECLINED)
            text = "–" if effect is None else f"{effect:+.2f}" + (" *" if star else "")
            weight = ' style="font-weight:700"' if star else ""
            out.append(
                f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle"{weight}>'
                f"{esc(text)}</text>"
            )
    foot = top + cell_h * len(points) + 18
    more = len(set(v["point"].to_list())) - len(points)
    out.append(
        f'<text x="8" y="{foot}" style="fill:#555">orange: below the null, green: above; '
        f"grey: no test{f'; {more} more grid points in the table' if more > 0 else ''}</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _short_setting(settings: dict) -> str:
    """A grid point by its values, each key by its last part ("intensity 0.1, kind moran")."""
    return ", ".join(f"{k.rsplit('.', 1)[-1]} {value_label(v)}" for k, v in settings.items()) or "base"


def _diverging(effect: float) -> str:
    """Orange for a negative effect, green for a positive one, white at 0, full at |effect| ≥ 0.5."""
    a = min(abs(effect) / 0.5, 1.0)
    base = (194, 87, 0) if effect < 0 else (10, 122, 60)
    rgb = [round(255 + (c - 255) * a * 0.85) for c in base]
    return "#" + "".join(f"{c:02x}" for c in rgb)
