"""The report of a sweep (many runs over a grid of experiment keys × seeds): `collect(sweep)`
computes every figure once, from the runs' own directories, and the page (`sweep_page`: Markdown
and HTML) and the JSON (`to_json`) both render that same data.

The sweep's question is how the outcome moves with each swept key, so the report's centre is one
chart per key: x = the key's values, y = the final share of agents carrying each process term. A
value's figure is the mean over every observation with that value, with the min–max over the same
observations, i.e. over seeds *and* over the values of the other keys.

An observation is one single-seed run at its last recorded generation: a run of the sweep, or each
`seed=<s>/` folder of a run that is a seed-replicates set. Only complete runs are observations;
failed and unfinished ones are listed with their errors. Each observation also carries the verdict
its own report opens with (`run_report.verdict`), from which the sweep's findings are built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from purity.tournament import record

from . import nulls, price, processes, run_report, sweep_reflection, sweep_verdicts, training
from .export import head, lock_in_json, plain, rows
from .load import MANIFEST, ReportError, Run, load, read_manifest
from .metrics import LockIn, carries, lock_in, term_label
from .reflection_metrics import squash_kinds
from .sweep_load import SWEEP_RUNS, Sweep, SweepRun
from .sweep_reflection import FALSE, FREE, SQUASHED, reflection_figures

PROCESS = "mean_process_share"
PAYOFF = "mean_payoff"
GENERATIONS = "generations_done"
SHARE = "share:"  # share of the last generation's agents carrying the term
DRIFT_SHARE = "drift_share:"  # the same in the run's neutral-drift twin
# the figures of a run's last generation that are not about one term: name → label
RUN_FIGURES = {PROCESS: "mean process share", PAYOFF: "mean payoff", GENERATIONS: "generations done"}
MAX_CURVE_RUNS = 400  # above this many observations the page draws no survival curves per setting

Stats = tuple[float, float, float, int]  # mean, min, max, n


# ---------------------------------------------------------------------------------------------
# observations: one per single-seed run


@dataclass(frozen=True)
class Observation:
    """One single-seed run of the sweep at its last recorded generation."""

    run: str  # the sweep run it belongs to
    seed: int | None
    settings: dict[str, Any]
    figures: dict[str, float]  # generations_done (an int), mean_process_share, share:<term>, …
    path: Path  # its run directory
    terms: list[dict[str, Any]]  # its process terms
    verdict: pl.DataFrame  # what its own report's verdict says
    lock_in: LockIn | None
    curves: run_report.Curves
    seed_figures: pl.DataFrame  # its figures in the null's columns (`nulls.run_figures`)
    squash: pl.DataFrame | None = None  # `squash_kinds`: its lowerings, by definition or by trade-off


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


def final_figures(run: Run) -> dict[str, float]:
    """The figures of a run's last generation: generations done, mean process share and payoff,
    the share carrying each process term, the training measures and the designs that lowered a term."""
    agents = run.agents
    if agents.height == 0:
        return {}
    last = agents.filter(pl.col("generation") == agents.get_column("generation").max())
    figures: dict[str, float] = {
        GENERATIONS: int(run.manifest.get("generations_done") or last.get_column("generation")[0] + 1),
        PROCESS: _float(last.get_column("process_share").mean()),
        PAYOFF: _float(last.get_column("payoff").mean()),
    }
    cols = {SHARE + t["key"]: record.weight(t["key"]) for t in run.process_terms}
    cols = {name: col for name, col in cols.items() if col in last.columns}
    if cols:
        shares = last.select(carries(pl.col(c), run.threshold).mean().alias(n) for n, c in cols.items())
        figures |= {n: _float(v) for n, v in shares.row(0, named=True).items()}
    return figures | training.final(run) | reflection_figures(run)


def _float(v: Any) -> float:
    return float(v) if v is not None else math.nan


def observe(sweep: Sweep, problems: list[str]) -> list[Observation]:
    """Every complete single-seed run of the sweep with its figures, read from its directory."""
    leaves: list[tuple[SweepRun, int | None, Path]] = []
    for run in sweep.runs:
        if run.status != "complete":
            continue
        try:
            found = leaf_dirs(run)
        except (OSError, ValueError) as exc:
            problems.append(f"{run.name}: its seed folders cannot be listed ({exc})")
            continue
        if not found:
            problems.append(
                f"{run.name}: complete in sweep.json, but its run files ({run.path}) are not there"
            )
        leaves += [(run, seed, path) for seed, path in found]
    observed = processes.each(_observed, leaves)  # on every CPU for a large sweep
    problems += [o for o in observed if isinstance(o, str)]
    return [o for o in observed if not isinstance(o, str)]


def _observed(leaf: tuple[SweepRun, int | None, Path]) -> Observation | str:
    """The observation of one single-seed run, or the problem that keeps it out."""
    run, seed, path = leaf
    try:
        loaded = load(path, tables=_tables(path))
    except ReportError as exc:
        return f"{run.name}: {exc}"
    return _observation(run, seed if seed is not None else loaded.seed, loaded)


def _tables(path: Path) -> tuple[str, ...]:
    """The tables a sweep's figures of the run at `path` need: its episodes only for training."""
    needed = ("agents", "lineage", "reflection")
    return (*needed, "episodes") if training.applies_to(read_manifest(path / MANIFEST)) else needed


def _observation(run: SweepRun, seed: int | None, loaded: Run) -> Observation:
    figures = final_figures(loaded)
    drift = loaded.drift
    if drift is not None:
        figures |= {
            DRIFT_SHARE + k[len(SHARE) :]: v for k, v in final_figures(drift).items() if k.startswith(SHARE)
        }
    steps = price.decompose(loaded)
    drift_steps = price.decompose(drift) if drift is not None else None
    return Observation(
        run.name,
        seed,
        run.settings,
        figures,
        loaded.path,
        loaded.process_terms,
        run_report.verdict(loaded, steps, drift_steps),
        lock_in(loaded),
        run_report.curves(loaded),
        nulls.run_figures(loaded, seed if seed is not None else 0),
        squash_kinds(loaded) if loaded.reflection is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# aggregation by key and by grid point


@dataclass(frozen=True)
class KeyAxis:
    """One swept key: its values in order and, per value, mean / min / max of every figure."""

    key: str
    numeric: bool
    log: bool
    values: list[Any]
    labels: list[str]
    runs: list[int]  # observations per value
    stats: list[dict[str, Stats]]  # per value: figure → (mean, min, max, n)

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


def stats(observations: Sequence[Observation], names: Sequence[str]) -> dict[str, Stats]:
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


@dataclass(frozen=True)
class Setting:
    """One point of the grid: its settings, its observations (seeds) and their mean survival
    curves (generation, term, share: the share carrying each process term, mean over seeds)."""

    settings: dict[str, Any]
    observations: list[Observation]
    curves: pl.DataFrame


def settings_of(observations: Sequence[Observation]) -> list[Setting]:
    """Observations grouped by grid point, in first-seen order, with their mean survival curves
    (empty above MAX_CURVE_RUNS observations)."""
    groups: dict[str, list[Observation]] = {}
    for o in observations:
        groups.setdefault(json.dumps(o.settings, sort_keys=True, default=str), []).append(o)
    drawn = len(observations) <= MAX_CURVE_RUNS
    out = []
    for obs in groups.values():
        frames = [o.curves.survival.select("generation", "term", "share") for o in obs] if drawn else []
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


# ---------------------------------------------------------------------------------------------
# everything the report shows


@dataclass(frozen=True)
class SweepReport:
    sweep: Sweep
    observations: list[Observation]  # each with its own verdict: the findings of the sweep
    terms: list[dict[str, Any]]  # process terms: key, label (first-seen order)
    axes: list[KeyAxis]
    overall: dict[str, Stats]
    figure_names: list[str]
    has_drift: bool
    problems: list[str] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)
    verdicts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=sweep_verdicts.SCHEMA))
    trends: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=sweep_reflection.SCHEMA))
    identity: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=sweep_reflection.IDENTITY_SCHEMA)
    )

    @property
    def by_run(self) -> dict[str, list[Observation]]:
        out: dict[str, list[Observation]] = {}
        for o in self.observations:
            out.setdefault(o.run, []).append(o)
        return out


def collect(sweep: Sweep, problems: Sequence[str] = ()) -> SweepReport:
    found = list(problems)
    observations = observe(sweep, found)
    terms: dict[str, dict[str, Any]] = {}
    for o in observations:
        for t in o.terms:
            terms.setdefault(str(t["key"]), {"key": str(t["key"]), "label": term_label(t)})
    has_drift = any(k.startswith(DRIFT_SHARE) for o in observations for k in o.figures)
    trained = [
        training.PREFIX + name
        for name, _ in training.MEASURES
        if any(training.PREFIX + name in o.figures for o in observations)
    ]
    squashed = [
        p + k for p in (SQUASHED, FREE, FALSE) for k in terms if any(p + k in o.figures for o in observations)
    ]
    names = (
        [SHARE + k for k in terms]
        + squashed
        + list(RUN_FIGURES)
        + ([DRIFT_SHARE + k for k in terms] if has_drift else [])
        + trained
    )
    axes = [axis(sweep, key, observations, names) for key in sweep.keys]
    settings = settings_of(observations)
    return SweepReport(
        sweep,
        observations,
        list(terms.values()),
        axes,
        stats(observations, names),
        names,
        has_drift,
        found,
        settings,
        grid_verdicts(settings),
        sweep_reflection.trends(sweep.keys, observations),
        sweep_reflection.identity([s.observations for s in settings]),
    )


def grid_verdicts(settings: Sequence[Setting]) -> pl.DataFrame:
    """The sweep's verdicts: each grid point's terms against its null, corrected over the sweep
    (`sweep_verdicts`); `point` indexes `settings`."""
    points = [
        (numbered([o.seed_figures for o in s.observations]), s.observations[0].path)
        for s in settings
        if s.observations
    ]
    return sweep_verdicts.grid_verdicts(points)


def numbered(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Seed figures (`nulls.run_figures`), each seed a distinct replicate (its position if two share one)."""
    seeds = [f["replicate"][0] if f.height else i for i, f in enumerate(frames)]
    if len(set(seeds)) != len(seeds):
        frames = [f.with_columns(replicate=pl.lit(i, dtype=pl.Int64)) for i, f in enumerate(frames)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=nulls.FIGURE_SCHEMA)


def figures_frame(data: SweepReport) -> pl.DataFrame:
    """One row per observation: run, seed, its value of each swept key (`set:<key>`, a table or
    array value as JSON text, as in sweep.parquet) and every figure (null where it has none)."""
    rows = []
    for o in data.observations:
        row: dict[str, Any] = {"run": o.run, "seed": o.seed}
        for key in data.sweep.keys:
            value = o.settings.get(key)
            row[record.swept(key)] = (
                value if isinstance(value, bool | int | float | str) else json.dumps(value)
            )
        rows.append(row | {name: o.figures.get(name) for name in data.figure_names})
    return pl.DataFrame(rows, infer_schema_length=None)


def report_link(run: SweepRun) -> str | None:
    """Relative link to the run's own report.html, None if it has none."""
    return f"{SWEEP_RUNS}/{run.name}/report.html" if (run.path / "report.html").is_file() else None


# ---------------------------------------------------------------------------------------------
# JSON


def to_json(data: SweepReport) -> dict[str, Any]:
    """The grid, every run (settings, seed, status, error, its figures, verdict, lock-in and curves,
    its own report if written), the failed runs, and the figures by value of each swept key."""
    sweep = data.sweep
    m = sweep.manifest
    out = head("sweep", sweep.name, sweep.path)
    out["sweep"] = plain(
        {
            "status": sweep.status,
            "base": m.get("base"),
            "started": m.get("started"),
            "finished": m.get("finished"),
            "keys": list(sweep.keys),
            "values": {k: sweep.values(k) for k in sweep.keys},
            "runs": len(sweep.runs),
            "table": sweep.table is not None,
        }
    )
    out["terms"] = plain(data.terms)
    out["verdicts"] = verdicts_json(data)
    out |= sweep_reflection.to_json(data.trends, data.identity, data.settings)
    out["problems"] = list(data.problems)
    out["runs"] = [_run_json(run, data.by_run.get(run.name, [])) for run in sweep.runs]
    out["failed"] = [
        {"name": r.name, "status": r.status, "settings": plain(r.settings), "seed": r.seed, "error": r.error}
        for r in sweep.runs
        if r.status != "complete"
    ]
    out["overall"] = _stats_json(data.overall)
    out["by_key"] = {
        ax.key: {
            "axis": "log" if ax.log else ("numeric" if ax.numeric else "categorical"),
            "values": plain(ax.values),
            "labels": ax.labels,
            "rows": [
                {"value": plain(v), "label": lbl, "runs": n, "figures": _stats_json(st)}
                for v, lbl, n, st in zip(ax.values, ax.labels, ax.runs, ax.stats)
            ],
        }
        for ax in data.axes
    }
    out["spread"] = (
        "mean over the single-seed runs with the value; min and max over the same runs, "
        "i.e. over seeds and the other keys' values; n = runs with the figure"
    )
    return out


def verdicts_json(data: SweepReport) -> dict[str, Any]:
    """The sweep's corrected verdicts, each row with its grid point's settings, and how to read them."""
    table = [
        {"settings": plain(data.settings[r["point"]].settings), **plain(r)}
        for r in data.verdicts.iter_rows(named=True)
    ]
    return {"correction": "holm over grid points × terms", "note": sweep_verdicts.NOTE, "rows": table}


def _run_json(run: SweepRun, obs: list[Observation]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": run.name,
        "settings": plain(run.settings),
        "seed": run.seed,
        "status": run.status,
        "error": run.error,
        "experiment": run.experiment,
        "report": report_link(run),
        "replicates": run.is_replicates,
    }
    if run.is_replicates:
        return entry | {"seeds": [_observation_json(o) for o in obs]}
    if obs:
        return entry | {k: v for k, v in _observation_json(obs[0]).items() if k != "seed"}
    return entry | {"summary": None, "verdict": None, "lock_in": None, "curves": None}


def _stats_json(st: dict[str, Stats]) -> dict[str, Any]:
    return {
        name: plain({"mean": mean, "min": lo, "max": hi, "n": n}) for name, (mean, lo, hi, n) in st.items()
    }


def _observation_json(o: Observation) -> dict[str, Any]:
    """One single-seed run of a sweep: its figures, verdict, lock-in and curves."""
    return {
        "seed": o.seed,
        "summary": plain(o.figures),
        "verdict": rows(o.verdict),
        "lock_in": lock_in_json(o.lock_in),
        "curves": run_report.curves_json(o.curves, [t["key"] for t in o.terms]),
    }


def figure_label(data: SweepReport, name: str) -> str:
    """What a table calls a figure: its term's label for the per-term figures."""
    labels = {t["key"]: t["label"] for t in data.terms}
    if name.startswith(SHARE):
        return f"{labels.get(name[len(SHARE) :], name)} share"
    if name.startswith(DRIFT_SHARE):
        return f"{labels.get(name[len(DRIFT_SHARE) :], name)} share (drift)"
    if name.startswith(training.PREFIX):
        return "final " + dict(training.MEASURES)[name[len(training.PREFIX) :]]
    if name.startswith(SQUASHED):
        return f"designs dropping or weakening {labels.get(name[len(SQUASHED) :], name)}"
    if name.startswith(FREE):
        return f"of the lowerings of {labels.get(name[len(FREE) :], name)}, free by definition"
    if name.startswith(FALSE):
        return f"of the trade-offs lowering {labels.get(name[len(FALSE) :], name)}, false (reference)"
    return RUN_FIGURES[name]


def setting_label(setting: Setting) -> str:
    return ", ".join(f"{k} = {value_label(v)}" for k, v in setting.settings.items()) or "base experiment"
