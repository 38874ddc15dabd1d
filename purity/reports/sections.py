"""The sections a run report and a seed-replicates report share, drawn on a `Page` from the data
their `collect` gathered: the verdict (first: it answers the question), violations, training,
reflection, births and mutation, the dominant lineages, and the run's facts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from . import training
from .charts import finite, training_charts, violation_chart, xs
from .lineage import NOTE as LINEAGE_NOTE
from .lineage import DominantLineages, dominant_rows, lineage_svg
from .load import Run
from .metrics import constrained_events
from .page import GenRows, Page, Rows, color, experiment_json, figure, fmt, gen_rows, pick_rows
from .reflection_metrics import Reflection
from .svg import Series, line_chart

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
NO_GENERATION = "No generation recorded yet."


@dataclass(frozen=True)
class Findings:
    """What a report opens with: its verdict table (None without a term or a generation to judge),
    the note that says how to read it, and what to say instead when there is none."""

    table: Rows | None
    note: str
    empty: str
    figure: str = ""  # the one chart that answers the question (`verdict_chart`), drawn first


def start_page(title: str, header: str, warnings: Sequence[str], findings: Findings) -> Page:
    """A report's title, header and warnings, then its findings (first: they answer the question)."""
    page = Page(title, header, SECTIONS)
    for text in warnings:
        page.warn(text)
    page.section("verdict")
    if findings.table is None:
        page.para(findings.empty)
        return page
    headers, rows = findings.table
    if findings.figure:
        page.html(figure(findings.figure))
    page.table(headers, rows, text_cols=3, verdict_col=headers.index("verdict"))
    page.note(findings.note)
    return page


def empty_text(has_runs: bool, has_terms: bool) -> str:
    if not has_runs:
        return "No seed has started yet."
    if not has_terms:
        return "The run has no process terms (standing, constraint or universalization)."
    return NO_GENERATION


# ---------------------------------------------------------------------------------------------
# fitness


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


# ---------------------------------------------------------------------------------------------
# violations

VIOLATION_COLUMNS = (
    ("profile", "profile"),
    ("event", "event"),
    ("rate", "rate (own)"),
    ("delegated_rate", "delegated rate"),
    ("declared_self", "declared self"),
    ("declared_lineage", "declared lineage"),
    ("declared_world", "declared world"),
    ("opportunity", "opportunities"),
)
OVERSIGHT_COLUMNS = (
    ("rate_watched", "rate watched"),
    ("rate_unwatched", "rate unwatched"),
    ("delegated_watched", "delegated watched"),
    ("delegated_unwatched", "delegated unwatched"),
)


def violation_rows(v: pl.DataFrame, has_oversight: bool) -> Rows:
    columns = VIOLATION_COLUMNS + (OVERSIGHT_COLUMNS if has_oversight else ())
    rows = [[fmt(r[c]) for c, _ in columns] for r in v.iter_rows(named=True)]
    return [h for _, h in columns], rows


def violations_intro(run: Run, pooled: bool = False) -> str:
    kinds = constrained_events(run)
    if not kinds:
        return "No constraint term names an event this arena records: nothing to measure."
    text = (
        "Revealed violation rate: the amount of each event the agents did per opportunity (a step "
        "at which it was open to them), pooled over all "
        + ("episodes of all seeds " if pooled else "episodes ")
        + "(delegated: done by their helpers); where an act is an amount (a take from the commons), "
        "a rate can exceed 1. Next to it, the mean weight the profile's agents declared on "
        "constraints about that event, by scope. Event kinds: " + ", ".join(kinds) + "."
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


# ---------------------------------------------------------------------------------------------
# training

TRAINING_INTRO = (
    "Learning curves of the learners (every agent's, without learners): violation rate (amount of the "
    "violation kinds per opportunity) in watched and unwatched episodes, the gap between them, the share "
    "of violations an overseer or peer detected, the training reward and the fitness. A large positive "
    'gap with few violations detected is "don\'t get caught"; low rates close together are "don\'t".'
)


def training_section(page: Page, data: pl.DataFrame | None, seeds: int = 1) -> None:
    """Learning curves (`purity.reports.training`, long rows); with several seeds, "mean [min, max]"."""
    if data is None or data.height == 0:
        return
    page.section("training", "Training")
    spread = " Mean over seeds [min, max]." if seeds > 1 else ""
    page.note(
        TRAINING_INTRO + spread,
        TRAINING_INTRO + (" Line: mean over seeds; band: min–max." if seeds > 1 else ""),
    )
    page.html(training_charts(data, seeds))
    wide = data.pivot(on="measure", index="generation", values=["mean", "min", "max"])

    def cell(row: dict[str, Any], name: str) -> str:
        mean = row.get(f"mean_{name}")
        if mean is None:
            return "–"
        return (
            f"{fmt(mean)} [{fmt(row[f'min_{name}'])}, {fmt(row[f'max_{name}'])}]" if seeds > 1 else fmt(mean)
        )

    page.gen_table(
        *gen_rows(
            wide.get_column("generation").to_list(),
            wide,
            ["generation", *(label for _, label in training.MEASURES)],
            lambda row: [str(row["generation"]), *(cell(row, name) for name, _ in training.MEASURES)],
        )
    )


# ---------------------------------------------------------------------------------------------
# reflection

REFLECTION_OFF = "Reflection is off in this run: agents change only by mutation."
REFLECTION_INTRO = (
    "Every {every} generation(s) each planner {what}, scoring each candidate change by "
    "simulated futures under the {rule} rule; reflecting costs {cost} payoff. Chosen "
    "changes, with the mean score of the chosen change and of keeping as is on the same "
    "futures (gain = chosen − keep: why a term was dropped)."
)
WRITTEN_NOTE = (
    "A reward and a penalty of the same term differ by the steps or chances of a future: the "
    "realistic and ignorant rules, which score with the current weights, rank futures with as "
    "many of them alike; the hedonistic rule, which scores with the changed weight, lowers a "
    "penalty and strengthens a reward."
)
SQUASHED_NOTE = (
    "Per generation and process term: of the births designed by an agent that carried "
    "the term, how many had it dropped or weakened by their designer."
)


def reflection_section(page: Page, data: Reflection | None) -> None:
    """What reflection changed and why: the chosen changes against keep, and the designed births
    whose designers dropped or weakened a process term."""
    page.section("reflection")
    if data is None:
        page.para(REFLECTION_OFF)
        return
    settings = data.settings
    what = " and ".join(
        w
        for w, on in (
            ("modifies itself", settings.get("self_modify")),
            ("designs its successors", settings.get("successors") == "design"),
        )
        if on
    )
    if data.written:
        page.label("How each process term is written")
        page.table(
            ["term", "written as"],
            [[data.labels.get(k, k), w] for k, w in data.written.items()],
            text_cols=2,
        )
        page.note(WRITTEN_NOTE)
    page.note(
        REFLECTION_INTRO.format(
            every=settings.get("every", 1),
            what=what or "reflects",
            rule=settings.get("rule", "?"),
            cost=fmt(settings.get("cost", 0.0)),
        )
    )
    page.table(
        ["mode", "change", "times chosen", "mean score", "mean keep score", "mean gain"],
        [
            [r["mode"], r["change"], fmt(r["times"]), fmt(r["score"]), fmt(r["keep"]), fmt(r["gain"])]
            for r in data.choices.iter_rows(named=True)
        ],
        text_cols=2,
    )
    if data.kinds is not None and data.kinds.height:
        page.label("Squashed, by definition / by trade-off")
        referenced = data.kinds["false_trade_off"].null_count() < data.kinds.height
        page.table(
            ["rule", "mode", "term", "squashed", "free by definition", "by trade-off"]
            + ["of which false (reference)"] * referenced,
            [
                [r["rule"], r["mode"], data.labels.get(r["term"], r["term"]), fmt(r["squashed"])]
                + [fmt(r["by_definition"]), fmt(r["by_trade_off"])]
                + [fmt(r["false_trade_off"])] * referenced
                for r in data.kinds.iter_rows(named=True)
            ],
            text_cols=3,
        )
    if data.designed.height:
        _designed(page, data)


def _designed(page: Page, data: Reflection) -> None:
    labels = data.labels
    keys = [k for k in labels if k in set(data.designed["term"])]
    share = data.designed.with_columns(
        share=pl.when(pl.col("designed") > 0).then(pl.col("squashed") / pl.col("designed")),
        cell=pl.format("{} of {}", "squashed", "designed"),
    )
    wide = share.pivot(on="term", index="generation", values="share").sort("generation")
    cells = share.pivot(on="term", index="generation", values="cell").sort("generation")
    shares = [Series(labels[k], xs(wide), finite(wide, k), color(i)) for i, k in enumerate(keys)]
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


# ---------------------------------------------------------------------------------------------
# lineage: the dominant lineages, births and mutation


def lineage_picture(page: Page, dom: DominantLineages, caption: str = "") -> None:
    """The dominant lineages: a table in both formats, the picture in the HTML."""
    page.subsection("Dominant lineages" + caption, "dominant-lineages")
    page.note(LINEAGE_NOTE)
    if dom.lineages.height:
        page.html(figure(lineage_svg(dom)))
        page.table(*dominant_rows(dom))


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
    rows = [
        [
            f"{r['lo']}" if r["lo"] == r["hi"] else f"{r['lo']}–{r['hi']}",
            fmt(r["births"]),
            fmt(r["copies"]),
            *[fmt(r[k]) for k in kinds],
        ]
        for r in summary.iter_rows(named=True)
    ]
    return ["generations", "births", "copies", *kinds], rows


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
        totals = births.group_by("kind").agg(pl.col("births").sum()).sort("kind")
        page.table(["kind", births_header], [[r[0], fmt(int(r[1]))] for r in totals.iter_rows()])
    if agents is None:
        return
    page.subsection("Mutation", "mutation")
    page.note(mutation_intro(agents, pooled))
    if mutations_recorded(agents) and summary.height:
        page.table(*mutation_rows(summary))
        if changes.height:
            page.table(
                ["structural change", "births"],
                [[str(r["change"]), fmt(r["count"])] for r in changes.iter_rows(named=True)],
            )


# ---------------------------------------------------------------------------------------------
# the run's facts


def weights_text(weights: dict[str, float]) -> str:
    return "; ".join(f"{k} = {fmt(float(v))}" for k, v in weights.items()) or "none"


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
        page.table(
            ["profile", "description", "weights"],
            [
                [name, fmt(p.get("description") or ""), weights_text(p.get("weights") or {})]
                for name, p in profiles_manifest["profiles"].items()
            ],
            text_cols=3,
        )
    versions = manifest.get("versions") or {}
    rows = (
        [[str(k), fmt(v)] for k, v in versions.items()]
        if isinstance(versions, dict)
        else [["versions", fmt(versions)]]
    )
    if rows:
        page.label("Versions")
        page.table(["package", "version"], rows, text_cols=2)
    page.verbatim("Resolved experiment", experiment_json(manifest))


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
