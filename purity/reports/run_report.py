"""The report of one single-seed run: `collect(run)` computes every figure once, and the page
(`run_page`: Markdown and HTML) and the JSON (`to_json`) both render that same data.

The verdict comes first in the data as on the page: it is the finding the report opens with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from . import births as births_mod
from . import metrics, price, training, verdict_inference
from .export import aligned, head, lock_in_json, plain, profiles_json, provenance, rows, terms_json
from .lineage import DominantLineages, dominant_lineages
from .load import Run
from .reflection_metrics import Reflection, reflection


def verdict(run: Run, steps: pl.DataFrame, drift_steps: pl.DataFrame | None) -> pl.DataFrame:
    """Per process term: start and end share (`metrics.verdict`), the Price forces
    (`price.forces`), and the verdict and moved most by tested against the run's null
    (`verdict_inference`): the one verdict every format of a report shows."""
    return verdict_inference.infer(price.with_forces(metrics.verdict(run), steps, drift_steps), [run])


def generations(agents: pl.DataFrame) -> list[int]:
    return agents.get_column("generation").unique().sort().to_list() if agents.height else []


@dataclass(frozen=True)
class Curves:
    """The per-generation figures of a run: share carrying each process term (and the drift twin's),
    process share, payoff by profile, largest lineage."""

    generations: list[int]
    survival: pl.DataFrame
    process_share: pl.DataFrame
    fitness: pl.DataFrame
    lineage: pl.DataFrame
    drift_generations: list[int]
    drift_survival: pl.DataFrame | None


def curves(run: Run) -> Curves:
    drift = run.drift
    return Curves(
        generations(run.agents),
        metrics.survival(run),
        metrics.process_share(run),
        metrics.fitness_by_profile(run),
        metrics.lineage_share(run),
        generations(drift.agents) if drift is not None else [],
        metrics.survival(drift) if drift is not None else None,
    )


@dataclass(frozen=True)
class RunReport:
    verdict: pl.DataFrame  # the finding: `verdict` above
    run: Run
    lock_in_share: float
    curves: Curves
    lock_in: metrics.LockIn | None
    lock_in_test: dict | None  # lock-in against the null (`verdict_inference.lock_in_test`)
    price: pl.DataFrame  # price.decompose of the run
    drift_price: pl.DataFrame | None
    violations: pl.DataFrame
    violation_curves: pl.DataFrame
    training: pl.DataFrame | None  # training.long, for runs with learners or oversight
    reflection: Reflection | None
    births: pl.DataFrame
    mutations: pl.DataFrame
    mutation_changes: pl.DataFrame

    @property
    def generations(self) -> list[int]:
        return self.curves.generations

    @cached_property
    def dominant(self) -> DominantLineages | None:
        """The dominant lineages (only the page draws them: computed once, when first asked for)."""
        return dominant_lineages(self.run.agents, self.run.lineage) if self.generations else None


def collect(run: Run, *, lock_in_share: float | None = None) -> RunReport:
    c = curves(run)
    gens = c.generations
    lock_in_share = run.lock_in_share if lock_in_share is None else lock_in_share
    ranges = births_mod.generation_ranges(gens[0], gens[-1]) if gens else []
    steps = price.decompose(run)
    drift_steps = price.decompose(run.drift) if run.drift is not None else None
    return RunReport(
        verdict=verdict(run, steps, drift_steps),
        run=run,
        lock_in_share=lock_in_share,
        curves=c,
        lock_in=metrics.lock_in(run, lock_in_share),
        lock_in_test=verdict_inference.lock_in_test([run]),
        price=steps,
        drift_price=drift_steps,
        violations=metrics.violations(run),
        violation_curves=metrics.violation_curves(run),
        training=training.long(run) if training.applies(run) else None,
        reflection=reflection(run),
        births=births_mod.births(run),
        mutations=births_mod.mutation_summary(run.agents, ranges),
        mutation_changes=births_mod.mutation_changes(run.agents),
    )


# ---------------------------------------------------------------------------------------------
# JSON


def to_json(data: RunReport) -> dict[str, Any]:
    """A single-seed run: facts, terms, profiles, verdict, lock-in, violations, births and curves."""
    run = data.run
    out = head("run", run.name, run.path)
    out["run"] = _facts(data)
    out["terms"] = terms_json(run.terms)
    out["profiles"] = profiles_json(run.manifest)
    out["verdict"] = rows(data.verdict)
    out["lock_in"] = lock_in_json(data.lock_in)
    out["lock_in_test"] = data.lock_in_test
    out["violations"] = rows(data.violations)
    out["births"] = births_json(data.births)
    extra = {"violations": violation_curves_json(data.violation_curves, data.generations)}
    if data.training is not None:
        extra["training"] = training.as_json(data.training)
    out["curves"] = curves_json(data.curves, [t["key"] for t in run.process_terms], extra)
    return out


def births_json(births: pl.DataFrame) -> dict[str, int]:
    if births.height == 0:
        return {}
    totals = births.group_by("kind").agg(pl.col("births").sum()).sort("kind")
    return {str(k): int(n) for k, n in totals.iter_rows()}


def curves_json(c: Curves, keys: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Columnar curves aligned with `generation` (`extra` curves after the run's own), then the
    drift twin's survival on its own generations."""
    gens = c.generations
    ps = c.process_share
    return {
        "generation": gens,
        "survival": aligned(c.survival, gens, "share", by="term", order=keys),
        "process_share": {
            col: aligned(ps, gens, col) for col in ps.columns if col not in ("generation", "agents")
        },
        "payoff": aligned(c.fitness, gens, "payoff", by="profile"),
        "largest_lineage": {
            col: aligned(c.lineage, gens, col) for col in ("share", "founder", "profile", "process_share")
        },
        **(extra or {}),
        "drift": (
            {
                "generation": c.drift_generations,
                "survival": aligned(c.drift_survival, c.drift_generations, "share", by="term", order=keys),
            }
            if c.drift_survival is not None
            else None
        ),
    }


def violation_curves_json(df: pl.DataFrame, gens: list[int]) -> dict[str, Any]:
    """Per event kind, per profile ("*": all together): each rate per generation, aligned with `gens`."""
    measures = [c for c in df.columns if c not in ("generation", "profile", "event")]
    out: dict[str, Any] = {}
    for (kind,), part in df.partition_by("event", as_dict=True, maintain_order=True).items():
        profiles = [
            "*",
            *sorted(p for p in part.get_column("profile").unique().to_list() if p not in (None, "*")),
        ]
        out[kind] = {
            p: {m: aligned(part.filter(pl.col("profile") == p), gens, m) for m in measures}
            for p in profiles
            if part.filter(pl.col("profile") == p).height
        }
    return out


def _facts(data: RunReport) -> dict[str, Any]:
    run = data.run
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
            "lock_in_threshold": data.lock_in_share,
            "drift_twin": run.drift is not None,
            **provenance(m),
        }
    )
