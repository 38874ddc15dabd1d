"""The Price decomposition as a report shows it (`price` computes it): the cumulative charts, the
table of summed parts and the notes, for one run and over seeds; and the text of a force."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import polars as pl

from . import price
from .charts import FORCE_COLORS, OBSERVED_COLOR, UNATTRIBUTED_COLOR, band_series, finite, price_charts, xs
from .page import GenRows, Page, Rows, band, esc, fmt, gen_rows
from .price import FORCE_LABELS, FORCES, NO_FORCE, TINY
from .svg import Series

INTRO = (
    "Price decomposition of the change of a population mean from each recorded generation to "
    "the next: selection (the covariance of an agent's number of descendants in the next "
    "generation with its trait, over the mean number; it includes random drift) plus "
    "transmission (how each descendant differs from its nearest ancestor), split by origin: "
    "mutation (inherit births; exact copies add 0), design (successor design) and "
    "self-modification. The traits: the mean process share, and for every process term its "
    "carrier share (the survival share: weight above the threshold, inf counts) and its mean "
    "weight (left out, –, where an agent holds it as a hard constraint, inf). The table sums "
    "every part from the first to the last generation."
)
DRIFT_NOTE = (
    "The drift twin is decomposed the same way: its selection term is what neutral drift "
    "alone gives, so selection beyond drift = selection − drift selection."
)
UNATTRIBUTED_NOTE = (
    "unattributed: agents whose parent links never reach the generation before "
    "(lineage rows missing), counted as their difference from its mean; they make "
    "the parts add up, and no force is credited with them."
)
EMPTY = "The decomposition needs two recorded generations."

VERDICT_NOTE = (
    "moved most by: of the forces of the Price decomposition of the carrier share "
    "(selection, mutation, design, self-modification), the one with the largest "
    "cumulative contribution to the change from the first to the last generation, with "
    "that signed contribution; where a null is recorded, of the forces that differ from "
    "it, the one furthest from the null's own (still shown with its contribution)."
)
BEYOND_DRIFT_NOTE = (
    "selection beyond drift: the cumulative selection (covariance) term minus the "
    "drift twin's, which is drift alone."
)


def signed(x: float | None) -> str:
    """A contribution with its sign ("+0.25", "-0.1"); rounding noise below TINY is "0"."""
    if x is None or math.isnan(x):
        return "–"
    if abs(x) <= TINY:
        return "0"
    return ("+" if x > 0 else "") + fmt(x)


def force_text(force: str | None, value: float | None) -> str:
    """ "selection (-0.5)"; "no force beyond drift" when none moved the term beyond what the null
    moves it (the cell reads on from the column "moved most by"); "–" without data; a sentence
    that is no force (the null too small to test them) as it is."""
    if force is None:
        return "–"
    if force == NO_FORCE:
        return "no force beyond drift"
    if force not in FORCE_LABELS:
        return force
    return f"{FORCE_LABELS[force]} ({signed(value)})"


def exactness_note(residual: float | None) -> str:
    if residual is None:
        return ""
    return (
        "The parts add up to the observed change: the largest |selection + transmission − "
        f"observed| of any generation step and trait is {residual:.1e}."
    )


PRICE_COLUMNS = (
    ("observed", "observed change"),
    ("selection", "selection"),
    ("mutation", "mutation"),
    ("design", "design"),
    ("self_modify", "self-modification"),
)
UNATTRIBUTED = ("unattributed", "unattributed")
DRIFT_COLUMNS = (("drift_selection", "drift selection"), ("beyond_drift", "selection beyond drift"))


def total_rows(
    totals: pl.DataFrame,
    has_drift: bool,
    level: Callable[[dict, str], str],
    part: Callable[[dict, str], str],
    unattributed: bool = False,
) -> Rows:
    """One row per trait: its mean at the first and last generation (`level`), then every
    summed part (`part`; unattributed only where some agent's ancestor was not found), the drift
    twin's selection and selection beyond drift when there is one."""
    cols = [*PRICE_COLUMNS, *([UNATTRIBUTED] if unattributed else []), *(DRIFT_COLUMNS if has_drift else ())]
    headers = ["trait", "first generation", "last generation", *[h for _, h in cols]]
    rows = [
        [r["label"], level(r, "start"), level(r, "end"), *[part(r, c) for c, _ in cols]]
        for r in totals.iter_rows(named=True)
    ]
    return headers, rows


def section(
    page: Page,
    charts: str,
    totals: Rows | None,
    chart_note: str,
    notes: Sequence[str],
    steps: GenRows | None = None,
) -> None:
    """Intro, the cumulative charts, the table of totals, then the notes (drift, exactness)."""
    page.section("price")
    page.note(INTRO)
    if totals is None:
        page.para(EMPTY)
        return
    page.add(None, f'<p class="note">{esc(chart_note)}</p>')
    page.html(charts)
    page.table(*totals)
    if steps is not None:
        page.label("Mean process share, cumulative from the first generation")
        page.gen_table(*steps)
    for note in notes:
        if note:
            page.note(note)


def _chart_note(over_seeds: bool, has_drift: bool, forces: Sequence[str]) -> str:
    """What the cumulative charts draw (one run, or the mean over seeds with its band)."""
    absent = [FORCE_LABELS[f] for f in FORCES if f not in forces]
    if over_seeds:
        head = (
            "Cumulative contributions from the first generation, mean over seeds with the "
            "min–max band: one line per force, the observed change in black"
        )
        dashed, tail = (
            "; dashed: the drift twins' selection term (mean)",
            ". A seed stopped at fixation holds its totals.",
        )
    else:
        head = (
            "Cumulative contributions from the first generation: one line per force, the "
            "observed change in black"
        )
        dashed, tail = "; dashed: the drift twin's selection term", "."
    zero = f"; {' and '.join(absent)} are 0 throughout and not drawn" if absent else ""
    return head + (dashed if has_drift else "") + zero + tail


# ---------------------------------------------------------------------------------------------
# one run


def run_section(
    page: Page, steps: pl.DataFrame, drift_steps: pl.DataFrame | None, generations: Sequence[int]
) -> None:
    """The Price section of a single-seed report from its steps (`price.decompose`) and its twin's."""
    totals = price.totals(steps, drift_steps)
    if totals.height == 0:
        section(page, "", None, "", [])
        return
    has_drift = drift_steps is not None
    totals = totals.with_columns(mutation=price.force_expr("mutation"))
    cum = price.cumulative(steps).with_columns(mutation=price.force_expr("mutation"))
    drift = price.cumulative(drift_steps) if drift_steps is not None else None
    forces = price.active_forces({f: cum.select(pl.col(f).abs().max()).item() for f in FORCES})
    lost = (cum.select(pl.col("unattributed").abs().max()).item() or 0.0) > TINY

    def series(trait: str, label: str) -> list[Series]:
        df = cum.filter(pl.col("trait") == trait)
        out = [Series(FORCE_LABELS[f], xs(df), finite(df, f), FORCE_COLORS[f]) for f in forces]
        if lost:
            out.append(Series("unattributed", xs(df), finite(df, "unattributed"), UNATTRIBUTED_COLOR))
        out.append(Series("observed change", xs(df), finite(df, "observed"), OBSERVED_COLOR))
        d = drift.filter(pl.col("trait") == trait) if drift is not None else None
        if d is not None and d.height:
            out.append(
                Series(
                    "selection, drift twin",
                    xs(d),
                    finite(d, "selection"),
                    FORCE_COLORS["selection"],
                    dashed=True,
                )
            )
        return out

    rows = total_rows(totals, has_drift, lambda r, c: fmt(r[c]), lambda r, c: signed(r[c]), lost)
    section(
        page,
        price_charts(totals, series),
        rows,
        _chart_note(False, has_drift, forces),
        [
            UNATTRIBUTED_NOTE if lost else "",
            DRIFT_NOTE if has_drift else "",
            exactness_note(price.max_residual(steps)),
        ],
        _steps(cum, drift, generations),
    )


def _steps(cum: pl.DataFrame, drift: pl.DataFrame | None, generations: Sequence[int]) -> GenRows:
    df = cum.filter(pl.col("trait") == "process_share")
    cols = [c for c, _ in PRICE_COLUMNS]
    headers = ["generation", "mean process share", *[h for _, h in PRICE_COLUMNS]]
    if drift is not None:
        d = drift.filter(pl.col("trait") == "process_share").select("generation", drift_selection="selection")
        df = df.join(d, on="generation", how="left")
        cols.append("drift_selection")
        headers.append("drift selection")
    return gen_rows(
        generations,
        df,
        headers,
        lambda r: [fmt(r["generation"]), fmt(r["mean"]), *[signed(r[c]) for c in cols]],
    )


# ---------------------------------------------------------------------------------------------
# over seeds


def replicates_section(
    page: Page,
    cum: pl.DataFrame,
    drift: pl.DataFrame | None,
    totals: pl.DataFrame,
    max_residual: float | None,
) -> None:
    """The Price section over seeds: `cum` and `drift` are `replicates.price_cumulative` (long:
    part, mean, min, max), `totals` is `replicates.price_totals`."""
    if totals.height == 0 or "start_mean" not in totals.columns:
        section(page, "", None, "", [])
        return
    has_drift = drift is not None
    peak = pl.max_horizontal(pl.col("min").abs().max(), pl.col("max").abs().max())
    forces = price.active_forces({f: cum.filter(pl.col("part") == f).select(peak).item() for f in FORCES})
    lost = (
        totals.select(
            pl.max_horizontal(pl.col("unattributed_min").abs().max(), pl.col("unattributed_max").abs().max())
        ).item()
        or 0.0
    ) > TINY

    def series(trait: str, label: str) -> list[Series]:
        df = cum.filter(pl.col("trait") == trait)

        def part(name: str) -> pl.DataFrame:
            return df.filter(pl.col("part") == name)

        out = [band_series(part(f), FORCE_LABELS[f], FORCE_COLORS[f], opacity=0.08) for f in forces]
        if lost:
            out.append(band_series(part("unattributed"), "unattributed", UNATTRIBUTED_COLOR, opacity=0.0))
        out.append(band_series(part("observed"), "observed change", OBSERVED_COLOR, opacity=0.08))
        d = (
            drift.filter((pl.col("trait") == trait) & (pl.col("part") == "selection"))
            if drift is not None
            else None
        )
        if d is not None and d.height:
            out.append(
                band_series(d, "selection, drift twins", FORCE_COLORS["selection"], dashed=True, opacity=0.0)
            )
        return out

    def cell(r: dict, c: str) -> str:
        return band(r[f"{c}_mean"], r[f"{c}_min"], r[f"{c}_max"])

    section(
        page,
        price_charts(totals, series),
        total_rows(totals, has_drift, cell, cell, lost),
        _chart_note(True, has_drift, forces),
        [
            "Every cell: mean [min, max] over seeds of each seed's sum over its generations.",
            UNATTRIBUTED_NOTE if lost else "",
            DRIFT_NOTE if has_drift else "",
            exactness_note(max_residual),
        ],
    )
