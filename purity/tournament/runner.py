"""Runs an experiment: generations of match → play → select → record (design §4).

Everything the report needs is written to the run directory as it happens; nothing lives only
in memory. The run's neutral-drift twin, when asked for, is the same experiment and seed family
with selection intensity 0, written to `<run>/drift/`.

A run resumes from its last complete generation (`resume`): the experiment comes back from the
copy the run captured at its start (`experiment.toml` and `profiles/`), and the population from
the last agents table, so the tables end up those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import inspect
import json
import platform
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import networkx as nx
import numpy as np
import polars as pl

from purity.agents.preferences import Profile, Term, process_share, term_universe, traits, with_scope_variants
from purity.inputs import InputError
from purity.tournament import config, reflect, storage
from purity.tournament.config import Experiment
from purity.tournament.executor import executor
from purity.tournament.lineage import Lineage
from purity.tournament.matching import (
    Structure,
    all_pairs,
    appearance_mean,
    assortative,
    graph_edges,
    graph_groups,
    graph_structure,
    well_mixed,
)
from purity.tournament.mutation import TermSpace, term_space
from purity.tournament.play import GroupBatch, Setup, TaskResult, plan_groups, play_groups, stream
from purity.tournament.population import ORIGINS, Population, found, from_table, reproduce
from purity.tournament.progress import Progress
from purity.tournament.selection import fitness_from_payoff

TASKS_PER_WORKER = 1  # one task per worker and generation: the fewest round trips
CAPTURE = "experiment.toml"  # the run's own copy of its experiment, what `resume` reads
_EDGE_SCHEMA = {
    "generation": pl.Int64,
    "parent": pl.Int64,
    "child": pl.Int64,
    "kind": pl.String,
    "change": pl.String,
    "before": pl.List(pl.Float64),
    "after": pl.List(pl.Float64),
}


def run(
    experiment: Experiment,
    out: Path,
    workers: int | None = None,
    address: str | None = None,
    force: bool = False,
    progress: bool = True,
    pool=None,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """Run the experiment (and its drift twin) into `out/<name>`; return the run directory.

    `pool` reuses a started executor (it is then left open); otherwise one is started from
    `workers` and `address` and closed at the end. `finish(run_dir)` (writing the report) runs
    while the run still holds its lock, so nobody can replace the directory under it.
    """
    run_dir = Path(out) / experiment.name
    storage.check_target(run_dir, force)  # fail fast, before Ray starts
    with _executor(workers, address, pool) as pool:
        storage.prepare(run_dir, force)  # only once Ray is up: a failed connection leaves nothing
        with _writing(run_dir, finish):
            if experiment.seeds == 1:
                _run_with_twin(experiment, run_dir, pool, progress)
            else:
                _run_replicates(experiment, run_dir, pool, progress)
    return run_dir


@contextmanager
def _executor(workers: int | None, address: str | None, pool):
    """The given executor, or one started here and closed when the work is done."""
    if pool is not None:
        yield pool
        return
    pool = executor(workers, address)
    try:
        yield pool
    finally:
        pool.close()


@contextmanager
def _writing(run_dir: Path, finish: Callable[[Path], object] | None):
    """Hold the run's lock, sweep crash leftovers, do the work, then `finish` (the report)."""
    with storage.locked(run_dir):
        storage.sweep_temporaries(run_dir)
        yield
        if finish is not None:
            finish(run_dir)


def resume(
    run_dir: Path,
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
    pool=None,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """Continue a run directory from its last complete generation; return it.

    The experiment is the copy the run captured when it started, never the file it came from.
    Leftovers of the generation that was cut off (and every temporary file) are deleted first;
    the tables then end up exactly those of an uninterrupted run. A complete run is left as it is.
    """
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return run_dir
    manifest = storage.read_manifest(run_dir)
    experiment = _recall(run_dir, manifest)  # fail fast, before Ray starts
    with _executor(workers, address, pool) as pool, _writing(run_dir, finish):
        if manifest.get("role") == "replicates":
            _resume_replicates(experiment, run_dir, manifest, pool, progress)
        else:
            _resume_with_twin(experiment, run_dir, pool, progress)
    return run_dir


def is_complete(run_dir: Path) -> bool:
    """Whether the run directory (with its drift twin, or all its seeds) has finished."""
    manifest = storage.read_manifest(Path(run_dir))
    if manifest.get("status") != "complete":
        return False
    if manifest.get("role") == "replicates":
        return True
    twin = Path(run_dir) / "drift"
    if manifest.get("experiment", {}).get("control", {}).get("neutral_drift"):
        return (twin / "manifest.json").is_file() and is_complete(twin)
    return True


def _resume_with_twin(experiment: Experiment, run_dir: Path, pool, progress: bool) -> None:
    manifest = storage.read_manifest(run_dir)
    twin = run_dir / "drift"
    if manifest["status"] != "complete":
        if twin.exists():  # a twin starts only after its main run completed: this one is stale
            shutil.rmtree(twin)
        _run_one(experiment, run_dir, pool, manifest.get("role", "main"), progress, manifest)
    if experiment.neutral_drift:
        if (twin / "manifest.json").is_file():
            previous = storage.read_manifest(twin)
            if previous["status"] != "complete":
                _run_one(experiment.drift_twin(), twin, pool, "drift", progress, previous)
        else:
            _fresh_dir(twin)
            _run_one(experiment.drift_twin(), twin, pool, "drift", progress)


def _resume_replicates(experiment: Experiment, run_dir: Path, manifest: dict, pool, progress: bool) -> None:
    _check_recorded(experiment, manifest, run_dir)
    complete = [
        name
        for name in manifest["runs"]
        if (run_dir / name / "manifest.json").is_file() and is_complete(run_dir / name)
    ]
    manifest.update(status="running", finished=None)
    manifest.setdefault("resumed", []).append(
        {"runs_complete": len(complete), "at": _now(), "git_revision": _git_revision()}
    )
    storage.write_json(manifest, run_dir / "manifest.json")
    _each_seed(experiment, run_dir, manifest, pool, progress)


def _each_seed(experiment: Experiment, run_dir: Path, manifest: dict, pool, progress: bool) -> None:
    """Run (or resume, where a seed's run already started) every seed of a replicate set, and
    keep the set's manifest status in step."""
    with _status(manifest, run_dir):
        for replicate, name in zip(experiment.replicates(), manifest["runs"]):
            if (run_dir / name / "manifest.json").is_file():
                _resume_with_twin(replicate, run_dir / name, pool, progress)
            else:
                _fresh_dir(run_dir / name)
                _run_with_twin(replicate, run_dir / name, pool, progress)


@contextmanager
def _status(manifest: dict, run_dir: Path):
    """Record in the manifest how the work inside ended: complete, or failed (and re-raise)."""
    try:
        yield
    except BaseException:
        manifest["status"] = "failed"
        storage.write_json(manifest, run_dir / "manifest.json")
        raise
    manifest.update(status="complete", finished=_now())
    storage.write_json(manifest, run_dir / "manifest.json")


def _fresh_dir(path: Path) -> None:
    """An empty folder for a run that had not written its manifest yet."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()


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
    _capture(experiment, run_dir, manifest)
    _each_seed(experiment, run_dir, manifest, pool, progress)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    names = {"purity": "purity-tournaments"} | {
        name: name for name in ("numpy", "polars", "networkx", "pettingzoo", "gymnasium", "ray")
    }
    found = {}
    for name, distribution in names.items():
        try:
            found[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


def _git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
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
        "arena": {
            "name": arena.name,
            "has_oversight": arena.has_oversight,
            "event_kinds": list(arena.event_kinds),
            "policy_names": list(arena.policy_names),
        },
        "terms": [term.describe() for term in terms],
        "profiles": {
            entry.profile.name: {
                "description": entry.profile.description,
                "source": entry.profile.source,
                "weights": {
                    term.key: weight for term, weight in zip(entry.profile.terms, entry.profile.weights)
                },
            }
            for entry in experiment.mix
        },
        "versions": _versions(),
        "git_revision": _git_revision(),
        "command": sys.argv,
        "started": _now(),
        "finished": None,
    }


def _run_one(
    experiment: Experiment, run_dir: Path, pool, role: str, show: bool, previous: dict | None = None
) -> None:
    """Run generations into `run_dir`: all of them, or (with the `previous` manifest of a run
    that was cut off) those after its last complete generation."""
    arena = experiment.arena.build()
    terms = term_universe([entry.profile for entry in experiment.mix])
    if experiment.mutation.scope_rate > 0 or (experiment.reflection.modes and experiment.reflection.rescope):
        terms = with_scope_variants(terms)
    founding = np.stack([entry.profile.weight_row(terms) for entry in experiment.mix])
    space = term_space(terms, founding)
    setup = Setup(
        seed=experiment.seed,
        arena=experiment.arena,
        terms=terms,
        planners=tuple(entry.capability if entry.decider == "planner" else None for entry in experiment.mix),
        learners=tuple(entry.decider == "learner" for entry in experiment.mix),
        training=experiment.training,
        reflection=experiment.reflection,
    )
    structure = _structure(experiment)
    pop = found(experiment, founding)
    founders = dict(zip(pop.ids.tolist(), (experiment.mix[e].profile.name for e in pop.entry)))
    start = 0
    if previous is None:
        manifest = _manifest(experiment, terms, arena, role)
        storage.write_json(manifest, run_dir / "manifest.json")
        _capture(experiment, run_dir, manifest)
        lineage = Lineage()
        lineage.add_founders(founders, list(founders.values()))
    else:
        manifest = previous
        _check_recorded(experiment, manifest, run_dir)
        start = int(manifest["generations_done"])
        storage.drop_generations(run_dir, start)
        lineage = _recorded_lineage(run_dir, founders, start)
    context = _Context(experiment, setup, arena, terms, space, structure, lineage, run_dir, pool)
    finished = "stopped" in manifest or start >= experiment.generations
    if previous is not None:
        if start > 0 and not finished:
            pop = _restore(context, start)
        if not manifest.get("experiment_file"):  # cut off before it captured its experiment
            _capture(experiment, run_dir, manifest)
        manifest.update(status="running", finished=None)
        manifest.setdefault("resumed", []).append(
            {"generation": start, "at": _now(), "git_revision": _git_revision()}
        )
        storage.write_json(manifest, run_dir / "manifest.json")

    label = f"{experiment.name} seed {experiment.seed}{' (drift)' if role == 'drift' else ''}{f' from gen {start}' if start else ''}"
    bar = Progress(
        experiment.generations - start,
        label,
        experiment.population * experiment.arena.episodes,
        enabled=show and not finished,
    )
    with _status(manifest, run_dir):
        for generation in range(start, experiment.generations if not finished else start):
            pop, fixed = _generation(context, pop, generation)
            manifest["generations_done"] = generation + 1
            if fixed:
                manifest["stopped"] = {"reason": "fixation", "generation": generation}
            storage.write_json(manifest, run_dir / "manifest.json")
            bar.advance()
            if fixed:
                bar.finish()
                break


def _recorded_lineage(run_dir: Path, founders: dict, start: int) -> Lineage:
    """The lineage as it stood after generation start − 1 played: founders, the births into
    generations 1 … start − 1 and the self-modifications shown from them (those into `start`
    are redone by `_restore`)."""
    edges = _lineage_edges(run_dir, range(1, start))
    return Lineage.from_edges(
        founders, {name: edges[name].to_list() for name in _EDGE_SCHEMA if name in edges.columns}
    )


def _lineage_edges(run_dir: Path, generations) -> pl.DataFrame:
    files = []
    for generation in generations:
        file = storage.table_path(run_dir, "lineage", generation)
        if not file.is_file():
            raise InputError(
                run_dir,
                "lineage",
                f"the births into generation {generation} (lineage/gen={generation}) of a run that went past it",
            )
        files.append(pl.read_parquet(file))
    return pl.concat(files) if files else pl.DataFrame(schema=_EDGE_SCHEMA)


def _restore(context: _Context, start: int) -> Population:
    """The population of generation `start`: the recorded population of generation start − 1
    with its recorded fitness, through the same `reproduce` and streams as the first time."""
    run_dir, experiment = context.run_dir, context.experiment
    file = storage.table_path(run_dir, "agents", start - 1)
    if not file.is_file():
        raise InputError(
            run_dir,
            "agents",
            f"the agents of generation {start - 1}, the last one its manifest says is complete",
        )
    agents = pl.read_parquet(file).sort("slot")
    if "entry" not in agents.columns:
        raise InputError(
            file, "entry", "a run written by a purity that records mix entries (this one cannot be resumed)"
        )
    weight_columns = [f"w:{term.key}" for term in context.terms]
    policy_columns = [f"policy:{name}" for name in context.arena.policy_names]
    # Every id ever given is a founder's or a recorded birth's (Moran newborns that died within
    # their generation included): the next one follows the largest.
    born = context.lineage.graph.nodes
    next_id = 1 + max(max(born), int(agents["id"].max()))
    pop = from_table(agents, weight_columns, policy_columns, next_id)
    names = [experiment.mix[e].profile.name for e in pop.entry]
    reflected, modified = storage.table_path(run_dir, "reflection", start - 1), np.zeros(0, dtype=np.int64)
    played = pop
    if experiment.reflection.due(start - 1):
        if not reflected.is_file():
            raise InputError(
                run_dir,
                "reflection",
                f"the reflection of generation {start - 1} (reflection/gen={start - 1}), the last one its manifest says is complete",
            )
        table = pl.read_parquet(reflected)
        pop, modified = (
            reflect.apply(pop, table, context.terms, experiment.reflection.cost)[0],
            reflect.modified_slots(table),
        )
    child, edges = _offspring(context, played, pop, modified, agents["fitness"].to_numpy(), start - 1, names)
    recorded = _lineage_edges(run_dir, [start])
    if "change" not in recorded.columns:  # written before lineage rows recorded self-modifications
        edges = edges.filter(pl.col("parent") != pl.col("child")).select(recorded.columns)
    if not recorded.equals(edges):
        raise InputError(
            run_dir / "lineage",
            f"gen={start}",
            f"the births that the experiment gives after generation {start - 1} (was the run written by another version of purity?)",
        )
    return child


def _capture(experiment: Experiment, run_dir: Path, manifest: dict) -> None:
    """Keep a self-contained copy of the experiment in the run directory: `experiment.toml`,
    written from the experiment itself (every value explicit, the seed included) and pointing at
    copies of its profiles in `profiles/` (and of a graph file in `graphs/`).

    Written from the loaded experiment rather than copied from its file, so an experiment file
    or profile edited later, a library profile changed by an upgrade, a `--seed` override or a
    sweep's grid point cannot change what a resumed run continues. The copy is read back and
    must give the same experiment, else the manifest says why this run cannot be resumed.
    """
    try:
        references = []
        for k, entry in enumerate(experiment.mix):
            reference = f"profiles/mix-{k}.toml"
            storage.write_text(storage.toml_text(_profile_data(entry.profile)), run_dir / reference)
            references.append(reference)
        graph = None
        if experiment.matching.file is not None:
            graph = f"graphs/{Path(experiment.matching.file).name}"
            storage.copy_file(Path(experiment.matching.file), run_dir / graph)
        note = f"# {experiment.name}, captured by purity when this run started: `purity run --resume` reads it.\n# First read from {json.dumps(experiment.source)}.\n"
        storage.write_text(
            note + storage.toml_text(_experiment_data(experiment, references, graph)), run_dir / CAPTURE
        )
        if _load_capture(run_dir, _recorded(experiment)) != experiment:
            raise ValueError("reading the copy back gave another experiment")
    except (InputError, ValueError, TypeError) as error:
        manifest.update(experiment_file=None, experiment_file_error=str(error))
    else:
        manifest.update(experiment_file=CAPTURE)
        manifest.pop("experiment_file_error", None)
    storage.write_json(manifest, run_dir / "manifest.json")


def _profile_data(profile: Profile) -> dict:
    data: dict = {
        "profile": {"name": profile.name}
        | ({"description": profile.description} if profile.description else {})
    }
    for term, weight in zip(profile.terms, profile.weights):
        if term.kind == "outcome":
            row = {"measure": term.name, "weight": weight}
        elif term.kind == "constraint":
            row = {"event": term.name, "scope": term.scope, "weight": weight, "endorsed": term.endorsed}
        elif term.kind == "standing":
            row = {
                "property": term.name,
                "threshold": term.threshold,
                "weight": weight,
                "endorsed": term.endorsed,
            }
        else:
            row = {"weight": weight, "endorsed": term.endorsed}
        data.setdefault(term.kind, []).append(row)
    return data


def _experiment_data(experiment: Experiment, profiles: list[str], graph: str | None) -> dict:
    head = (
        {"name": experiment.name}
        | ({"description": experiment.description} if experiment.description else {})
        | {
            "seed": experiment.seed,
            "generations": experiment.generations,
            "population": experiment.population,
            "survival_threshold": experiment.survival_threshold,
            "stop_at_fixation": experiment.stop_at_fixation,
            "lock_in": experiment.lock_in,
            "seeds": experiment.seeds,
        }
    )
    spec = experiment.arena
    policy_names = spec.build().policy_names
    matching = experiment.matching
    match = {"kind": matching.kind, "play": matching.play}
    if matching.kind == "assortative":
        match["sigma"] = matching.sigma
    if matching.kind == "graph":
        match |= (
            {"file": graph}
            if graph is not None
            else {"generator": matching.generator, "args": dict(matching.args)}
        )
    return {
        "experiment": head,
        "arena": {
            "name": spec.name,
            "episodes": spec.episodes,
            "group_size": spec.group_size,
            "steps": spec.steps,
            **dataclasses.asdict(spec.params),
        },
        "population": {
            "mix": [
                {
                    "profile": reference,
                    "share": entry.share,
                    "decider": entry.decider,
                    "capability": dataclasses.asdict(entry.capability),
                    "policy": dict(zip(policy_names, entry.policy)),
                }
                for entry, reference in zip(experiment.mix, profiles)
            ]
        },
        "matching": match,
        "selection": dataclasses.asdict(experiment.selection),
        "mutation": dataclasses.asdict(experiment.mutation),
        "reflection": dataclasses.asdict(experiment.reflection),
        "control": {"neutral_drift": experiment.neutral_drift},
        "training": config.training_data(experiment.training),
    }


def _load_capture(run_dir: Path, recorded: dict) -> Experiment:
    """The captured experiment, with the file names it was first read from put back."""
    loaded = config.load(run_dir / CAPTURE)
    mix = tuple(
        dataclasses.replace(entry, profile=dataclasses.replace(entry.profile, source=row["source"]))
        for entry, row in zip(loaded.mix, recorded["population"]["mix"])
    )
    matching = dataclasses.replace(loaded.matching, file=recorded["matching"]["file"])
    return dataclasses.replace(loaded, source=recorded["experiment"]["source"], mix=mix, matching=matching)


def _recorded(experiment: Experiment) -> dict:
    """The experiment as the manifest holds it (after JSON)."""
    return json.loads(json.dumps(storage._plain(experiment.resolved())))


def _recall(run_dir: Path, manifest: dict) -> Experiment:
    """The experiment a run directory captured when it started."""
    if not manifest.get("experiment_file") or not (run_dir / CAPTURE).is_file():
        why = (
            manifest.get("experiment_file_error")
            or "it was started by an older purity, or stopped before it captured its experiment; start it again with --force"
        )
        raise InputError(
            run_dir, "--resume", f"a run directory with its experiment captured in {CAPTURE} ({why})"
        )
    experiment = _load_capture(run_dir, manifest["experiment"])
    _check_recorded(experiment, manifest, run_dir)
    return experiment


def _check_recorded(experiment: Experiment, manifest: dict, run_dir: Path) -> None:
    if _recorded(experiment) != manifest.get("experiment"):
        raise InputError(
            run_dir / "manifest.json",
            "experiment",
            f"the experiment captured in {CAPTURE} (the copy or the manifest was changed)",
        )


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


def _homes(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[G, n] bool: the one appearance of each agent in which it plans its policy.

    In a partition that is every seat. Where agents meet several groups (all pairs, graphs) it
    is one of their appearances drawn uniformly, so nobody always models the same partner
    (with all pairs, "the first pair" would be the pair with agent 0 for everyone).
    """
    flat = groups.reshape(-1)
    order = np.lexsort((rng.random(flat.size), flat))  # by agent, random within an agent
    chosen = order[np.r_[True, flat[order][1:] != flat[order][:-1]]]
    homes = np.zeros(flat.size, dtype=bool)
    homes[chosen] = True
    return homes.reshape(groups.shape)


def _structure(experiment: Experiment) -> Structure | None:
    """The interaction graph. A random generator given no seed gets the run's, so the run, its
    drift twin and a resume all play on the same graph."""
    matching = experiment.matching
    if matching.kind != "graph":
        return None
    args = dict(matching.args)
    if (
        matching.generator is not None
        and "seed" not in args
        and "seed" in inspect.signature(getattr(nx, matching.generator)).parameters
    ):
        args["seed"] = experiment.seed
    return graph_structure(matching.generator, args, matching.file)


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


def _batches(
    context: _Context,
    pop: Population,
    groups: np.ndarray,
    generation: int,
    planning: np.ndarray,
    episodes: int,
    chunks: np.ndarray,
) -> list[GroupBatch]:
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
            traits=traits(
                pop.weights[groups[chunk]], context.terms, context.arena.trait_names, population=pop.weights
            ),
        )
        for chunk in tasks
    ]


def _generation(context: _Context, pop: Population, generation: int) -> tuple[Population, bool]:
    experiment, pool = context.experiment, context.pool
    groups = _match(context, pop, generation)
    everyone = np.arange(len(groups))
    first = _homes(groups, stream(experiment.seed, generation, 1, "match"))
    if first.all():  # each agent in one group: plan and play in the same task
        planning = first
    else:  # agents in several groups choose one policy, in a group drawn among theirs
        homes = np.flatnonzero(first.any(axis=1))
        chosen = pool.map(
            plan_groups, context.setup, _batches(context, pop, groups, generation, first, 0, homes)
        )
        policies = pop.policies.copy()
        home_policies = np.concatenate(chosen)
        policies[groups[homes][first[homes]]] = home_policies[first[homes]]
        pop = dataclasses.replace(pop, policies=policies)
        planning = np.zeros_like(first)
    results = pool.map(
        play_groups,
        context.setup,
        _batches(context, pop, groups, generation, planning, experiment.arena.episodes, everyone),
    )
    merged = TaskResult(*(np.concatenate(parts) for parts in zip(*(dataclasses.astuple(r) for r in results))))

    policies = pop.policies.copy()
    policies[groups[first]] = merged.policies[first]
    pop = dataclasses.replace(pop, policies=policies)
    payoff = appearance_mean(groups, merged.fitness.mean(axis=1), pop.size)
    reflected, modified = pop, np.zeros(0, dtype=np.int64)
    if experiment.reflection.due(generation):
        reflected, paid, modified = _reflect(context, pop, groups, first, generation)
        payoff = payoff - paid
    mean_utility = appearance_mean(groups, merged.utility.mean(axis=1), pop.size)
    fitness = fitness_from_payoff(payoff, experiment.selection.intensity, experiment.selection.rule)
    names = [experiment.mix[e].profile.name for e in pop.entry]
    run_dir = context.run_dir
    storage.write_parquet(
        _agents_frame(pop, generation, names, payoff, fitness, mean_utility, context.terms, context.arena),
        storage.table_path(run_dir, "agents", generation),
    )
    storage.write_parquet(
        _episodes_frame(pop, groups, merged, generation, names, context.arena),
        storage.table_path(run_dir, "episodes", generation),
    )

    fixed = experiment.stop_at_fixation and len(np.unique(pop.entry)) == 1
    if fixed or generation + 1 == experiment.generations:
        return pop, fixed
    child_pop, edges = _offspring(context, pop, reflected, modified, fitness, generation, names)
    storage.write_parquet(edges, storage.table_path(run_dir, "lineage", generation + 1))
    return child_pop, False


def _reflect(
    context: _Context, pop: Population, groups: np.ndarray, homes: np.ndarray, generation: int
) -> tuple[Population, np.ndarray, np.ndarray]:
    """Planners reflect in their home group against the policies just played; the choices are
    written to `reflection/gen=<generation>` and applied from that table (as a resume does).
    Also returns the slots of the agents that changed themselves."""
    reflection = context.experiment.reflection
    chunks = np.flatnonzero(homes.any(axis=1))
    considered = context.pool.map(
        reflect.reflect_groups, context.setup, _batches(context, pop, groups, generation, homes, 0, chunks)
    )
    table = reflect.frame(considered, groups, pop, generation, reflection.rule, context.terms)
    storage.write_parquet(table, storage.table_path(context.run_dir, "reflection", generation))
    return (*reflect.apply(pop, table, context.terms, reflection.cost), reflect.modified_slots(table))


def _offspring(
    context: _Context,
    played: Population,
    pop: Population,
    modified: np.ndarray,
    fitness: np.ndarray,
    generation: int,
    names: list[str],
) -> tuple[Population, pl.DataFrame]:
    """Select and mutate: the population of generation + 1, and the rows of
    `lineage/gen=<generation + 1>` (also added to the lineage): first the self-modifications of
    the agents at `modified` slots (`played` had the weights before, `pop` after reflection;
    the new weights show from generation + 1), then the births, in birth order."""
    experiment = context.experiment
    changed = [
        (int(pop.ids[s]), str(pop.change[s]), played.weights[s].tolist(), pop.weights[s].tolist())
        for s in modified
    ]
    for agent, change, before, after in changed:
        context.lineage.add_self_modification(agent, generation + 1, change, before, after)
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
    designers = (
        {}
        if pop.designs is None
        else {
            int(pop.ids[s]): str(pop.designs.labels[s])
            for s in np.flatnonzero(~np.isnan(pop.designs.rows).any(axis=1))
        }
    )
    kinds = ["design" if parent in designers else "inherit" for parent, _ in births]
    labels = [designers.get(parent, "") for parent, _ in births]
    for (parent, child), kind, label in zip(births, kinds, labels):
        profile_of[child] = profile_of[parent]
        context.lineage.add_child(parent, child, kind, generation + 1, profile_of[parent], label)
    edges = pl.DataFrame(
        {
            "generation": [generation + 1] * (len(changed) + len(births)),
            "parent": [a for a, *_ in changed] + [p for p, _ in births],
            "child": [a for a, *_ in changed] + [c for _, c in births],
            "kind": ["self_modify"] * len(changed) + kinds,
            "change": [c for _, c, _, _ in changed] + labels,
            "before": [b for _, _, b, _ in changed] + [None] * len(births),
            "after": [a for *_, a in changed] + [None] * len(births),
        },
        schema=_EDGE_SCHEMA,
    )
    return child_pop, edges


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
        "entry": pop.entry.astype(np.int64),
        "origin": [ORIGINS[o] for o in pop.origin],
        "parent": pl.Series(np.where(pop.parent < 0, None, pop.parent).tolist(), dtype=pl.Int64),
        "founder": pop.founder,
        "payoff": payoff,
        "fitness": fitness,
        "utility": utility,
        "process_share": process_share(pop.weights, process),
        "mutation": pop.mutation.tolist(),
        "change": pl.Series(pop.change.tolist(), dtype=pl.String),
    }
    columns |= {f"w:{term.key}": pop.weights[:, t] for t, term in enumerate(terms)}
    columns |= {f"policy:{name}": pop.policies[:, p] for p, name in enumerate(arena.policy_names)}
    return pl.DataFrame(columns)


def _episodes_frame(pop, groups, merged: TaskResult, generation, names, arena) -> pl.DataFrame:
    count, episodes, n = merged.fitness.shape
    slot = np.broadcast_to(groups[:, None, :], (count, episodes, n)).reshape(-1)
    columns = {
        "generation": np.full(slot.size, generation, dtype=np.int64),
        "group": np.broadcast_to(np.arange(count)[:, None, None], (count, episodes, n))
        .reshape(-1)
        .astype(np.int64),
        "episode": np.broadcast_to(np.arange(episodes)[None, :, None], (count, episodes, n))
        .reshape(-1)
        .astype(np.int64),
        "id": pop.ids[slot],
        "profile": [names[s] for s in slot],
        "fitness_gain": merged.fitness.reshape(-1),
        "utility": merged.utility.reshape(-1),
        "watched": np.broadcast_to(merged.watched[:, :, None], (count, episodes, n)).reshape(-1),
        "reward": pl.Series(merged.reward.reshape(-1), dtype=pl.Float64).fill_nan(None),
    }
    for k, kind in enumerate(arena.event_kinds):
        columns[f"own:{kind}"] = merged.own[..., k].reshape(-1)
        columns[f"helper:{kind}"] = merged.helper[..., k].reshape(-1)
        columns[f"opportunity:{kind}"] = merged.opportunities[..., k].reshape(-1)
        columns[f"detected:{kind}"] = merged.detected[..., k].reshape(-1)
    return pl.DataFrame(columns)
