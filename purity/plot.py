"""Figures for papers, drawn with matplotlib from the tidy frames of `purity.reports`.

Each function takes a loaded run (`purity.load`), a replicates set where that makes sense, or a
sweep, and an optional matplotlib `ax` to draw into; it returns the Axes (its figure is
`ax.figure`). Nothing here sets a global style: no rcParams, no style sheet. Lines take the
colours of the axes' property cycle, so a researcher restyles a figure with their own rcParams,
style sheet or Axes calls. The numbers drawn are exactly those of the frames named in each
docstring, which the HTML report draws too.

matplotlib is an optional dependency: `pip install 'purity-tournaments[plot]'`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import matplotlib  # noqa: F401
except ImportError as error:  # one clear message instead of a bare ModuleNotFoundError
    raise ImportError(
        "purity.plot draws with matplotlib, which is not installed: "
        "pip install 'purity-tournaments[plot]' (or pip install matplotlib)"
    ) from error

import polars as pl

from purity.reports import metrics, price, replicates, training, verdict_inference
from purity.reports.charts import null_band
from purity.reports.load import Replicates, Run
from purity.reports.sweep_load import Sweep

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["price_forces", "survival", "sweep_frame", "sweep_heatmap", "training_gap", "violations"]

BAND_ALPHA = 0.2
GENERATION = "generation"


def _axes(ax: Axes | None) -> Axes:
    """The given axes, or one on a new pyplot figure (so a notebook shows it)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _spread(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """A single run's frame in the replicates' shape: mean = min = max = `value`."""
    return frame.with_columns(mean=pl.col(value), min=pl.col(value), max=pl.col(value))


def _line(ax: Axes, rows: pl.DataFrame, label: str, color: Any = None, band: bool = False, **style) -> Any:
    """One curve (mean) and, when `band`, its min–max band in the same colour."""
    xs, ys = rows.get_column(GENERATION).to_list(), rows.get_column("mean").to_list()
    (line,) = ax.plot(xs, [float("nan") if y is None else y for y in ys], label=label, color=color, **style)
    if band:
        low = [float("nan") if y is None else y for y in rows.get_column("min").to_list()]
        high = [float("nan") if y is None else y for y in rows.get_column("max").to_list()]
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=BAND_ALPHA, linewidth=0)
    return line


def survival(
    data: Run | Replicates, *, ax: Axes | None = None, drift: bool = True, null: bool = True
) -> Axes:
    """Share of agents carrying each process term per generation (`metrics.survival`), with the
    neutral-drift twin dashed in the same colour. For seed replicates: the mean over seeds with a
    min–max band (`replicates.survival`), the drift twins' mean dashed with its band. `null`: the
    recorded null's median run dotted in the same colour, with the band 95% of its runs stay in,
    or for K seeds 95% of its means over K runs (`charts.null_band`; the null the verdict is
    tested against, `verdict_inference.null_curve`)."""
    ax = _axes(ax)
    many = isinstance(data, Replicates)
    frame = replicates.survival(data) if many else _spread(metrics.survival(data), "share")
    twin = None
    if drift and many:
        twin = replicates.survival(data, drift=True)
    elif drift and data.drift is not None:
        twin = _spread(metrics.survival(data.drift), "share")
    kind, curve = verdict_inference.null_curve(data.path) if null else (None, None)
    for (term,), rows in frame.group_by("term", maintain_order=True):
        label = rows.get_column("label")[0]
        line = _line(ax, rows, label, band=many)
        if twin is not None and twin.height:
            mine = twin.filter(pl.col("term") == term)
            if mine.height:
                _line(ax, mine, f"{label} (drift)", color=line.get_color(), band=many, linestyle="--")
        if null and curve is not None:
            mine = curve.filter(pl.col("term") == term).sort(GENERATION)
            low, high, what = null_band(mine, len(data.runs) if many else 1)
            band = mine.select(GENERATION, mean="median", min=low, max=high)
            _line(
                ax, band, f"{label} ({kind} null, {what})", color=line.get_color(), band=True, linestyle=":"
            )
    ax.set_xlabel(GENERATION)
    ax.set_ylabel("share carrying the term")
    ax.set_ylim(-0.02, 1.02)
    if frame.height:
        ax.legend()
    return ax


def price_forces(data: Run | Replicates, trait: str = "process_share", *, ax: Axes | None = None) -> Axes:
    """The cumulative Price decomposition of one trait's mean (`price.cumulative` of
    `price.decompose`): the observed change since the first generation and one line per force
    that moved it (selection, mutation with exact copies, design, self-modification). For seed
    replicates: mean over seeds with min–max bands (`replicates.price_cumulative`). Traits:
    `process_share`, `carriers:<term key>`, `weight:<term key>`."""
    ax = _axes(ax)
    labels = {t.trait: t.label for t in price.traits(data.runs[0] if isinstance(data, Replicates) else data)}
    if trait not in labels:
        raise ValueError(f"trait must be one of {', '.join(labels)}, got {trait!r}")
    frame = _price_long(data).filter(pl.col("trait") == trait)
    for part in ("observed", *price.FORCES):
        rows = frame.filter(pl.col("part") == part)
        moved = rows.get_column("mean").abs().max()
        if part != "observed" and (moved is None or moved <= price.TINY):
            continue
        label = "observed change" if part == "observed" else price.FORCE_LABELS[part]
        style = {"color": "black", "linewidth": 2} if part == "observed" else {}
        _line(ax, rows, label, band=isinstance(data, Replicates), **style)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel(GENERATION)
    ax.set_ylabel(f"cumulative change of the {labels[trait]}")
    ax.legend()
    return ax


def _price_long(data: Run | Replicates) -> pl.DataFrame:
    """generation, trait, part, mean, min, max: cumulative parts, long."""
    if isinstance(data, Replicates):
        return replicates.price_cumulative(data, replicates.price_steps(data))
    wide = price.cumulative(price.decompose(data)).with_columns(mutation=price.force_expr("mutation"))
    long = wide.unpivot(
        index=[GENERATION, "trait"], on=["observed", *price.FORCES], variable_name="part", value_name="value"
    )
    return _spread(long, "value")


def violations(data: Run | Replicates, *, ax: Axes | None = None) -> Axes:
    """Revealed violation rates by profile and constrained event kind (`metrics.violations`;
    seed replicates pooled): bars for acts done with the agent's own hands and through helpers,
    and, in an arena with oversight, own acts when watched and when unwatched."""
    ax = _axes(ax)
    run = replicates.pooled(data) if isinstance(data, Replicates) else data
    frame = metrics.violations(run)
    columns = [("rate", "own acts"), ("delegated_rate", "through helpers")]
    if "rate_watched" in frame.columns:
        columns += [("rate_watched", "own, watched"), ("rate_unwatched", "own, unwatched")]
    groups = [f"{p}\n{e}" for p, e in frame.select("profile", "event").iter_rows()]
    width = 0.8 / len(columns)
    for i, (column, label) in enumerate(columns):
        xs = [g + (i - (len(columns) - 1) / 2) * width for g in range(len(groups))]
        values = [float("nan") if v is None else v for v in frame.get_column(column).to_list()]
        ax.bar(xs, values, width, label=label)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel("events per opportunity")
    if groups:
        ax.legend()
    return ax


def training_gap(data: Run | Replicates, *, ax: Axes | None = None) -> Axes:
    """The learning curve that tells "don't" from "don't get caught" (`reports.training`): the
    violation rate in watched and unwatched episodes per generation, with the gap between them
    shaded. For seed replicates: means over seeds with min–max bands (`training.spread`)."""
    ax = _axes(ax)
    many = isinstance(data, Replicates)
    frame = training.spread(data) if many else training.long(data)
    names = dict(training.MEASURES)
    curves = {}
    for measure in ("rate_watched", "rate_unwatched"):
        rows = frame.filter(pl.col("measure") == measure).sort(GENERATION)
        curves[measure] = rows
        _line(ax, rows, names[measure], band=many)
    watched, unwatched = curves["rate_watched"], curves["rate_unwatched"]
    if watched.height and watched.get_column(GENERATION).equals(unwatched.get_column(GENERATION)):
        xs = watched.get_column(GENERATION).to_list()
        low = [float("nan") if v is None else v for v in watched.get_column("mean").to_list()]
        high = [float("nan") if v is None else v for v in unwatched.get_column("mean").to_list()]
        ax.fill_between(xs, low, high, color="grey", alpha=BAND_ALPHA, linewidth=0, label="gap")
    ax.set_xlabel(GENERATION)
    ax.set_ylabel("violations per opportunity")
    if frame.height:
        ax.legend()
    return ax


def sweep_frame(sweep: Sweep, value: str, x: str, y: str) -> pl.DataFrame:
    """x value, y value, mean, runs: `value` (a figure of `purity.reports.sweep_figures`, e.g.
    `mean_process_share` or `share:<term key>`) averaged over the runs (seeds, other keys) of each
    grid cell. The figures are read from the run directories, as the sweep report reads them."""
    from purity.reports import sweep_report

    for key in (x, y):
        if key not in sweep.keys:
            raise ValueError(f"key must be one of {', '.join(sweep.keys)}, got {key!r}")
    table = sweep_report.figures_frame(sweep_report.collect(sweep))
    figures = [c for c in table.columns if c not in ("run", "seed") and not c.startswith("set:")]
    if value not in figures:
        raise ValueError(f"value must be a figure of the sweep's runs ({', '.join(figures)}), got {value!r}")
    return (
        table.group_by(x=pl.col(f"set:{x}"), y=pl.col(f"set:{y}"))
        .agg(mean=pl.col(value).mean(), runs=pl.len().cast(pl.Int64))
        .sort("x", "y")
    )


def sweep_heatmap(
    sweep: Sweep, value: str, x: str, y: str, *, ax: Axes | None = None, colorbar: bool = True, **image: Any
) -> Axes:
    """A heatmap of `value` over two grid keys of a sweep (`sweep_frame`: the mean over seeds and
    the other keys), cells in the grid's order; `image` goes to `ax.imshow` (cmap, vmin, vmax)."""
    ax = _axes(ax)
    frame = sweep_frame(sweep, value, x, y)
    xs, ys = sweep.values(x), sweep.values(y)
    cells = {(cx, cy): m for cx, cy, m in frame.select("x", "y", "mean").iter_rows()}
    grid = [[_nan(cells.get((cx, cy))) for cx in xs] for cy in ys]
    shown = ax.imshow(grid, origin="lower", aspect="auto", **image)
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, label=value)
    return ax


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
