"""The charts of a report, drawn from its frames: one small chart per item side by side, survival
curves, Price contributions, violation bars and training curves (HTML only; `svg` draws them)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from . import training
from .metrics import term_label
from .page import PALETTE, chart_grid, color, esc, figure
from .svg import Series, bar_chart, line_chart

FORCE_COLORS = {
    "selection": PALETTE[0],
    "mutation": PALETTE[1],
    "design": PALETTE[2],
    "self_modify": PALETTE[3],
}
OBSERVED_COLOR = "#000000"
UNATTRIBUTED_COLOR = "#999999"
NULL_COLOR = "#777777"
SMALL = {"width": 440, "height": 220}  # a chart of a row of small charts


def finite(df: pl.DataFrame, col: str) -> list[float | None]:
    """A column as floats, with nulls and non-finite values as None (a break in a line)."""
    return [
        v if v is not None and math.isfinite(v) else None
        for v in df.get_column(col).cast(pl.Float64).to_list()
    ]


def xs(df: pl.DataFrame, col: str = "generation") -> list[float]:
    return df.get_column(col).cast(pl.Float64).to_list()


def band_series(
    df: pl.DataFrame, label: str, color: str, *, dashed: bool = False, opacity: float = 0.15
) -> Series:
    """A mean-over-seeds line with its min–max band (no band at opacity 0)."""
    df = df.sort("generation")
    return Series(
        label,
        xs(df),
        finite(df, "mean"),
        color,
        dashed=dashed,
        band=(finite(df, "min"), finite(df, "max")) if opacity > 0 else None,
        band_opacity=opacity,
    )


def small_charts(
    items: Sequence[tuple[str, str]],
    series: Callable[[str, str, str], list[Series]],
    *,
    title: Callable[[str], str],
    y_label: str,
    caption: Callable[[str, str], str],
    y_range: tuple[float, float] | None = None,
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    """One small chart per (key, label), side by side; `series(key, label, color)` gives its lines
    and `caption(key, label)` its caption (HTML)."""
    figs = []
    for i, (key, label) in enumerate(items):
        svg = line_chart(
            series(key, label, color(i)),
            title=title(label),
            y_label=y_label,
            y_range=y_range,
            vlines=vlines,
            **SMALL,
        )
        figs.append(figure(svg, caption(key, label)))
    return chart_grid(figs)


def null_band(curve: pl.DataFrame, seeds: int) -> tuple[str, str, str]:
    """The columns of a null curve (`null/<kind>-curve.parquet`) that hold the band a line over
    `seeds` seeds is read against, and its name: 95% of single runs for one seed, 95% of means
    over as many seeds otherwise (a run recorded before those were kept says it has single runs)."""
    if seeds > 1 and "mean_low" in curve.columns:
        return "mean_low", "mean_high", f"95% of means over {seeds} runs"
    return "low", "high", "95% of single runs"


def null_series(
    curve: pl.DataFrame | None, key: str, label: str, kind: str | None, seeds: int = 1
) -> list[Series]:
    """One term's share under the null, per generation: the median of its runs (dashed grey) and the
    band of `null_band`; nothing without a recorded null."""
    rows = curve.filter(pl.col("term") == key).sort("generation") if curve is not None else None
    if rows is None or rows.height == 0:
        return []
    low, high, what = null_band(rows, seeds)
    band = (finite(rows, low), finite(rows, high))
    name = f"{label} ({kind} null: median, {what})"
    return [
        Series(name, xs(rows), finite(rows, "median"), NULL_COLOR, dashed=True, band=band, band_opacity=0.1)
    ]


def survival_charts(
    terms: Sequence[dict[str, Any]],
    series: Callable[[str, str, str], list[Series]],
    vlines: Sequence[tuple[float, str]],
    caption_suffix: str = "",
) -> str:
    """One small survival chart per process term; `series(key, label, color)` gives its lines."""
    return small_charts(
        [(t["key"], term_label(t)) for t in terms],
        series,
        title=lambda label: f"Survival of {label}",
        y_label="share carrying",
        y_range=(0.0, 1.0),
        vlines=vlines,
        caption=lambda key, label: f"{esc(label)} ({esc(key)}){caption_suffix}",
    )


def spread_chart(
    df: pl.DataFrame,
    title: str,
    y_label: str,
    color: str,
    y_range: tuple[float, float] | None = None,
    *,
    hlines: Sequence[tuple[float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    """One figure over seeds: the mean line with its min–max band."""
    svg = line_chart(
        [band_series(df, f"{y_label}: mean of seeds (band min–max)", color)],
        title=title,
        y_label=y_label,
        y_range=y_range,
        hlines=hlines,
        vlines=vlines,
    )
    return figure(svg)


def price_charts(totals: pl.DataFrame, series: Callable[[str, str], list[Series]]) -> str:
    """One cumulative chart per charted trait: the mean process share and every carrier share."""
    df = totals.filter(pl.col("kind").is_in(["process_share", "carriers"]))
    return small_charts(
        list(zip(df.get_column("trait").to_list(), df.get_column("label").to_list())),
        lambda key, label, _: series(key, label),
        title=lambda label: f"Price: {label}",
        y_label="cumulative change",
        caption=lambda key, label: f"{esc(label)}: cumulative contributions",
    )


def violation_chart(violations: pl.DataFrame, has_oversight: bool) -> str:
    bars = [("rate", "own", PALETTE[1]), ("delegated_rate", "via helpers", PALETTE[0])]
    if has_oversight:
        bars += [
            ("rate_watched", "own, watched", PALETTE[2]),
            ("rate_unwatched", "own, unwatched", PALETTE[4]),
        ]
    groups = [
        (f"{r['profile']} · {r['event']}", [r[c] for c, _, _ in bars])
        for r in violations.iter_rows(named=True)
    ]
    svg = bar_chart(
        groups,
        [(label, color) for _, label, color in bars],
        title="Revealed violation rate (events per opportunity)",
    )
    return figure(svg)


TRAINING_CHARTS = (
    (("rate_watched", "rate_unwatched", "gap"), "Violations watched and unwatched", "rate", None),
    (("detected_share",), "Share of violations detected", "share", (0.0, 1.0)),
    (("reward", "fitness"), "Reward and fitness", "per episode", None),
)


def training_charts(data: pl.DataFrame, seeds: int) -> str:
    """The learning curves (`training` long rows): with several seeds a min–max band."""
    colors = dict(zip((name for name, _ in training.MEASURES), PALETTE))

    def series(names: Sequence[str]) -> list[Series]:
        out = []
        for name in names:
            part = training.rows(data, name)
            spread = (finite(part, "min"), finite(part, "max")) if seeds > 1 else None
            label = dict(training.MEASURES)[name]
            out.append(Series(label, xs(part), finite(part, "mean"), colors[name], band=spread))
        return out

    return chart_grid(
        [
            figure(line_chart(series(names), title=title, y_label=y_label, y_range=y_range, **SMALL))
            for names, title, y_label, y_range in TRAINING_CHARTS
        ]
    )
