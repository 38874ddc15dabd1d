"""Runs an experiment: generations of match → play → select → record (design §4).

Everything the report needs is written to the run directory as it happens; nothing lives only
in memory. The run's neutral-drift twin, when asked for, is the same experiment and seed family
with selection intensity 0, written to `<run>/drift/`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

from agents.preferences import Term, process_share, term_universe
from tournament import storage
from tournament.config import Experiment
from tournament.executor import executor
from tournament.lineage import Lineage
from tournament.matching import well_mixed
from tournament.play import GroupBatch, Setup, TaskResult, play_groups, stream
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
        _run_one(experiment, run_dir, pool, "main", progress)
        if experiment.neutral_drift:
            twin = experiment.drift_twin()
            (run_dir / "drift").mkdir()
            _run_one(twin, run_dir / "drift", pool, "drift", progress)
    finally:
        if owned:
            pool.close()
    return run_dir


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
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "finished": None,
    }


def _run_one(experiment: Experiment, run_dir: Path, pool, role: str, show: bool) -> None:
    arena = experiment.arena.build()
    terms = term_universe([entry.profile for entry in experiment.mix])
    weight_rows = np.stack([entry.profile.weight_row(terms) for entry in experiment.mix])
    setup = Setup(
        seed=experiment.seed,
        arena=experiment.arena,
        terms=terms,
        planners=tuple(entry.capability if entry.decider == "planner" else None for entry in experiment.mix),
    )
    manifest = _manifest(experiment, terms, arena, role)
    storage.write_json(manifest, run_dir / "manifest.json")

    pop = found(experiment, weight_rows)
    lineage = Lineage()
    lineage.add_founders(pop.ids.tolist(), [experiment.mix[e].profile.name for e in pop.entry])
    label = f"{experiment.name}{' (drift)' if role == 'drift' else ''}"
    bar = Progress(experiment.generations, label, experiment.population * experiment.arena.episodes, enabled=show)
    try:
        for generation in range(experiment.generations):
            pop = _generation(experiment, setup, arena, terms, pop, lineage, generation, run_dir, pool)
            manifest["generations_done"] = generation + 1
            storage.write_json(manifest, run_dir / "manifest.json")
            bar.advance()
    except BaseException:
        manifest["status"] = "failed"
        storage.write_json(manifest, run_dir / "manifest.json")
        raise
    manifest["status"] = "complete"
    manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    storage.write_json(manifest, run_dir / "manifest.json")


def _generation(experiment, setup, arena, terms, pop: Population, lineage: Lineage, generation: int, run_dir: Path, pool) -> Population:
    group_size = experiment.arena.group_size
    groups = well_mixed(pop.size, group_size, stream(experiment.seed, generation, 0, "match"))
    # Streams are keyed by group, so how groups are cut into tasks changes no number.
    tasks = np.array_split(np.arange(len(groups)), min(TASKS_PER_WORKER * pool.workers, len(groups)))
    batches = [
        GroupBatch(
            generation=generation,
            groups=chunk,
            entries=pop.entry[groups[chunk]],
            weights=pop.weights[groups[chunk]],
            policies=pop.policies[groups[chunk]],
            kin=_kin(lineage, pop.ids[groups[chunk]]),
        )
        for chunk in tasks
    ]
    results = pool.map(play_groups, setup, batches)
    merged = TaskResult(*(np.concatenate(parts) for parts in zip(*(dataclasses.astuple(r) for r in results))))

    slots = groups.reshape(-1)  # slot of each (group, member), in group order
    policies = pop.policies.copy()
    policies[slots] = merged.policies.reshape(len(slots), -1)
    payoff = np.empty(pop.size)
    payoff[slots] = merged.fitness.mean(axis=1).reshape(-1)
    mean_utility = np.empty(pop.size)
    mean_utility[slots] = merged.utility.mean(axis=1).reshape(-1)
    pop = dataclasses.replace(pop, policies=policies)

    fitness = fitness_from_payoff(payoff, experiment.selection.intensity, experiment.selection.rule)
    names = [experiment.mix[e].profile.name for e in pop.entry]
    storage.write_parquet(_agents_frame(pop, generation, names, payoff, fitness, mean_utility, terms, arena), storage.table_path(run_dir, "agents", generation))
    storage.write_parquet(_episodes_frame(pop, groups, merged, generation, names, arena), storage.table_path(run_dir, "episodes", generation))

    if generation + 1 == experiment.generations:
        return pop
    child_pop, births = reproduce(
        pop,
        fitness,
        experiment.selection,
        stream(experiment.seed, generation, 0, "select"),
        stream(experiment.seed, generation, 0, "mutate"),
    )
    profile_of = {int(i): names[s] for s, i in enumerate(pop.ids)}
    for parent, child in births:
        profile_of[child] = profile_of[parent]
        lineage.add_child(parent, child, "inherit", generation + 1, profile_of[parent])
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
    return child_pop


def _kin(lineage: Lineage, ids: np.ndarray) -> np.ndarray:
    """[G, n, n] kin[g, i, j]: member j of group g is member i or descends from it."""
    groups, n = ids.shape
    kin = np.zeros((groups, n, n))
    for g in range(groups):
        for i in range(n):
            for j in range(n):
                kin[g, i, j] = i == j or lineage.descends(int(ids[g, i]), int(ids[g, j]))
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
