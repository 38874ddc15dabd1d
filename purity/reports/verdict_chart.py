"""The one figure a run or replicate report opens with: per process term, the null's 95% band of
the end share (grey bar) and the observed end share (dot; over seeds its 95% interval as a
whisker), coloured by the corrected verdict. A dot outside its band is what a claim looks like."""

from __future__ import annotations

import math

import polars as pl

from .page import TONES, esc, fmt
from .svg import svg_open

TONE_COLOURS = {"spread": "#0a7a3c", "declined": "#c25700"}
NEUTRAL_COLOUR = "#555555"


def verdict_chart(verdict: pl.DataFrame, end: str = "end", *, width: int = 560) -> str:
    """Inline SVG of the verdict table (`label`, `band_low`, `band_high`, `verdict` and the end
    share in column `end`, with `end_low`/`end_high` when over seeds); "" without any band."""
    if verdict.height == 0 or "band_low" not in verdict.columns or verdict["band_low"].is_null().all():
        return ""
    left, right, top, row_h = 190, 24, 40, 26
    pw = width - left - right
    height = top + row_h * verdict.height + 34
    title = "End share against the null's 95% band (coloured: the corrected test rejects)"

    def px(share: float) -> float:
        return left + min(max(share, 0.0), 1.0) * pw

    out = [svg_open(title, width, height)]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = px(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - 30}" stroke="#eee" />')
        out.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle">{t:g}</text>')
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{height - 3}" text-anchor="middle">end share carrying</text>'
    )
    for i, r in enumerate(verdict.iter_rows(named=True)):
        y = top + i * row_h + row_h / 2
        label = str(r["label"])
        short = label if len(label) <= 28 else label[:27] + "…"
        out.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end"><title>{esc(label)}</title>{esc(short)}</text>'
        )
        if r["band_low"] is not None:
            x0, x1 = px(r["band_low"]), px(r["band_high"])
            out.append(
                f'<rect x="{x0 - 1:.1f}" y="{y - 6:.1f}" width="{max(x1 - x0, 0) + 2:.1f}" height="12" '
                f'fill="#d9d9d9"><title>null 95% band [{fmt(r["band_low"])}, {fmt(r["band_high"])}]</title></rect>'
            )
        value = r.get(end)
        if value is None or not math.isfinite(value):
            continue
        c = TONE_COLOURS.get(TONES.get(r["verdict"] or ""), NEUTRAL_COLOUR)
        low, high = r.get("end_low"), r.get("end_high")
        if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
            out.append(
                f'<line x1="{px(low):.1f}" x2="{px(high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{c}" stroke-width="2" />'
            )
        out.append(
            f'<circle cx="{px(value):.1f}" cy="{y:.1f}" r="4.5" fill="{c}">'
            f"<title>{esc(r['verdict'])}: {fmt(value)}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)
