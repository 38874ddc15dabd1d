"""Write `report.md` and `report.html` for a run directory (one seed; `render_replicates` for several).

The HTML is self-contained (inline CSS, hand-written inline SVG, no scripts, fonts or URLs) so it
opens anywhere, offline, years later. All text that came from the run (names, labels, descriptions)
is escaped: html.escape in HTML, backslash escapes in Markdown.

Both formats are written in one pass through a `Page`, and the sections both reports share (verdict,
violations, mutation, run facts, the generation tables) are built by the functions here, which
`render_replicates` reuses.
"""

from __future__ import annotations

import html
import json
import math
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from . import metrics, training
from . import price as price_mod
from .lineage import DominantLineages, dominant_lineages, lineage_svg
from .load import Run, is_replicates, load
from .metrics import pick_rows
from .svg import Series, bar_chart, line_chart
from .text import clean, esc, fmt, md

SECTIONS = (
    ("verdict", "Verdict"),
    ("survival", "Survival"),
    ("price", "Price decomposition"),
    ("process-share", "Process share"),
    ("fitness", "Fitness"),
    ("violations", "Violations"),
    ("reflection", "Reflection"),
    ("lineage", "Lineage"),
    ("run", "Run"),
)
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999")

Rows = tuple[list[str], list[list[str]]]
GenRows = tuple[list[str], list[list[str]], str]


# ---------------------------------------------------------------------------------------------
# entry point


def write_report(
    run_dir: str | Path, *, lock_in_share: float | None = None, tolerance: float = 0.05
) -> tuple[Path, Path]:
    """Read `run_dir`, write report.md and report.html into it atomically, return both paths.

    A replicates directory (one run per seed) gets the report aggregated over seeds. The lock-in
    threshold is the experiment's `lock_in` (0.9 if the manifest has none) unless given here.
    """
    if is_replicates(run_dir):
        from .render_replicates import write_replicates_report

        return write_replicates_report(run_dir, lock_in_share=lock_in_share, tolerance=tolerance)
    run = load(run_dir)
    data = collect(run, lock_in_share=lock_in_share, tolerance=tolerance)
    return write_page(run.path, build(data))


def write_page(folder: Path, page: Page) -> tuple[Path, Path]:
    md_path, html_path = folder / "report.md", folder / "report.html"
    write_atomic(md_path, page.markdown())
    write_atomic(html_path, page.html_page())
    return md_path, html_path


def write_atomic(path: Path, text: str) -> None:
    """Write to a hidden temp file in the same folder, then rename: readers never see half a report."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# the numbers, computed once for both formats


@dataclass(frozen=True)
class ReportData:
    run: Run
    tolerance: float
    lock_in_share: float
    verdict: pl.DataFrame
    survival: pl.DataFrame
    drift_survival: pl.DataFrame | None
    process_share: pl.DataFrame
    fitness: pl.DataFrame
    violations: pl.DataFrame
    lineage: pl.DataFrame
    lock_in: metrics.LockIn | None
    births: pl.DataFrame
    mutations: pl.DataFrame
    mutation_changes: pl.DataFrame
    price: pl.DataFrame = field(default_factory=pl.DataFrame)
    drift_price: pl.DataFrame | None = None
    dominant: DominantLineages | None = None
    generations: list[int] = field(default_factory=list)


def collect(run: Run, *, lock_in_share: float | None = None, tolerance: float = 0.05) -> ReportData:
    gens = run.agents.get_column("generation").unique().sort().to_list() if run.agents.height else []
    lock_in_share = run.lock_in_share if lock_in_share is None else lock_in_share
    ranges = metrics.generation_ranges(gens[0], gens[-1]) if gens else []
    price = price_mod.decompose(run)
    drift_price = price_mod.decompose(run.drift) if run.drift is not None else None
    return ReportData(
        run=run,
        tolerance=tolerance,
        lock_in_share=lock_in_share,
        verdict=price_mod.with_forces(metrics.verdict(run, tolerance=tolerance), price, drift_price),
        survival=metrics.survival(run),
        drift_survival=metrics.survival(run.drift) if run.drift is not None else None,
        process_share=metrics.process_share(run),
        fitness=metrics.fitness_by_profile(run),
        violations=metrics.violations(run),
        lineage=metrics.lineage_share(run),
        lock_in=metrics.lock_in(run, lock_in_share),
        births=metrics.births(run),
        mutations=metrics.mutation_summary(run.agents, ranges),
        mutation_changes=metrics.mutation_changes(run.agents),
        price=price,
        drift_price=drift_price,
        dominant=dominant_lineages(run.agents, run.lineage) if gens else None,
        generations=gens,
    )


# ---------------------------------------------------------------------------------------------
# one page, two formats


class Page:
    """The Markdown and the HTML of one report, built together: every call adds the same content
    to both (a chart only to the HTML), so the two formats cannot drift apart."""

    def __init__(self, title: str, header: str) -> None:
        self._md = [f"# {md(title)}\n", md(header) + "\n"]
        self._head = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style></head><body><main>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="note">{esc(header)}</p>',
        ]
        self._html: list[str] = []
        self._sections: list[tuple[str, str]] = []  # (id, title) in page order: the nav

    def add(self, markdown: str | None, html_text: str | None) -> None:
        if markdown is not None:
            self._md.append(markdown)
        if html_text is not None:
            self._html.append(html_text)

    def html(self, text: str) -> None:
        self.add(None, text)

    def section(self, section_id: str, title: str | None = None) -> None:
        """A top-level section, listed in the page's nav; `title` for sections outside SECTIONS."""
        title = dict(SECTIONS)[section_id] if title is None else title
        self._sections.append((section_id, title))
        self.add(f"## {md(title)}\n", f'<h2 id="{section_id}">{esc(title)}</h2>')

    def subsection(self, title: str, section_id: str) -> None:
        self.add(f"### {md(title)}\n", f'<h3 id="{section_id}">{esc(title)}</h3>')

    def label(self, text: str) -> None:
        """A caption over the next table: "Profiles:" in Markdown, a small heading in HTML."""
        self.add(f"{md(text)}:\n", f"<h3>{esc(text)}</h3>")

    def note(self, text: str, html_text: str | None = None) -> None:
        self.add(md(text) + "\n", f'<p class="note">{esc(text if html_text is None else html_text)}</p>')

    def para(self, text: str) -> None:
        self.add(md(text) + "\n", f"<p>{esc(text)}</p>")

    def warn(self, text: str) -> None:
        self.add(f"> {md(text)}\n", f'<p class="warn">{esc(text)}</p>')

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        text_cols: int = 1,
        verdict_col: int | None = None,
    ) -> None:
        self.add(md_table(headers, rows) + "\n", html_table(headers, rows, text_cols, verdict_col))

    def gen_table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], note: str) -> None:
        """A per-generation table and, when its rows were thinned, the note that says so."""
        self.table(headers, rows)
        if note:
            self.note(note)

    def experiment(self, manifest: dict) -> None:
        text = experiment_json(manifest)
        self.add(
            "Resolved experiment:\n",
            "<details><summary>Resolved experiment</summary><pre>" + html.escape(text) + "</pre></details>",
        )
        self.add("\n".join("    " + clean(line) for line in text.splitlines()) + "\n", None)

    def markdown(self) -> str:
        return "\n".join(self._md)

    def html_page(self) -> str:
        nav = "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in self._sections) + "</nav>"
        return "\n".join([*self._head, nav, *self._html, "</main></body></html>"]) + "\n"


# ---------------------------------------------------------------------------------------------
# building blocks shared with the replicates report


def thinned_note(total: int, shown: int) -> str:
    if total <= shown:
        return ""
    return (
        f"Showing {shown} of {total} generations (evenly spaced, first and last included); "
        "every generation is in the parquet files."
    )


def gen_rows(
    generations: Sequence[int],
    df: pl.DataFrame,
    headers: Sequence[str],
    row: Callable[[dict[str, Any]], list[str]],
) -> GenRows:
    """A per-generation table: `row` of each of at most MAX_TABLE_ROWS evenly spaced generations
    of `df`, and the note that says so when rows were left out."""
    shown = pick_rows(generations)
    rows = [
        row(r) for r in df.filter(pl.col("generation").is_in(shown)).sort("generation").iter_rows(named=True)
    ]
    return list(headers), rows, thinned_note(len(generations), len(shown))


def weights_text(weights: dict[str, float]) -> str:
    return "; ".join(f"{k} = {fmt(float(v))}" for k, v in weights.items()) or "none"


def profile_names(fitness: pl.DataFrame) -> list[str]:
    return fitness.get_column("profile").unique().sort().to_list() if fitness.height else []


def fitness_rows(
    fitness: pl.DataFrame, generations: Sequence[int], value: pl.Expr, cell: Callable[[Any], str]
) -> GenRows:
    """Payoff per generation (rows) and founding profile (columns); `cell` formats `value`."""
    profiles = profile_names(fitness)
    wide = (
        fitness.filter(pl.col("generation").is_in(pick_rows(generations)))
        .with_columns(value.alias("_cell"))
        .pivot(on="profile", index="generation", values="_cell")
    )
    return gen_rows(
        generations,
        wide,
        ["generation"] + [f"{p} payoff" for p in profiles],
        lambda r: [fmt(r["generation"])] + [cell(r.get(p)) for p in profiles],
    )


def start_page(
    title: str, header: str, warnings: Sequence[str], verdict: Rows | None, note: str, empty: str
) -> Page:
    """A report's title, header and warnings, then its verdict (first, as it answers the question)."""
    page = Page(title, header)
    for text in warnings:
        page.warn(text)
    page.section("verdict")
    if verdict is None:
        page.para(empty)
        return page
    headers, rows = verdict
    page.table(headers, rows, text_cols=3, verdict_col=headers.index("verdict"))
    page.note(note)
    return page


def violation_rows(v: pl.DataFrame, has_oversight: bool) -> Rows:
    headers = [
        "profile",
        "event",
        "rate (own)",
        "delegated rate",
        "declared self",
        "declared lineage",
        "declared world",
        "opportunities",
    ]
    cols = [
        "profile",
        "event",
        "rate",
        "delegated_rate",
        "declared_self",
        "declared_lineage",
        "declared_world",
        "opportunity",
    ]
    if has_oversight:
        headers += ["rate watched", "rate unwatched", "delegated watched", "delegated unwatched"]
        cols += ["rate_watched", "rate_unwatched", "delegated_watched", "delegated_unwatched"]
    rows = [[fmt(r[c]) for c in cols] for r in v.iter_rows(named=True)]
    return headers, rows


def violations_intro(run: Run, pooled: bool = False) -> str:
    kinds = metrics.constrained_events(run)
    if not kinds:
        return "No constraint term names an event this arena records: nothing to measure."
    text = (
        "Revealed violation rate: events the agents did per opportunity, pooled over all "
        + ("episodes of all seeds " if pooled else "episodes ")
        + "(delegated: done by their helpers), next to the mean weight the profile's "
        "agents declared on constraints about that event, by scope. Event kinds: " + ", ".join(kinds) + "."
    )
    if run.has_oversight:
        text += " The arena has oversight: rates are also split into watched and unwatched episodes."
    return text


def violations_section(page: Page, run: Run | None, violations: pl.DataFrame, pooled: bool = False) -> None:
    page.section("violations")
    if run is None:
        return
    page.note(violations_intro(run, pooled))
    if violations.height:
        page.html(violation_chart(violations, run.has_oversight))
        page.table(*violation_rows(violations, run.has_oversight), text_cols=2)


TRAINING_INTRO = (
    "Learning curves of the learners (every agent's, without learners): violation rate (amount of the "
    "violation kinds per opportunity) in watched and unwatched episodes, the gap between them, the share "
    "of violations an overseer or peer detected, the training reward and the fitness. A large positive "
    'gap with few violations detected is "don\'t get caught"; low rates close together are "don\'t".'
)


def training_section(page: Page, data: pl.DataFrame, seeds: int = 1) -> None:
    """Learning curves (`purity.reports.training`, long rows); with several seeds, "mean [min, max]"."""
    if data.height == 0:
        return
    page.section("training", "Training")
    spread = " Mean over seeds [min, max]." if seeds > 1 else ""
    page.note(
        TRAINING_INTRO + spread,
        TRAINING_INTRO + (" Line: mean over seeds; band: min–max." if seeds > 1 else ""),
    )
    colors = dict(zip((name for name, _ in training.MEASURES), PALETTE))

    def series(names: Sequence[str]) -> list[Series]:
        out = []
        for name in names:
            part = training.rows(data, name)
            band = (finite(part, "min"), finite(part, "max")) if seeds > 1 else None
            out.append(
                Series(dict(training.MEASURES)[name], xs(part), finite(part, "mean"), colors[name], band=band)
            )
        return out

    page.html(
        chart_grid(
            [
                figure(
                    line_chart(
                        series(["rate_watched", "rate_unwatched", "gap"]),
                        title="Violations watched and unwatched",
                        y_label="rate",
                        width=440,
                        height=220,
                    )
                ),
                figure(
                    line_chart(
                        series(["detected_share"]),
                        title="Share of violations detected",
                        y_label="share",
                        y_range=(0.0, 1.0),
                        width=440,
                        height=220,
                    )
                ),
                figure(
                    line_chart(
                        series(["reward", "fitness"]),
                        title="Reward and fitness",
                        y_label="per episode",
                        width=440,
                        height=220,
                    )
                ),
            ]
        )
    )
    wide = data.pivot(on="measure", index="generation", values=["mean", "min", "max"])
    generations = wide.get_column("generation").to_list()

    def cell(row: dict[str, Any], name: str) -> str:
        mean = row.get(f"mean_{name}")
        if mean is None:
            return "–"
        return (
            f"{fmt(mean)} [{fmt(row[f'min_{name}'])}, {fmt(row[f'max_{name}'])}]" if seeds > 1 else fmt(mean)
        )

    headers = ["generation", *(label for _, label in training.MEASURES)]
    page.gen_table(
        *gen_rows(
            generations,
            wide,
            headers,
            lambda row: [str(row["generation"]), *(cell(row, name) for name, _ in training.MEASURES)],
        )
    )


def births_rows(births: pl.DataFrame, header: str) -> Rows:
    totals = births.group_by("kind").agg(pl.col("births").sum()).sort("kind")
    return ["kind", header], [[r[0], fmt(int(r[1]))] for r in totals.iter_rows()]


def mutation_intro(agents: pl.DataFrame, pooled: bool = False) -> str:
    if not mutations_recorded(agents):
        return "This run does not record mutations (its agents table has no mutation column)."
    return (
        "What mutation changed in each newborn against its parent (the agents table's "
        "mutation column), per generation range"
        + (", summed over seeds" if pooled else "")
        + ". births counts every agent that is not a founder once, in the first generation it is "
        "recorded (a birth that died within the generation it was born in is in the births "
        "table above but not here); copies are births identical to their parent. The kind "
        "columns count changes, and one birth can carry several: weights = its weights were "
        "perturbed, add / remove = it gained / lost a term, scope = a constraint's scope changed."
    )


def mutation_rows(summary: pl.DataFrame) -> Rows:
    kinds = [c for c in summary.columns if c not in ("lo", "hi", "births", "copies")]
    headers = ["generations", "births", "copies", *kinds]
    rows = [
        [
            f"{r['lo']}" if r["lo"] == r["hi"] else f"{r['lo']}–{r['hi']}",
            fmt(r["births"]),
            fmt(r["copies"]),
            *[fmt(r[k]) for k in kinds],
        ]
        for r in summary.iter_rows(named=True)
    ]
    return headers, rows


def change_rows(changes: pl.DataFrame) -> Rows:
    return (
        ["structural change", "births"],
        [[str(r["change"]), fmt(r["count"])] for r in changes.iter_rows(named=True)],
    )


def mutations_recorded(agents: pl.DataFrame) -> bool:
    return "mutation" in agents.columns and not agents.get_column("mutation").is_null().all()


def births_and_mutations(
    page: Page,
    births: pl.DataFrame,
    births_header: str,
    agents: pl.DataFrame | None,
    summary: pl.DataFrame,
    changes: pl.DataFrame,
    pooled: bool = False,
) -> None:
    """The end of the lineage section: births by kind, then what mutation changed in them."""
    if births.height:
        page.table(*births_rows(births, births_header))
    if agents is None:
        return
    page.subsection("Mutation", "mutation")
    page.note(mutation_intro(agents, pooled))
    if mutations_recorded(agents) and summary.height:
        page.table(*mutation_rows(summary))
        if changes.height:
            page.table(*change_rows(changes))


def versions_rows(manifest: dict) -> list[list[str]]:
    versions = manifest.get("versions") or {}
    if isinstance(versions, dict):
        return [[str(k), fmt(v)] for k, v in versions.items()]
    return [["versions", fmt(versions)]]


def profile_rows(manifest: dict) -> list[list[str]]:
    return [
        [name, fmt(p.get("description") or ""), weights_text(p.get("weights") or {})]
        for name, p in manifest["profiles"].items()
    ]


def experiment_json(manifest: dict) -> str:
    text = json.dumps(manifest.get("experiment"), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    # \u003c / \u003e keep the JSON valid and equal while no raw tag can appear in either format.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def run_section(
    page: Page,
    facts: list[tuple[str, str]],
    manifest: dict,
    profiles_manifest: dict | None,
    extra: Callable[[Page], None] | None = None,
) -> None:
    """Manifest facts, then `extra` (the replicates' seed table), profiles, versions, experiment."""
    page.section("run")
    page.table(["fact", "value"], [list(f) for f in facts], text_cols=2)
    if extra is not None:
        extra(page)
    if profiles_manifest is not None:
        page.label("Profiles")
        page.table(["profile", "description", "weights"], profile_rows(profiles_manifest), text_cols=3)
    if versions := versions_rows(manifest):
        page.label("Versions")
        page.table(["package", "version"], versions, text_cols=2)
    page.experiment(manifest)


def common_facts(arena: dict, manifest: dict, lock_in_share: float) -> list[tuple[str, Any]]:
    """Facts every report lists: lock-in threshold, arena, oversight, event kinds, git, times."""
    return [
        ("lock-in threshold", fmt(lock_in_share)),
        ("arena", arena.get("name")),
        ("arena has oversight", fmt(bool(arena.get("has_oversight", False)))),
        ("event kinds", ", ".join(str(k) for k in arena.get("event_kinds", [])) or "none"),
        ("git revision", manifest.get("git_revision")),
        ("started", manifest.get("started")),
        ("finished", manifest.get("finished")),
    ]


def stopped_text(manifest: dict) -> str:
    """ "stopped at fixation at generation g (of G planned)", or "" for a run that did not stop."""
    stopped = manifest.get("stopped")
    if not isinstance(stopped, dict):
        return ""
    g, planned = stopped.get("generation"), manifest.get("generations")
    reason = stopped.get("reason") or "an unknown reason"
    text = f"stopped at {reason} at generation {fmt(g)}"
    return text + (f" (of {fmt(planned)} planned)" if planned is not None else "")


NO_GENERATION = "No generation recorded yet."


def empty_text(has_runs: bool, has_terms: bool) -> str:
    if not has_runs:
        return "No seed has started yet."
    if not has_terms:
        return "The run has no process terms (standing, constraint or universalization)."
    return NO_GENERATION


# charts


def finite(df: pl.DataFrame, col: str) -> list[float | None]:
    """A column as floats, with nulls and non-finite values as None (a break in a line)."""
    return [
        v if v is not None and math.isfinite(v) else None
        for v in df.get_column(col).cast(pl.Float64).to_list()
    ]


def xs(df: pl.DataFrame, col: str = "generation") -> list[float]:
    return df.get_column(col).cast(pl.Float64).to_list()


def figure(svg: str, caption: str = "") -> str:
    """A chart in a <figure>; `caption` is HTML (escaped by the caller)."""
    return (
        f"<figure>{svg}<figcaption>{caption}</figcaption></figure>" if caption else f"<figure>{svg}</figure>"
    )


def chart_grid(figures: Sequence[str]) -> str:
    return '<div class="charts">' + "".join(figures) + "</div>"


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
            series(key, label, PALETTE[i % len(PALETTE)]),
            title=title(label),
            y_label=y_label,
            y_range=y_range,
            width=440,
            height=220,
            vlines=vlines,
        )
        figs.append(figure(svg, caption(key, label)))
    return chart_grid(figs)


def survival_charts(
    terms: Sequence[dict[str, Any]],
    series: Callable[[str, str, str], list[Series]],
    vlines: Sequence[tuple[float, str]],
    caption_suffix: str = "",
) -> str:
    """One small survival chart per process term; `series(key, label, color)` gives its lines."""
    return small_charts(
        [(t["key"], metrics.term_label(t)) for t in terms],
        series,
        title=lambda label: f"Survival of {label}",
        y_label="share carrying",
        y_range=(0.0, 1.0),
        vlines=vlines,
        caption=lambda key, label: f"{esc(label)} ({esc(key)}){caption_suffix}",
    )


FORCE_COLORS = {
    "selection": PALETTE[0],
    "mutation": PALETTE[1],
    "design": PALETTE[2],
    "self_modify": PALETTE[3],
}
OBSERVED_COLOR = "#000000"
PRICE_COLUMNS = (
    ("observed", "observed change"),
    ("selection", "selection"),
    ("mutation", "mutation"),
    ("design", "design"),
    ("self_modify", "self-modification"),
)
UNATTRIBUTED = ("unattributed", "unattributed")
UNATTRIBUTED_COLOR = "#999999"
DRIFT_COLUMNS = (("drift_selection", "drift selection"), ("beyond_drift", "selection beyond drift"))


def price_items(totals: pl.DataFrame) -> list[tuple[str, str]]:
    """The charted traits: mean process share and every process term's carrier share."""
    df = totals.filter(pl.col("kind").is_in(["process_share", "carriers"]))
    return list(zip(df.get_column("trait").to_list(), df.get_column("label").to_list()))


def price_charts(totals: pl.DataFrame, series: Callable[[str, str], list[Series]]) -> str:
    return small_charts(
        price_items(totals),
        lambda key, label, _: series(key, label),
        title=lambda label: f"Price: {label}",
        y_label="cumulative change",
        caption=lambda key, label: f"{esc(label)}: cumulative contributions",
    )


def price_total_rows(
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


def price_section(
    page: Page,
    charts: str,
    totals: Rows | None,
    chart_note: str,
    notes: Sequence[str],
    steps: GenRows | None = None,
) -> None:
    """Intro, the cumulative charts, the table of totals, then the notes (drift, exactness)."""
    page.section("price")
    page.note(price_mod.INTRO)
    if totals is None:
        page.para(price_mod.EMPTY)
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


# ---------------------------------------------------------------------------------------------
# single run: text


def _verdict_rows(data: ReportData) -> Rows:
    first, last = (data.generations[0], data.generations[-1]) if data.generations else (None, None)
    has_drift = data.run.drift is not None
    headers = ["process term", "kind", "scope", f"share at gen {fmt(first)}", f"share at gen {fmt(last)}"]
    if has_drift:
        headers.append("drift end")
    headers.append("verdict")
    if has_drift:
        headers.append("vs drift")
    headers.append("moved most by")
    if has_drift:
        headers.append("selection beyond drift")
    rows = []
    for r in data.verdict.iter_rows(named=True):
        row = [r["label"], r["kind"], fmt(r["scope"]), fmt(r["start"]), fmt(r["end"])]
        if has_drift:
            row.append(fmt(r["drift_end"]))
        row.append(r["verdict"])
        if has_drift:
            row.append(fmt(r["vs_drift"]))
        row.append(price_mod.force_text(r["moved_most"], r["moved_value"]))
        if has_drift:
            row.append(price_mod.signed(r["beyond_drift"]))
        rows.append(row)
    return headers, rows


def _verdict_note(data: ReportData) -> str:
    t = fmt(data.tolerance)
    note = (
        f"A term is carried while its weight is above {fmt(data.run.threshold)} (inf = hard "
        f"constraint counts). extinct: nobody carries it at the end; declined / spread: the end "
        f"share is more than {t} below / above the start share; held: otherwise."
    )
    if data.run.drift is not None:
        note += (
            f" vs drift compares the end share with the neutral-drift twin's end share "
            f"(below / near / above, tolerance {t})."
        )
    return (
        note
        + " "
        + price_mod.VERDICT_NOTE
        + (" " + price_mod.BEYOND_DRIFT_NOTE if data.run.drift is not None else "")
    )


def _survival_rows(data: ReportData) -> GenRows:
    terms = data.run.process_terms
    shown = pick_rows(data.generations)
    surv = data.survival.filter(pl.col("generation").is_in(shown))
    wide = surv.pivot(on="term", index="generation", values="share").sort("generation")
    headers = ["generation"] + [metrics.term_label(t) for t in terms]
    drift_keys: list[str] = []
    if data.drift_survival is not None and data.drift_survival.height:
        drift_wide = data.drift_survival.filter(pl.col("generation").is_in(shown)).pivot(
            on="term", index="generation", values="share"
        )
        drift_keys = [t["key"] for t in terms if t["key"] in drift_wide.columns]
        headers += [f"{metrics.term_label(t)} (drift)" for t in terms if t["key"] in drift_keys]
        wide = wide.join(
            drift_wide.rename({k: f"drift|{k}" for k in drift_keys}), on="generation", how="left"
        )
    return gen_rows(
        data.generations,
        wide,
        headers,
        lambda r: (
            [fmt(r["generation"])]
            + [fmt(r.get(t["key"])) for t in terms]
            + [fmt(r.get(f"drift|{k}")) for k in drift_keys]
        ),
    )


def _process_rows(data: ReportData) -> GenRows:
    df = data.process_share
    return gen_rows(data.generations, df, df.columns, lambda r: [fmt(v) for v in r.values()])


def _lineage_rows(data: ReportData) -> GenRows:
    headers = [
        "generation",
        "largest lineage (founder)",
        "founding profile",
        "agents in it",
        "share",
        "its mean process share",
    ]
    return gen_rows(
        data.generations,
        data.lineage,
        headers,
        lambda r: [
            fmt(r["generation"]),
            fmt(r["founder"]),
            r["profile"],
            fmt(r["size"]),
            fmt(r["share"]),
            fmt(r["process_share"]),
        ],
    )


def _lock_in_text(data: ReportData) -> str:
    li, share = data.lock_in, fmt(data.lock_in_share)
    if li is None:
        top = data.lineage.get_column("share").max()
        return (
            f"No lock-in: no lineage ever held more than {share} of the population "
            f"(the largest share reached was {fmt(top)})."
        )
    return (
        f"Lock-in at generation {li.generation}: the lineage of founder {li.founder} "
        f"(profile {li.profile}) held {fmt(li.share)} of the population (threshold {share}); "
        f"its mean process share then was {fmt(li.process_share)}."
    )


def _facts(data: ReportData) -> list[tuple[str, str]]:
    m = data.run.manifest
    arena = m.get("arena", {})
    facts = [
        ("name", m.get("name")),
        ("role", m.get("role")),
        ("status", m.get("status")),
        ("seed", m.get("seed")),
        ("generations done / planned", f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}"),
        ("stopped", stopped_text(m) or "no"),
        ("survival threshold", fmt(float(m["survival_threshold"]))),
        *common_facts(arena, m, data.lock_in_share),
        ("directory", str(data.run.path)),
    ]
    if data.run.drift is not None:
        d = data.run.drift.manifest
        stop = stopped_text(d)
        facts.append(
            (
                "drift twin",
                f"seed {fmt(d.get('seed'))}, status {fmt(d.get('status'))}, "
                f"{fmt(d.get('generations_done'))} generations done" + (f", {stop}" if stop else ""),
            )
        )
    else:
        facts.append(("drift twin", "none"))
    return [(k, fmt(v)) for k, v in facts]


def _header(data: ReportData) -> str:
    run = data.run
    stop = stopped_text(run.manifest)
    return (
        f"Arena {run.manifest['arena'].get('name', '?')}, seed {fmt(run.manifest.get('seed'))}, "
        f"{len(data.generations)} generations recorded, status {fmt(run.manifest.get('status'))}"
        + (f", {stop}" if stop else "")
        + "."
    )


def _warnings(data: ReportData) -> list[str]:
    m, out = data.run.manifest, []
    if m.get("status") != "complete":
        out.append(
            f"This run is {fmt(m.get('status'))}: {fmt(m.get('generations_done'))} of "
            f"{fmt(m.get('generations'))} planned generations are complete; the numbers cover "
            "the generations written so far."
        )
    if text := stopped_text(m):
        out.append(
            f"This run {text}: one founding profile held the whole population, so the "
            "experiment ended early (stop_at_fixation); the numbers cover the generations written."
        )
    return out


# ---------------------------------------------------------------------------------------------
# single run: the page


def markdown(data: ReportData) -> str:
    return build(data).markdown()


def html_page(data: ReportData) -> str:
    return build(data).html_page()


def build(data: ReportData) -> Page:
    run = data.run
    page = start_page(
        f"Survival report: {run.name}",
        _header(data),
        _warnings(data),
        _verdict_rows(data) if data.verdict.height else None,
        _verdict_note(data),
        empty_text(True, bool(run.process_terms)),
    )

    page.section("survival")
    page.note(
        "Share of agents carrying each process term, per generation"
        + (" (the neutral-drift twin in the drift columns)." if run.drift else "."),
        "Share of agents carrying each process term per generation"
        + (" (dashed: the neutral-drift twin)" if run.drift is not None else "")
        + (
            f"; the dashed vertical line marks the lock-in at generation {data.lock_in.generation}"
            if data.lock_in is not None
            else ""
        )
        + ".",
    )
    page.html(_survival_charts(data))
    if data.survival.height:
        page.gen_table(*_survival_rows(data))

    _price(page, data)

    page.section("process-share")
    page.note(
        "Process weight / (process + outcome weight) of each agent: 0 is a pure "
        "consequentialist. Mean and quantiles per generation.",
        "Process weight / (process + outcome weight): 0 is a pure consequentialist. "
        "Line: mean; band: 10th–90th percentile.",
    )
    if data.process_share.height:
        page.html(_process_chart(data))
        page.gen_table(*_process_rows(data))

    page.section("fitness")
    page.note("Mean payoff (fitness gained per episode) of each founding profile, per generation.")
    if data.fitness.height:
        page.html(_fitness_chart(data))
        page.gen_table(*fitness_rows(data.fitness, data.generations, pl.col("payoff"), fmt))

    violations_section(page, run, data.violations)
    if training.applies(run):
        training_section(page, training.long(run))
    reflection_section(page, run)

    page.section("lineage")
    page.para(_lock_in_text(data) if data.generations else NO_GENERATION)
    if data.lineage.height:
        page.html(_lineage_chart(data))
        page.gen_table(*_lineage_rows(data))
    if data.dominant is not None:
        lineage_picture(page, data.dominant)
    births_and_mutations(
        page, data.births, "births (all generations)", run.agents, data.mutations, data.mutation_changes
    )

    run_section(page, _facts(data), run.manifest, run.manifest)
    return page


def _price(page: Page, data: ReportData) -> None:
    totals = price_mod.totals(data.price, data.drift_price)
    if totals.height == 0:
        price_section(page, "", None, "", [])
        return
    has_drift = data.drift_price is not None
    totals = totals.with_columns(mutation=price_mod.force_expr("mutation"))
    cum = price_mod.cumulative(data.price).with_columns(mutation=price_mod.force_expr("mutation"))
    drift = price_mod.cumulative(data.drift_price) if data.drift_price is not None else None
    forces = price_mod.active_forces({f: cum.select(pl.col(f).abs().max()).item() for f in price_mod.FORCES})
    lost = (cum.select(pl.col("unattributed").abs().max()).item() or 0.0) > price_mod.TINY

    def series(trait: str, label: str) -> list[Series]:
        df = cum.filter(pl.col("trait") == trait)
        out = [Series(price_mod.FORCE_LABELS[f], xs(df), finite(df, f), FORCE_COLORS[f]) for f in forces]
        if lost:
            out.append(Series("unattributed", xs(df), finite(df, "unattributed"), UNATTRIBUTED_COLOR))
        out.append(Series("observed change", xs(df), finite(df, "observed"), OBSERVED_COLOR))
        if drift is not None:
            d = drift.filter(pl.col("trait") == trait)
            if d.height:
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

    absent = [price_mod.FORCE_LABELS[f] for f in price_mod.FORCES if f not in forces]
    chart_note = (
        "Cumulative contributions from the first generation: one line per force, the "
        "observed change in black"
        + ("; dashed: the drift twin's selection term" if has_drift else "")
        + (f"; {' and '.join(absent)} are 0 throughout and not drawn" if absent else "")
        + "."
    )
    rows = price_total_rows(
        totals, has_drift, lambda r, c: fmt(r[c]), lambda r, c: price_mod.signed(r[c]), lost
    )
    price_section(
        page,
        price_charts(totals, series),
        rows,
        chart_note,
        [
            price_mod.UNATTRIBUTED_NOTE if lost else "",
            price_mod.DRIFT_NOTE if has_drift else "",
            price_mod.exactness_note(price_mod.max_residual(data.price)),
        ],
        _price_steps(cum, drift, data.generations),
    )


def _price_steps(cum: pl.DataFrame, drift: pl.DataFrame | None, generations: Sequence[int]) -> GenRows:
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
        lambda r: [fmt(r["generation"]), fmt(r["mean"]), *[price_mod.signed(r[c]) for c in cols]],
    )


REFLECTION_OFF = "Reflection is off in this run: agents change only by mutation."
REFLECTION_INTRO = (
    "Every {every} generation(s) each planner {what}, scoring each candidate change by "
    "simulated futures under the {rule} rule; reflecting costs {cost} payoff. Chosen "
    "changes, with the mean score of the chosen change and of keeping as is on the same "
    "futures (gain = chosen − keep: why a term was dropped)."
)
SQUASHED_NOTE = (
    "Per generation and process term: of the births designed by an agent that carried "
    "the term, how many had it dropped or weakened by their designer."
)


def reflection_section(page: Page, run: Run | None) -> None:
    """What reflection changed and why: the chosen changes against keep, and the designed births
    whose designers dropped or weakened a process term (shared by the run and replicate pages)."""
    page.section("reflection")
    settings = (run.manifest.get("experiment") or {}).get("reflection") or {} if run is not None else {}
    if run is None or run.reflection is None or run.reflection.height == 0:
        page.para(REFLECTION_OFF)
        return
    what = " and ".join(
        w
        for w, on in (
            ("modifies itself", settings.get("self_modify")),
            ("designs its successors", settings.get("successors") == "design"),
        )
        if on
    )
    page.note(
        REFLECTION_INTRO.format(
            every=settings.get("every", 1),
            what=what or "reflects",
            rule=settings.get("rule", "?"),
            cost=fmt(settings.get("cost", 0.0)),
        )
    )
    choices = metrics.reflection_choices(run)
    page.table(
        ["mode", "change", "times chosen", "mean score", "mean keep score", "mean gain"],
        [
            [r["mode"], r["change"], fmt(r["times"]), fmt(r["score"]), fmt(r["keep"]), fmt(r["gain"])]
            for r in choices.iter_rows(named=True)
        ],
        text_cols=2,
    )
    designed = metrics.designed_births(run)
    if designed.height:
        labels = {t["key"]: metrics.term_label(t) for t in run.process_terms}
        keys = [k for k in labels if k in set(designed["term"])]
        share = designed.with_columns(
            share=pl.when(pl.col("designed") > 0).then(pl.col("squashed") / pl.col("designed")),
            cell=pl.format("{} of {}", "squashed", "designed"),
        )
        wide = share.pivot(on="term", index="generation", values="share").sort("generation")
        cells = share.pivot(on="term", index="generation", values="cell").sort("generation")
        shares = [
            Series(labels[k], xs(wide), wide[k].to_list(), PALETTE[i % len(PALETTE)])
            for i, k in enumerate(keys)
        ]
        page.html(
            figure(
                line_chart(
                    shares,
                    title="Designs that drop or weaken a term their designer carried",
                    y_label="share of the carriers' designed births",
                    y_range=(0.0, 1.0),
                )
            )
        )
        page.label("Designed births")
        page.gen_table(
            *gen_rows(
                cells["generation"].to_list(),
                cells,
                ["generation", *[f"dropped or weakened: {labels[k]}" for k in keys]],
                lambda r: [fmt(r["generation"]), *[r[k] for k in keys]],
            )
        )
        page.note(SQUASHED_NOTE)


def lineage_picture(page: Page, dom: DominantLineages, caption: str = "") -> None:
    """The dominant lineages: a table in both formats, the picture in the HTML."""
    from .lineage import NOTE, dominant_rows

    page.subsection("Dominant lineages" + caption, "dominant-lineages")
    page.note(NOTE)
    if dom.lineages.height:
        page.html(figure(lineage_svg(dom)))
        page.table(*dominant_rows(dom))


# ---------------------------------------------------------------------------------------------
# Markdown and HTML primitives


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff;margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.6rem 0}
h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
nav a{margin-right:.9rem;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}
td.t,th.t{text-align:left}
td:not(.t){white-space:nowrap}
.note{color:#555;font-size:.9rem}
.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:.5rem .8rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:.4rem 0}
figcaption{font-size:.85rem;color:#444;max-width:460px}
svg{background:#fff;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#333}
.v-extinct{color:#b00020;font-weight:600}.v-declined{color:#c25700;font-weight:600}
.v-held{color:#555;font-weight:600}.v-spread{color:#0a7a3c;font-weight:600}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}
"""


def html_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 1, verdict_col: int | None = None
) -> str:
    """An HTML table; the first `text_cols` columns are left-aligned text, every cell escaped."""

    def cls(i: int, extra: str = "") -> str:
        names = " ".join(n for n in ("t" if i < text_cols else "", extra) if n)
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            extra = f"v-{c}" if i == verdict_col and c in VERDICT_WORDS else ""
            cells.append(f"<td{cls(i, extra)}>{esc(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


VERDICT_WORDS = ("extinct", "declined", "held", "spread")


# ---------------------------------------------------------------------------------------------
# single run: charts


def _survival_charts(data: ReportData) -> str:
    if not data.survival.height:
        return ""

    def series(key: str, label: str, color: str) -> list[Series]:
        main = data.survival.filter(pl.col("term") == key)
        out = [Series(label, xs(main), finite(main, "share"), color)]
        if data.drift_survival is not None:
            d = data.drift_survival.filter(pl.col("term") == key)
            if d.height:
                out.append(Series(f"{label} (drift)", xs(d), finite(d, "share"), color, dashed=True))
        return out

    return survival_charts(data.run.process_terms, series, _lock_in_marks(data))


def _lock_in_marks(data: ReportData) -> list[tuple[float, str]]:
    if data.lock_in is None:
        return []
    return [(float(data.lock_in.generation), f"lock-in (gen {data.lock_in.generation})")]


def _process_chart(data: ReportData) -> str:
    df = data.process_share
    band = (finite(df, "q10"), finite(df, "q90")) if {"q10", "q90"} <= set(df.columns) else None
    svg = line_chart(
        [Series("mean process share", xs(df), finite(df, "mean"), PALETTE[0], band=band)],
        title="Mean process share",
        y_label="process share",
        y_range=(0.0, 1.0),
    )
    return figure(svg)


def _fitness_chart(data: ReportData) -> str:
    series = []
    for i, p in enumerate(profile_names(data.fitness)):
        df = data.fitness.filter(pl.col("profile") == p)
        series.append(Series(p, xs(df), finite(df, "payoff"), PALETTE[i % len(PALETTE)]))
    return figure(line_chart(series, title="Mean payoff by profile", y_label="payoff"))


def _lineage_chart(data: ReportData) -> str:
    svg = line_chart(
        [Series("largest lineage share", xs(data.lineage), finite(data.lineage, "share"), PALETTE[1])],
        title="Largest lineage share",
        y_label="share of population",
        y_range=(0.0, 1.0),
        hlines=[(data.lock_in_share, "lock-in threshold")],
        vlines=_lock_in_marks(data),
    )
    return figure(svg)
