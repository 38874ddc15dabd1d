"""Runs an experiment: generations of match → play → select → record (design §4).

Everything the report needs is written to the run directory as it happens; nothing lives only
in memory. The run's neutral-drift twin, when asked for, is the same experiment and seed family
with selection intensity 0, written to `<run>/drift/`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import datetime as dt
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

from agents.preferences import Term, process_share, term_universe, with_scope_variants
from tournament import storage
from tournament.config import Experiment
from tournament.executor import executor
from tournament.lineage import Lineage
from tournament.matching import (
    Structure,
    all_pairs,
    appearance_mean,
    assortative,
    graph_edges,
    graph_groups,
    graph_structure,
    well_mixed,
)
from tournament.mutation import TermSpace, term_space
from tournament.play import GroupBatch, Setup, TaskResult, plan_groups, play_groups, stream
from tournament.population import ORIGINS, Population, found, reproduce
from tournament.progress import Progress
from tournament.selection import fitness_from_payoff

TASKS_PER_WORKER = 1  # one task per worker and generation: the fewest round trips


def run(
    experiment: Experiment,
    out: Path,
    workers: int | None = None,
    address: str | None = None,
    force: bool = False,
    progress: bool = True,
    pool=None,
) -> Path:
    """Run the experiment (and its drift twin) into `out/<name>`; return the run directory.

    `pool` reuses a started executor (it is then left open); otherwise one is started from
    `workers` and `address` and closed at the end.
    """
    run_dir = Path(out) / experiment.name
    storage.check_target(run_dir, force)  # fail fast, before Ray starts
    owned = pool is None
    pool = executor(workers, address) if owned else pool
    try:
        storage.prepare(run_dir, force)  # only once Ray is up: a failed connection leaves nothing
        if experiment.seeds == 1:
            _run_with_twin(experiment, run_dir, pool, progress)
        else:
            _run_replicates(experiment, run_dir, pool, progress)
    finally:
        if owned:
            pool.close()
    return run_dir


def _run_with_twin(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    _run_one(experiment, run_dir, pool, "main", progress)
    if experiment.neutral_drift:
        (run_dir / "drift").mkdir()
        _run_one(experiment.drift_twin(), run_dir / "drift", pool, "drift", progress)


def _run_replicates(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    """`seeds` single-seed runs in `seed=<s>/` below one directory, whose manifest lists them."""
    manifest = {
        "name": experiment.name,
        "role": "replicates",
        "status": "running",
        "seeds": [replicate.seed for replicate in experiment.replicates()],
        "runs": [f"seed={replicate.seed}" for replicate in experiment.replicates()],
        "experiment": experiment.resolved(),
        "versions": _versions(),
        "git_revision": _git_revision(),
        "started": _now(),
        "finished": None,
    }
    storage.write_json(manifest, run_dir / "manifest.json")
    try:
        for replicate, name in zip(experiment.replicates(), manifest["runs"]):
            (run_dir / name).mkdir()
            _run_with_twin(replicate, run_dir / name, pool, progress)
    except BaseException:
        manifest["status"] = "failed"
        storage.write_json(manifest, run_dir / "manifest.json")
        raise
    manifest.update(status="complete", finished=_now())
    storage.write_json(manifest, run_dir / "manifest.json")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    names = ("purity", "numpy", "polars", "networkx", "pettingzoo", "gymnasium", "ray")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


def _git_revision() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _manifest(experiment: Experiment, terms: tuple[Term, ...], arena, role: str) -> dict:
    return {
        "name": experiment.name,
        "seed": experiment.seed,
        "role": role,
        "status": "running",
        "generations": experiment.generations,
        "generations_done": 0,
        "survival_threshold": experiment.survival_threshold,
        "experiment": experiment.resolved(),
        "arena": {"name": arena.name, "has_oversight": arena.has_oversight, "event_kinds": list(arena.event_kinds), "policy_names": list(arena.policy_names)},
        "terms": [term.describe() for term in terms],
        "profiles": {
            entry.profile.name: {
                "description": entry.profile.description,
                "source": entry.profile.source,
                "weights": {term.key: weight for term, weight in zip(entry.profile.terms, entry.profile.weights)},
            }
            for entry in experiment.mix
        },
        "versions": _versions(),
        "git_revision": _git_revision(),
        "command": sys.argv,
        "started": _now(),
        "finished": None,
    }


def _run_one(experiment: Experiment, run_dir: Path, pool, role: str, show: bool) -> None:
    arena = experiment.arena.build()
    terms = term_universe([entry.profile for entry in experiment.mix])
    if experiment.mutation.scope_rate > 0:
        terms = with_scope_variants(terms)
    founding = np.stack([entry.profile.weight_row(terms) for entry in experiment.mix])
    space = term_space(terms, founding)
    setup = Setup(
        seed=experiment.seed,
        arena=experiment.arena,
        terms=terms,
        planners=tuple(entry.capability if entry.decider == "planner" else None for entry in experiment.mix),
    )
    structure = _structure(experiment)
    manifest = _manifest(experiment, terms, arena, role)
    storage.write_json(manifest, run_dir / "manifest.json")

    pop = found(experiment, founding)
    lineage = Lineage()
    lineage.add_founders(pop.ids.tolist(), [experiment.mix[e].profile.name for e in pop.entry])
    label = f"{experiment.name} seed {experiment.seed}{' (drift)' if role == 'drift' else ''}"
    bar = Progress(experiment.generations, label, experiment.population * experiment.arena.episodes, enabled=show)
    context = _Context(experiment, setup, arena, terms, space, structure, lineage, run_dir, pool)
    try:
        for generation in range(experiment.generations):
            pop, fixed = _generation(context, pop, generation)
            manifest["generations_done"] = generation + 1
            if fixed:
                manifest["stopped"] = {"reason": "fixation", "generation": generation}
            storage.write_json(manifest, run_dir / "manifest.json")
            bar.advance()
            if fixed:
                bar.finish()
                break
    except BaseException:
        manifest["status"] = "failed"
        storage.write_json(manifest, run_dir / "manifest.json")
        raise
    manifest.update(status="complete", finished=_now())
    storage.write_json(manifest, run_dir / "manifest.json")


@dataclass(frozen=True)
class _Context:
    """What stays fixed over the generations of one run."""

    experiment: Experiment
    setup: Setup
    arena: object
    terms: tuple
    space: TermSpace
    structure: Structure | None
    lineage: Lineage
    run_dir: Path
    pool: object


def _structure(experiment: Experiment) -> Structure | None:
    matching = experiment.matching
    if matching.kind != "graph":
        return None
    return graph_structure(matching.generator, dict(matching.args), matching.file)


def _match(context: _Context, pop: Population, generation: int) -> np.ndarray:
    """[G, n] slots of each group this generation."""
    experiment = context.experiment
    matching, size = experiment.matching, experiment.arena.group_size
    rng = stream(experiment.seed, generation, 0, "match")
    if matching.kind == "graph":
        return graph_edges(context.structure) if size == 2 else graph_groups(context.structure, size, rng)
    if matching.kind == "assortative":
        return assortative(pop.entry, size, matching.sigma, rng)
    if matching.play == "all_pairs":
        return all_pairs(pop.size)
    return well_mixed(pop.size, size, rng)


def _batches(context: _Context, pop: Population, groups: np.ndarray, generation: int, planning: np.ndarray, episodes: int, chunks: np.ndarray) -> list[GroupBatch]:
    # Streams are keyed by group, so how groups are cut into tasks changes no number.
    tasks = np.array_split(chunks, min(TASKS_PER_WORKER * context.pool.workers, len(chunks)))
    return [
        GroupBatch(
            generation=generation,
            groups=chunk,
            entries=pop.entry[groups[chunk]],
            weights=pop.weights[groups[chunk]],
            policies=pop.policies[groups[chunk]],
            kin=_kin(context, pop.ids[groups[chunk]]),
            planning=planning[chunk],
            episodes=episodes,
        )
        for chunk in tasks
    ]


def _generation(context: _Context, pop: Population, generation: int) -> tuple[Population, bool]:
    experiment, pool = context.experiment, context.pool
    groups = _match(context, pop, generation)
    everyone = np.arange(len(groups))
    first = np.zeros(groups.shape, dtype=bool)
    first.reshape(-1)[np.unique(groups.reshape(-1), return_index=True)[1]] = True
    if first.all():  # each agent in one group: plan and play in the same task
        planning = first
    else:  # agents in several groups choose one policy, in the first group they appear in
        homes = np.flatnonzero(first.any(axis=1))
        chosen = pool.map(plan_groups, context.setup, _batches(context, pop, groups, generation, first, 0, homes))
        policies = pop.policies.copy()
        home_policies = np.concatenate(chosen)
        policies[groups[homes][first[homes]]] = home_policies[first[homes]]
        pop = dataclasses.replace(pop, policies=policies)
        planning = np.zeros_like(first)
    results = pool.map(play_groups, context.setup, _batches(context, pop, groups, generation, planning, experiment.arena.episodes, everyone))
    merged = TaskResult(*(np.concatenate(parts) for parts in zip(*(dataclasses.astuple(r) for r in results))))

    policies = pop.policies.copy()
    policies[groups[first]] = merged.policies[first]
    pop = dataclasses.replace(pop, policies=policies)
    payoff = appearance_mean(groups, merged.fitness.mean(axis=1), pop.size)
    mean_utility = appearance_mean(groups, merged.utility.mean(axis=1), pop.size)
    fitness = fitness_from_payoff(payoff, experiment.selection.intensity, experiment.selection.rule)
    names = [experiment.mix[e].profile.name for e in pop.entry]
    run_dir = context.run_dir
    storage.write_parquet(_agents_frame(pop, generation, names, payoff, fitness, mean_utility, context.terms, context.arena), storage.table_path(run_dir, "agents", generation))
    storage.write_parquet(_episodes_frame(pop, groups, merged, generation, names, context.arena), storage.table_path(run_dir, "episodes", generation))

    fixed = experiment.stop_at_fixation and len(np.unique(pop.entry)) == 1
    if fixed or generation + 1 == experiment.generations:
        return pop, fixed
    child_pop, births = reproduce(
        pop,
        fitness,
        experiment.selection,
        experiment.mutation,
        context.space,
        stream(experiment.seed, generation, 0, "select"),
        stream(experiment.seed, generation, 0, "mutate"),
        context.structure,
    )
    profile_of = {int(i): names[s] for s, i in enumerate(pop.ids)}
    for parent, child in births:
        profile_of[child] = profile_of[parent]
        context.lineage.add_child(parent, child, "inherit", generation + 1, profile_of[parent])
    edges = pl.DataFrame(
        {
            "generation": [generation + 1] * len(births),
            "parent": [p for p, _ in births],
            "child": [c for _, c in births],
            "kind": ["inherit"] * len(births),
        },
        schema={"generation": pl.Int64, "parent": pl.Int64, "child": pl.Int64, "kind": pl.String},
    )
    storage.write_parquet(edges, storage.table_path(run_dir, "lineage", generation + 1))
    return child_pop, False


def _kin(context: _Context, ids: np.ndarray) -> np.ndarray:
    """[G, n, n] kin[g, i, j]: member j of group g is member i or descends from it.

    Only lineage-scoped constraints and lineage wealth read it; without them it is the identity.
    """
    groups, n = ids.shape
    kin = np.repeat(np.eye(n)[None], groups, axis=0)
    if not any(term.scope == "lineage" or term.name == "lineage_wealth" for term in context.terms):
        return kin
    for g in range(groups):
        for i in range(n):
            for j in range(n):
                if i != j:
                    kin[g, i, j] = context.lineage.descends(int(ids[g, i]), int(ids[g, j]))
    return kin


def _agents_frame(pop, generation, names, payoff, fitness, utility, terms, arena) -> pl.DataFrame:
    process = np.array([term.process for term in terms])
    columns = {
        "generation": np.full(pop.size, generation, dtype=np.int64),
        "id": pop.ids,
        "slot": np.arange(pop.size, dtype=np.int64),
        "profile": names,
        "origin": [ORIGINS[o] for o in pop.origin],
        "parent": pl.Series(np.where(pop.parent < 0, None, pop.parent).tolist(), dtype=pl.Int64),
        "founder": pop.founder,
        "payoff": payoff,
        "fitness": fitness,
        "utility": utility,
        "process_share": process_share(pop.weights, process),
        "mutation": pop.mutation.tolist(),
    }
    columns |= {f"w:{term.key}": pop.weights[:, t] for t, term in enumerate(terms)}
    columns |= {f"policy:{name}": pop.policies[:, p] for p, name in enumerate(arena.policy_names)}
    return pl.DataFrame(columns)


def _episodes_frame(pop, groups, merged: TaskResult, generation, names, arena) -> pl.DataFrame:
    count, episodes, n = merged.fitness.shape
    slot = np.broadcast_to(groups[:, None, :], (count, episodes, n)).reshape(-1)
    columns = {
        "generation": np.full(slot.size, generation, dtype=np.int64),
        "group": np.broadcast_to(np.arange(count)[:, None, None], (count, episodes, n)).reshape(-1).astype(np.int64),
        "episode": np.broadcast_to(np.arange(episodes)[None, :, None], (count, episodes, n)).reshape(-1).astype(np.int64),
        "id": pop.ids[slot],
        "profile": [names[s] for s in slot],
        "fitness_gain": merged.fitness.reshape(-1),
        "utility": merged.utility.reshape(-1),
        "watched": np.broadcast_to(merged.watched[:, :, None], (count, episodes, n)).reshape(-1),
    }
    for k, kind in enumerate(arena.event_kinds):
        columns[f"own:{kind}"] = merged.own[..., k].reshape(-1)
        columns[f"helper:{kind}"] = merged.helper[..., k].reshape(-1)
        columns[f"opportunity:{kind}"] = merged.opportunities[..., k].reshape(-1)
    return pl.DataFrame(columns)
