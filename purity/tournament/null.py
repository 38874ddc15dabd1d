"""Null distributions of a run's figures, simulated without the arena.

Under neutral drift fitness does not depend on play, so what selection does to who carries which
term is a process on the population alone: the experiment's selection rule, N, replacement graph,
mutation and starting shares. This module simulates thousands of replicates of that process at
once (the rules of `batch_selection` over a leading replicate axis, the engine's own mutation
code) and records, per replicate and process term, every figure a verdict compares: the carrier
share at the start and the end (extinction is an end share of 0), the Price decomposition's
selection and mutation parts of the change of that share, and the first generation at which one
lineage holds more than the lock-in share.

Two cheap nulls:

- `drift`: intensity 0, every agent has fitness 1 (the process the drift twin runs once).
- `shuffle`: the run's own realised fitness, shuffled among the agents each generation. It keeps
  the spread of fitness (so selection on noise widens outcomes as much as in the run) and
  breaks only the link between what an agent carries and its fitness.

Reflection (self-modification, successor design) changes weights in ways that depend on play: its
null keeps reflection and switches off selection, which costs full runs (`mechanism_null`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl

from purity.arenas import backend
from purity.statistics import ALPHA, required_replicates
from purity.tournament import batch_selection, record, stop, storage
from purity.tournament.batch_selection import parents_of_generation, unpack
from purity.tournament.config import NULL_KINDS, Experiment
from purity.tournament.matching import Structure, graph_structure
from purity.tournament.mutation import MutationSpec, TermSpace, mutate_rows, mutate_weights, term_space
from purity.tournament.population import shares_to_counts

CHUNK = 1024  # replicates per random stream: a replicate's draws do not depend on how many follow
KINDS = NULL_KINDS
_KIND_KEYS = {"drift": 0, "shuffle": 1}
MORAN = ("moran", "moran_db")


@dataclass(frozen=True)
class NullSpec:
    """Everything the null process needs from an experiment: no arena, no deciders."""

    rule: str
    population: int
    generations: int
    entry: np.ndarray  # [N] founding mix entry of each slot
    weights: np.ndarray  # [N, T] founding weights of the process terms
    keys: tuple[str, ...]  # the process terms' keys
    threshold: float  # an agent carries a term while its weight is above this
    mutation: MutationSpec
    space: TermSpace  # over the process terms only: structural mutation never touches the others
    structure: Structure | None  # the replacement graph (Moran rules on a graph), else None
    lock_in: float
    stop_at_fixation: bool
    invader: tuple[int, np.ndarray] | None = None  # after lock-in: (entry, process weights) of invaders


def _graph(experiment: Experiment) -> Structure | None:
    """The graph offspring are placed on: only the Moran rules use one for replacement. A random
    generator without a seed gets the run's, as the runner does."""
    matching = experiment.matching
    if matching.kind != "graph" or experiment.selection.kind not in MORAN:
        return None
    args = dict(matching.args)
    if matching.generator is not None and "seed" not in args:
        if "seed" in inspect.signature(getattr(nx, matching.generator)).parameters:
            args["seed"] = experiment.seed
    return graph_structure(matching.generator, args, matching.file)


def spec(experiment: Experiment) -> NullSpec:
    """The null process of an experiment (its founding population laid out as the runner does)."""
    terms = experiment.terms()
    founding = np.stack([entry.profile.weight_row(terms) for entry in experiment.mix])
    full = term_space(terms, founding)
    process = np.flatnonzero(full.process)
    where = {int(t): i for i, t in enumerate(process)}
    space = TermSpace(
        keys=tuple(full.keys[t] for t in process),
        process=np.ones(len(process), dtype=bool),
        reference=full.reference[process],
        siblings=tuple(tuple(where[s] for s in full.siblings[t] if s in where) for t in process),
    )
    counts = shares_to_counts([entry.share for entry in experiment.mix], experiment.population)
    entry = np.repeat(np.arange(len(counts)), counts)
    return NullSpec(
        rule=experiment.selection.kind,
        population=experiment.population,
        generations=experiment.generations,
        entry=entry,
        weights=founding[entry][:, process],
        keys=space.keys,
        threshold=experiment.survival_threshold,
        mutation=experiment.mutation,
        space=space,
        structure=_graph(experiment),
        lock_in=experiment.lock_in,
        stop_at_fixation=experiment.stop_at_fixation,
        invader=_invader(experiment, founding[:, process]),
    )


def _invader(experiment: Experiment, founding: np.ndarray) -> tuple[int, np.ndarray] | None:
    """The invaders' mix entry and process weights, when `[mutation] invader_rate` > 0: the null
    turns births into them after lock-in as the engine does (`purity.tournament.invaders`)."""
    if experiment.mutation.invader_rate <= 0:
        return None
    names = [entry.profile.name for entry in experiment.mix]
    entry = names.index(experiment.mutation.invader)
    return entry, founding[entry]


@dataclass(frozen=True)
class NullDraws:
    """Figures of R null replicates (rows) for T process terms (columns)."""

    keys: tuple[str, ...]
    start: np.ndarray  # [R, T] carrier share at generation 0
    end: np.ndarray  # [R, T] carrier share at the last generation recorded
    selection: np.ndarray  # [R, T] Price selection part of the change, summed over generations
    mutation: np.ndarray  # [R, T] Price transmission part (mutation; exact copies add 0)
    lock_in: np.ndarray  # [R] first generation one lineage held more than the lock-in share, -1: never
    generations: np.ndarray  # [R] generations recorded (fewer when a replicate stopped at fixation)
    curve: np.ndarray  # [G, R, T] carrier share per generation (the last value after a stop)

    @property
    def replicates(self) -> int:
        return int(self.end.shape[0])

    def figures(self) -> pl.DataFrame:
        """One row per replicate and term, in the columns of `record.NULL_FIGURES`."""
        reps, terms = self.end.shape
        zeros = np.zeros(reps * terms)
        lock = np.repeat(self.lock_in, terms)
        return pl.DataFrame(
            {
                "replicate": np.repeat(np.arange(reps, dtype=np.int64), terms),
                "term": list(self.keys) * reps,
                "start": self.start.ravel(),
                "end": self.end.ravel(),
                "selection": self.selection.ravel(),
                "mutation": self.mutation.ravel(),
                "design": zeros,
                "self_modify": zeros,
                "lock_in": pl.Series(np.where(lock < 0, None, lock).tolist(), dtype=pl.Int64),
                "generations": np.repeat(self.generations.astype(np.int64), terms),
            }
        ).select(record.NULL_FIGURES)

    def curve_frame(self, seeds: int = 1) -> pl.DataFrame:
        """Per generation and term: the mean carrier share, its 2.5%, 50% and 97.5% quantiles over
        single replicates, and the 95% band of the mean of `seeds` replicates (`mean_low`,
        `mean_high`, over disjoint groups), the band a mean over that many seeds is read against."""
        gens, reps, terms = self.curve.shape
        q = np.quantile(self.curve, [0.025, 0.5, 0.975], axis=1)  # [3, G, T]
        groups = reps // seeds
        band = np.full((2, gens, terms), np.nan)
        if groups:
            means = self.curve[:, : groups * seeds].reshape(gens, groups, seeds, terms).mean(axis=2)
            band = np.quantile(means, [0.025, 0.975], axis=1)  # [2, G, T]
        return pl.DataFrame(
            {
                "generation": np.repeat(np.arange(gens, dtype=np.int64), terms),
                "term": list(self.keys) * gens,
                "mean": self.curve.mean(axis=1).ravel().astype(np.float64),
                "low": q[0].ravel().astype(np.float64),
                "median": q[1].ravel().astype(np.float64),
                "high": q[2].ravel().astype(np.float64),
                "mean_low": band[0].ravel().astype(np.float64),
                "mean_high": band[1].ravel().astype(np.float64),
            }
        )


def simulate(
    null: NullSpec, replicates: int, seed: int, kind: str = "drift", fitness: np.ndarray | None = None
) -> NullDraws:
    """`replicates` independent replicates of the null process, in chunks of `CHUNK`.

    `fitness` ([S, G, N], the shuffle null): replicate r draws, each generation g, a random
    permutation of `fitness[r % S, g]` (the last recorded generation's beyond the end of a run
    that stopped early). Without it every agent has fitness 1 (neutral drift).
    """
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates}")
    if kind == "shuffle" and fitness is None:
        raise ValueError("the shuffle null needs the run's fitness")
    kernels = _kernels()
    parts = []
    for chunk, first in enumerate(range(0, replicates, CHUNK)):
        reps = min(CHUNK, replicates - first)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_KIND_KEYS[kind], chunk)))
        sources = None if fitness is None else (first + np.arange(reps)) % fitness.shape[0]
        parts.append(_chunk(null, reps, rng, fitness, sources, kernels))
    return NullDraws(
        keys=null.keys,
        **{
            name: np.concatenate([getattr(p, name) for p in parts], axis=1 if name == "curve" else 0)
            for name in ("start", "end", "selection", "mutation", "lock_in", "generations", "curve")
        },
    )


def _carriers(weights: np.ndarray, threshold: float) -> np.ndarray:
    """True where an agent carries the term (weight above the threshold; inf counts, NaN does not)."""
    with np.errstate(invalid="ignore"):
        return weights > threshold


def _share(carries: np.ndarray) -> np.ndarray:
    """`[R, T]` carrier share of `[R, N, T]` booleans: the count over N, exactly k/N in float64
    (what the mean of 0.0/1.0 gives, as a report computes it). Counted by an integer product with
    a row of ones (no BLAS for integers): a sum over the middle axis is several times slower."""
    n = carries.shape[1]
    return np.matmul(np.ones(n, dtype=np.int32), carries.view(np.uint8).astype(np.int32)) / n


def _mutated(rows: np.ndarray, rng: np.random.Generator, null: NullSpec) -> np.ndarray:
    """Offspring weights from parent rows `[M, T]` (a fresh array, changed in place), by the
    engine's mutation code. Log-normal weight moves are drawn only for the rows that mutate (each
    with probability `rate`): the same distribution as `mutate_weights` on every row, at a tenth
    of the draws for rate 0.1."""
    spec = null.mutation
    if spec.rate == 0 and not spec.structural:
        return rows
    if spec.distribution == "lognormal" and not spec.structural:
        moved = rng.random(rows.shape[0]) < spec.rate
        rows[moved] = mutate_weights(rows[moved], rng, 1.0, spec.sigma)[0]
        return rows
    return mutate_rows(rows, rng, spec, null.space)[0]


@dataclass
class _State:
    """One chunk's populations: weights [R, N, T]; ints [R, N, 3] = entry, founder, ancestor slot."""

    weights: np.ndarray
    ints: np.ndarray
    table: np.ndarray | None = None  # Moran: [2 R n, T] slots before, then births (reused)
    born: np.ndarray | None = None  # [R, N] the slots that hold a birth of the last step


def _kernels():
    """`batch_selection`, or its compiled twin when `PURITY_BACKEND` chooses numba (`backend`):
    the same events from the same stream, replayed to the same integers, faster."""
    if not backend.compiled():
        return batch_selection
    from purity.tournament import batch_selection_compiled  # numba is imported only when chosen

    return batch_selection_compiled


def _step(null: NullSpec, state: _State, rng, f: np.ndarray | None, kernels=batch_selection) -> None:
    """One selection step for every replicate; afterwards `ints[..., 2]` is each slot's nearest
    ancestor among the slots before the step (itself for a Moran survivor)."""
    reps, n = state.ints.shape[:2]
    state.ints[..., 2] = np.arange(n)
    state.born = np.full((reps, n), null.rule != "keep")
    if null.rule == "keep":
        return
    if null.rule in MORAN:
        events = kernels.moran_events(reps, n, rng, null.rule == "moran_db", null.structure, f)
        _moran_step(null, state, rng, *events, kernels)
        return
    parents = parents_of_generation(null.rule, reps, n, rng, state.ints[..., 0], f)
    state.ints = np.take_along_axis(state.ints, parents[..., None], axis=1)
    state.ints[..., 2] = parents
    chosen = np.take_along_axis(state.weights, parents[..., None], axis=1)
    state.weights = _mutated(chosen.reshape(reps * n, -1), rng, null).reshape(chosen.shape)


def _moran_step(null: NullSpec, state: _State, rng, parent, dead, kernels=batch_selection) -> None:
    """Replay n Moran events per replicate, as `population.reproduce` does: the births index a
    table [slots before; births], are mutated in waves of birth depth (a birth may copy an earlier
    birth of the same generation), and each slot ends holding the last birth into it.
    `replay_events` finds what each birth copies, its depth and each slot's ancestor in one pass
    over the events; rows are gathered with `np.take` (fancy indexing of rows is slower). The
    waves draw in the per-event loop's order, so every random stream and figure is unchanged."""
    reps, n = parent.shape
    terms = state.weights.shape[2]
    size = reps * n
    source, depth, last = kernels.replay_events(parent, dead)
    if state.table is None or state.table.shape[0] != 2 * size:
        state.table = np.empty((2 * size, terms))
    state.table[:size] = state.weights.reshape(size, terms)
    born = depth.ravel()  # [n*R], birth-major: the order the waves take births in
    waves = [np.flatnonzero(born == d) for d in range(1, int(born.max()) + 1)]  # depth 1, 2, …
    held = _written(null, state.table, source.ravel(), waves, rng)
    row, slot = unpack(last)
    state.born = row >= size
    state.weights = np.take(state.table, np.take(held, row.ravel()), axis=0).reshape(reps, n, terms)
    ancestor = (slot + (np.arange(reps) * n)[:, None]).ravel()
    state.ints = np.take(state.ints.reshape(size, 3), ancestor, axis=0).reshape(reps, n, 3)
    state.ints[..., 2] = slot


def _written(null: NullSpec, table: np.ndarray, copied: np.ndarray, waves, rng) -> np.ndarray:
    """Write the births of `waves` (birth b into table row `copied.size + b`, a copy of row
    `copied[b]`) and return `held`, for every table row the row that holds its weights. Under
    log-normal mutation (or none) a birth that does not mutate is an exact copy, so it points at
    the row it copies; only births that mutate are written. The draws are `_mutated`'s, wave by
    wave, so every stream is unchanged."""
    held = np.arange(table.shape[0])
    spec = null.mutation
    pointing = not spec.structural and (spec.rate == 0 or spec.distribution == "lognormal")
    for depth, at in enumerate(waves):
        kids = at + copied.size
        source = np.take(copied, at)
        if depth:  # depth 1 copies the slots before the events, which hold themselves
            source = np.take(held, source)
        if not pointing:
            table[kids] = _mutated(np.take(table, source, axis=0), rng, null)
            continue
        held[kids] = source
        if spec.rate > 0:
            moved = np.flatnonzero(rng.random(at.size) < spec.rate)
            mine = kids[moved]
            table[mine] = mutate_weights(np.take(table, source[moved], axis=0), rng, 1.0, spec.sigma)[0]
            held[mine] = mine
    return held


def _invade(null: NullSpec, state: _State, rng: np.random.Generator, locked: np.ndarray) -> None:
    """After lock-in (`locked` [R]), each surviving birth becomes an invader with probability
    `invader_rate`: the engine draws for every birth, so a survivor is one with that chance too."""
    entry, row = null.invader
    hit = state.born & locked[:, None] & (rng.random(state.born.shape) < null.mutation.invader_rate)
    state.weights[hit] = row
    state.ints[..., 0][hit] = entry


def _shuffled(fitness: np.ndarray, sources: np.ndarray, g: int, rng: np.random.Generator) -> np.ndarray:
    """`[R, N]` each replicate's source fitness of generation g, permuted among the agents."""
    rows = fitness[sources, min(g, fitness.shape[1] - 1)]
    return np.take_along_axis(rows, np.argsort(rng.random(rows.shape), axis=1), axis=1)


def _chunk(null: NullSpec, reps: int, rng, fitness, sources, kernels=batch_selection) -> NullDraws:
    n, terms, gens = null.population, len(null.keys), null.generations
    state = _State(
        weights=np.repeat(null.weights[None], reps, axis=0),
        ints=np.stack(
            [np.tile(null.entry, (reps, 1)), np.tile(np.arange(n), (reps, 1)), np.zeros((reps, n), int)], -1
        ),
    )
    live = np.ones(reps, dtype=bool)
    done = np.full(reps, gens, dtype=np.int64)
    lock = np.full(reps, -1, dtype=np.int64)
    selection, mutation = np.zeros((reps, terms)), np.zeros((reps, terms))
    curve = np.zeros((gens, reps, terms), dtype=np.float32)
    rows = np.arange(reps)
    z = _carriers(state.weights, null.threshold)
    start = end = now = _share(z)
    for g in range(gens):
        stop.check(f"null generation {g}")
        share = now
        end = np.where(live[:, None], share, end)
        curve[g] = end
        biggest = np.bincount((rows[:, None] * n + state.ints[..., 1]).ravel(), minlength=reps * n)
        hit = live & (lock < 0) & (biggest.reshape(reps, n).max(axis=1) / n > null.lock_in)
        lock[hit] = g
        if null.stop_at_fixation:
            fixed = live & (state.ints[..., 0] == state.ints[:, :1, 0]).all(axis=1)
            done[fixed] = g + 1
            live &= ~fixed
        if g == gens - 1 or not live.any():
            curve[g + 1 :] = curve[g]  # every replicate stopped: they all hold their last share
            break
        f = None if fitness is None else _shuffled(fitness, sources, g, rng)
        _step(null, state, rng, f, kernels)
        if null.invader is not None:
            _invade(null, state, rng, lock >= 0)
        inherited = np.take(
            z.reshape(reps * n, terms), (state.ints[..., 2] + rows[:, None] * n).ravel(), axis=0
        )
        inherited = _share(inherited.reshape(reps, n, terms))
        z = _carriers(state.weights, null.threshold)
        now = _share(z)
        selection += live[:, None] * (inherited - share)
        mutation += live[:, None] * (now - inherited)
    return NullDraws(null.keys, start, end, selection, mutation, lock, done, curve)


def mechanism_null(experiment: Experiment, replicates: int) -> Experiment | None:
    """The null of an experiment whose agents change what they carry without selection
    (self-modification, successor design): the same experiment with selection intensity 0 and
    reflection kept, `replicates` seeds from a seed family disjoint from the run's. It needs play,
    so it costs `replicates` full runs. None when the cheap nulls already hold everything fixed
    that the figures depend on (no reflection: learning changes policies, not weights)."""
    if not experiment.reflection.modes:
        return None
    twin = experiment.drift_twin()
    return dataclasses.replace(
        twin, name=f"{experiment.name}-null", seed=experiment.seed + NULL_SEED_OFFSET, seeds=replicates
    )


NULL_SEED_OFFSET = 1_000_003  # mechanism-null seeds start this far from the run's own


DEFAULT_REPLICATES = 2000


def verdict_tests(experiment: Experiment, terms: int) -> int:
    """A report's largest family of corrected tests: every force that can move a term (selection,
    mutation, each reflection mode) × its `terms` process terms, for "moved most by"."""
    mutating = experiment.mutation.rate > 0 or experiment.mutation.structural
    return terms * (1 + mutating + len(experiment.reflection.modes))


def replicates_for(tests: int, seeds: int = 1, alpha: float = ALPHA) -> int:
    """Null replicates a verdict over `tests` corrected tests needs (`required_replicates`: the
    smallest two-sided Monte-Carlo p-value must reach Holm's first threshold); never fewer than
    `DEFAULT_REPLICATES`."""
    return max(DEFAULT_REPLICATES, required_replicates(tests, seeds, alpha))


def recorded_fitness(run_dirs: list[Path]) -> np.ndarray:
    """`[S, G, N]` the fitness every agent had in every recorded generation of each run (by slot).
    A run that stopped early repeats its last generation, so all runs have the same G."""
    tables = []
    for run_dir in run_dirs:
        agents = pl.read_parquet(
            Path(run_dir) / "agents" / "**" / "*.parquet", columns=["generation", "slot", "fitness"]
        )
        agents = agents.sort("generation", "slot")
        gens, n = agents["generation"].n_unique(), int(agents["slot"].max()) + 1
        tables.append(agents["fitness"].to_numpy().reshape(gens, n))
    longest = max(t.shape[0] for t in tables)
    return np.stack([np.concatenate([t, np.repeat(t[-1:], longest - t.shape[0], axis=0)]) for t in tables])


def run_dirs(run_dir: Path) -> list[Path]:
    """The single-seed run directories of a run (itself) or of a seed-replicate set (its seeds)."""
    manifest = json.loads((Path(run_dir) / record.MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("role") == "replicates":
        return [Path(run_dir) / name for name in manifest["runs"]]
    return [Path(run_dir)]


def record_nulls(
    run_dir: Path,
    experiment: Experiment,
    tests: int | None = None,
    replicates: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, float]:
    """Write the cheap nulls of a finished run (or seed-replicate set) into `<run_dir>/null/`; return
    the seconds each took. The runner calls it once the run's tables are complete.

    `tests`: the largest family of corrected tests (default `verdict_tests`), which sets how many
    replicates are needed. The shuffle null is left out when selection ignores fitness (intensity
    0, `none`, `keep`): it is then the drift null."""
    null = spec(experiment)
    tests = tests or verdict_tests(experiment, len(null.keys))
    replicates = replicates or replicates_for(max(tests, 1), experiment.seeds)
    neutral = experiment.selection.intensity == 0 or experiment.selection.kind in ("none", "keep")
    seconds = {}
    for kind in kinds:
        if kind == "shuffle" and neutral:
            continue
        began = time.perf_counter()
        fitness = recorded_fitness(run_dirs(run_dir)) if kind == "shuffle" else None
        draws = simulate(null, replicates, experiment.seed, kind, fitness)
        storage.write_parquet(draws.figures(), Path(run_dir) / record.null_table(kind))
        storage.write_parquet(draws.curve_frame(experiment.seeds), Path(run_dir) / record.null_curve(kind))
        seconds[kind] = time.perf_counter() - began
    _note(run_dir, seconds, replicates, experiment.seed, tests)  # once all are written: resume reads it
    return seconds


HOLDS = {
    "drift": "selection rule, N, replacement graph, mutation, starting shares and generations; every agent has fitness 1 (intensity 0)",
    "shuffle": "as drift, but each generation's fitness is the run's own realised fitness shuffled among the agents: selection as strong and as noisy as in the run, with no link between what an agent carries and its fitness",
}


def _note(run_dir: Path, seconds: dict[str, float], replicates: int, seed: int, tests: int) -> None:
    path = Path(run_dir) / record.NULL_MANIFEST
    known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for kind, took in seconds.items():
        known[kind] = {"replicates": replicates, "seed": seed, "seconds": round(took, 3), "tests": tests}
        known[kind]["holds"] = HOLDS[kind]
    storage.write_json(known, path)
