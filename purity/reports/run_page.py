"""report.md and report.html of one single-seed run, drawn from its `RunReport` (`run_report`)."""

from __future__ import annotations

import polars as pl

from . import price_page, sections, verdict_inference
from .charts import finite, null_series, survival_charts, xs
from .metrics import term_label
from .page import PALETTE, GenRows, Page, Rows, color, figure, fmt, gen_rows, pick_rows
from .run_report import RunReport
from .svg import Series, line_chart
from .verdict_chart import verdict_chart


def page(data: RunReport) -> Page:
    """Both formats of the report (`.markdown()`, `.html_page()`), the verdict first."""
    run = data.run
    page = sections.start_page(f"Survival report: {run.name}", _header(data), _warnings(data), findings(data))
    c = data.curves

    page.section("survival")
    page.note(
        "Share of agents carrying each process term, per generation"
        + (" (the neutral-drift twin in the drift columns)." if run.drift else "."),
        "Share of agents carrying each process term per generation"
        + (" (dashed: the neutral-drift twin)" if run.drift is not None else "")
        + ("; grey: the null's median run and the band 95% of its runs stay in" if _null_kind(data) else "")
        + (
            f"; the dashed vertical line marks the lock-in at generation {data.lock_in.generation}"
            if data.lock_in is not None
            else ""
        )
        + ".",
    )
    page.html(_survival_charts(data))
    if c.survival.height:
        page.gen_table(*_survival_rows(data))

    price_page.run_section(page, data.price, data.drift_price, data.generations)

    page.section("process-share")
    page.note(
        "Process weight / (process + outcome weight) of each agent: 0 is a pure "
        "consequentialist. Mean and quantiles per generation.",
        "Process weight / (process + outcome weight): 0 is a pure consequentialist. "
        "Line: mean; band: 10th–90th percentile.",
    )
    if c.process_share.height:
        page.html(_process_chart(data))
        ps = c.process_share
        page.gen_table(*gen_rows(data.generations, ps, ps.columns, lambda r: [fmt(v) for v in r.values()]))

    page.section("fitness")
    page.note("Mean payoff (fitness gained per episode) of each founding profile, per generation.")
    if c.fitness.height:
        page.html(_fitness_chart(data))
        page.gen_table(*sections.fitness_rows(c.fitness, data.generations, pl.col("payoff"), fmt))

    sections.violations_section(page, run, data.violations)
    sections.training_section(page, data.training)
    sections.reflection_section(page, data.reflection)

    page.section("lineage")
    page.para(_lock_in_text(data) if data.generations else sections.NO_GENERATION)
    if c.lineage.height:
        page.html(_lineage_chart(data))
        page.gen_table(*_lineage_rows(data))
    if data.dominant is not None:
        sections.lineage_picture(page, data.dominant)
    sections.births_and_mutations(
        page, data.births, "births (all generations)", run.agents, data.mutations, data.mutation_changes
    )

    sections.run_section(page, _facts(data), run.manifest, run.manifest)
    return page


# ---------------------------------------------------------------------------------------------
# the verdict


def findings(data: RunReport) -> sections.Findings:
    table = verdict_rows(data) if data.verdict.height else None
    return sections.Findings(
        table,
        _verdict_note(data),
        sections.empty_text(True, bool(data.run.process_terms)),
        verdict_chart(data.verdict),
    )


def verdict_rows(data: RunReport) -> Rows:
    gens = data.generations
    first, last = (gens[0], gens[-1]) if gens else (None, None)
    has_drift = data.run.drift is not None
    has_null = "beyond_null" in data.verdict.columns and data.verdict["beyond_null"].is_not_null().any()
    headers = ["process term", "kind", "scope", f"share at gen {fmt(first)}", f"share at gen {fmt(last)}"]
    headers += ["drift end"] if has_drift else []
    headers += ["null 95% band", "p (Holm)", "verdict", "moved most by"]
    headers += ["selection beyond the null"] if has_null else ["selection beyond drift"] if has_drift else []
    rows = []
    for r in data.verdict.iter_rows(named=True):
        row = [r["label"], r["kind"], fmt(r["scope"]), fmt(r["start"]), fmt(r["end"])]
        row += [fmt(r["drift_end"])] if has_drift else []
        row += [verdict_inference.null_band(r), fmt(r["p_adjusted"]), r["verdict"]]
        row.append(price_page.force_text(r["moved_most"], r["moved_value"]))
        if has_null:
            row.append(verdict_inference.beyond_text(r))
        elif has_drift:
            row.append(price_page.signed(r["beyond_drift"]))
        rows.append(row)
    return headers, rows


def _verdict_note(data: RunReport) -> str:
    note = (
        f"A term is carried while its weight is above {fmt(data.run.threshold)} (inf = hard "
        "constraint counts). " + verdict_inference.note(_null_kind(data), data.run.path, data.run.reflects)
    )
    if data.run.drift is not None:
        note += " drift end: the end share of the run's drift twin, one draw of the drift null."
    return (
        note
        + " "
        + price_page.VERDICT_NOTE
        + (" " + price_page.BEYOND_DRIFT_NOTE if data.run.drift is not None and not _null_kind(data) else "")
    )


def _null_kind(data: RunReport) -> str | None:
    kinds = [k for k in data.verdict["null"].to_list() if k]
    return kinds[0] if kinds else None


# ---------------------------------------------------------------------------------------------
# tables and text


def _survival_rows(data: RunReport) -> GenRows:
    terms = data.run.process_terms
    c = data.curves
    shown = pick_rows(data.generations)
    wide = c.survival.filter(pl.col("generation").is_in(shown)).pivot(
        on="term", index="generation", values="share"
    )
    wide = wide.sort("generation")
    headers = ["generation"] + [term_label(t) for t in terms]
    drift_keys: list[str] = []
    if c.drift_survival is not None and c.drift_survival.height:
        drift_wide = c.drift_survival.filter(pl.col("generation").is_in(shown)).pivot(
            on="term", index="generation", values="share"
        )
        drift_keys = [t["key"] for t in terms if t["key"] in drift_wide.columns]
        headers += [f"{term_label(t)} (drift)" for t in terms if t["key"] in drift_keys]
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


LINEAGE_HEADERS = (
    "generation",
    "largest lineage (founder)",
    "founding profile",
    "agents in it",
    "share",
    "its mean process share",
)


def _lineage_rows(data: RunReport) -> GenRows:
    return gen_rows(
        data.generations,
        data.curves.lineage,
        LINEAGE_HEADERS,
        lambda r: [
            fmt(r["generation"]),
            fmt(r["founder"]),
            r["profile"],
            fmt(r["size"]),
            fmt(r["share"]),
            fmt(r["process_share"]),
        ],
    )


def _lock_in_text(data: RunReport) -> str:
    li, share = data.lock_in, fmt(data.lock_in_share)
    if li is None:
        top = data.curves.lineage.get_column("share").max()
        return (
            f"No lock-in: no lineage ever held more than {share} of the population "
            f"(the largest share reached was {fmt(top)})."
        ) + verdict_inference.lock_in_sentence(data.lock_in_test)
    return (
        f"Lock-in at generation {li.generation}: the lineage of founder {li.founder} "
        f"(profile {li.profile}) held {fmt(li.share)} of the population (threshold {share}); "
        f"its mean process share then was {fmt(li.process_share)}."
    ) + verdict_inference.lock_in_sentence(data.lock_in_test)


def _facts(data: RunReport) -> list[tuple[str, str]]:
    m = data.run.manifest
    facts = [
        ("name", m.get("name")),
        ("role", m.get("role")),
        ("status", m.get("status")),
        ("seed", m.get("seed")),
        ("generations done / planned", f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}"),
        ("stopped", sections.stopped_text(m) or "no"),
        ("survival threshold", fmt(float(m["survival_threshold"]))),
        *sections.common_facts(m.get("arena", {}), m, data.lock_in_share),
        ("directory", str(data.run.path)),
    ]
    drift = data.run.drift
    if drift is not None:
        d = drift.manifest
        stop = sections.stopped_text(d)
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


def _header(data: RunReport) -> str:
    m = data.run.manifest
    stop = sections.stopped_text(m)
    return (
        f"Arena {m['arena'].get('name', '?')}, seed {fmt(m.get('seed'))}, "
        f"{len(data.generations)} generations recorded, status {fmt(m.get('status'))}"
        + (f", {stop}" if stop else "")
        + "."
    )


def _warnings(data: RunReport) -> list[str]:
    m, out = data.run.manifest, []
    if m.get("status") != "complete":
        done, planned = fmt(m.get("generations_done")), fmt(m.get("generations"))
        out.append(
            f"This run is {fmt(m.get('status'))}: {done} of {planned} planned generations are "
            "complete; the numbers cover the generations written so far."
        )
    if text := sections.stopped_text(m):
        out.append(
            f"This run {text}: one founding profile held the whole population, so the "
            "experiment ended early (stop_at_fixation); the numbers cover the generations written."
        )
    return out + _one_seed(data)


def _one_seed(data: RunReport) -> list[str]:
    """How little one seed shows, said before anything else (each term's band in its row)."""
    if data.verdict.height == 0 or "note" not in data.verdict.columns:
        return []
    first = next((n for n in data.verdict["note"].to_list() if n), None)
    if first is None:
        return []
    return [first.split(" Without selection")[0] + verdict_inference.ONE_SEED]


# ---------------------------------------------------------------------------------------------
# charts


def _survival_charts(data: RunReport) -> str:
    c = data.curves
    if not c.survival.height:
        return ""

    def series(key: str, label: str, color: str) -> list[Series]:
        main = c.survival.filter(pl.col("term") == key)
        out = [Series(label, xs(main), finite(main, "share"), color)]
        if c.drift_survival is not None:
            d = c.drift_survival.filter(pl.col("term") == key)
            if d.height:
                out.append(Series(f"{label} (drift)", xs(d), finite(d, "share"), color, dashed=True))
        return out + null_series(curve, key, label, kind)

    kind, curve = verdict_inference.null_curve(data.run.path)

    return survival_charts(data.run.process_terms, series, _lock_in_marks(data))


def _lock_in_marks(data: RunReport) -> list[tuple[float, str]]:
    if data.lock_in is None:
        return []
    return [(float(data.lock_in.generation), f"lock-in (gen {data.lock_in.generation})")]


def _process_chart(data: RunReport) -> str:
    df = data.curves.process_share
    band = (finite(df, "q10"), finite(df, "q90")) if {"q10", "q90"} <= set(df.columns) else None
    svg = line_chart(
        [Series("mean process share", xs(df), finite(df, "mean"), PALETTE[0], band=band)],
        title="Mean process share",
        y_label="process share",
        y_range=(0.0, 1.0),
    )
    return figure(svg)


def _fitness_chart(data: RunReport) -> str:
    fitness = data.curves.fitness
    series = []
    for i, p in enumerate(sections.profile_names(fitness)):
        df = fitness.filter(pl.col("profile") == p)
        series.append(Series(p, xs(df), finite(df, "payoff"), color(i)))
    return figure(line_chart(series, title="Mean payoff by profile", y_label="payoff"))


def _lineage_chart(data: RunReport) -> str:
    lineage = data.curves.lineage
    svg = line_chart(
        [Series("largest lineage share", xs(lineage), finite(lineage, "share"), PALETTE[1])],
        title="Largest lineage share",
        y_label="share of population",
        y_range=(0.0, 1.0),
        hlines=[(data.lock_in_share, "lock-in threshold")],
        vlines=_lock_in_marks(data),
    )
    return figure(svg)
