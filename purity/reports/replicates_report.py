"""The report of one experiment run with K seeds: `collect(reps)` computes every figure once over
the seeds (`replicates`), and the page (`replicates_page`) and the JSON (`to_json`) both render
that same data.

Curves are the mean over seeds with the min–max band, the verdict says in how many seeds each term
survived (with a Wilson 95 % interval), lock-in is listed per seed, violations are pooled. Each
`seed=<s>/` folder stays a complete run with its own report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from . import births as births_mod
from . import metrics, price, training, verdict_inference
from . import replicates as agg
from .export import aligned, head, plain, profiles_json, provenance, rows, terms_json
from .lineage import DominantLineages, dominant_lineages
from .load import Replicates, Run
from .reflection_metrics import Reflection, reflection
from .run_report import births_json, violation_curves_json


@dataclass(frozen=True)
class ReplicatesReport:
    verdict: pl.DataFrame  # the finding: `replicates.verdict` with the forces over seeds
    reps: Replicates
    lock_in_share: float
    generations: list[int]
    seeds: pl.DataFrame
    seed_verdicts: pl.DataFrame  # each seed's own verdict, as its own report gives it
    survival: pl.DataFrame
    drift_survival: pl.DataFrame | None
    process_share: pl.DataFrame
    fitness: pl.DataFrame
    lineage: pl.DataFrame
    lock_ins: pl.DataFrame
    lock_in_test: dict | None  # lock-in against the null (`verdict_inference.lock_in_test`)
    held: pl.DataFrame
    drift_held: pl.DataFrame
    pooled: Run | None
    violations: pl.DataFrame
    violation_curves: pl.DataFrame
    training: pl.DataFrame
    reflection: Reflection | None
    births: pl.DataFrame
    mutations: pl.DataFrame
    mutation_changes: pl.DataFrame
    price: pl.DataFrame
    drift_price: pl.DataFrame | None
    price_totals: pl.DataFrame
    max_residual: float | None

    @property
    def first(self) -> Run | None:
        return self.reps.runs[0] if self.reps.runs else None

    @property
    def has_drift(self) -> bool:
        return self.drift_survival is not None

    @cached_property
    def dominant(self) -> DominantLineages | None:
        """The first seed's dominant lineages (only the page draws them: computed when first asked for)."""
        first = self.first
        return (
            dominant_lineages(first.agents, first.lineage)
            if first is not None and first.agents.height
            else None
        )


def collect(reps: Replicates, *, lock_in_share: float | None = None) -> ReplicatesReport:
    share = reps.lock_in_share if lock_in_share is None else lock_in_share
    pooled = agg.pooled(reps) if reps.runs else None
    gens: list[int] = []
    if pooled is not None and pooled.agents.height:
        gens = list(range(int(pooled.agents.get_column("generation").min()), (agg.horizon(reps) or 0) + 1))
    ranges = births_mod.generation_ranges(gens[0], gens[-1]) if gens else []
    has_drift = any(r.drift is not None for r in reps.runs)
    empty = pl.DataFrame()
    steps, drift_steps = agg.price_steps(reps), agg.price_steps(reps, drift=True)
    verdict = agg.verdict(reps) if reps.runs else pl.DataFrame(schema=agg.VERDICT_SCHEMA)
    residuals = [r for r in map(price.max_residual, steps.values()) if r is not None]
    return ReplicatesReport(
        verdict=verdict_inference.infer(
            verdict.join(agg.forces(steps, drift_steps), on="term", how="left", maintain_order="left"),
            reps.runs,
        ),
        reps=reps,
        lock_in_share=share,
        generations=gens,
        seeds=agg.seed_table(reps),
        seed_verdicts=agg.seed_verdicts(reps, steps, drift_steps),
        survival=agg.survival(reps),
        drift_survival=agg.survival(reps, drift=True) if has_drift else None,
        process_share=agg.process_share(reps),
        fitness=agg.fitness(reps),
        lineage=agg.lineage(reps),
        lock_ins=agg.lock_ins(reps, share),
        lock_in_test=verdict_inference.lock_in_test(reps.runs),
        held=agg.held_seeds(reps),
        drift_held=agg.held_seeds(reps, drift=True),
        pooled=pooled,
        violations=metrics.violations(pooled) if pooled is not None else empty,
        violation_curves=metrics.violation_curves(pooled) if pooled is not None else empty,
        training=training.spread(reps),
        reflection=reflection(pooled),
        births=births_mod.births(pooled) if pooled is not None else empty,
        mutations=births_mod.mutation_summary(pooled.agents, ranges) if pooled is not None else empty,
        mutation_changes=births_mod.mutation_changes(pooled.agents) if pooled is not None else empty,
        price=agg.price_cumulative(reps, steps),
        drift_price=agg.price_cumulative(reps, drift_steps, drift=True) if drift_steps else None,
        price_totals=agg.price_totals(steps, drift_steps),
        max_residual=max(residuals) if residuals else None,
    )


# ---------------------------------------------------------------------------------------------
# JSON


def to_json(data: ReplicatesReport) -> dict[str, Any]:
    """Per term the verdict over seeds (mean, min, max; survived in k of K seeds with its Wilson
    interval; the forces), each seed's own verdict and lock-in, pooled violations, and curves as
    mean / min / max over seeds per generation (seeds stopped at fixation held, as in the page)."""
    reps, first = data.reps, data.first
    m = reps.manifest
    out = head("replicates", reps.name, reps.path)
    out["replicates"] = plain(
        {
            "status": m.get("status"),
            "seeds": agg.seeds_of(reps),
            "missing": list(reps.missing),
            "planned_seeds": m.get("seeds"),
            "arena": (first.manifest.get("arena") or {}).get("name") if first else None,
            "survival_threshold": first.threshold if first else None,
            "lock_in_threshold": data.lock_in_share,
            **provenance(m),
        }
    )
    out["terms"] = terms_json(first.terms if first else [])
    out["profiles"] = profiles_json(first.manifest) if first else {}
    tables = {
        "verdict": data.verdict,
        "seed_verdicts": data.seed_verdicts,
        "seeds": data.seeds,
        "lock_ins": data.lock_ins,
        "violations": data.violations,
    }
    if not reps.runs:
        return out | {key: [] for key in tables} | {"births": {}, "curves": {"generation": []}}
    out |= {key: rows(frame) for key, frame in tables.items()} | {"lock_in_test": data.lock_in_test}
    return out | {"births": births_json(data.births), "curves": _curves(data)}


def _curves(data: ReplicatesReport) -> dict[str, Any]:
    gens, keys = data.generations, [t["key"] for t in agg.process_terms(data.reps)]

    def spread(df: pl.DataFrame, by: str | None = None, order: Sequence[str] | None = None) -> Any:
        cols = ("mean", "min", "max", "seeds", "held")
        if by is None:
            return {c: aligned(df, gens, c) for c in cols}
        groups = order if order is not None else sorted(set(df.get_column(by).to_list())) if df.height else []
        return {
            str(g): {c: aligned(df.filter(pl.col(by) == g), gens, c) for c in cols}
            for g in groups
            if df.filter(pl.col(by) == g).height
        }

    out = {
        "generation": gens,
        "survival": spread(data.survival, "term", keys),
        "process_share": spread(data.process_share),
        "payoff": spread(data.fitness, "profile"),
        "largest_lineage": spread(data.lineage),
        "violations": violation_curves_json(data.violation_curves, gens),
        "drift": {"survival": spread(data.drift_survival, "term", keys)} if data.has_drift else None,
    }
    if any(training.applies(run) for run in data.reps.runs):
        out["training"] = training.as_json(data.training)
    return out
