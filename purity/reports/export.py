"""The survival report as JSON: `to_json(path)` for a run, a replicates set or a sweep.

For programs (notebooks, dashboards, other tools) rather than people: the verdict and everything it
rests on, plus the per-generation curves, as plain JSON types — dicts, lists, str, int, float, bool,
None. Infinite numbers become the strings "inf" / "-inf" (a hard constraint's weight), NaN becomes
null, so `json.dumps(..., allow_nan=False)` always succeeds. Keys come in a fixed order (insertion
order, the same for every call), so two exports of the same directory are byte-identical.

Curves are columnar: `curves.generation` lists the generations and every curve is a list aligned
with it (null where a generation has no value, e.g. a profile that died out).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import training
from .load import (
    Replicates,
    ReportError,
    Run,
    kind_of,
    load,
    load_replicates,
    load_sweep,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["FORMAT", "VERSION", "dumps", "plain", "to_json"]

FORMAT = "purity-report"
VERSION = 1


def to_json(
    path: str | Path, *, tolerance: float = 0.05, lock_in_share: float | None = None
) -> dict[str, Any]:
    """The report of the run, replicates set or sweep at `path` as a JSON-ready dict.

    Top-level keys: format, version, kind ("run" | "replicates" | "sweep"), name, path, then the
    kind's own sections (see `run_json`, `replicates_json`, `sweep_json`). Raises `ReportError`
    for a directory that is none of the three.
    """
    kind = kind_of(path)
    if kind == "sweep":
        return sweep_json(path)
    if kind == "replicates":
        return replicates_json(load_replicates(path), tolerance=tolerance, lock_in_share=lock_in_share)
    return run_json(load(path), tolerance=tolerance, lock_in_share=lock_in_share)


def dumps(data: Any, indent: int | None = 2) -> str:
    """`data` as JSON text (strict: no NaN or Infinity tokens), key order kept."""
    return json.dumps(plain(data), indent=indent, ensure_ascii=False, allow_nan=False)


def plain(x: Any) -> Any:
    """`x` with only plain JSON types: inf → "inf", NaN → None, tuples → lists, paths → str, keys → str."""
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, Sequence | set | frozenset) and not isinstance(x, bytes | bytearray):
        return [plain(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, datetime | date):
        return x.isoformat()
    if hasattr(x, "item"):  # numpy scalars
        return plain(x.item())
    return str(x)


def _head(kind: str, name: str, path: Path) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "kind": kind, "name": name, "path": str(path)}


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [plain(r) for r in df.iter_rows(named=True)]


def _aligned(
    df: pl.DataFrame, gens: list[int], value: str, by: str | None = None, order: Sequence[str] | None = None
) -> Any:
    """`value` per generation aligned with `gens` (None where missing); with `by`, one list per group."""
    if df.height == 0 or value not in df.columns:
        return {} if by is not None else [None] * len(gens)
    if by is None:
        lookup = dict(zip(df.get_column("generation").to_list(), df.get_column(value).to_list()))
        return [plain(lookup.get(g)) for g in gens]
    groups = order if order is not None else sorted(set(df.get_column(by).to_list()))
    out: dict[str, Any] = {}
    for key in groups:
        part = df.filter(df.get_column(by) == key)
        if part.height:
            out[str(key)] = _aligned(part, gens, value)
    return out


def _generations(agents: pl.DataFrame) -> list[int]:
    if agents.height == 0:
        return []
    return [int(g) for g in agents.get_column("generation").unique().sort().to_list()]


def _terms(terms: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "key",
        "kind",
        "process",
        "label",
        "event",
        "scope",
        "measure",
        "property",
        "threshold",
        "endorsed",
    )
    return [plain({k: t.get(k) for k in keys}) for t in terms]


def _profiles(manifest: Mapping[str, Any]) -> dict[str, Any]:
    profiles = manifest.get("profiles") or {}
    return {
        name: plain({"description": p.get("description"), "weights": dict(p.get("weights") or {})})
        for name, p in sorted(profiles.items())
    }


def _lock_in(li: Any) -> dict[str, Any] | None:
    if li is None:
        return None
    return plain(
        {
            "generation": li.generation,
            "founder": li.founder,
            "profile": li.profile,
            "share": li.share,
            "process_share": li.process_share,
            "threshold": li.threshold,
        }
    )


def violation_curves(run: Run, gens: list[int]) -> dict[str, Any]:
    """Per constrained event kind, per profile and for all profiles together ("*"): the revealed
    violation rate per generation (Σ own / Σ opportunity), the delegated rate (Σ helper / Σ
    opportunity) and the opportunities; with oversight also the watched / unwatched rates."""
    import polars as pl

    from .metrics import constrained_events

    kinds = constrained_events(run)
    if not kinds or run.episodes.height == 0:
        return {}
    watched = pl.col("watched").fill_null(False)
    aggs = []
    for k in kinds:
        own, helper, opp = pl.col(f"own:{k}"), pl.col(f"helper:{k}"), pl.col(f"opportunity:{k}")
        aggs += [own.sum().alias(f"own|{k}"), helper.sum().alias(f"helper|{k}"), opp.sum().alias(f"opp|{k}")]
        if run.has_oversight:
            aggs += [
                own.filter(watched).sum().alias(f"ow|{k}"),
                opp.filter(watched).sum().alias(f"pw|{k}"),
                own.filter(~watched).sum().alias(f"ou|{k}"),
                opp.filter(~watched).sum().alias(f"pu|{k}"),
            ]
    by_profile = run.episodes.group_by("generation", "profile").agg(aggs)
    together = run.episodes.group_by("generation").agg(aggs).with_columns(profile=pl.lit("*"))
    frame = pl.concat([together.select(by_profile.columns), by_profile])

    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)

    out: dict[str, Any] = {}
    profiles = ["*", *sorted(set(run.episodes.get_column("profile").drop_nulls().to_list()))]
    for k in kinds:
        cols = {
            "rate": rate(f"own|{k}", f"opp|{k}"),
            "delegated_rate": rate(f"helper|{k}", f"opp|{k}"),
            "opportunity": pl.col(f"opp|{k}"),
        }
        if run.has_oversight:
            cols |= {"rate_watched": rate(f"ow|{k}", f"pw|{k}"), "rate_unwatched": rate(f"ou|{k}", f"pu|{k}")}
        df = frame.select("generation", "profile", *[e.alias(n) for n, e in cols.items()])
        out[k] = {
            p: {n: _aligned(df.filter(pl.col("profile") == p), gens, n) for n in cols}
            for p in profiles
            if df.filter(pl.col("profile") == p).height
        }
    return out


# ---------------------------------------------------------------------------------------------
# one run


def run_json(
    run: Run, *, tolerance: float = 0.05, lock_in_share: float | None = None, episodes: bool = True
) -> dict[str, Any]:
    """A single-seed run: facts, terms, profiles, verdict, lock-in, violations, births and curves.

    episodes=False (a run read without its episodes, as in a sweep) leaves out the violations.
    """
    import polars as pl

    from . import metrics

    m = run.manifest
    share = run.lock_in_share if lock_in_share is None else lock_in_share
    gens = _generations(run.agents)
    terms = run.process_terms
    keys = [t["key"] for t in terms]
    out = _head("run", run.name, run.path)
    out["run"] = _run_facts(run, share, tolerance)
    out["terms"] = _terms(run.terms)
    out["profiles"] = _profiles(m)
    out["verdict"] = _rows(metrics.verdict(run, tolerance=tolerance))
    out["lock_in"] = _lock_in(metrics.lock_in(run, share))
    if episodes:
        out["violations"] = _rows(metrics.violations(run))
    births = metrics.births(run)
    out["births"] = (
        {
            str(k): int(n)
            for k, n in births.group_by("kind").agg(pl.col("births").sum()).sort("kind").iter_rows()
        }
        if births.height
        else {}
    )

    surv = metrics.survival(run)
    ps = metrics.process_share(run)
    curves: dict[str, Any] = {
        "generation": gens,
        "survival": _aligned(surv, gens, "share", by="term", order=keys),
        "process_share": {c: _aligned(ps, gens, c) for c in ps.columns if c not in ("generation", "agents")},
        "payoff": _aligned(metrics.fitness_by_profile(run), gens, "payoff", by="profile"),
        "largest_lineage": {
            c: _aligned(metrics.lineage_share(run), gens, c)
            for c in ("share", "founder", "profile", "process_share")
        },
    }
    if episodes:
        curves["violations"] = violation_curves(run, gens)
        if training.applies(run):
            curves["training"] = training.as_json(training.long(run))
    if run.drift is not None:
        dgens = _generations(run.drift.agents)
        curves["drift"] = {
            "generation": dgens,
            "survival": _aligned(metrics.survival(run.drift), dgens, "share", by="term", order=keys),
        }
    else:
        curves["drift"] = None
    out["curves"] = curves
    return out


def _run_facts(run: Run, lock_in_share: float, tolerance: float) -> dict[str, Any]:
    m = run.manifest
    arena = m.get("arena") or {}
    return plain(
        {
            "seed": run.seed,
            "role": m.get("role"),
            "status": m.get("status"),
            "generations": m.get("generations"),
            "generations_done": m.get("generations_done"),
            "stopped": m.get("stopped"),
            "arena": arena.get("name"),
            "has_oversight": bool(arena.get("has_oversight", False)),
            "event_kinds": [str(k) for k in arena.get("event_kinds", [])],
            "survival_threshold": run.threshold,
            "lock_in_threshold": lock_in_share,
            "tolerance": tolerance,
            "drift_twin": run.drift is not None,
            "git_revision": m.get("git_revision"),
            "started": m.get("started"),
            "finished": m.get("finished"),
            "versions": m.get("versions"),
        }
    )


# ---------------------------------------------------------------------------------------------
# seed replicates


def replicates_json(
    reps: Replicates, *, tolerance: float = 0.05, lock_in_share: float | None = None
) -> dict[str, Any]:
    """A replicates set: per term the verdict over seeds (mean, min, max; survived in k of K seeds
    with its Wilson interval), each seed's own verdict and lock-in, pooled violations, and curves as
    mean / min / max over seeds per generation (seeds stopped at fixation held, as in the report)."""
    import polars as pl

    from . import metrics
    from . import replicates as agg

    m = reps.manifest
    share = reps.lock_in_share if lock_in_share is None else lock_in_share
    first = reps.runs[0] if reps.runs else None
    terms = agg.process_terms(reps)
    keys = [t["key"] for t in terms]
    pooled = agg.pooled(reps) if reps.runs else None
    gmax = agg.horizon(reps)
    gens: list[int] = []
    if pooled is not None and pooled.agents.height:
        gens = list(range(int(pooled.agents.get_column("generation").min()), (gmax or 0) + 1))

    out = _head("replicates", reps.name, reps.path)
    out["replicates"] = plain(
        {
            "status": m.get("status"),
            "seeds": agg.seeds_of(reps),
            "missing": list(reps.missing),
            "planned_seeds": m.get("seeds"),
            "arena": (first.manifest.get("arena") or {}).get("name") if first else None,
            "survival_threshold": first.threshold if first else None,
            "lock_in_threshold": share,
            "tolerance": tolerance,
            "git_revision": m.get("git_revision"),
            "started": m.get("started"),
            "finished": m.get("finished"),
            "versions": m.get("versions"),
        }
    )
    out["terms"] = _terms(first.terms if first else [])
    out["profiles"] = _profiles(first.manifest) if first else {}
    if not reps.runs:
        out |= {
            "verdict": [],
            "seed_verdicts": [],
            "seeds": [],
            "lock_ins": [],
            "violations": [],
            "births": {},
            "curves": {"generation": []},
        }
        return out
    out["verdict"] = _rows(agg.verdict(reps, tolerance))
    out["seed_verdicts"] = _rows(agg.per_seed_verdict(reps, tolerance))
    out["seeds"] = _rows(agg.seed_table(reps))
    out["lock_ins"] = _rows(agg.lock_ins(reps, share))
    out["violations"] = _rows(metrics.violations(pooled))
    births = metrics.births(pooled)
    out["births"] = (
        {
            str(k): int(n)
            for k, n in births.group_by("kind").agg(pl.col("births").sum()).sort("kind").iter_rows()
        }
        if births.height
        else {}
    )

    def spread(df: pl.DataFrame, by: str | None = None, order: Sequence[str] | None = None) -> Any:
        cols = ("mean", "min", "max", "seeds", "held")
        if by is None:
            return {c: _aligned(df, gens, c) for c in cols}
        groups = order if order is not None else sorted(set(df.get_column(by).to_list())) if df.height else []
        return {
            str(g): {c: _aligned(df.filter(pl.col(by) == g), gens, c) for c in cols}
            for g in groups
            if df.filter(pl.col(by) == g).height
        }

    has_drift = any(r.drift is not None for r in reps.runs)
    out["curves"] = {
        "generation": gens,
        "survival": spread(agg.survival(reps), "term", keys),
        "process_share": spread(agg.process_share(reps)),
        "payoff": spread(agg.fitness(reps), "profile"),
        "largest_lineage": spread(agg.lineage(reps)),
        "violations": violation_curves(pooled, gens),
        "drift": {"survival": spread(agg.survival(reps, drift=True), "term", keys)} if has_drift else None,
    }
    if any(training.applies(run) for run in reps.runs):
        out["curves"]["training"] = training.as_json(training.spread(reps))
    return out


# ---------------------------------------------------------------------------------------------
# sweeps


def sweep_json(path: str | Path) -> dict[str, Any]:
    """A sweep: its grid, every run (settings, seed, status, error, summary figures and where they
    came from, the run's own report if written), the failed runs, the final figures by value of each
    swept key (mean / min / max / n over seeds and the other keys), and each single-seed run's
    curves (survival per term, process share, payoff by profile, largest lineage, drift survival;
    read from the agents table — violations are in each run's own JSON)."""
    from . import sweep_report as sr

    sweep = load_sweep(path)
    problems: list[str] = []
    data = sr.collect(sweep, problems)
    by_run = data.by_run
    out = _head("sweep", sweep.name, sweep.path)
    m = sweep.manifest
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
    out["problems"] = list(data.problems)
    runs = []
    for run in sweep.runs:
        obs = by_run.get(run.name, [])
        entry: dict[str, Any] = {
            "name": run.name,
            "settings": plain(run.settings),
            "seed": run.seed,
            "status": run.status,
            "error": run.error,
            "experiment": run.experiment,
            "report": sr._report_link(data, run),
            "replicates": run.is_replicates,
        }
        if run.is_replicates:
            entry["seeds"] = [_observation_json(o) for o in obs]
        elif obs:
            entry |= {k: v for k, v in _observation_json(obs[0]).items() if k not in ("seed",)}
        else:
            entry |= {"source": None, "summary": plain(run.summary), "curves": None}
        runs.append(entry)
    out["runs"] = runs
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


def _stats_json(st: Mapping[str, tuple[float, float, float, int]]) -> dict[str, Any]:
    return {
        name: plain({"mean": mean, "min": lo, "max": hi, "n": n}) for name, (mean, lo, hi, n) in st.items()
    }


def _observation_json(o: Any) -> dict[str, Any]:
    """One single-seed run of a sweep: its summary and, read from its files, verdict, lock-in, curves."""
    out = {
        "seed": o.seed,
        "source": o.source,
        "summary": plain(o.figures),
        "verdict": None,
        "lock_in": None,
        "curves": None,
    }
    if o.path is not None:
        try:
            full = run_json(load(o.path, tables=("agents", "lineage")), episodes=False)
        except ReportError:  # a run whose files cannot be read still has its summary
            return out
        out |= {k: full[k] for k in ("verdict", "lock_in", "curves")}
    return out
