"""`report.md` and `report.html` for a replicates directory: one experiment, K seeds.

Same sections as a single-seed report, every number aggregated over seeds (`replicates`): curves
are the mean over seeds with the min–max band, the verdict says in how many seeds each term
survived (with a Wilson 95 % interval), lock-in is listed per seed, violations are pooled. Each
`seed=<s>/` folder stays a complete run with its own report (`write_report(<dir>/seed=<s>)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from . import metrics, training
from . import price as price_mod
from . import replicates as agg
from .lineage import DominantLineages, dominant_lineages
from .load import Replicates, Run, load_replicates
from .render import (
    FORCE_COLORS,
    NO_GENERATION,
    OBSERVED_COLOR,
    PALETTE,
    UNATTRIBUTED_COLOR,
    GenRows,
    Page,
    Rows,
    births_and_mutations,
    common_facts,
    empty_text,
    figure,
    finite,
    fitness_rows,
    gen_rows,
    lineage_picture,
    pick_rows,
    price_charts,
    price_section,
    price_total_rows,
    profile_names,
    reflection_section,
    run_section,
    start_page,
    stopped_text,
    survival_charts,
    training_section,
    violations_section,
    write_page,
    xs,
)
from .svg import Series, line_chart
from .text import fmt

__all__ = ["ReplicateData", "build", "collect", "write_replicates_report"]


def write_replicates_report(
    path: str | Path, *, lock_in_share: float | None = None, tolerance: float = 0.05
) -> tuple[Path, Path]:
    """Read a replicates directory and write report.md and report.html into its top folder."""
    reps = load_replicates(path)
    data = collect(reps, lock_in_share=lock_in_share, tolerance=tolerance)
    return write_page(reps.path, build(data))


@dataclass(frozen=True)
class ReplicateData:
    reps: Replicates
    tolerance: float
    lock_in_share: float
    seeds: pl.DataFrame
    verdict: pl.DataFrame
    survival: pl.DataFrame
    drift_survival: pl.DataFrame | None
    process_share: pl.DataFrame
    fitness: pl.DataFrame
    lineage: pl.DataFrame
    lock_ins: pl.DataFrame
    pooled: Run | None
    violations: pl.DataFrame
    births: pl.DataFrame
    mutations: pl.DataFrame
    mutation_changes: pl.DataFrame
    held: pl.DataFrame
    drift_held: pl.DataFrame
    price: pl.DataFrame = field(default_factory=pl.DataFrame)
    drift_price: pl.DataFrame | None = None
    price_totals: pl.DataFrame = field(default_factory=pl.DataFrame)
    max_residual: float | None = None
    dominant: DominantLineages | None = None
    generations: list[int] = field(default_factory=list)

    @property
    def first(self) -> Run | None:
        return self.reps.runs[0] if self.reps.runs else None

    @property
    def has_drift(self) -> bool:
        return self.drift_survival is not None


def collect(
    reps: Replicates, *, lock_in_share: float | None = None, tolerance: float = 0.05
) -> ReplicateData:
    share = reps.lock_in_share if lock_in_share is None else lock_in_share
    gmax = agg.horizon(reps)
    pooled = agg.pooled(reps) if reps.runs else None
    gens: list[int] = []
    if pooled is not None and pooled.agents.height:
        gens = list(range(int(pooled.agents.get_column("generation").min()), (gmax or 0) + 1))
    ranges = metrics.generation_ranges(gens[0], gens[-1]) if gens else []
    has_drift = any(r.drift is not None for r in reps.runs)
    empty = pl.DataFrame()
    steps = agg.price_steps(reps)
    drift_steps = agg.price_steps(reps, drift=True)
    verdict = agg.verdict(reps, tolerance) if reps.runs else pl.DataFrame(schema=agg.VERDICT_SCHEMA)
    residuals = [r for r in map(price_mod.max_residual, steps.values()) if r is not None]
    first = reps.runs[0] if reps.runs else None
    return ReplicateData(
        reps=reps,
        tolerance=tolerance,
        lock_in_share=share,
        seeds=agg.seed_table(reps),
        verdict=verdict.join(agg.forces(steps, drift_steps), on="term", how="left", maintain_order="left"),
        survival=agg.survival(reps),
        drift_survival=agg.survival(reps, drift=True) if has_drift else None,
        process_share=agg.process_share(reps),
        fitness=agg.fitness(reps),
        lineage=agg.lineage(reps),
        lock_ins=agg.lock_ins(reps, share),
        pooled=pooled,
        violations=metrics.violations(pooled) if pooled is not None else empty,
        births=metrics.births(pooled) if pooled is not None else empty,
        mutations=metrics.mutation_summary(pooled.agents, ranges) if pooled is not None else empty,
        mutation_changes=metrics.mutation_changes(pooled.agents) if pooled is not None else empty,
        held=agg.held_seeds(reps),
        drift_held=agg.held_seeds(reps, drift=True),
        price=agg.price_cumulative(reps, steps),
        drift_price=agg.price_cumulative(reps, drift_steps, drift=True) if drift_steps else None,
        price_totals=agg.price_totals(steps, drift_steps),
        max_residual=max(residuals) if residuals else None,
        dominant=(
            dominant_lineages(first.agents, first.lineage)
            if first is not None and first.agents.height
            else None
        ),
        generations=gens,
    )


# ---------------------------------------------------------------------------------------------
# text shared by both formats


def band(mean: float | None, lo: float | None, hi: float | None) -> str:
    """ "mean [min, max]" over seeds."""
    if mean is None:
        return "–"
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def _seed_list(seeds: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seeds)


def _k(data: ReplicateData) -> int:
    return len(data.reps.runs)


def _header(data: ReplicateData) -> str:
    m, first = data.reps.manifest, data.first
    arena = first.manifest["arena"].get("name", "?") if first is not None else "?"
    seeds = [s for s in data.seeds.get_column("seed").to_list()]
    text = (
        f"Arena {arena}, {_k(data)} seeds ({_seed_list(seeds)}), "
        f"{len(data.generations)} generations (longest run), status {fmt(m.get('status'))}"
    )
    stops = data.seeds.filter(pl.col("stopped_at").is_not_null())
    if stops.height:
        text += "; " + "; ".join(
            f"seed {r['seed']} stopped at fixation at generation {r['stopped_at']}"
            for r in stops.iter_rows(named=True)
        )
    return text + "."


def _warnings(data: ReplicateData) -> list[str]:
    m, out = data.reps.manifest, []
    if m.get("status") != "complete":
        out.append(
            f"This experiment is {fmt(m.get('status'))}: {_k(data)} of "
            f"{len(m.get('runs') or [])} seeds have a run directory; the numbers cover what "
            "has been written so far."
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


def hold_note(data: ReplicateData) -> str:
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


def _force_text(r: dict, k: int) -> str:
    """The force with the largest mean contribution, and in how many seeds each force was largest."""
    best = r.get("moved_most")
    if best is None:
        return "–"
    counts = [(f, r[f"largest_{f}"]) for f in price_mod.FORCES if r.get(f"largest_{f}")]
    text = price_mod.force_text(best, r["moved_value"])
    if counts:
        text += (
            "; largest in: "
            + ", ".join(f"{price_mod.FORCE_LABELS[f]} {c}" for f, c in counts)
            + f" (of {k} seeds)"
        )
    return text


def _verdict_rows(data: ReplicateData) -> Rows:
    headers = ["process term", "kind", "scope", "start share", "end share"]
    if data.has_drift:
        headers.append("drift end share")
    headers += [
        "survived in k of K seeds",
        "95% interval (Wilson)",
        "survived (majority of seeds)",
        "verdict",
    ]
    if data.has_drift:
        headers.append("vs drift")
    headers.append("moved most by")
    if data.has_drift:
        headers.append("selection beyond drift")
    rows = []
    for r in data.verdict.iter_rows(named=True):
        row = [
            r["label"],
            r["kind"],
            fmt(r["scope"]),
            band(r["start_mean"], r["start_min"], r["start_max"]),
            band(r["end_mean"], r["end_min"], r["end_max"]),
        ]
        if data.has_drift:
            row.append(band(r["drift_mean"], r["drift_min"], r["drift_max"]))
        row += [
            f"{r['survived']} of {r['seeds']}",
            f"[{fmt(r['survived_low'])}, {fmt(r['survived_high'])}]",
            "yes" if 2 * r["survived"] > r["seeds"] else "no",
            r["verdict"],
        ]
        if data.has_drift:
            row.append(fmt(r["vs_drift"]))
        row.append(_force_text(r, r["force_seeds"] or 0))
        if data.has_drift:
            row.append(band(r["beyond_mean"], r["beyond_min"], r["beyond_max"]))
        rows.append(row)
    return headers, rows


def _verdict_note(data: ReplicateData) -> str:
    t = fmt(data.tolerance)
    first = data.first
    threshold = fmt(first.threshold) if first is not None else "–"
    note = (
        f"Shares are mean [min, max] over the {_k(data)} seeds, at each seed's first and last "
        f"recorded generation. A term is carried while its weight is above {threshold}; it "
        "survived in a seed when its end share there is above 0; the interval is the Wilson 95 % "
        "score interval for the proportion of seeds in which it survives. The verdict applies to "
        f"the mean shares: extinct (mean end share 0, i.e. extinct in every seed), declined / "
        f"spread (mean end more than {t} below / above mean start), else held."
    )
    if data.has_drift:
        note += (
            f" vs drift compares the mean end share with the drift twins' mean end share "
            f"(below / near / above, tolerance {t})."
        )
    note += (
        " " + price_mod.VERDICT_NOTE + " Over seeds: the force with the largest mean "
        "contribution, and in how many seeds each force was the largest."
    )
    if data.has_drift:
        note += " " + price_mod.BEYOND_DRIFT_NOTE + " Mean [min, max] over seeds."
    return note


def _gen_cell(seeds: int | None, held: int | None) -> str:
    if seeds is None:
        return "–"
    return f"{seeds} ({held} held)" if held else str(seeds)


def _survival_rows(data: ReplicateData) -> GenRows:
    terms = agg.process_terms(data.reps)
    shown = pick_rows(data.generations)
    headers = ["generation", "seeds"] + [metrics.term_label(t) for t in terms]
    frames = [("", data.survival)]
    if data.drift_survival is not None and data.drift_survival.height:
        frames.append(("drift|", data.drift_survival))
        headers += [f"{metrics.term_label(t)} (drift)" for t in terms]
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


def _band_cell(cell: dict | None) -> str:
    return band(cell["mean"], cell["min"], cell["max"]) if cell else "–"


def _spread_rows(df: pl.DataFrame, data: ReplicateData, value_header: str) -> GenRows:
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


def _lock_in_text(data: ReplicateData) -> str:
    li, share = data.lock_ins, fmt(data.lock_in_share)
    hits = li.filter(pl.col("generation").is_not_null())
    text = (
        f"Lock-in (one lineage holds more than {share} of the population) in {hits.height} of "
        f"{li.height} seeds"
    )
    if hits.height:
        text += ": " + "; ".join(
            f"seed {r['seed']} at generation {r['generation']} (its process share "
            f"then {fmt(r['process_share'])})"
            for r in hits.iter_rows(named=True)
        )
    return text + "."


def _lock_in_rows(data: ReplicateData) -> Rows:
    headers = [
        "seed",
        "lock-in generation",
        "lineage (founder)",
        "founding profile",
        "its share then",
        "its mean process share then",
        "largest share reached",
    ]
    rows = [
        [
            fmt(r["seed"]),
            fmt(r["generation"]) if r["generation"] is not None else "none",
            fmt(r["founder"]),
            fmt(r["profile"]),
            fmt(r["share"]),
            fmt(r["process_share"]),
            fmt(r["max_share"]),
        ]
        for r in data.lock_ins.iter_rows(named=True)
    ]
    return headers, rows


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
        who = (
            f"seed {seeds[0]}"
            if len(seeds) == 1
            else f"seeds {_seed_list(seeds)}"
            if len(seeds) <= 3
            else f"{len(seeds)} seeds"
        )
        marks.append((float(g), f"lock-in {who}"))
    return marks


def _facts(data: ReplicateData) -> list[tuple[str, str]]:
    m, first = data.reps.manifest, data.first
    fm = first.manifest if first is not None else {}
    arena = fm.get("arena", {})
    drift = data.seeds.get_column("has_drift").sum() if data.seeds.height else 0
    facts = [
        ("name", m.get("name")),
        ("role", m.get("role")),
        ("status", m.get("status")),
        ("seeds", _seed_list(m.get("seeds") or [])),
        ("generations planned", fm.get("generations")),
        ("generations recorded (longest run)", len(data.generations)),
        ("survival threshold", fmt(first.threshold) if first is not None else None),
        *common_facts(arena, m, data.lock_in_share),
        ("directory", str(data.reps.path)),
        ("drift twins", f"{drift} of {_k(data)} seeds"),
    ]
    return [(k, fmt(v)) for k, v in facts]


def _seed_rows(data: ReplicateData) -> Rows:
    headers = ["seed", "folder", "status", "generations done / planned", "stopped", "drift twin"]
    rows = []
    for seed, run in zip(agg.seeds_of(data.reps), data.reps.runs):
        m = run.manifest
        d = run.drift
        drift = (
            "none"
            if d is None
            else (
                f"{fmt(d.manifest.get('status'))}, "
                f"{fmt(d.manifest.get('generations_done'))} generations"
                + (f", {stopped_text(d.manifest)}" if stopped_text(d.manifest) else "")
            )
        )
        rows.append(
            [
                fmt(seed),
                run.path.name,
                fmt(m.get("status")),
                f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}",
                stopped_text(m) or "no",
                drift,
            ]
        )
    return headers, rows


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


def _survival_intro(data: ReplicateData) -> str:
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


# ---------------------------------------------------------------------------------------------
# the page


def build(data: ReplicateData) -> Page:
    """Both formats of the report (`.markdown()`, `.html_page()`)."""
    reps = data.reps
    page = start_page(
        f"Survival report: {reps.name} ({_k(data)} seeds)",
        _header(data),
        _warnings(data),
        _verdict_rows(data) if data.verdict.height else None,
        _verdict_note(data),
        empty_text(bool(reps.runs), bool(agg.process_terms(reps))),
    )

    page.section("survival")
    marks = lock_in_marks(data.lock_ins)
    chart_note = (
        " Line: mean over seeds; shaded band: min–max over seeds"
        + ("; dashed line and lighter band: the drift twins" if data.has_drift else "")
        + ("; dashed vertical lines: lock-in generations" if marks else "")
        + "."
    )
    page.note(_survival_intro(data), _survival_intro(data) + chart_note)
    page.html(_survival_charts(data, marks))
    if data.survival.height:
        page.gen_table(*_survival_rows(data))

    _price(page, data)

    page.section("process-share")
    page.note(PROCESS_INTRO, PROCESS_INTRO + " Line: mean; band: min–max over seeds.")
    if data.process_share.height:
        page.html(
            _spread_chart(data.process_share, "Mean process share", "process share", PALETTE[0], (0.0, 1.0))
        )
        page.gen_table(*_spread_rows(data.process_share, data, "mean process share"))

    page.section("fitness")
    page.note(FITNESS_INTRO)
    if data.fitness.height:
        page.html(_fitness_chart(data))
        page.gen_table(
            *fitness_rows(data.fitness, data.generations, pl.struct("mean", "min", "max"), _band_cell)
        )

    violations_section(page, data.pooled, data.violations, pooled=True)
    training_section(page, training.spread(reps), _k(data))
    reflection_section(page, data.pooled)

    page.section("lineage")
    page.para(_lock_in_text(data) if data.generations else NO_GENERATION)
    if data.lock_ins.height and data.generations:
        page.table(*_lock_in_rows(data))
    if data.lineage.height:
        page.html(
            _spread_chart(
                data.lineage,
                "Largest lineage share",
                "share of population",
                PALETTE[1],
                (0.0, 1.0),
                hlines=[(data.lock_in_share, "lock-in threshold")],
                vlines=marks,
            )
        )
        page.gen_table(*_spread_rows(data.lineage, data, "largest lineage share"))
    if data.dominant is not None and data.first is not None:
        seed = agg.seeds_of(reps)[0]
        lineage_picture(page, data.dominant, f" of seed {seed}")
    pooled = data.pooled
    births_and_mutations(
        page,
        data.births,
        "births (all generations, all seeds)",
        pooled.agents if pooled is not None else None,
        data.mutations,
        data.mutation_changes,
        pooled=True,
    )

    def seeds(p: Page) -> None:
        p.label("Seeds")
        p.table(*_seed_rows(data), text_cols=6)
        p.note(SEED_NOTE)

    run_section(
        page, _facts(data), reps.manifest, data.first.manifest if data.first is not None else None, seeds
    )
    return page


def _price(page: Page, data: ReplicateData) -> None:
    totals = data.price_totals
    if totals.height == 0 or "start_mean" not in totals.columns:
        price_section(page, "", None, "", [])
        return
    has_drift = data.drift_price is not None
    cum, drift = data.price, data.drift_price
    forces = price_mod.active_forces(
        {
            f: cum.filter(pl.col("part") == f)
            .select(pl.max_horizontal(pl.col("min").abs().max(), pl.col("max").abs().max()))
            .item()
            for f in price_mod.FORCES
        }
    )
    lost = (
        totals.select(
            pl.max_horizontal(pl.col("unattributed_min").abs().max(), pl.col("unattributed_max").abs().max())
        ).item()
        or 0.0
    ) > price_mod.TINY

    def series(trait: str, label: str) -> list[Series]:
        df = cum.filter(pl.col("trait") == trait)
        out = [
            _band_series(
                df.filter(pl.col("part") == f), price_mod.FORCE_LABELS[f], FORCE_COLORS[f], opacity=0.08
            )
            for f in forces
        ]
        if lost:
            out.append(
                _band_series(
                    df.filter(pl.col("part") == "unattributed"),
                    "unattributed",
                    UNATTRIBUTED_COLOR,
                    opacity=0.0,
                )
            )
        out.append(
            _band_series(
                df.filter(pl.col("part") == "observed"), "observed change", OBSERVED_COLOR, opacity=0.08
            )
        )
        if drift is not None:
            d = drift.filter((pl.col("trait") == trait) & (pl.col("part") == "selection"))
            if d.height:
                out.append(
                    _band_series(
                        d, "selection, drift twins", FORCE_COLORS["selection"], dashed=True, opacity=0.0
                    )
                )
        return out

    absent = [price_mod.FORCE_LABELS[f] for f in price_mod.FORCES if f not in forces]
    chart_note = (
        "Cumulative contributions from the first generation, mean over seeds with the "
        "min–max band: one line per force, the observed change in black"
        + ("; dashed: the drift twins' selection term (mean)" if has_drift else "")
        + (f"; {' and '.join(absent)} are 0 throughout and not drawn" if absent else "")
        + ". A seed stopped at fixation holds its totals."
    )

    def cell(r: dict, c: str) -> str:
        return band(r[f"{c}_mean"], r[f"{c}_min"], r[f"{c}_max"])

    rows = price_total_rows(totals, has_drift, cell, cell, lost)
    price_section(
        page,
        price_charts(totals, series),
        rows,
        chart_note,
        [
            "Every cell: mean [min, max] over seeds of each seed's sum over its generations.",
            price_mod.UNATTRIBUTED_NOTE if lost else "",
            price_mod.DRIFT_NOTE if has_drift else "",
            price_mod.exactness_note(data.max_residual),
        ],
    )


# ---------------------------------------------------------------------------------------------
# charts


def _band_series(
    df: pl.DataFrame, label: str, color: str, *, dashed: bool = False, opacity: float = 0.15
) -> Series:
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


def _survival_charts(data: ReplicateData, marks: list[tuple[float, str]]) -> str:
    if not data.survival.height:
        return ""

    def series(key: str, label: str, color: str) -> list[Series]:
        out = [_band_series(data.survival.filter(pl.col("term") == key), f"{label} (mean of seeds)", color)]
        if data.drift_survival is not None:
            d = data.drift_survival.filter(pl.col("term") == key)
            if d.height:
                out.append(_band_series(d, f"{label} (drift, mean)", color, dashed=True, opacity=0.07))
        return out

    return survival_charts(
        agg.process_terms(data.reps), series, marks, ": mean over seeds, band min–max over seeds"
    )


def _spread_chart(
    df: pl.DataFrame,
    title: str,
    y_label: str,
    color: str,
    y_range: tuple[float, float] | None = None,
    *,
    hlines: Sequence[tuple[float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    svg = line_chart(
        [_band_series(df, f"{y_label}: mean of seeds (band min–max)", color)],
        title=title,
        y_label=y_label,
        y_range=y_range,
        hlines=hlines,
        vlines=vlines,
    )
    return figure(svg)


def _fitness_chart(data: ReplicateData) -> str:
    series = [
        _band_series(data.fitness.filter(pl.col("profile") == p), p, PALETTE[i % len(PALETTE)], opacity=0.08)
        for i, p in enumerate(profile_names(data.fitness))
    ]
    svg = line_chart(series, title="Mean payoff by profile (mean over seeds, band min–max)", y_label="payoff")
    return figure(svg)
