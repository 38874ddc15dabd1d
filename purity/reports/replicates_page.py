"""report.md and report.html of one experiment run with K seeds, drawn from its `ReplicatesReport`.

Same sections as a single-seed report, every number aggregated over seeds (`replicates_report`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from . import price_page, sections, verdict_inference
from . import replicates as agg
from .charts import band_series, null_series, spread_chart, survival_charts
from .metrics import term_label
from .page import PALETTE, GenRows, Page, Rows, band, color, figure, fmt, gen_rows, pick_rows
from .replicates_report import ReplicatesReport
from .svg import Series, line_chart
from .verdict_chart import verdict_chart

SEED_NOTE = (
    "Each seed folder is a complete single-seed run: `purity report <this directory>/seed=<s>` "
    "writes its own report."
)
PROCESS_INTRO = (
    "Process weight / (process + outcome weight) of each agent: 0 is a pure "
    "consequentialist. Each seed's mean over its agents per generation; mean, min and "
    "max of those over seeds."
)
FITNESS_INTRO = (
    "Mean payoff (fitness gained per episode) of each founding profile per generation: "
    "mean [min, max] over the seeds in which the profile is present."
)


def page(data: ReplicatesReport) -> Page:
    """Both formats of the report (`.markdown()`, `.html_page()`), the verdict first."""
    reps = data.reps
    title = f"Survival report: {reps.name} ({_k(data)} seeds)"
    page = sections.start_page(title, _header(data), _warnings(data), findings(data))

    page.section("survival")
    marks = lock_in_marks(data.lock_ins)
    chart_note = (
        " Line: mean over seeds; shaded band: min–max over seeds"
        + ("; dashed line and lighter band: the drift twins" if data.has_drift else "")
        + (
            "; grey: the null, its median run and the band 95% of its means over as many runs stay in (the band the mean line is read against)"
            if _null_kind(data)
            else ""
        )
        + ("; dashed vertical lines: lock-in generations" if marks else "")
        + "."
    )
    page.note(_survival_intro(data), _survival_intro(data) + chart_note)
    page.html(_survival_charts(data, marks))
    if data.survival.height:
        page.gen_table(*_survival_rows(data))

    price_page.replicates_section(page, data.price, data.drift_price, data.price_totals, data.max_residual)

    page.section("process-share")
    page.note(PROCESS_INTRO, PROCESS_INTRO + " Line: mean; band: min–max over seeds.")
    if data.process_share.height:
        page.html(
            spread_chart(data.process_share, "Mean process share", "process share", PALETTE[0], (0.0, 1.0))
        )
        page.gen_table(*_spread_rows(data.process_share, data, "mean process share"))

    page.section("fitness")
    page.note(FITNESS_INTRO)
    if data.fitness.height:
        page.html(_fitness_chart(data))
        page.gen_table(
            *sections.fitness_rows(
                data.fitness, data.generations, pl.struct("mean", "min", "max"), _band_cell
            )
        )

    sections.violations_section(page, data.pooled, data.violations, pooled=True)
    sections.training_section(page, data.training, _k(data))
    sections.reflection_section(page, data.reflection)
    _lineage(page, data, marks)

    def seeds(p: Page) -> None:
        p.label("Seeds")
        p.table(*_seed_rows(data), text_cols=6)
        p.note(SEED_NOTE)

    sections.run_section(
        page, _facts(data), reps.manifest, data.first.manifest if data.first is not None else None, seeds
    )
    return page


def _lineage(page: Page, data: ReplicatesReport, marks: list[tuple[float, str]]) -> None:
    page.section("lineage")
    page.para(_lock_in_text(data) if data.generations else sections.NO_GENERATION)
    if data.lock_ins.height and data.generations:
        page.table(*_lock_in_rows(data))
    if data.lineage.height:
        hlines = [(data.lock_in_share, "lock-in threshold")]
        chart = spread_chart(
            data.lineage,
            "Largest lineage share",
            "share of population",
            PALETTE[1],
            (0.0, 1.0),
            hlines=hlines,
            vlines=marks,
        )
        page.html(chart)
        page.gen_table(*_spread_rows(data.lineage, data, "largest lineage share"))
    if data.dominant is not None and data.first is not None:
        sections.lineage_picture(page, data.dominant, f" of seed {agg.seeds_of(data.reps)[0]}")
    pooled = data.pooled
    sections.births_and_mutations(
        page,
        data.births,
        "births (all generations, all seeds)",
        pooled.agents if pooled is not None else None,
        data.mutations,
        data.mutation_changes,
        pooled=True,
    )


# ---------------------------------------------------------------------------------------------
# the verdict


def _force_text(r: dict, k: int) -> str:
    """The force with the largest mean contribution, and in how many seeds each force was largest."""
    best = r.get("moved_most")
    if best is None:
        return "–"
    counts = [(f, r[f"largest_{f}"]) for f in price_page.FORCES if r.get(f"largest_{f}")]
    text = price_page.force_text(best, r["moved_value"])
    if counts:
        largest = ", ".join(f"{price_page.FORCE_LABELS[f]} {c}" for f, c in counts)
        text += f"; largest in: {largest} (of {k} seeds)"
    return text


def findings(data: ReplicatesReport) -> sections.Findings:
    table = verdict_rows(data) if data.verdict.height else None
    empty = sections.empty_text(bool(data.reps.runs), bool(agg.process_terms(data.reps)))
    return sections.Findings(table, _verdict_note(data), empty, verdict_chart(data.verdict, "end_mean"))


def verdict_rows(data: ReplicatesReport) -> Rows:
    drift = data.has_drift
    has_null = "beyond_null" in data.verdict.columns and data.verdict["beyond_null"].is_not_null().any()
    headers = ["process term", "kind", "scope", "start share", "end share"] + (
        ["drift end share"] if drift else []
    )
    headers += [
        "survived in k of K seeds",
        "95% interval (Wilson)",
        "survived (majority of seeds)",
        "end share 95% (t)",
        "null 95% band",
        "p (Holm)",
        "verdict",
    ]
    headers += ["moved most by"] + (
        ["selection beyond the null"] if has_null else ["selection beyond drift"] if drift else []
    )
    rows = []
    for r in data.verdict.iter_rows(named=True):
        row = [r["label"], r["kind"], fmt(r["scope"]), _cell(r, "start"), _cell(r, "end")]
        row += [_cell(r, "drift")] if drift else []
        row += [
            f"{r['survived']} of {r['seeds']}",
            f"[{fmt(r['survived_low'])}, {fmt(r['survived_high'])}]",
            "yes" if 2 * r["survived"] > r["seeds"] else "no",
            "–" if r["end_low"] is None else f"[{fmt(r['end_low'])}, {fmt(r['end_high'])}]",
            verdict_inference.null_band(r),
            fmt(r["p_adjusted"]),
            r["verdict"],
        ]
        row.append(_force_text(r, r["force_seeds"] or 0))
        if has_null:
            row.append(verdict_inference.beyond_text(r))
        elif drift:
            row.append(_cell(r, "beyond"))
        rows.append(row)
    return headers, rows


def _null_kind(data: ReplicatesReport) -> str | None:
    kinds = [k for k in data.verdict["null"].to_list() if k] if "null" in data.verdict.columns else []
    return kinds[0] if kinds else None


def _cell(r: dict, name: str) -> str:
    return band(r[f"{name}_mean"], r[f"{name}_min"], r[f"{name}_max"])


def _verdict_note(data: ReplicatesReport) -> str:
    threshold = fmt(data.first.threshold) if data.first is not None else "–"
    note = (
        f"Shares are mean [min, max] over the {_k(data)} seeds, at each seed's first and last "
        f"recorded generation. A term is carried while its weight is above {threshold}; it "
        "survived in a seed when its end share there is above 0; the interval is the Wilson 95 % "
        "score interval for the proportion of seeds in which it survives. The end share's 95% "
        "interval is Student's t over the seeds, a description that covers less than 95% where "
        "shares pile up at 0 or 1 (docs/inference.md); the null's band is of the K-seed mean. "
        + verdict_inference.note(
            _null_kind(data),
            data.reps.runs[0].path if data.reps.runs else None,
            bool(data.reps.runs) and data.reps.runs[0].reflects,
        )
    )
    note += (
        " " + price_page.VERDICT_NOTE + " Over seeds: the force with the largest mean "
        "contribution, and in how many seeds each force was the largest."
    )
    if data.has_drift and not _null_kind(data):
        note += " " + price_page.BEYOND_DRIFT_NOTE + " Mean [min, max] over seeds."
    return note


# ---------------------------------------------------------------------------------------------
# header and warnings


def _seed_list(seeds: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seeds)


def _k(data: ReplicatesReport) -> int:
    return len(data.reps.runs)


def _header(data: ReplicatesReport) -> str:
    m, first = data.reps.manifest, data.first
    arena = first.manifest["arena"].get("name", "?") if first is not None else "?"
    text = (
        f"Arena {arena}, {_k(data)} seeds ({_seed_list(data.seeds.get_column('seed').to_list())}), "
        f"{len(data.generations)} generations (longest run), status {fmt(m.get('status'))}"
    )
    stops = data.seeds.filter(pl.col("stopped_at").is_not_null())
    if stops.height:
        text += "; " + "; ".join(
            f"seed {r['seed']} stopped at fixation at generation {r['stopped_at']}"
            for r in stops.iter_rows(named=True)
        )
    return text + "."


def _warnings(data: ReplicatesReport) -> list[str]:
    m, out = data.reps.manifest, []
    if m.get("status") != "complete":
        how = {"interrupted": "was interrupted", "failed": "stopped on an error"}.get(m.get("status"))
        out.append(
            f"This experiment {how or 'is ' + fmt(m.get('status'))}: {_k(data)} of {len(m.get('runs') or [])} "
            f"seeds have a run directory, and the numbers cover those (`purity run --resume {data.reps.path}`)."
        )
    if data.reps.missing:
        out.append("Not started (no manifest yet): " + ", ".join(data.reps.missing) + ".")
    if note := hold_note(data):
        out.append(note)
    return out


def _held_text(held: pl.DataFrame) -> tuple[bool, str]:
    return held.height == 1, ", ".join(
        f"{r['seed']} (at generation {r['last']})" for r in held.iter_rows(named=True)
    )


def hold_note(data: ReplicatesReport) -> str:
    """How seeds of different lengths are averaged; "" when every seed has every generation."""
    if not data.generations:
        return ""
    last = data.generations[-1]
    parts = []
    if data.held.height:
        one, which = _held_text(data.held)
        its = "its" if one else "their"
        parts.append(
            f"{'Seed' if one else 'Seeds'} {which} stopped at fixation: {its} curves hold "
            f"{its} last value up to generation {last}, the last generation any seed or "
            "drift twin recorded, so each mean and band covers every seed at every "
            "generation (the held count in the seeds column)."
        )
    if data.drift_held.height:
        one, which = _held_text(data.drift_held)
        parts.append(
            f"The drift {'twin of seed' if one else 'twins of seeds'} {which} stopped at "
            f"fixation too and {'is' if one else 'are'} held the same way."
        )
    held_seeds = set(data.held.get_column("seed").to_list())
    short = data.seeds.filter(pl.col("last").is_null() | (pl.col("last") < last))
    short = [s for s in short.get_column("seed").to_list() if s not in held_seeds]
    if short:
        parts.append(
            f"Seeds {_seed_list(short)} have fewer generations and did not stop at fixation "
            "(still running or failed): a generation's mean is over the seeds that recorded "
            "it (the seeds column)."
        )
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# tables


def _survival_intro(data: ReplicatesReport) -> str:
    text = (
        f"Share of agents carrying each process term per generation: mean over the {_k(data)} "
        "seeds, with [min, max] over seeds"
    )
    if data.has_drift:
        text += "; the drift columns are the neutral-drift twins, likewise"
    return text + (
        ". A seed stopped at fixation holds its last value to the last generation any "
        "run recorded; seeds is how many seeds each mean covers."
    )


def _gen_cell(seeds: int | None, held: int | None) -> str:
    if seeds is None:
        return "–"
    return f"{seeds} ({held} held)" if held else str(seeds)


def _band_cell(cell: dict | None) -> str:
    return band(cell["mean"], cell["min"], cell["max"]) if cell else "–"


def _survival_rows(data: ReplicatesReport) -> GenRows:
    terms = agg.process_terms(data.reps)
    shown = pick_rows(data.generations)
    headers = ["generation", "seeds"] + [term_label(t) for t in terms]
    frames = [("", data.survival)]
    if data.drift_survival is not None and data.drift_survival.height:
        frames.append(("drift|", data.drift_survival))
        headers += [f"{term_label(t)} (drift)" for t in terms]
    wide = pl.DataFrame({"generation": shown}, schema={"generation": pl.Int64})
    for prefix, df in frames:
        cells = df.filter(pl.col("generation").is_in(shown)).with_columns(
            cell=pl.struct("mean", "min", "max")
        )
        piv = cells.pivot(on="term", index="generation", values="cell")
        wide = wide.join(
            piv.rename({c: prefix + c for c in piv.columns if c != "generation"}), on="generation", how="left"
        )
        if not prefix:
            counts = cells.group_by("generation").agg(pl.col("seeds").max(), pl.col("held").max())
            wide = wide.join(counts, on="generation", how="left")
    return gen_rows(
        data.generations,
        wide,
        headers,
        lambda r: (
            [fmt(r["generation"]), _gen_cell(r.get("seeds"), r.get("held"))]
            + [_band_cell(r.get(prefix + t["key"])) for prefix, _ in frames for t in terms]
        ),
    )


def _spread_rows(df: pl.DataFrame, data: ReplicatesReport, value_header: str) -> GenRows:
    return gen_rows(
        data.generations,
        df,
        ["generation", "seeds", f"{value_header}: mean over seeds", "min", "max"],
        lambda r: [
            fmt(r["generation"]),
            _gen_cell(r["seeds"], r["held"]),
            fmt(r["mean"]),
            fmt(r["min"]),
            fmt(r["max"]),
        ],
    )


def _lock_in_text(data: ReplicatesReport) -> str:
    li, share = data.lock_ins, fmt(data.lock_in_share)
    hits = li.filter(pl.col("generation").is_not_null())
    text = f"Lock-in (one lineage holds more than {share} of the population) in {hits.height} of {li.height} seeds"
    if hits.height:
        text += ": " + "; ".join(
            f"seed {r['seed']} at generation {r['generation']} (its process share then {fmt(r['process_share'])})"
            for r in hits.iter_rows(named=True)
        )
    return text + "." + verdict_inference.lock_in_sentence(data.lock_in_test)


LOCK_IN_HEADERS = [
    "seed",
    "lock-in generation",
    "lineage (founder)",
    "founding profile",
    "its share then",
    "its mean process share then",
    "largest share reached",
]


def _lock_in_rows(data: ReplicatesReport) -> Rows:
    rows = [
        [
            fmt(r["seed"]),
            fmt(r["generation"]) if r["generation"] is not None else "none",
            *[fmt(r[c]) for c in ("founder", "profile", "share", "process_share", "max_share")],
        ]
        for r in data.lock_ins.iter_rows(named=True)
    ]
    return list(LOCK_IN_HEADERS), rows


def lock_in_marks(lock_ins: pl.DataFrame, limit: int = 6) -> list[tuple[float, str]]:
    """One vertical marker per distinct lock-in generation, naming its seeds; with more than
    `limit` distinct generations only the first seed's lock-in is marked."""
    hits = lock_ins.filter(pl.col("generation").is_not_null())
    if hits.height == 0:
        return []
    if hits.select(pl.col("generation").n_unique()).item() > limit:
        r = hits.sort("seed").row(0, named=True)
        return [(float(r["generation"]), f"lock-in seed {r['seed']} (first of {hits.height})")]
    marks = []
    for g, seeds in hits.group_by("generation").agg(pl.col("seed").sort()).sort("generation").iter_rows():
        if len(seeds) == 1:
            who = f"seed {seeds[0]}"
        else:
            who = f"seeds {_seed_list(seeds)}" if len(seeds) <= 3 else f"{len(seeds)} seeds"
        marks.append((float(g), f"lock-in {who}"))
    return marks


def _facts(data: ReplicatesReport) -> list[tuple[str, str]]:
    m, first = data.reps.manifest, data.first
    fm = first.manifest if first is not None else {}
    drift = data.seeds.get_column("has_drift").sum() if data.seeds.height else 0
    facts = [
        ("name", m.get("name")),
        ("role", m.get("role")),
        ("status", m.get("status")),
        ("seeds", _seed_list(m.get("seeds") or [])),
        ("generations planned", fm.get("generations")),
        ("generations recorded (longest run)", len(data.generations)),
        ("survival threshold", fmt(first.threshold) if first is not None else None),
        *sections.common_facts(fm.get("arena", {}), m, data.lock_in_share),
        ("directory", str(data.reps.path)),
        ("drift twins", f"{drift} of {_k(data)} seeds"),
    ]
    return [(k, fmt(v)) for k, v in facts]


def _seed_rows(data: ReplicatesReport) -> Rows:
    headers = ["seed", "folder", "status", "generations done / planned", "stopped", "drift twin"]
    rows = []
    for seed, run in zip(agg.seeds_of(data.reps), data.reps.runs):
        m, d = run.manifest, run.drift
        drift = "none"
        if d is not None:
            stop = sections.stopped_text(d.manifest)
            drift = (
                f"{fmt(d.manifest.get('status'))}, {fmt(d.manifest.get('generations_done'))} generations"
                + (f", {stop}" if stop else "")
            )
        done = f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}"
        rows.append(
            [fmt(seed), run.path.name, fmt(m.get("status")), done, sections.stopped_text(m) or "no", drift]
        )
    return headers, rows


# ---------------------------------------------------------------------------------------------
# charts


def _survival_charts(data: ReplicatesReport, marks: list[tuple[float, str]]) -> str:
    if not data.survival.height:
        return ""

    def series(key: str, label: str, color: str) -> list[Series]:
        out = [band_series(data.survival.filter(pl.col("term") == key), f"{label} (mean of seeds)", color)]
        if data.drift_survival is not None:
            d = data.drift_survival.filter(pl.col("term") == key)
            if d.height:
                out.append(band_series(d, f"{label} (drift, mean)", color, dashed=True, opacity=0.07))
        return out + null_series(curve, key, label, kind, seeds=len(data.reps.runs))

    kind, curve = verdict_inference.null_curve(data.reps.runs[0].path) if data.reps.runs else (None, None)

    return survival_charts(
        agg.process_terms(data.reps), series, marks, ": mean over seeds, band min–max over seeds"
    )


def _fitness_chart(data: ReplicatesReport) -> str:
    series = [
        band_series(data.fitness.filter(pl.col("profile") == p), p, color(i), opacity=0.08)
        for i, p in enumerate(sections.profile_names(data.fitness))
    ]
    svg = line_chart(series, title="Mean payoff by profile (mean over seeds, band min–max)", y_label="payoff")
    return figure(svg)
