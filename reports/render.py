"""Write `report.md` and `report.html` for a run directory (one seed; `render_replicates` for several).

The HTML is self-contained (inline CSS, hand-written inline SVG, no scripts, fonts or URLs) so it
opens anywhere, offline, years later. All text that came from the run (names, labels, descriptions)
is escaped: html.escape in HTML, backslash escapes in Markdown.
"""

from __future__ import annotations

import html
import json
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from . import metrics
from .load import Run, is_replicates, load
from .svg import Series, bar_chart, line_chart
from .text import clean, esc, fmt, md

SECTIONS = (
    ("verdict", "Verdict"),
    ("survival", "Survival"),
    ("process-share", "Process share"),
    ("fitness", "Fitness"),
    ("violations", "Violations"),
    ("lineage", "Lineage"),
    ("run", "Run"),
)
MAX_TABLE_ROWS = 21
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999")


# ---------------------------------------------------------------------------------------------
# entry point


def write_report(run_dir: str | Path, *, lock_in_share: float | None = None,
                 tolerance: float = 0.05) -> tuple[Path, Path]:
    """Read `run_dir`, write report.md and report.html into it atomically, return both paths.

    A replicates directory (one run per seed) gets the report aggregated over seeds. The lock-in
    threshold is the experiment's `lock_in` (0.9 if the manifest has none) unless given here.
    """
    if is_replicates(run_dir):
        from .render_replicates import write_replicates_report

        return write_replicates_report(run_dir, lock_in_share=lock_in_share, tolerance=tolerance)
    run = load(run_dir)
    data = collect(run, lock_in_share=lock_in_share, tolerance=tolerance)
    md_path, html_path = run.path / "report.md", run.path / "report.html"
    write_atomic(md_path, markdown(data))
    write_atomic(html_path, html_page(data))
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
    generations: list[int] = field(default_factory=list)


def collect(run: Run, *, lock_in_share: float | None = None, tolerance: float = 0.05) -> ReportData:
    gens = run.agents.get_column("generation").unique().sort().to_list() if run.agents.height else []
    lock_in_share = run.lock_in_share if lock_in_share is None else lock_in_share
    ranges = metrics.generation_ranges(gens[0], gens[-1]) if gens else []
    return ReportData(
        run=run, tolerance=tolerance, lock_in_share=lock_in_share,
        verdict=metrics.verdict(run, tolerance=tolerance),
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
        generations=gens,
    )


def pick_rows(gens: Sequence[int], limit: int = MAX_TABLE_ROWS) -> list[int]:
    """At most `limit` generations, evenly spaced, always including the first and last."""
    gens = list(gens)
    if len(gens) <= limit:
        return gens
    idx = sorted({round(i * (len(gens) - 1) / (limit - 1)) for i in range(limit)})
    return [gens[i] for i in idx]


def _thinned_note(total: int, shown: int) -> str:
    if total <= shown:
        return ""
    return (f"Showing {shown} of {total} generations (evenly spaced, first and last included); "
            "every generation is in the parquet files.")


def weights_text(weights: dict[str, float]) -> str:
    return "; ".join(f"{k} = {fmt(float(v))}" for k, v in weights.items()) or "none"


# Column plans: (header, key or callable on the row dict)


def _verdict_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    v = data.verdict
    first, last = (data.generations[0], data.generations[-1]) if data.generations else (None, None)
    headers = ["process term", "kind", "scope", f"share at gen {fmt(first)}", f"share at gen {fmt(last)}"]
    has_drift = data.run.drift is not None
    if has_drift:
        headers.append("drift end")
    headers.append("verdict")
    if has_drift:
        headers.append("vs drift")
    rows = []
    for r in v.iter_rows(named=True):
        row = [r["label"], r["kind"], fmt(r["scope"]), fmt(r["start"]), fmt(r["end"])]
        if has_drift:
            row.append(fmt(r["drift_end"]))
        row.append(r["verdict"])
        if has_drift:
            row.append(fmt(r["vs_drift"]))
        rows.append(row)
    return headers, rows


def _verdict_note(data: ReportData) -> str:
    t = fmt(data.tolerance)
    note = (f"A term is carried while its weight is above {fmt(data.run.threshold)} (inf = hard "
            f"constraint counts). extinct: nobody carries it at the end; declined / spread: the end "
            f"share is more than {t} below / above the start share; held: otherwise.")
    if data.run.drift is not None:
        note += (f" vs drift compares the end share with the neutral-drift twin's end share "
                 f"(below / near / above, tolerance {t}).")
    return note


def _survival_rows(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    terms = data.run.process_terms
    shown = pick_rows(data.generations)
    surv = data.survival.filter(pl.col("generation").is_in(shown))
    wide = surv.pivot(on="term", index="generation", values="share").sort("generation")
    headers = ["generation"] + [metrics.term_label(t) for t in terms]
    drift_wide = None
    if data.drift_survival is not None and data.drift_survival.height:
        drift_wide = (data.drift_survival.filter(pl.col("generation").is_in(shown))
                      .pivot(on="term", index="generation", values="share"))
        drift_keys = [t["key"] for t in terms if t["key"] in drift_wide.columns]
        headers += [f"{metrics.term_label(t)} (drift)" for t in terms if t["key"] in drift_keys]
        wide = wide.join(drift_wide.rename({k: f"drift|{k}" for k in drift_keys}), on="generation",
                         how="left")
    else:
        drift_keys = []
    rows = []
    for r in wide.iter_rows(named=True):
        row = [fmt(r["generation"])] + [fmt(r.get(t["key"])) for t in terms]
        row += [fmt(r.get(f"drift|{k}")) for k in drift_keys]
        rows.append(row)
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _process_rows(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    shown = pick_rows(data.generations)
    df = data.process_share.filter(pl.col("generation").is_in(shown))
    headers = list(df.columns)
    rows = [[fmt(v) for v in r] for r in df.iter_rows()]
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _profiles(data: ReportData) -> list[str]:
    return data.fitness.get_column("profile").unique().sort().to_list() if data.fitness.height else []


def _fitness_rows(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    shown = pick_rows(data.generations)
    profiles = _profiles(data)
    wide = (data.fitness.filter(pl.col("generation").is_in(shown))
            .pivot(on="profile", index="generation", values="payoff").sort("generation"))
    headers = ["generation"] + [f"{p} payoff" for p in profiles]
    rows = [[fmt(r["generation"])] + [fmt(r.get(p)) for p in profiles]
            for r in wide.iter_rows(named=True)]
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _violation_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    return violation_rows(data.violations, data.run.has_oversight)


def violation_rows(v: pl.DataFrame, has_oversight: bool) -> tuple[list[str], list[list[str]]]:
    headers = ["profile", "event", "rate (own)", "delegated rate", "declared self",
               "declared lineage", "declared world", "opportunities"]
    cols = ["profile", "event", "rate", "delegated_rate", "declared_self", "declared_lineage",
            "declared_world", "opportunity"]
    if has_oversight:
        headers += ["rate watched", "rate unwatched", "delegated watched", "delegated unwatched"]
        cols += ["rate_watched", "rate_unwatched", "delegated_watched", "delegated_unwatched"]
    rows = [[fmt(r[c]) for c in cols] for r in v.iter_rows(named=True)]
    return headers, rows


def _lineage_rows(data: ReportData) -> tuple[list[str], list[list[str]], str]:
    shown = pick_rows(data.generations)
    df = data.lineage.filter(pl.col("generation").is_in(shown))
    headers = ["generation", "largest lineage (founder)", "founding profile", "agents in it", "share",
               "its mean process share"]
    rows = [[fmt(r["generation"]), fmt(r["founder"]), r["profile"], fmt(r["size"]), fmt(r["share"]),
             fmt(r["process_share"])] for r in df.iter_rows(named=True)]
    return headers, rows, _thinned_note(len(data.generations), len(shown))


def _lock_in_text(data: ReportData) -> str:
    li, share = data.lock_in, fmt(data.lock_in_share)
    if not data.generations:
        return "No generation recorded yet."
    if li is None:
        top = data.lineage.get_column("share").max()
        return (f"No lock-in: no lineage ever held more than {share} of the population "
                f"(the largest share reached was {fmt(top)}).")
    return (f"Lock-in at generation {li.generation}: the lineage of founder {li.founder} "
            f"(profile {li.profile}) held {fmt(li.share)} of the population (threshold {share}); "
            f"its mean process share then was {fmt(li.process_share)}.")


def _births_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    totals = data.births.group_by("kind").agg(pl.col("births").sum()).sort("kind")
    return ["kind", "births (all generations)"], [[r[0], fmt(int(r[1]))] for r in totals.iter_rows()]


def _facts(data: ReportData) -> list[tuple[str, str]]:
    m = data.run.manifest
    arena = m.get("arena", {})
    facts = [
        ("name", m.get("name")), ("role", m.get("role")), ("status", m.get("status")),
        ("seed", m.get("seed")),
        ("generations done / planned", f"{fmt(m.get('generations_done'))} / {fmt(m.get('generations'))}"),
        ("stopped", stopped_text(m) or "no"),
        ("survival threshold", fmt(float(m["survival_threshold"]))),
        ("lock-in threshold", fmt(data.lock_in_share)),
        ("arena", arena.get("name")),
        ("arena has oversight", fmt(bool(arena.get("has_oversight", False)))),
        ("event kinds", ", ".join(str(k) for k in arena.get("event_kinds", [])) or "none"),
        ("git revision", m.get("git_revision")),
        ("started", m.get("started")), ("finished", m.get("finished")),
        ("directory", str(data.run.path)),
    ]
    if data.run.drift is not None:
        d = data.run.drift.manifest
        stop = stopped_text(d)
        facts.append(("drift twin", f"seed {fmt(d.get('seed'))}, status {fmt(d.get('status'))}, "
                                    f"{fmt(d.get('generations_done'))} generations done"
                                    + (f", {stop}" if stop else "")))
    else:
        facts.append(("drift twin", "none"))
    return [(k, fmt(v)) for k, v in facts]


def _versions(data: ReportData) -> list[list[str]]:
    return versions_rows(data.run.manifest)


def versions_rows(manifest: dict) -> list[list[str]]:
    versions = manifest.get("versions") or {}
    if isinstance(versions, dict):
        return [[str(k), fmt(v)] for k, v in versions.items()]
    return [["versions", fmt(versions)]]


def _profile_rows(data: ReportData) -> list[list[str]]:
    return profile_rows(data.run.manifest)


def profile_rows(manifest: dict) -> list[list[str]]:
    return [[name, fmt(p.get("description") or ""), weights_text(p.get("weights") or {})]
            for name, p in manifest["profiles"].items()]


def _experiment_json(data: ReportData) -> str:
    return experiment_json(data.run.manifest)


def experiment_json(manifest: dict) -> str:
    text = json.dumps(manifest.get("experiment"), indent=2, sort_keys=True, default=str,
                      ensure_ascii=False)
    # \u003c / \u003e keep the JSON valid and equal while no raw tag can appear in either format.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def stopped_text(manifest: dict) -> str:
    """ "stopped at fixation at generation g (of G planned)", or "" for a run that did not stop."""
    stopped = manifest.get("stopped")
    if not isinstance(stopped, dict):
        return ""
    g, planned = stopped.get("generation"), manifest.get("generations")
    reason = stopped.get("reason") or "an unknown reason"
    text = f"stopped at {reason} at generation {fmt(g)}"
    return text + (f" (of {fmt(planned)} planned)" if planned is not None else "")


def _stopped_note(data: ReportData) -> str:
    text = stopped_text(data.run.manifest)
    if not text:
        return ""
    return (f"This run {text}: one founding profile held the whole population, so the experiment "
            "ended early (stop_at_fixation); the numbers cover the generations written.")


def _header(data: ReportData) -> str:
    run = data.run
    stop = stopped_text(run.manifest)
    return (f"Arena {run.manifest['arena'].get('name', '?')}, seed {fmt(run.manifest.get('seed'))}, "
            f"{len(data.generations)} generations recorded, status {fmt(run.manifest.get('status'))}"
            + (f", {stop}" if stop else "") + ".")


def mutation_intro(agents: pl.DataFrame, pooled: bool = False) -> str:
    if "mutation" not in agents.columns or agents.get_column("mutation").is_null().all():
        return "This run does not record mutations (its agents table has no mutation column)."
    return ("What mutation changed in each newborn against its parent (the agents table's "
            "mutation column), per generation range" + (", summed over seeds" if pooled else "")
            + ". births counts every agent that is not a founder once, in the first generation it is "
            "recorded (a birth that died within the generation it was born in is in the births "
            "table above but not here); copies are births identical to their parent. The kind "
            "columns count changes, and one birth can carry several: weights = its weights were "
            "perturbed, add / remove = it gained / lost a term, scope = a constraint's scope changed.")


def mutation_rows(summary: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    kinds = [c for c in summary.columns if c not in ("lo", "hi", "births", "copies")]
    headers = ["generations", "births", "copies", *kinds]
    rows = [[f"{r['lo']}" if r["lo"] == r["hi"] else f"{r['lo']}–{r['hi']}", fmt(r["births"]),
             fmt(r["copies"]), *[fmt(r[k]) for k in kinds]] for r in summary.iter_rows(named=True)]
    return headers, rows


def change_rows(changes: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    return (["structural change", "births"],
            [[str(r["change"]), fmt(r["count"])] for r in changes.iter_rows(named=True)])


def mutations_recorded(agents: pl.DataFrame) -> bool:
    return "mutation" in agents.columns and not agents.get_column("mutation").is_null().all()


def mutation_markdown(agents: pl.DataFrame, summary: pl.DataFrame, changes: pl.DataFrame,
                      pooled: bool = False) -> list[str]:
    out = ["### Mutation\n", md(mutation_intro(agents, pooled)) + "\n"]
    if mutations_recorded(agents) and summary.height:
        out.append(md_table(*mutation_rows(summary)) + "\n")
        if changes.height:
            out.append(md_table(*change_rows(changes)) + "\n")
    return out


def mutation_html(agents: pl.DataFrame, summary: pl.DataFrame, changes: pl.DataFrame,
                  pooled: bool = False) -> list[str]:
    out = ['<h3 id="mutation">Mutation</h3>', f'<p class="note">{esc(mutation_intro(agents, pooled))}</p>']
    if mutations_recorded(agents) and summary.height:
        out.append(html_table(*mutation_rows(summary)))
        if changes.height:
            out.append(html_table(*change_rows(changes)))
    return out


def _status_note(data: ReportData) -> str:
    m = data.run.manifest
    if m.get("status") == "complete":
        return ""
    return (f"This run is {fmt(m.get('status'))}: {fmt(m.get('generations_done'))} of "
            f"{fmt(m.get('generations'))} planned generations are complete; the numbers cover the "
            "generations written so far.")


# ---------------------------------------------------------------------------------------------
# Markdown


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(md(h) for h in headers) + " |",
             "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(data: ReportData) -> str:
    run, out = data.run, []
    out.append(f"# Survival report: {md(run.name)}\n")
    out.append(md(_header(data)) + "\n")
    for note in (_status_note(data), _stopped_note(data)):
        if note:
            out.append(f"> {md(note)}\n")

    out.append("## Verdict\n")
    if data.verdict.height:
        out.append(md_table(*_verdict_rows(data)) + "\n")
        out.append(md(_verdict_note(data)) + "\n")
    else:
        out.append(_empty_text(data) + "\n")

    out.append("## Survival\n")
    out.append("Share of agents carrying each process term, per generation"
               + (" (the neutral-drift twin in the drift columns)." if run.drift else ".") + "\n")
    if data.survival.height:
        h, rows, note = _survival_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Process share\n")
    out.append("Process weight / (process + outcome weight) of each agent: 0 is a pure "
               "consequentialist. Mean and quantiles per generation.\n")
    if data.process_share.height:
        h, rows, note = _process_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Fitness\n")
    out.append("Mean payoff (fitness gained per episode) of each founding profile, per generation.\n")
    if data.fitness.height:
        h, rows, note = _fitness_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")

    out.append("## Violations\n")
    out.append(md(_violations_intro(data)) + "\n")
    if data.violations.height:
        out.append(md_table(*_violation_rows(data)) + "\n")

    out.append("## Lineage\n")
    out.append(md(_lock_in_text(data)) + "\n")
    if data.lineage.height:
        h, rows, note = _lineage_rows(data)
        out.append(md_table(h, rows) + "\n")
        if note:
            out.append(md(note) + "\n")
    if data.births.height:
        out.append(md_table(*_births_rows(data)) + "\n")
    out.extend(mutation_markdown(run.agents, data.mutations, data.mutation_changes))

    out.append("## Run\n")
    out.append(md_table(["fact", "value"], [list(f) for f in _facts(data)]) + "\n")
    out.append("Profiles:\n")
    out.append(md_table(["profile", "description", "weights"], _profile_rows(data)) + "\n")
    if versions := _versions(data):
        out.append("Versions:\n")
        out.append(md_table(["package", "version"], versions) + "\n")
    out.append("Resolved experiment:\n")
    out.append("\n".join("    " + clean(line) for line in _experiment_json(data).splitlines()) + "\n")
    return "\n".join(out)


def _violations_intro(data: ReportData) -> str:
    return violations_intro(data.run)


def violations_intro(run: Run, pooled: bool = False) -> str:
    kinds = metrics.constrained_events(run)
    if not kinds:
        return "No constraint term names an event this arena records: nothing to measure."
    text = ("Revealed violation rate: events the agents did per opportunity, pooled over all "
            + ("episodes of all seeds " if pooled else "episodes ")
            + "(delegated: done by their helpers), next to the mean weight the profile's "
            "agents declared on constraints about that event, by scope. Event kinds: "
            + ", ".join(kinds) + ".")
    if run.has_oversight:
        text += " The arena has oversight: rates are also split into watched and unwatched episodes."
    return text


def _empty_text(data: ReportData) -> str:
    if not data.run.process_terms:
        return "The run has no process terms (standing, constraint or universalization)."
    return "No generation recorded yet."


# ---------------------------------------------------------------------------------------------
# HTML


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


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 1,
               verdict_col: int | None = None) -> str:
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


def html_page(data: ReportData) -> str:
    run = data.run
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Survival report: {esc(run.name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>Survival report: {esc(run.name)}</h1>",
        f'<p class="note">{esc(_header(data))}</p>',
        "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in SECTIONS) + "</nav>",
    ]
    for note in (_status_note(data), _stopped_note(data)):
        if note:
            parts.append(f'<p class="warn">{esc(note)}</p>')

    parts.append(_h2("verdict"))
    if data.verdict.height:
        h, rows = _verdict_rows(data)
        parts.append(html_table(h, rows, text_cols=3, verdict_col=h.index("verdict")))
        parts.append(f'<p class="note">{esc(_verdict_note(data))}</p>')
    else:
        parts.append(f"<p>{esc(_empty_text(data))}</p>")

    parts.append(_h2("survival"))
    parts.append('<p class="note">Share of agents carrying each process term per generation'
                 + (" (dashed: the neutral-drift twin)" if run.drift is not None else "")
                 + (f"; the dashed vertical line marks the lock-in at generation {data.lock_in.generation}"
                    if data.lock_in is not None else "") + ".</p>")
    parts.append(_survival_charts(data))
    if data.survival.height:
        parts.extend(_table_html(*_survival_rows(data)))

    parts.append(_h2("process-share"))
    parts.append('<p class="note">Process weight / (process + outcome weight): 0 is a pure '
                 "consequentialist. Line: mean; band: 10th–90th percentile.</p>")
    if data.process_share.height:
        parts.append(_process_chart(data))
        parts.extend(_table_html(*_process_rows(data)))

    parts.append(_h2("fitness"))
    parts.append('<p class="note">Mean payoff (fitness gained per episode) of each founding '
                 "profile, per generation.</p>")
    if data.fitness.height:
        parts.append(_fitness_chart(data))
        parts.extend(_table_html(*_fitness_rows(data)))

    parts.append(_h2("violations"))
    parts.append(f'<p class="note">{esc(_violations_intro(data))}</p>')
    if data.violations.height:
        parts.append(_violation_chart(data))
        h, rows = _violation_rows(data)
        parts.append(html_table(h, rows, text_cols=2))

    parts.append(_h2("lineage"))
    parts.append(f"<p>{esc(_lock_in_text(data))}</p>")
    if data.lineage.height:
        parts.append(_lineage_chart(data))
        parts.extend(_table_html(*_lineage_rows(data)))
    if data.births.height:
        parts.append(html_table(*_births_rows(data)))
    parts.extend(mutation_html(run.agents, data.mutations, data.mutation_changes))

    parts.append(_h2("run"))
    parts.append(html_table(["fact", "value"], [list(f) for f in _facts(data)], text_cols=2))
    parts.append("<h3>Profiles</h3>")
    parts.append(html_table(["profile", "description", "weights"], _profile_rows(data), text_cols=3))
    if versions := _versions(data):
        parts.append("<h3>Versions</h3>")
        parts.append(html_table(["package", "version"], versions, text_cols=2))
    parts.append("<details><summary>Resolved experiment</summary><pre>"
                 + html.escape(_experiment_json(data)) + "</pre></details>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], note: str) -> list[str]:
    """A generation table and, when rows were thinned, the note that says so."""
    return [html_table(headers, rows)] + ([f'<p class="note">{esc(note)}</p>'] if note else [])


def _h2(section_id: str) -> str:
    return f'<h2 id="{section_id}">{dict(SECTIONS)[section_id]}</h2>'


def _finite_xy(df: pl.DataFrame, x: str, y: str) -> tuple[list[float], list[float | None]]:
    xs = df.get_column(x).cast(pl.Float64).to_list()
    ys = [v if v is not None and math.isfinite(v) else None
          for v in df.get_column(y).cast(pl.Float64).to_list()]
    return xs, ys


def _survival_charts(data: ReportData) -> str:
    if not data.survival.height:
        return ""
    figs = []
    for i, term in enumerate(data.run.process_terms):
        key, label = term["key"], metrics.term_label(term)
        color = PALETTE[i % len(PALETTE)]
        xs, ys = _finite_xy(data.survival.filter(pl.col("term") == key), "generation", "share")
        series = [Series(label, xs, ys, color)]
        if data.drift_survival is not None:
            d = data.drift_survival.filter(pl.col("term") == key)
            if d.height:
                dx, dy = _finite_xy(d, "generation", "share")
                series.append(Series(f"{label} (drift)", dx, dy, color, dashed=True))
        svg = line_chart(series, title=f"Survival of {label}", y_label="share carrying",
                         y_range=(0.0, 1.0), width=440, height=220, vlines=_lock_in_marks(data))
        figs.append(f"<figure>{svg}<figcaption>{esc(label)} ({esc(key)})</figcaption></figure>")
    return '<div class="charts">' + "".join(figs) + "</div>"


def _lock_in_marks(data: ReportData) -> list[tuple[float, str]]:
    if data.lock_in is None:
        return []
    return [(float(data.lock_in.generation), f"lock-in (gen {data.lock_in.generation})")]


def _process_chart(data: ReportData) -> str:
    df = data.process_share
    xs, mean = _finite_xy(df, "generation", "mean")
    band = None
    if {"q10", "q90"} <= set(df.columns):
        band = (_finite_xy(df, "generation", "q10")[1], _finite_xy(df, "generation", "q90")[1])
    svg = line_chart([Series("mean process share", xs, mean, PALETTE[0], band=band)],
                     title="Mean process share", y_label="process share", y_range=(0.0, 1.0))
    return f"<figure>{svg}</figure>"


def _fitness_chart(data: ReportData) -> str:
    series = []
    for i, p in enumerate(_profiles(data)):
        xs, ys = _finite_xy(data.fitness.filter(pl.col("profile") == p), "generation", "payoff")
        series.append(Series(p, xs, ys, PALETTE[i % len(PALETTE)]))
    svg = line_chart(series, title="Mean payoff by profile", y_label="payoff")
    return f"<figure>{svg}</figure>"


def _lineage_chart(data: ReportData) -> str:
    xs, ys = _finite_xy(data.lineage, "generation", "share")
    svg = line_chart([Series("largest lineage share", xs, ys, PALETTE[1])],
                     title="Largest lineage share", y_label="share of population",
                     y_range=(0.0, 1.0), hlines=[(data.lock_in_share, "lock-in threshold")],
                     vlines=_lock_in_marks(data))
    return f"<figure>{svg}</figure>"


def _violation_chart(data: ReportData) -> str:
    return violation_chart(data.violations, data.run.has_oversight)


def violation_chart(violations: pl.DataFrame, has_oversight: bool) -> str:
    bars = [("rate", "own", PALETTE[1]), ("delegated_rate", "via helpers", PALETTE[0])]
    if has_oversight:
        bars += [("rate_watched", "own, watched", PALETTE[2]),
                 ("rate_unwatched", "own, unwatched", PALETTE[4])]
    groups = [(f"{r['profile']} · {r['event']}", [r[c] for c, _, _ in bars])
              for r in violations.iter_rows(named=True)]
    svg = bar_chart(groups, [(label, color) for _, label, color in bars],
                    title="Revealed violation rate (events per opportunity)")
    return f"<figure>{svg}</figure>"
