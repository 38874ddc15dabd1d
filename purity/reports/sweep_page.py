"""report.md and report.html of a sweep, drawn from its `SweepReport` (`sweep_report`)."""

from __future__ import annotations

import html
import math

from . import sweep_reflection, sweep_verdicts
from .page import Page, Rows, clean, esc, fmt, html_table, md, md_table
from .reflection_metrics import squash_summary
from .sweep_chart import effect_chart, key_chart, setting_charts
from .sweep_load import SWEEP_RUNS, Sweep, SweepRun
from .sweep_report import (
    DRIFT_SHARE,
    FALSE,
    FREE,
    SHARE,
    SQUASHED,
    KeyAxis,
    Stats,
    SweepReport,
    figure_label,
    report_link,
    setting_label,
    stats,
    value_label,
)

SECTIONS = (
    ("squashed", "Squashed, by definition / by trade-off"),
    ("trend", "Squashing along a numeric key"),
    ("identity", "Designs against self-modifications"),
    ("verdicts", "Verdicts"),
    ("by-key", "By swept key"),
    ("by-setting", "By setting"),
    ("runs", "Runs"),
    ("failures", "Failed runs"),
    ("reports", "Run reports"),
    ("sweep", "Sweep"),
)
SWEEP_CSS = (
    "ul{padding-left:1.3rem}li{margin:.15rem 0}code{font-size:.85rem}.runs td:first-child{white-space:nowrap}"
)
BAND_NOTE = (
    "dot: mean over the runs with that value; bar: min–max over those runs, i.e. over "
    "seeds and the other keys' values"
)
SETTING_INTRO = (
    "Each grid point (every swept key at one value): its seeds, and per process term the "
    "final share of agents carrying it and, where successors were designed, the share of "
    "births by design whose designer dropped or weakened it. Cells: mean [min, max] over "
    "the seeds. The HTML report draws each point's survival curves (mean over seeds)."
)
RUNS_NOTE = (
    "A run that is a set of seed replicates lists its seeds; its figures are then "
    "mean [min, max] over them. Figures are at each run's last recorded generation."
)


def page(data: SweepReport) -> Page:
    """Both formats of the report (`.markdown()`, `.html_page()`)."""
    s = data.sweep
    page = Page(f"Sweep report: {s.name}", _header(data), SECTIONS, SWEEP_CSS)
    for note in _warnings(data):
        page.warn(note)

    if any(o.squash is not None for o in data.observations):  # a reflection sweep leads with it
        summary = squash_summary([o.squash for o in data.observations])
        page.section("squashed")
        if summary.height:
            page.note(SQUASH_NOTE)
            page.table(*_squash_rows(data, summary))
        else:
            page.para("No chosen change lowered a process term in these runs.")
        page.section("trend")
        if data.trends.height:
            page.note(sweep_reflection.NOTE)
            page.table(*trend_rows(data), text_cols=3, verdict_col=10)
        else:
            page.para(TREND_NONE)
        page.section("identity")
        if data.identity.height:
            page.note(sweep_reflection.IDENTITY_NOTE)
            page.table(*identity_rows(data), text_cols=2, verdict_col=6)
        else:
            page.para("No grid point had carriers that both designed successors and modified themselves.")

    page.section("verdicts")
    if data.verdicts.height:
        page.para(_verdict_summary(data))
        page.html(effect_chart(data))
        headers, rows = verdict_rows(data)
        page.table(headers, rows, text_cols=2, verdict_col=headers.index("verdict"))
        page.note(sweep_verdicts.NOTE)
    else:
        page.para("No complete run to judge yet.")

    page.section("by-key")
    page.note(_by_key_intro(data))
    if not data.observations:
        page.para("No complete run to summarise yet.")
    elif not data.axes:
        page.para("No key is swept: the runs repeat the base experiment over seeds.")
        page.table(*_overall_rows(data))
    else:
        for ax in data.axes:
            page.subsection(ax.key, "key-" + _slug(ax.key))
            page.html(
                f"<figure>{key_chart(data, ax)}<figcaption>{esc(_caption(data, ax))}</figcaption></figure>"
            )
            page.table(*_key_rows(data, ax))

    page.section("by-setting")
    page.note(SETTING_INTRO)
    if data.settings:
        page.html(setting_charts(data))
        page.table(*_setting_rows(data))

    page.section("runs")
    headers, rows = _runs_rows(data)
    page.add(md_table(headers, rows) + "\n", f'<div class="runs">{_runs_table(data, headers, rows)}</div>')
    page.note(RUNS_NOTE)

    page.section("failures")
    _failures(page, [r for r in s.runs if r.status != "complete"])
    page.section("reports")
    _report_links(page, s)

    page.section("sweep")
    page.table(["fact", "value"], [list(f) for f in _facts(data)], text_cols=2)
    if data.axes:
        page.table(["key", "values", "axis"], _grid_rows(data), text_cols=3)
    if (toml := _sweep_toml(data)) is not None:
        page.verbatim("Sweep file", toml)
    return page


TREND_NONE = (
    "No numeric swept key has two values with carriers' designs to compare, so no trend of "
    "squashing along a key is tested."
)


def trend_rows(data: SweepReport) -> Rows:
    """Per numeric key, setting of the other keys and term: the fall test of `sweep_reflection`."""
    labels = {t["key"]: t["label"] for t in data.terms}
    headers = ["key", "other keys", "term", "values", "runs", "first", "last", "γ", "p", "p (Holm)"]
    return headers + ["verdict"], [
        [r["key"], r["others"], labels.get(r["term"], r["term"]), str(r["doses"]), str(r["seeds"])]
        + [fmt(r[c]) for c in ("first", "last", "gamma", "p", "p_adjusted")]
        + [r["verdict"]]
        for r in data.trends.iter_rows(named=True)
    ]


def identity_rows(data: SweepReport) -> Rows:
    """Per grid point and term: designs minus self-modifications lowering it, over seeds."""
    labels = {t["key"]: t["label"] for t in data.terms}
    headers = ["setting", "term", "seeds", "designs − self-modifications", "95% low", "95% high", "verdict"]
    return headers, [
        [setting_label(data.settings[r["point"]]), labels.get(r["term"], r["term"]), str(r["seeds"])]
        + [fmt(r["difference"])]
        + ["–" if r[c] is None or math.isnan(r[c]) else fmt(r[c]) for c in ("low", "high")]
        + [r["verdict"]]
        for r in data.identity.iter_rows(named=True)
    ]


def verdict_rows(data: SweepReport) -> Rows:
    """Per grid point and process term: seeds, mean start and end share (95% interval over seeds),
    the null's band, the Holm p over the whole sweep and the verdict."""
    labels = {t["key"]: t["label"] for t in data.terms}
    headers = ["setting", "process term", "seeds", "start", "end [95%]", "null 95% band", "p (Holm)"]
    headers += ["verdict"]
    rows = []
    for r in data.verdicts.iter_rows(named=True):
        end = (
            fmt(r["mean"])
            if r["low"] is None or math.isnan(r["low"])
            else f"{fmt(r['mean'])} [{fmt(r['low'])}, {fmt(r['high'])}]"
        )
        rows.append(
            [
                setting_label(data.settings[r["point"]]),
                labels.get(r["term"], r["term"]),
                str(r["seeds"]),
                fmt(r["start"]),
                end,
                "–" if r["band_low"] is None else f"[{fmt(r['band_low'])}, {fmt(r['band_high'])}]",
                fmt(r["p_adjusted"]),
                r["verdict"],
            ]
        )
    return headers, rows


def _verdict_summary(data: SweepReport) -> str:
    """The sweep's answer in one sentence: how many of its tests came out each way."""
    tests = data.verdicts.height
    counts = "; ".join(f"{word}: {n}" for word, n in sweep_verdicts.tally(data.verdicts).items())
    return (
        f"{tests} tests ({len(data.settings)} grid points × their process terms), corrected "
        f"together (Holm): {counts}."
    )


def _failures(page: Page, failed: list[SweepRun]) -> None:
    if not failed:
        page.para("None: every run is complete.")
        return
    for run in failed:
        error = (
            f"<pre>{html.escape(str(run.error))}</pre>"
            if run.error
            else "<p>No error recorded (the run has not finished).</p>"
        )
        page.add(
            f"- **{md(run.name)}** ({md(run.status)}; {md(_settings_text(run))}; seed "
            f"{fmt(run.seed)}): {md(_first_line(run.error, 400)) or 'no error recorded'}",
            f"<h3>{esc(run.name)} ({esc(run.status)})</h3>"
            f'<p class="note">{esc(_settings_text(run))}; seed {esc(fmt(run.seed))}</p>' + error,
        )
    page.add("", None)


def _report_links(page: Page, sweep: Sweep) -> None:
    items = []
    for run in sweep.runs:
        link = report_link(run)
        if link:
            page.add(f"- [{md(run.name)}]({link}) — {md(_settings_text(run))}", None)
            items.append(f'<li><a href="{esc(link)}">{esc(run.name)}</a> — {esc(_settings_text(run))}</li>')
        else:
            page.add(f"- {md(run.name)} — no report yet (`purity report {SWEEP_RUNS}/{run.name}`)", None)
            items.append(
                f"<li>{esc(run.name)} — no report yet (<code>purity report "
                f"{esc(SWEEP_RUNS)}/{esc(run.name)}</code>)</li>"
            )
    page.add("", "<ul>" + "".join(items) + "</ul>")


# ---------------------------------------------------------------------------------------------
# text


def _counts(sweep: Sweep) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in sweep.runs:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def _header(data: SweepReport) -> str:
    s = data.sweep
    runs = ", ".join(f"{n} {status}" for status, n in _counts(s).items()) or "no runs"
    keys = ", ".join(s.keys) or "none (seeds only)"
    return (
        f"{len(s.runs)} runs ({runs}); swept keys: {keys}; {len(data.observations)} single-seed "
        f"runs observed; status {fmt(s.status)}."
    )


def _warnings(data: SweepReport) -> list[str]:
    s, out = data.sweep, []
    if s.status != "complete":
        unfinished = sum(1 for r in s.runs if r.status in ("pending", "running"))
        out.append(
            f"This sweep is {fmt(s.status)}: {unfinished} runs have not finished; the figures "
            "cover the complete runs only."
        )
    if s.table is None:
        out.append("sweep.parquet is not there yet (it is written when the sweep ends).")
    return out + data.problems


def _band(st: Stats | None) -> str:
    if st is None or st[3] == 0:
        return "–"
    mean, lo, hi, n = st
    return fmt(mean) if n == 1 or lo == hi else f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def _key_rows(data: SweepReport, ax: KeyAxis) -> Rows:
    names = data.figure_names
    headers = [ax.key, "runs"] + [figure_label(data, n) for n in names]
    rows = [
        [label, str(n)] + [_band(st.get(name)) for name in names]
        for label, n, st in zip(ax.labels, ax.runs, ax.stats)
    ]
    return headers, rows


def _overall_rows(data: SweepReport) -> Rows:
    names = data.figure_names
    headers = ["runs"] + [figure_label(data, n) for n in names]
    return headers, [[str(len(data.observations))] + [_band(data.overall.get(n)) for n in names]]


BY_KEY_INTRO = (
    "Final share of agents carrying each process term (at each run's last recorded "
    "generation), by the value of each swept key. Cells: mean [min, max] over the runs "
    "with that value — over seeds and the other keys' values. A run that is a set of seed "
    "replicates counts once per seed. Observations: {observed}."
)


def _by_key_intro(data: SweepReport) -> str:
    n = len(data.observations)
    text = BY_KEY_INTRO.format(observed=f"{n} from run files" if n else "none")
    return text + (" Drift columns: the runs' neutral-drift twins." if data.has_drift else "")


def _setting_rows(data: SweepReport) -> Rows:
    names = [n for n in data.figure_names if n.startswith((SHARE, SQUASHED, FREE, FALSE))]
    headers = ["setting", "seeds"] + [figure_label(data, n) for n in names]
    rows = []
    for setting in data.settings:
        st = stats(setting.observations, names)
        rows.append(
            [setting_label(setting), str(len(setting.observations))] + [_band(st.get(n)) for n in names]
        )
    return headers, rows


SQUASH_NOTE = (
    "Every chosen change that dropped or weakened a process term, over all runs, per evaluation "
    "rule and term. Free by definition: the term could count no act of the simulated future "
    "(e.g. a self-scoped constraint dropped from a built successor), so dropping it says nothing "
    "about competition inside the mind. By trade-off: it cost the agent something it gained back "
    "in outcome terms; only these are findings. False: trade-offs a reference evaluation on fresh "
    "noise scores no better than keeping (the winner's curse), where the runs made one."
)


def _squash_rows(data: SweepReport, summary) -> Rows:
    labels = {t["key"]: t["label"] for t in data.terms}
    referenced = summary["false_trade_off"].null_count() < summary.height
    headers = ["rule", "term", "squashed", "free by definition", "by trade-off"] + [
        "false (reference)"
    ] * referenced
    rows = [
        [
            r["rule"],
            labels.get(r["term"], r["term"]),
            fmt(r["squashed"]),
            fmt(r["by_definition"]),
            fmt(r["by_trade_off"]),
        ]
        + [fmt(r["false_trade_off"])] * referenced
        for r in summary.iter_rows(named=True)
    ]
    return headers, rows


def _first_line(text: str | None, limit: int = 90) -> str:
    if not text:
        return ""
    line = clean(str(text).strip().splitlines()[-1] if str(text).strip() else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _run_seeds(data: SweepReport, run: SweepRun) -> str:
    obs = data.by_run.get(run.name, [])
    if run.is_replicates and obs:
        return ", ".join(fmt(o.seed) for o in obs)
    return fmt(run.seed)


def _runs_rows(data: SweepReport) -> Rows:
    names = [n for n in data.figure_names if not n.startswith(DRIFT_SHARE)]
    headers = ["run", *data.sweep.keys, "seed", "status"] + [figure_label(data, n) for n in names] + ["error"]
    rows = []
    for run in data.sweep.runs:
        st = stats(data.by_run.get(run.name, []), data.figure_names)
        rows.append(
            [
                run.name,
                *[value_label(run.settings[k]) if k in run.settings else "–" for k in data.sweep.keys],
                _run_seeds(data, run),
                run.status,
            ]
            + [_band(st.get(n)) if st.get(n, (0, 0, 0, 0))[3] else "–" for n in names]
            + [_first_line(run.error)]
        )
    return headers, rows


def _settings_text(run: SweepRun) -> str:
    return ", ".join(f"{k} = {value_label(v)}" for k, v in run.settings.items()) or "no grid settings"


def _facts(data: SweepReport) -> list[tuple[str, str]]:
    m, s = data.sweep.manifest, data.sweep
    counts = _counts(s)
    return [
        (k, fmt(v))
        for k, v in (
            ("name", s.name),
            ("status", s.status),
            ("runs", f"{len(s.runs)} (" + ", ".join(f"{n} {st}" for st, n in counts.items()) + ")"),
            ("swept keys", ", ".join(s.keys) or "none"),
            ("seeds", ", ".join(str(x) for x in sorted({r.seed for r in s.runs if r.seed is not None}))),
            ("base experiment", m.get("base")),
            ("started", m.get("started")),
            ("finished", m.get("finished")),
            ("sweep table", "sweep.parquet" if s.table is not None else "not written yet"),
            ("directory", str(s.path)),
        )
    ]


def _grid_rows(data: SweepReport) -> list[list[str]]:
    return [
        [
            ax.key,
            ", ".join(ax.labels),
            "numeric (log)" if ax.log else ("numeric" if ax.numeric else "categorical"),
        ]
        for ax in data.axes
    ]


def _sweep_toml(data: SweepReport) -> str | None:
    file = data.sweep.path / "sweep.toml"
    try:
        return file.read_text(encoding="utf-8") if file.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------------------------------
# HTML details


def _slug(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def _runs_table(data: SweepReport, headers: list[str], rows: list[list[str]]) -> str:
    """The run table, its first column linked to the run's report where there is one."""
    table = html_table(headers, rows, text_cols=3 + len(data.sweep.keys))
    for run in data.sweep.runs:
        link = report_link(run)
        if link:
            cell = f'<td class="t">{esc(run.name)}</td>'
            table = table.replace(cell, f'<td class="t"><a href="{esc(link)}">{esc(run.name)}</a></td>', 1)
    return table


def _caption(data: SweepReport, ax: KeyAxis) -> str:
    text = f"Final shares by {ax.key} — {BAND_NOTE}. Black squares: mean process share"
    if data.has_drift:
        text += (
            "; open circles" + (" on dashed lines" if ax.numeric else "") + ": the neutral-drift twins (mean)"
        )
    if ax.log:
        text += "; x on a log scale"
    if not ax.numeric:
        text += "; one slot per value, in the grid's order"
    return text + "."
