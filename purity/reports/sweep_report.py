"""`report.md` and `report.html` for a sweep directory: many runs over a grid of experiment keys × seeds.

The sweep's question is how the outcome moves with each swept key, so the report's centre is one
chart per key: x = the key's values (a numeric axis when they are all numbers, else one slot per
value), y = the final share of agents carrying each process term. A dot is the mean over every
observation with that value; its bar is the min–max over the same observations, i.e. over seeds
*and* over the values of the other keys — the spread a reader must see before reading a trend.

An observation is one single-seed run at its last recorded generation. Its figures come from
`sweep.parquet` (the sweep's summary columns), else from the manifest's copy, else they are
computed from the run's files; a run that is a seed-replicates set contributes one observation per
seed, computed from its `seed=<s>/` folders. Only complete runs are observations; failed and
unfinished ones are listed with their errors. The neutral-drift twins' final shares are read from
the run files when the runs have them.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import training
from .load import (
    DRIFT_DIR,
    MANIFEST,
    SWEEP_RUNS,
    ReportError,
    Run,
    Sweep,
    SweepRun,
    load,
    load_sweep,
    read_manifest,
)
from .text import clean, esc, fmt, md

__all__ = [
    "SECTIONS",
    "KeyAxis",
    "Observation",
    "SweepData",
    "collect",
    "html_page",
    "leaf_dirs",
    "markdown",
    "observe",
    "write_sweep_report",
]

SECTIONS = (
    ("by-key", "By swept key"),
    ("by-setting", "By setting"),
    ("runs", "Runs"),
    ("failures", "Failed runs"),
    ("reports", "Run reports"),
    ("sweep", "Sweep"),
)
PROCESS = "mean_process_share"
PAYOFF = "mean_payoff"
GENERATIONS = "generations_done"
SHARE = "share:"
DRIFT_SHARE = "drift_share:"
SQUASHED = "squashed:"  # share of births by design whose designer dropped or weakened the term
BAND_NOTE = (
    "dot: mean over the runs with that value; bar: min–max over those runs, i.e. over "
    "seeds and the other keys' values"
)


# ---------------------------------------------------------------------------------------------
# entry point


def write_sweep_report(sweep_dir: str | Path, *, run_reports: bool = False) -> tuple[Path, Path]:
    """Read a sweep directory, write report.md and report.html into it atomically, return both paths.

    run_reports=True first writes every run's own report (`reports.write_report(runs/<name>)`),
    so each entry of the run list links to one; otherwise only reports already there are linked.
    """
    from .render import write_atomic

    sweep = load_sweep(sweep_dir)
    problems: list[str] = []
    if run_reports:
        from .render import write_report

        for run in sweep.runs:
            if run.exists:
                try:
                    write_report(run.path)
                except ReportError as exc:
                    problems.append(f"{run.name}: no report written ({exc})")
    data = collect(sweep, problems=problems)
    md_path, html_path = sweep.path / "report.md", sweep.path / "report.html"
    write_atomic(md_path, markdown(data))
    write_atomic(html_path, html_page(data))
    return md_path, html_path


# ---------------------------------------------------------------------------------------------
# observations: one per single-seed run


@dataclass(frozen=True)
class Observation:
    """One single-seed run of the sweep at its last recorded generation."""

    run: str  # the sweep run it belongs to
    seed: int | None
    settings: dict[str, Any]
    source: str  # "sweep.parquet" | "sweep.json" | "run files"
    figures: dict[
        str, float
    ]  # generations_done (an int), mean_process_share, mean_payoff, share:<term>, drift_share:<term>
    path: Path | None = None  # its run directory (None if it is gone)


def leaf_dirs(run: SweepRun) -> list[tuple[int | None, Path]]:
    """(seed, directory) of each single-seed run in a sweep run: itself, or its `seed=<s>/` folders."""
    if not run.is_replicates:
        return [(run.seed, run.path)] if run.exists else []
    top = json.loads((run.path / MANIFEST).read_text(encoding="utf-8"))
    seeds, folders = top.get("seeds") or [], top.get("runs") or []
    out = []
    for seed, folder in zip(seeds, folders):
        sub = run.path / str(folder)
        if isinstance(folder, str) and Path(folder).name == folder and (sub / MANIFEST).is_file():
            out.append((seed if isinstance(seed, int) and not isinstance(seed, bool) else None, sub))
    return out


def final_figures(run: Run, threshold: float | None = None) -> dict[str, float]:
    """Last generation's figures of a run (agents table): what the sweep summary holds, computed here."""
    import polars as pl

    from .metrics import carries, squashed_by_term

    agents = run.agents
    if agents.height == 0:
        return {}
    last = agents.filter(pl.col("generation") == agents.get_column("generation").max())
    t = run.threshold if threshold is None else threshold
    figures: dict[str, float] = {
        GENERATIONS: int(run.manifest.get("generations_done") or last.get_column("generation")[0] + 1),
        PROCESS: _float(last.get_column("process_share").mean()),
        PAYOFF: _float(last.get_column("payoff").mean()),
    }
    cols = [f"w:{term['key']}" for term in run.process_terms if f"w:{term['key']}" in last.columns]
    if cols:
        shares = last.select(carries(pl.col(c), t).mean().alias(c) for c in cols).row(0, named=True)
        figures |= {SHARE + c[2:]: _float(v) for c, v in shares.items()}
    return figures | training.final(run) | {SQUASHED + k: v for k, v in squashed_by_term(run).items()}


def _float(v: Any) -> float:
    return float(v) if v is not None else math.nan


def observe(sweep: Sweep, problems: list[str] | None = None) -> list[Observation]:
    """Every complete single-seed run of the sweep with its final figures (see the module docstring)."""
    problems = problems if problems is not None else []
    out: list[Observation] = []
    table_runs = set(sweep.table.get_column("run").to_list()) if sweep.table is not None else set()
    for run in sweep.runs:
        if run.status != "complete":
            continue
        try:
            leaves = leaf_dirs(run)
        except (OSError, ValueError) as exc:
            problems.append(f"{run.name}: its seed folders cannot be listed ({exc})")
            continue
        if run.summary and not run.is_replicates:
            source = "sweep.parquet" if run.name in table_runs else "sweep.json"
            figures = {
                k: v for k, v in run.summary.items() if isinstance(v, int | float) and not isinstance(v, bool)
            }
            path = run.path if run.exists else None
            if path is not None:
                figures |= _drift_figures(path, problems, run.name)
            out.append(Observation(run.name, run.seed, run.settings, source, figures, path))
            continue
        if not leaves:
            problems.append(
                f"{run.name}: complete in sweep.json, but neither a summary nor its run "
                f"files ({run.path}) are there"
            )
            continue
        for seed, path in leaves:
            try:
                loaded = load(path, tables=("agents", "episodes", "lineage", "reflection"))
            except ReportError as exc:
                problems.append(f"{run.name}: {exc}")
                continue
            figures = final_figures(loaded)
            if loaded.drift is not None:
                figures |= {
                    DRIFT_SHARE + k[len(SHARE) :]: v
                    for k, v in final_figures(loaded.drift).items()
                    if k.startswith(SHARE)
                }
            out.append(
                Observation(
                    run.name,
                    seed if seed is not None else loaded.seed,
                    run.settings,
                    "run files",
                    figures,
                    path,
                )
            )
    return out


def _drift_figures(path: Path, problems: list[str], name: str) -> dict[str, float]:
    if not (path / DRIFT_DIR / MANIFEST).is_file():
        return {}
    try:
        drift = load(path / DRIFT_DIR, tables=("agents",))
    except ReportError as exc:
        problems.append(f"{name}: drift twin not read ({exc})")
        return {}
    return {DRIFT_SHARE + k[len(SHARE) :]: v for k, v in final_figures(drift).items() if k.startswith(SHARE)}


# ---------------------------------------------------------------------------------------------
# aggregation by key


@dataclass(frozen=True)
class KeyAxis:
    """One swept key: its values in order and, per value, mean / min / max of every figure."""

    key: str
    numeric: bool
    log: bool
    values: list[Any]
    labels: list[str]
    runs: list[int]  # observations per value
    stats: list[dict[str, tuple[float, float, float, int]]]  # per value: figure → (mean, min, max, n)

    def xs(self) -> list[float]:
        if self.numeric:
            return [float(v) for v in self.values]
        return [float(i) for i in range(len(self.values))]


def value_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return "inf" if value == math.inf else ("-inf" if value == -math.inf else repr(value))
    return json.dumps(value, sort_keys=True)


def _value_id(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def stats(
    observations: Sequence[Observation], names: Sequence[str]
) -> dict[str, tuple[float, float, float, int]]:
    """figure → (mean, min, max, n) over the observations that have a finite value of it."""
    out = {}
    for name in names:
        vs = [
            o.figures[name]
            for o in observations
            if name in o.figures and o.figures[name] is not None and math.isfinite(o.figures[name])
        ]
        out[name] = (
            (sum(vs) / len(vs), min(vs), max(vs), len(vs)) if vs else (math.nan, math.nan, math.nan, 0)
        )
    return out


def axis(sweep: Sweep, key: str, observations: Sequence[Observation], names: Sequence[str]) -> KeyAxis:
    values = sweep.values(key)
    numeric = bool(values) and all(_is_number(v) for v in values)
    if numeric:
        values = sorted(values)
    log = numeric and min(values) > 0 and max(values) / min(values) >= 100
    groups: dict[str, list[Observation]] = {_value_id(v): [] for v in values}
    for o in observations:
        if key in o.settings:
            groups.setdefault(_value_id(o.settings[key]), []).append(o)
    return KeyAxis(
        key,
        numeric,
        log,
        values,
        [value_label(v) for v in values],
        [len(groups[_value_id(v)]) for v in values],
        [stats(groups[_value_id(v)], names) for v in values],
    )


# ---------------------------------------------------------------------------------------------
# everything the report shows, computed once for both formats


@dataclass(frozen=True)
class Setting:
    """One point of the grid: its settings, its observations (seeds) and their mean survival
    curves (generation, term, share: the share carrying each process term, mean over seeds)."""

    settings: dict[str, Any]
    observations: list[Observation]
    curves: Any  # pl.DataFrame


MAX_CURVE_RUNS = 400  # above this many observations the curves are not read (one agents table each)


def settings_of(observations: Sequence[Observation], problems: list[str]) -> list[Setting]:
    """Observations grouped by grid point, in first-seen order, with their survival curves."""
    import polars as pl

    from .metrics import survival

    groups: dict[str, list[Observation]] = {}
    for o in observations:
        groups.setdefault(json.dumps(o.settings, sort_keys=True, default=str), []).append(o)
    out = []
    read = len(observations) <= MAX_CURVE_RUNS
    for obs in groups.values():
        frames = []
        for o in obs if read else []:
            if o.path is None:
                continue
            try:
                frames.append(
                    survival(load(o.path, tables=("agents",))).select("generation", "term", "share")
                )
            except ReportError as exc:
                problems.append(f"{o.run}: {exc}")
        curves = (
            pl.concat(frames)
            .group_by("generation", "term")
            .agg(pl.col("share").mean())
            .sort("term", "generation")
            if frames
            else pl.DataFrame(schema={"generation": pl.Int64, "term": pl.String, "share": pl.Float64})
        )
        out.append(Setting(obs[0].settings, obs, curves))
    return out


@dataclass(frozen=True)
class SweepData:
    sweep: Sweep
    terms: list[dict[str, Any]]  # process terms: key, label (first-seen order)
    observations: list[Observation]
    axes: list[KeyAxis]
    overall: dict[str, tuple[float, float, float, int]]
    figure_names: list[str]
    has_drift: bool
    problems: list[str] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)

    @property
    def by_run(self) -> dict[str, list[Observation]]:
        out: dict[str, list[Observation]] = {}
        for o in self.observations:
            out.setdefault(o.run, []).append(o)
        return out


def collect(sweep: Sweep, problems: Sequence[str] = ()) -> SweepData:
    found = list(problems)
    observations = observe(sweep, found)
    terms = _terms(sweep, observations)
    has_drift = any(k.startswith(DRIFT_SHARE) for o in observations for k in o.figures)
    trained = [
        training.PREFIX + name
        for name, _ in training.MEASURES
        if any(training.PREFIX + name in o.figures for o in observations)
    ]
    squashed = [
        SQUASHED + t["key"] for t in terms if any(SQUASHED + t["key"] in o.figures for o in observations)
    ]
    names = (
        [SHARE + t["key"] for t in terms]
        + squashed
        + [PROCESS, PAYOFF, GENERATIONS]
        + ([DRIFT_SHARE + t["key"] for t in terms] if has_drift else [])
        + trained
    )
    axes = [axis(sweep, key, observations, names) for key in sweep.keys]
    settings = settings_of(observations, found)
    return SweepData(
        sweep, terms, observations, axes, stats(observations, names), names, has_drift, found, settings
    )


def _terms(sweep: Sweep, observations: Sequence[Observation]) -> list[dict[str, Any]]:
    """Process terms with their labels, from the runs' manifests (first-seen order); a term known only
    from a `share:<key>` summary column keeps its key as label."""
    seen: dict[str, dict[str, Any]] = {}
    read: set[Path] = set()
    for o in observations:
        path = o.path
        if path is None or path in read:
            continue
        read.add(path)
        try:
            manifest = read_manifest(path / MANIFEST)
        except ReportError:
            continue
        for t in manifest["terms"]:
            if t.get("process"):
                seen.setdefault(
                    str(t["key"]), {"key": str(t["key"]), "label": str(t.get("label") or t["key"])}
                )
    for o in observations:
        for k in o.figures:
            if k.startswith(SHARE):
                key = k[len(SHARE) :]
                seen.setdefault(key, {"key": key, "label": key})
    return list(seen.values())


# ---------------------------------------------------------------------------------------------
# text shared by both formats


def _counts(sweep: Sweep) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in sweep.runs:
        out[r.status] = out.get(r.status, 0) + 1
    return out


def _header(data: SweepData) -> str:
    s = data.sweep
    counts = _counts(s)
    runs = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no runs"
    keys = ", ".join(s.keys) or "none (seeds only)"
    return (
        f"{len(s.runs)} runs ({runs}); swept keys: {keys}; {len(data.observations)} single-seed "
        f"runs observed; status {fmt(s.status)}."
    )


def _warnings(data: SweepData) -> list[str]:
    s, out = data.sweep, []
    if s.status != "complete":
        unfinished = sum(1 for r in s.runs if r.status in ("pending", "running"))
        out.append(
            f"This sweep is {fmt(s.status)}: {unfinished} runs have not finished; the figures "
            "cover the complete runs only."
        )
    if s.table is None:
        out.append(
            "sweep.parquet is not there yet (it is written when the sweep ends): the figures "
            "come from sweep.json and the run files."
        )
    out += data.problems
    return out


def _band(st: tuple[float, float, float, int] | None) -> str:
    if st is None or st[3] == 0:
        return "–"
    mean, lo, hi, n = st
    return fmt(mean) if n == 1 or lo == hi else f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def _figure_header(data: SweepData, name: str) -> str:
    labels = {t["key"]: t["label"] for t in data.terms}
    if name.startswith(SHARE):
        return f"{labels.get(name[len(SHARE) :], name)} share"
    if name.startswith(DRIFT_SHARE):
        return f"{labels.get(name[len(DRIFT_SHARE) :], name)} share (drift)"
    if name.startswith(training.PREFIX):
        return "final " + dict(training.MEASURES)[name[len(training.PREFIX) :]]
    if name.startswith(SQUASHED):
        return f"designs dropping or weakening {labels.get(name[len(SQUASHED) :], name)}"
    return {PROCESS: "mean process share", PAYOFF: "mean payoff", GENERATIONS: "generations done"}[name]


def _key_rows(data: SweepData, ax: KeyAxis) -> tuple[list[str], list[list[str]]]:
    names = data.figure_names
    headers = [ax.key, "runs"] + [_figure_header(data, n) for n in names]
    rows = [
        [label, str(n)] + [_band(st.get(name)) for name in names]
        for label, n, st in zip(ax.labels, ax.runs, ax.stats)
    ]
    return headers, rows


def _overall_rows(data: SweepData) -> tuple[list[str], list[list[str]]]:
    names = data.figure_names
    headers = ["runs"] + [_figure_header(data, n) for n in names]
    return headers, [[str(len(data.observations))] + [_band(data.overall.get(n)) for n in names]]


def _by_key_intro(data: SweepData) -> str:
    sources: dict[str, int] = {}
    for o in data.observations:
        sources[o.source] = sources.get(o.source, 0) + 1
    where = ", ".join(f"{n} from {s}" for s, n in sources.items()) or "none"
    text = (
        f"Final share of agents carrying each process term (at each run's last recorded "
        f"generation), by the value of each swept key. Cells: mean [min, max] over the runs "
        f"with that value — over seeds and the other keys' values. A run that is a set of seed "
        f"replicates counts once per seed. Observations: {where}."
    )
    if data.has_drift:
        text += " Drift columns: the runs' neutral-drift twins."
    return text


SETTING_INTRO = (
    "Each grid point (every swept key at one value): its seeds, and per process term the "
    "final share of agents carrying it and, where successors were designed, the share of "
    "births by design whose designer dropped or weakened it. Cells: mean [min, max] over "
    "the seeds. The HTML report draws each point's survival curves (mean over seeds)."
)


def _setting_label(setting: Setting) -> str:
    return ", ".join(f"{k} = {value_label(v)}" for k, v in setting.settings.items()) or "base experiment"


def _setting_rows(data: SweepData) -> tuple[list[str], list[list[str]]]:
    names = [n for n in data.figure_names if n.startswith((SHARE, SQUASHED))]
    headers = ["setting", "seeds"] + [_figure_header(data, n) for n in names]
    rows = []
    for setting in data.settings:
        st = stats(setting.observations, names)
        rows.append(
            [_setting_label(setting), str(len(setting.observations))] + [_band(st.get(n)) for n in names]
        )
    return headers, rows


def setting_charts(data: SweepData) -> str:
    """One small chart per grid point: the survival curve of each process term, mean over seeds."""
    import polars as pl

    from .render import PALETTE, chart_grid, figure
    from .svg import Series, line_chart

    figs = []
    for setting in data.settings:
        if setting.curves.height == 0:
            continue
        series = []
        for i, term in enumerate(data.terms):
            c = setting.curves.filter(pl.col("term") == term["key"])
            if c.height:
                series.append(
                    Series(
                        term["label"],
                        [float(g) for g in c["generation"]],
                        c["share"].to_list(),
                        PALETTE[i % len(PALETTE)],
                    )
                )
        svg = line_chart(
            series,
            title=_setting_label(setting),
            y_label="share carrying",
            y_range=(0.0, 1.0),
            width=440,
            height=220,
        )
        figs.append(figure(svg, esc(f"{len(setting.observations)} seed(s)")))
    return chart_grid(figs)


def _first_line(text: str | None, limit: int = 90) -> str:
    if not text:
        return ""
    line = clean(str(text).strip().splitlines()[-1] if str(text).strip() else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _run_seeds(data: SweepData, run: SweepRun) -> str:
    obs = data.by_run.get(run.name, [])
    if run.is_replicates and obs:
        return ", ".join(fmt(o.seed) for o in obs)
    return fmt(run.seed)


def _run_figures(data: SweepData, run: SweepRun) -> dict[str, tuple[float, float, float, int]]:
    return stats(data.by_run.get(run.name, []), data.figure_names)


def _runs_rows(data: SweepData) -> tuple[list[str], list[list[str]]]:
    names = [n for n in data.figure_names if not n.startswith(DRIFT_SHARE)]
    headers = (
        ["run", *data.sweep.keys, "seed", "status"] + [_figure_header(data, n) for n in names] + ["error"]
    )
    rows = []
    for run in data.sweep.runs:
        st = _run_figures(data, run)
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


RUNS_NOTE = (
    "A run that is a set of seed replicates lists its seeds; its figures are then "
    "mean [min, max] over them. Figures are at each run's last recorded generation."
)


def _failed(data: SweepData) -> list[SweepRun]:
    return [r for r in data.sweep.runs if r.status != "complete"]


def _settings_text(run: SweepRun) -> str:
    return ", ".join(f"{k} = {value_label(v)}" for k, v in run.settings.items()) or "no grid settings"


def _report_link(data: SweepData, run: SweepRun) -> str | None:
    """Relative link to the run's own report.html, None if it has none."""
    target = run.path / "report.html"
    return f"{SWEEP_RUNS}/{run.name}/report.html" if target.is_file() else None


def _facts(data: SweepData) -> list[tuple[str, str]]:
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


def _grid_rows(data: SweepData) -> list[list[str]]:
    return [
        [
            ax.key,
            ", ".join(ax.labels),
            "numeric (log)" if ax.log else ("numeric" if ax.numeric else "categorical"),
        ]
        for ax in data.axes
    ]


def _sweep_toml(data: SweepData) -> str | None:
    file = data.sweep.path / "sweep.toml"
    try:
        return file.read_text(encoding="utf-8") if file.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------------------------------
# Markdown


def markdown(data: SweepData) -> str:
    from .render import md_table

    s, out = data.sweep, []
    out.append(f"# Sweep report: {md(s.name)}\n")
    out.append(md(_header(data)) + "\n")
    for note in _warnings(data):
        out.append(f"> {md(note)}\n")

    out.append("## By swept key\n")
    out.append(md(_by_key_intro(data)) + "\n")
    if not data.observations:
        out.append("No complete run to summarise yet.\n")
    elif not data.axes:
        out.append("No key is swept: the runs repeat the base experiment over seeds.\n")
        out.append(md_table(*_overall_rows(data)) + "\n")
    for ax in data.axes:
        out.append(f"### {md(ax.key)}\n")
        out.append(md_table(*_key_rows(data, ax)) + "\n")

    out.append("## By setting\n")
    out.append(md(SETTING_INTRO) + "\n")
    if data.settings:
        out.append(md_table(*_setting_rows(data)) + "\n")

    out.append("## Runs\n")
    out.append(md_table(*_runs_rows(data)) + "\n")
    out.append(md(RUNS_NOTE) + "\n")

    out.append("## Failed runs\n")
    failed = _failed(data)
    if not failed:
        out.append("None: every run is complete.\n")
    for run in failed:
        out.append(
            f"- **{md(run.name)}** ({md(run.status)}; {md(_settings_text(run))}; seed "
            f"{fmt(run.seed)}): {md(_first_line(run.error, 400)) or 'no error recorded'}"
        )
    if failed:
        out.append("")

    out.append("## Run reports\n")
    for run in s.runs:
        link = _report_link(data, run)
        if link:
            out.append(f"- [{md(run.name)}]({link}) — {md(_settings_text(run))}")
        else:
            out.append(f"- {md(run.name)} — no report yet (`purity report {SWEEP_RUNS}/{run.name}`)")
    out.append("")

    out.append("## Sweep\n")
    out.append(md_table(["fact", "value"], [list(f) for f in _facts(data)]) + "\n")
    if data.axes:
        out.append(md_table(["key", "values", "axis"], _grid_rows(data)) + "\n")
    if (toml := _sweep_toml(data)) is not None:
        out.append("Sweep file:\n")
        out.append("\n".join("    " + clean(line) for line in toml.splitlines()) + "\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# HTML


def html_page(data: SweepData) -> str:
    from .render import CSS, html_table

    s = data.sweep
    title = f"Sweep report: {s.name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}{SWEEP_CSS}</style></head><body><main>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">{esc(_header(data))}</p>',
        "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in SECTIONS) + "</nav>",
    ]
    for note in _warnings(data):
        parts.append(f'<p class="warn">{esc(note)}</p>')

    parts.append(_h2("by-key"))
    parts.append(f'<p class="note">{esc(_by_key_intro(data))}</p>')
    if not data.observations:
        parts.append("<p>No complete run to summarise yet.</p>")
    elif not data.axes:
        parts.append("<p>No key is swept: the runs repeat the base experiment over seeds.</p>")
        parts.append(html_table(*_overall_rows(data)))
    else:
        for ax in data.axes:
            parts.append(f'<h3 id="key-{esc(_slug(ax.key))}">{esc(ax.key)}</h3>')
            parts.append(
                f"<figure>{key_chart(data, ax)}<figcaption>{esc(_caption(data, ax))}</figcaption></figure>"
            )
            parts.append(html_table(*_key_rows(data, ax)))

    parts.append(_h2("by-setting"))
    parts.append(f'<p class="note">{esc(SETTING_INTRO)}</p>')
    if data.settings:
        parts.append(setting_charts(data))
        parts.append(html_table(*_setting_rows(data)))

    parts.append(_h2("runs"))
    headers, rows = _runs_rows(data)
    parts.append(f'<div class="runs">{_runs_table(data, headers, rows)}</div>')
    parts.append(f'<p class="note">{esc(RUNS_NOTE)}</p>')

    parts.append(_h2("failures"))
    failed = _failed(data)
    if not failed:
        parts.append("<p>None: every run is complete.</p>")
    for run in failed:
        parts.append(
            f"<h3>{esc(run.name)} ({esc(run.status)})</h3>"
            f'<p class="note">{esc(_settings_text(run))}; seed {esc(fmt(run.seed))}</p>'
            + (
                f"<pre>{html.escape(str(run.error))}</pre>"
                if run.error
                else "<p>No error recorded (the run has not finished).</p>"
            )
        )

    parts.append(_h2("reports"))
    items = []
    for run in s.runs:
        link = _report_link(data, run)
        if link:
            items.append(f'<li><a href="{esc(link)}">{esc(run.name)}</a> — {esc(_settings_text(run))}</li>')
        else:
            items.append(
                f"<li>{esc(run.name)} — no report yet (<code>purity report "
                f"{esc(SWEEP_RUNS)}/{esc(run.name)}</code>)</li>"
            )
    parts.append("<ul>" + "".join(items) + "</ul>")

    parts.append(_h2("sweep"))
    parts.append(html_table(["fact", "value"], [list(f) for f in _facts(data)], text_cols=2))
    if data.axes:
        parts.append(html_table(["key", "values", "axis"], _grid_rows(data), text_cols=3))
    if (toml := _sweep_toml(data)) is not None:
        parts.append("<details><summary>Sweep file</summary><pre>" + html.escape(toml) + "</pre></details>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


SWEEP_CSS = (
    "ul{padding-left:1.3rem}li{margin:.15rem 0}code{font-size:.85rem}.runs td:first-child{white-space:nowrap}"
)


def _h2(section_id: str) -> str:
    return f'<h2 id="{section_id}">{esc(dict(SECTIONS)[section_id])}</h2>'


def _slug(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def _runs_table(data: SweepData, headers: list[str], rows: list[list[str]]) -> str:
    """The run table, its first column linked to the run's report where there is one."""
    from .render import html_table

    table = html_table(headers, rows, text_cols=3 + len(data.sweep.keys))
    for run in data.sweep.runs:
        link = _report_link(data, run)
        if link:
            cell = f'<td class="t">{esc(run.name)}</td>'
            table = table.replace(cell, f'<td class="t"><a href="{esc(link)}">{esc(run.name)}</a></td>', 1)
    return table


def _caption(data: SweepData, ax: KeyAxis) -> str:
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


def key_chart(data: SweepData, ax: KeyAxis, *, width: int = 660, height: int = 300) -> str:
    """Inline SVG: per process term the mean final share at each value with a min–max bar; the mean
    process share in black; drift twins dashed. Numeric keys get a numeric (or log) x axis and
    connected means; other keys one slot per value."""
    from .render import PALETTE

    # (label, figure name, color, drift, dodge slot): each series has its own slot beside the value
    series: list[tuple[str, str, str, bool, int]] = []
    for i, t in enumerate(data.terms):
        series.append((t["label"], SHARE + t["key"], PALETTE[i % len(PALETTE)], False, i))
    series.append(("mean process share", PROCESS, "#000000", False, len(data.terms)))
    if data.has_drift:
        for i, t in enumerate(data.terms):
            series.append(
                (
                    f"{t['label']} (drift)",
                    DRIFT_SHARE + t["key"],
                    PALETTE[i % len(PALETTE)],
                    True,
                    len(data.terms) + 1 + i,
                )
            )
    left, right, top, bottom = 52, 18, 28, 58
    cols = 2
    legend_rows = math.ceil(len(series) / cols)
    total_h = height + 16 * legend_rows + 6
    pw, ph = width - left - right, height - top - bottom
    title = f"Final shares by {ax.key}"
    out = [
        (
            f'<svg width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" role="img" '
            f'aria-label="{esc(title)}">'
        ),
        f"<title>{esc(title)}</title>",
        f'<text x="{left}" y="16" style="font-weight:600">{esc(title)}</text>',
    ]
    if not ax.values:
        out.append(f'<text x="{left}" y="{top + 20}">no values</text></svg>')
        return "".join(out)

    xs = ax.xs()
    if ax.numeric:
        tx = [math.log10(x) for x in xs] if ax.log else xs
        lo, hi = min(tx), max(tx)
        pad = (hi - lo) * 0.06 or 1.0
        lo, hi = lo - pad, hi + pad

        def px(i: int) -> float:
            return left + (tx[i] - lo) / (hi - lo) * pw
    else:

        def px(i: int) -> float:
            return left + (i + 0.5) / len(xs) * pw

    def py(y: float) -> float:
        return top + (1 - y) * ph

    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee" />')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888" />')
    # x ticks: every value when they fit, else evenly thinned (first and last kept)
    fit = max(2, int(pw // 60))
    shown = (
        range(len(xs))
        if len(xs) <= fit
        else sorted({round(k * (len(xs) - 1) / (fit - 1)) for k in range(fit)})
    )
    for i in shown:
        x = px(i)
        label = ax.labels[i]
        short = label if len(label) <= 14 else label[:13] + "…"
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#888" />')
        out.append(
            f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle"><title>{esc(label)}</title>'
            f"{esc(short)}</text>"
        )
        out.append(
            f'<text x="{x:.1f}" y="{top + ph + 29}" text-anchor="middle" '
            f'style="font-size:9px;fill:#777">n={ax.runs[i]}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{top + ph + 46}" text-anchor="middle">'
        f"{esc(ax.key)}{' (log scale)' if ax.log else ''}</text>"
    )
    out.append(
        f'<text x="12" y="{top + ph / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + ph / 2:.1f})">final share</text>'
    )

    slots = len(series)
    step = min(7.0, (pw / len(xs)) / (slots + 1))
    for _label, name, color, drift, slot in series:
        dodge = (slot - (slots - 1) / 2) * step
        pts = []
        for i, st in enumerate(ax.stats):
            mean, vmin, vmax, n = st.get(name, (math.nan, math.nan, math.nan, 0))
            if n == 0 or not math.isfinite(mean):
                pts.append(None)
                continue
            x = px(i) + dodge
            pts.append((x, py(mean)))
            if drift:
                continue
            if vmax > vmin:
                out.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(vmax):.1f}" y2="{py(vmin):.1f}" '
                    f'stroke="{color}" stroke-width="1.5" />'
                )
                for yv in (vmin, vmax):
                    out.append(
                        f'<line x1="{x - 3:.1f}" x2="{x + 3:.1f}" y1="{py(yv):.1f}" '
                        f'y2="{py(yv):.1f}" stroke="{color}" stroke-width="1.5" />'
                    )
        if ax.numeric:
            for seg in _runs_of(pts):
                if len(seg) > 1:
                    dash = ' stroke-dasharray="6 4"' if drift else ""
                    out.append(
                        '<polyline points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                        + f'" fill="none" stroke="{color}" stroke-width="{1.5 if drift else 2}"'
                        f'{dash} opacity="0.8" />'
                    )
        for p in pts:
            if p is None:
                continue
            x, y = p
            if drift:
                out.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="#fff" stroke="{color}" '
                    'stroke-width="1.5" />'
                )
            elif name == PROCESS:
                out.append(
                    f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{color}" />'
                )
            else:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}" />')
    ly = height + 4
    for j, (label, name, color, drift, _) in enumerate(series):
        lx = left + (j % cols) * (pw / cols)
        row_y = ly + 16 * (j // cols)
        dash = ' stroke-dasharray="6 4"' if drift else ""
        out.append(
            f'<line x1="{lx:.1f}" x2="{lx + 22:.1f}" y1="{row_y:.1f}" y2="{row_y:.1f}" '
            f'stroke="{color}" stroke-width="2"{dash} />'
        )
        if drift:
            out.append(f'<circle cx="{lx + 11:.1f}" cy="{row_y:.1f}" r="3.2" fill="#fff" stroke="{color}" />')
        elif name == PROCESS:
            out.append(
                f'<rect x="{lx + 7.5:.1f}" y="{row_y - 3.5:.1f}" width="7" height="7" fill="{color}" />'
            )
        else:
            out.append(f'<circle cx="{lx + 11:.1f}" cy="{row_y:.1f}" r="4" fill="{color}" />')
        out.append(f'<text x="{lx + 28:.1f}" y="{row_y + 4:.1f}">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _runs_of(pts: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    segs: list[list[tuple[float, float]]] = [[]]
    for p in pts:
        if p is None:
            if segs[-1]:
                segs.append([])
        else:
            segs[-1].append(p)
    return [s for s in segs if s]
