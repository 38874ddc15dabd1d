"""`report.md` and `report.html` for a replicates directory: one experiment, K seeds.

Same sections as a single-seed report, every number aggregated over seeds (`replicates`): curves
are the mean over seeds with the min–max band, the verdict says in how many seeds each term
survived (with a Wilson 95 % interval), lock-in is listed per seed, violations are pooled. Each
`seed=<s>/` folder stays a complete run with its own report (`write_report(<dir>/seed=<s>)`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from . import metrics
from . import replicates as agg
from .load import Replicates, Run, load_replicates
from .render import (
    CSS,
    PALETTE,
    SECTIONS,
    _h2,
    _table_html,
    _thinned_note,
    experiment_json,
    html_table,
    md_table,
    mutation_html,
    mutation_markdown,
    pick_rows,
    profile_rows,
    stopped_text,
    versions_rows,
    violation_chart,
    violation_rows,
    violations_intro,
    write_atomic,
)
from .svg import Series, line_chart
from .text import clean, esc, fmt, md

__all__ = ["ReplicateData", "collect", "html_page", "markdown", "write_replicates_report"]


def write_replicates_report(path: str | Path, *, lock_in_share: float | None = None,
                            tolerance: float = 0.05) -> tuple[Path, Path]:
    """Read a replicates directory and write report.md and report.html into its top folder."""
    reps = load_replicates(path)
    data = collect(reps, lock_in_share=lock_in_share, tolerance=tolerance)
    md_path, html_path = reps.path / "report.md", reps.path / "report.html"
    write_atomic(md_path, markdown(data))
    write_atomic(html_path, html_page(data))
    return md_path, html_path


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
    generations: list[int] = field(default_factory=list)

    @property
    def first(self) -> Run | None:
        return self.reps.runs[0] if self.reps.runs else None

    @property
    def has_drift(self) -> bool:
        return self.drift_survival is not None


def collect(reps: Replicates, *, lock_in_share: float | None = None,
            tolerance: float = 0.05) -> ReplicateData:
    share = reps.lock_in_share if lock_in_share is None else lock_in_share
    gmax = agg.horizon(reps)
    pooled = agg.pooled(reps) if reps.runs else None
    gens: list[int] = []
    if pooled is not None and pooled.agents.height:
        gens = list(range(int(pooled.agents.get_column("generation").min()), (gmax or 0) + 1))
    ranges = metrics.generation_ranges(gens[0], gens[-1]) if gens else []
    has_drift = any(r.drift is not None for r in reps.runs)
    empty = pl.DataFrame()
    return ReplicateData(
        reps=reps, tolerance=tolerance, lock_in_share=share,
        seeds=agg.seed_table(reps),
        verdict=agg.verdict(reps, tolerance) if reps.runs else pl.DataFrame(schema=agg.VERDICT_SCHEMA),
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
    text = (f"Arena {arena}, {_k(data)} seeds ({_seed_list(seeds)}), "
            f"{len(data.generations)} generations (longest run), status {fmt(m.get('status'))}")
    stops = data.seeds.filter(pl.col("stopped_at").is_not_null())
    if stops.height:
        text += "; " + "; ".join(f"seed {r['seed']} stopped at fixation at generation {r['stopped_at']}"
                                 for r in stops.iter_rows(named=True))
    return text + "."


def _warnings(data: ReplicateData) -> list[str]:
    m, out = data.reps.manifest, []
    if m.get("status") != "complete":
        out.append(f"This experiment is {fmt(m.get('status'))}: {_k(data)} of "
                   f"{len(m.get('runs') or [])} seeds have a run directory; the numbers cover what "
                   "has been written so far.")
    if data.reps.missing:
        out.append("Not started (no manifest yet): " + ", ".join(data.reps.missing) + ".")
    return out


def hold_note(data: ReplicateData) -> str:
    """How seeds of different lengths are averaged; "" when every seed has every generation."""
    if not data.generations:
        return ""
    last = data.generations[-1]
    parts = []
    if data.held.height:
        one = data.held.height == 1
        which = ", ".join(f"{r['seed']} (at generation {r['last']})" for r in data.held.iter_rows(named=True))
        its = "its" if one else "their"
        parts.append(f"{'Seed' if one else 'Seeds'} {which} stopped at fixation: {its} curves hold "
                     f"{its} last value up to generation {last}, the last generation any seed or "
                     "drift twin recorded, so each mean and band covers every seed at every "
                     "generation (the held count in the seeds column).")
    if data.drift_held.height:
        one = data.drift_held.height == 1
        which = ", ".join(f"{r['seed']} (at generation {r['last']})"
                          for r in data.drift_held.iter_rows(named=True))
        parts.append(f"The drift {'twin of seed' if one else 'twins of seeds'} {which} stopped at "
                     f"fixation too and {'is' if one else 'are'} held the same way.")
    held_seeds = set(data.held.get_column("seed").to_list())
    short = data.seeds.filter(pl.col("last").is_null() | (pl.col("last") < last))
    short = [s for s in short.get_column("seed").to_list() if s not in held_seeds]
    if short:
        parts.append(f"Seeds {_seed_list(short)} have fewer generations and did not stop at fixation "
                     "(still running or failed): a generation's mean is over the seeds that recorded "
                     "it (the seeds column).")
    return " ".join(parts)


def _verdict_rows(data: ReplicateData) -> tuple[list[str], list[list[str]]]:
    headers = ["process term", "kind", "scope", "start share", "end share"]
    if data.has_drift:
        headers.append("drift end share")
    headers += ["survived in k of K seeds", "95% interval (Wilson)", "verdict"]
    if data.has_drift:
        headers.append("vs drift")
    rows = []
    for r in data.verdict.iter_rows(named=True):
        row = [r["label"], r["kind"], fmt(r["scope"]), band(r["start_mean"], r["start_min"], r["start_max"]),
               band(r["end_mean"], r["end_min"], r["end_max"])]
        if data.has_drift:
            row.append(band(r["drift_mean"], r["drift_min"], r["drift_max"]))
        row += [f"{r['survived']} of {r['seeds']}",
                f"[{fmt(r['survived_low'])}, {fmt(r['survived_high'])}]", r["verdict"]]
        if data.has_drift:
            row.append(fmt(r["vs_drift"]))
        rows.append(row)
    return headers, rows


def _verdict_note(data: ReplicateData) -> str:
    t = fmt(data.tolerance)
    first = data.first
    threshold = fmt(first.threshold) if first is not None else "–"
    note = (f"Shares are mean [min, max] over the {_k(data)} seeds, at each seed's first and last "
            f"recorded generation. A term is carried while its weight is above {threshold}; it "
            "survived in a seed when its end share there is above 0; the interval is the Wilson 95 % "
            "score interval for the proportion of seeds in which it survives. The verdict applies to "
            f"the mean shares: extinct (mean end share 0, i.e. extinct in every seed), declined / "
            f"spread (mean end more than {t} below / above mean start), else held.")
    if data.has_drift:
        note += (f" vs drift compares the mean end share with the drift twins' mean end share "
                 f"(below / near / above, tolerance {t}).")
    return note


def _gen_cell(seeds: int | None, held: int | None) -> str:
    if seeds is None:
        return "–"
    return f"{seeds} ({held} held)" if held else str(seeds)


def _survival_rows(data: ReplicateData) -> tuple[list[str], list[list[str]], str]:
    terms = agg.process_terms(data.reps)
    shown = pick_rows(data.generations)
    headers = ["generation", "seeds"] + [metrics.term_label(t) for t in terms]
    frames = [("", data.survival)]
    if data.drift_survival is not None and data.drift_survival.height:
        frames.append(("drift|", data.drift_survival))
        headers += [f"{metrics.term_label(t)} (drift)" for t in terms]
    wide = pl.DataFrame({"generation": shown}, schema={"generation": pl.Int64})
    for prefix, df in frames:
        cells = (df.filter(pl.col("generation").is_in(shown))
                 .with_columns(cell=pl.struct("mean", "min", "max")))
        piv = cells.pivot(on="term", index="generation", values="cell")
        wide = wide.join(piv.rename({c: prefix + c for c in piv.columns if c != "generation"}),
                         on="generation", how="left")
        if not prefix:
            counts = cells.group_by("generation").agg(pl.col("seeds").max(), pl.col("held").max())
            wide = wide.join(counts, on="generation", how="left")
    rows = []
    for r in wide.sort("generation").iter_rows(named=True):
        row = [fmt(r["generation"]), _gen_cell(r.get("seeds"), r.get("held"))]
        for prefix, _ in frames:
            for t in terms:
                c = r.get(prefix + t["key"])
                row.append(band(c["mean"], c["min"], c["max"]) if c else "–")
        rows.append(row)
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _spread_rows(df: pl.DataFrame, data: ReplicateData, value_header: str) -> tuple[list[str], list[list[str]], str]:
    shown = pick_rows(data.generations)
    rows = [[fmt(r["generation"]), _gen_cell(r["seeds"], r["held"]), fmt(r["mean"]), fmt(r["min"]),
             fmt(r["max"])] for r in df.filter(pl.col("generation").is_in(shown)).iter_rows(named=True)]
    headers = ["generation", "seeds", f"{value_header}: mean over seeds", "min", "max"]
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _profiles(data: ReplicateData) -> list[str]:
    return data.fitness.get_column("profile").unique().sort().to_list() if data.fitness.height else []


def _fitness_rows(data: ReplicateData) -> tuple[list[str], list[list[str]], str]:
    shown = pick_rows(data.generations)
    profiles = _profiles(data)
    wide = (data.fitness.filter(pl.col("generation").is_in(shown))
            .with_columns(cell=pl.struct("mean", "min", "max"))
            .pivot(on="profile", index="generation", values="cell").sort("generation"))
    headers = ["generation"] + [f"{p} payoff" for p in profiles]
    rows = [[fmt(r["generation"])] + [band(r[p]["mean"], r[p]["min"], r[p]["max"]) if r.get(p) else "–"
                                      for p in profiles] for r in wide.iter_rows(named=True)]
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _lock_in_text(data: ReplicateData) -> str:
    li, share = data.lock_ins, fmt(data.lock_in_share)
    if not data.generations:
        return "No generation recorded yet."
    hits = li.filter(pl.col("generation").is_not_null())
    text = (f"Lock-in (one lineage holds more than {share} of the population) in {hits.height} of "
            f"{li.height} seeds")
    if hits.height:
        text += ": " + "; ".join(f"seed {r['seed']} at generation {r['generation']} (its process share "
                                 f"then {fmt(r['process_share'])})" for r in hits.iter_rows(named=True))
    return text + "."


def _lock_in_rows(data: ReplicateData) -> tuple[list[str], list[list[str]]]:
    headers = ["seed", "lock-in generation", "lineage (founder)", "founding profile", "its share then",
               "its mean process share then", "largest share reached"]
    rows = [[fmt(r["seed"]), fmt(r["generation"]) if r["generation"] is not None else "none",
             fmt(r["founder"]), fmt(r["profile"]), fmt(r["share"]), fmt(r["process_share"]),
             fmt(r["max_share"])] for r in data.lock_ins.iter_rows(named=True)]
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
    for g, seeds in (hits.group_by("generation").agg(pl.col("seed").sort())
                     .sort("generation").iter_rows()):
        who = (f"seed {seeds[0]}" if len(seeds) == 1 else
               f"seeds {_seed_list(seeds)}" if len(seeds) <= 3 else f"{len(seeds)} seeds")
        marks.append((float(g), f"lock-in {who}"))
    return marks


def _births_rows(data: ReplicateData) -> tuple[list[str], list[list[str]]]:
    totals = data.births.group_by("kind").agg(pl.col("births").sum()).sort("kind")
    return ["kind", "births (all generations, all seeds)"], [[r[0], fmt(int(r[1]))] for r in totals.iter_rows()]


def _facts(data: ReplicateData) -> list[tuple[str, str]]:
    m, first = data.reps.manifest, data.first
    fm = first.manifest if first is not None else {}
    arena = fm.get("arena", {})
    drift = data.seeds.get_column("has_drift").sum() if data.seeds.height else 0
    facts = [
        ("name", m.get("name")), ("role", m.get("role")), ("status", m.get("status")),
        ("seeds", _seed_list(m.get("seeds") or [])),
        ("generations planned", fm.get("generations")),
        ("generations recorded (longest run)", len(data.generations)),
        ("survival threshold", fmt(first.threshold) if first is not None else None),
        ("lock-in threshold", fmt(data.lock_in_share)),
        ("arena", arena.get("name")),
        ("arena has oversight", fmt(bool(arena.get("has_oversight", False)))),
        ("event kinds", ", ".join(str(k) for k in arena.get("event_kinds", [])) or "none"),
        ("git revision", m.get("git_revision")),
        ("started", m.get("started")), ("finished", m.get("finished")),
        ("directory", str(data.reps.path)),
        ("drift twins", f"{drift} of {_k(data)} seeds"),
    ]
    return [(k, fmt(v)) for k, v in facts]


def _seed_rows(data: ReplicateData) -> tuple[list[str], list[list[str]]]:
    headers = ["seed", "folder", "status", "generations done / planned", "stopped", "drift twin"]
    rows = []
    for seed, run in zip(agg.seeds_of(data.reps), data.reps.runs):
        m = run.manifest
        d = run.drift
        drift = "none" if d is None else (f"{fmt(d.manifest.get('status'))}, "
                                          f"{fmt(d.manifest.get('generations_done'))} generations"
                                          + (f", {stopped_text(d.manifest)}" if stopped_text(d.manifest) else ""))
        rows.append([fmt(seed), run.path.name, fmt(m.get("status")),
                     f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}",
                     stopped_text(m) or "no", drift])
    return headers, rows


SEED_NOTE = ("Each seed folder is a complete single-seed run: `purity report <this directory>/seed=<s>` "
             "writes its own report.")


def _empty_text(data: ReplicateData) -> str:
    if not data.reps.runs:
        return "No seed has started yet."
    if not agg.process_terms(data.reps):
        return "The run has no process terms (standing, constraint or universalization)."
    return "No generation recorded yet."


# ---------------------------------------------------------------------------------------------
# Markdown


def markdown(data: ReplicateData) -> str:
    reps, out = data.reps, []
    out.append(f"# Survival report: {md(reps.name)} ({_k(data)} seeds)\n")
    out.append(md(_header(data)) + "\n")
    for note in _warnings(data):
        out.append(f"> {md(note)}\n")
    if note := hold_note(data):
        out.append(f"> {md(note)}\n")

    out.append("## Verdict\n")
    if data.verdict.height:
        out.append(md_table(*_verdict_rows(data)) + "\n")
        out.append(md(_verdict_note(data)) + "\n")
    else:
        out.append(_empty_text(data) + "\n")

    out.append("## Survival\n")
    out.append(md(_survival_intro(data)) + "\n")
    if data.survival.height:
        h, rows, note = _survival_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Process share\n")
    out.append(md(PROCESS_INTRO) + "\n")
    if data.process_share.height:
        h, rows, note = _spread_rows(data.process_share, data, "mean process share")
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Fitness\n")
    out.append(md(FITNESS_INTRO) + "\n")
    if data.fitness.height:
        h, rows, note = _fitness_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Violations\n")
    if data.pooled is not None:
        out.append(md(violations_intro(data.pooled, pooled=True)) + "\n")
        if data.violations.height:
            out.append(md_table(*violation_rows(data.violations, data.pooled.has_oversight)) + "\n")

    out.append("## Lineage\n")
    out.append(md(_lock_in_text(data)) + "\n")
    if data.lock_ins.height and data.generations:
        out.append(md_table(*_lock_in_rows(data)) + "\n")
    if data.lineage.height:
        h, rows, note = _spread_rows(data.lineage, data, "largest lineage share")
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")
    if data.births.height:
        out.append(md_table(*_births_rows(data)) + "\n")
    if data.pooled is not None:
        out.extend(mutation_markdown(data.pooled.agents, data.mutations, data.mutation_changes,
                                     pooled=True))

    out.append("## Run\n")
    out.append(md_table(["fact", "value"], [list(f) for f in _facts(data)]) + "\n")
    out.append("Seeds:\n")
    out.append(md_table(*_seed_rows(data)) + "\n")
    out.append(md(SEED_NOTE) + "\n")
    if data.first is not None:
        out.append("Profiles:\n")
        out.append(md_table(["profile", "description", "weights"], profile_rows(data.first.manifest)) + "\n")
    if versions := versions_rows(reps.manifest):
        out.append("Versions:\n")
        out.append(md_table(["package", "version"], versions) + "\n")
    out.append("Resolved experiment:\n")
    out.append("\n".join("    " + clean(line) for line in experiment_json(reps.manifest).splitlines()) + "\n")
    return "\n".join(out)


PROCESS_INTRO = ("Process weight / (process + outcome weight) of each agent: 0 is a pure "
                 "consequentialist. Each seed's mean over its agents per generation; mean, min and "
                 "max of those over seeds.")
FITNESS_INTRO = ("Mean payoff (fitness gained per episode) of each founding profile per generation: "
                 "mean [min, max] over the seeds in which the profile is present.")


def _survival_intro(data: ReplicateData) -> str:
    text = (f"Share of agents carrying each process term per generation: mean over the {_k(data)} "
            "seeds, with [min, max] over seeds")
    if data.has_drift:
        text += "; the drift columns are the neutral-drift twins, likewise"
    return text + (". A seed stopped at fixation holds its last value to the last generation any "
                   "run recorded; seeds is how many seeds each mean covers.")


# ---------------------------------------------------------------------------------------------
# HTML


def html_page(data: ReplicateData) -> str:
    reps = data.reps
    title = f"Survival report: {reps.name} ({_k(data)} seeds)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">{esc(_header(data))}</p>',
        "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in SECTIONS) + "</nav>",
    ]
    for note in _warnings(data):
        parts.append(f'<p class="warn">{esc(note)}</p>')
    if note := hold_note(data):
        parts.append(f'<p class="warn">{esc(note)}</p>')

    parts.append(_h2("verdict"))
    if data.verdict.height:
        h, rows = _verdict_rows(data)
        parts.append(html_table(h, rows, text_cols=3, verdict_col=h.index("verdict")))
        parts.append(f'<p class="note">{esc(_verdict_note(data))}</p>')
    else:
        parts.append(f"<p>{esc(_empty_text(data))}</p>")

    parts.append(_h2("survival"))
    marks = lock_in_marks(data.lock_ins)
    chart_note = (" Line: mean over seeds; shaded band: min–max over seeds"
                  + ("; dashed line and lighter band: the drift twins" if data.has_drift else "")
                  + ("; dashed vertical lines: lock-in generations" if marks else "") + ".")
    parts.append(f'<p class="note">{esc(_survival_intro(data) + chart_note)}</p>')
    parts.append(_survival_charts(data, marks))
    if data.survival.height:
        parts.extend(_table_html(*_survival_rows(data)))

    parts.append(_h2("process-share"))
    parts.append(f'<p class="note">{esc(PROCESS_INTRO)} Line: mean; band: min–max over seeds.</p>')
    if data.process_share.height:
        parts.append(_spread_chart(data.process_share, "Mean process share", "process share",
                                   PALETTE[0], (0.0, 1.0)))
        parts.extend(_table_html(*_spread_rows(data.process_share, data, "mean process share")))

    parts.append(_h2("fitness"))
    parts.append(f'<p class="note">{esc(FITNESS_INTRO)}</p>')
    if data.fitness.height:
        parts.append(_fitness_chart(data))
        parts.extend(_table_html(*_fitness_rows(data)))

    parts.append(_h2("violations"))
    if data.pooled is not None:
        parts.append(f'<p class="note">{esc(violations_intro(data.pooled, pooled=True))}</p>')
        if data.violations.height:
            parts.append(violation_chart(data.violations, data.pooled.has_oversight))
            parts.append(html_table(*violation_rows(data.violations, data.pooled.has_oversight),
                                    text_cols=2))

    parts.append(_h2("lineage"))
    parts.append(f"<p>{esc(_lock_in_text(data))}</p>")
    if data.lock_ins.height and data.generations:
        parts.append(html_table(*_lock_in_rows(data)))
    if data.lineage.height:
        parts.append(_spread_chart(data.lineage, "Largest lineage share", "share of population",
                                   PALETTE[1], (0.0, 1.0),
                                   hlines=[(data.lock_in_share, "lock-in threshold")], vlines=marks))
        parts.extend(_table_html(*_spread_rows(data.lineage, data, "largest lineage share")))
    if data.births.height:
        parts.append(html_table(*_births_rows(data)))
    if data.pooled is not None:
        parts.extend(mutation_html(data.pooled.agents, data.mutations, data.mutation_changes,
                                   pooled=True))

    parts.append(_h2("run"))
    parts.append(html_table(["fact", "value"], [list(f) for f in _facts(data)], text_cols=2))
    parts.append("<h3>Seeds</h3>")
    parts.append(html_table(*_seed_rows(data), text_cols=6))
    parts.append(f'<p class="note">{esc(SEED_NOTE)}</p>')
    if data.first is not None:
        parts.append("<h3>Profiles</h3>")
        parts.append(html_table(["profile", "description", "weights"], profile_rows(data.first.manifest),
                                text_cols=3))
    if versions := versions_rows(reps.manifest):
        parts.append("<h3>Versions</h3>")
        parts.append(html_table(["package", "version"], versions, text_cols=2))
    parts.append("<details><summary>Resolved experiment</summary><pre>"
                 + html.escape(experiment_json(reps.manifest)) + "</pre></details>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _xy(df: pl.DataFrame, col: str) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None
            for v in df.get_column(col).cast(pl.Float64).to_list()]


def _band_series(df: pl.DataFrame, label: str, color: str, *, dashed: bool = False,
                 opacity: float = 0.15) -> Series:
    df = df.sort("generation")
    return Series(label, df.get_column("generation").cast(pl.Float64).to_list(), _xy(df, "mean"), color,
                  dashed=dashed, band=(_xy(df, "min"), _xy(df, "max")), band_opacity=opacity)


def _survival_charts(data: ReplicateData, marks: list[tuple[float, str]]) -> str:
    if not data.survival.height:
        return ""
    figs = []
    for i, term in enumerate(agg.process_terms(data.reps)):
        key, label = term["key"], metrics.term_label(term)
        color = PALETTE[i % len(PALETTE)]
        series = [_band_series(data.survival.filter(pl.col("term") == key), f"{label} (mean of seeds)", color)]
        if data.drift_survival is not None:
            d = data.drift_survival.filter(pl.col("term") == key)
            if d.height:
                series.append(_band_series(d, f"{label} (drift, mean)", color, dashed=True, opacity=0.07))
        svg = line_chart(series, title=f"Survival of {label}", y_label="share carrying",
                         y_range=(0.0, 1.0), width=440, height=220, vlines=marks)
        figs.append(f"<figure>{svg}<figcaption>{esc(label)} ({esc(key)}): mean over seeds, band "
                    "min–max over seeds</figcaption></figure>")
    return '<div class="charts">' + "".join(figs) + "</div>"


def _spread_chart(df: pl.DataFrame, title: str, y_label: str, color: str,
                  y_range: tuple[float, float] | None = None, *,
                  hlines: Sequence[tuple[float, str]] = (),
                  vlines: Sequence[tuple[float, str]] = ()) -> str:
    svg = line_chart([_band_series(df, f"{y_label}: mean of seeds (band min–max)", color)],
                     title=title, y_label=y_label, y_range=y_range, hlines=hlines, vlines=vlines)
    return f"<figure>{svg}</figure>"


def _fitness_chart(data: ReplicateData) -> str:
    series = [_band_series(data.fitness.filter(pl.col("profile") == p), p, PALETTE[i % len(PALETTE)],
                           opacity=0.08)
              for i, p in enumerate(_profiles(data))]
    svg = line_chart(series, title="Mean payoff by profile (mean over seeds, band min–max)",
                     y_label="payoff")
    return f"<figure>{svg}</figure>"

