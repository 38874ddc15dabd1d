"""Runs an experiment whose learners generalise (`[training] learner = "shared" | "tabular"`):
each seed trains the learners alone under the training regime, freezes them, and measures their
violation rates under the training and the test regime (`purity.agents.generalisation.outcome`).

A run directory of this kind holds its manifest (role `generalisation`), its captured experiment
and one table per seed, `generalisation/seed=<s>.parquet`, written when that seed is done. Seeds
are independent and each is keyed by its own seed alone, so the rows do not depend on the number
of workers, and a resumed run (which runs only the seeds without a table) ends with the tables of
an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl

from purity.agents.generalisation import Study, outcome
from purity.inputs import InputError
from purity.tournament import capture, record, storage
from purity.tournament.config import Experiment
from purity.tournament.experiment_data import dump
from purity.tournament.population import shares_to_counts

ROLE = "generalisation"
MAX_OWN = 1e6  # a hard constraint (weight inf) as a penalty no gain in the arena comes near


def generalises(experiment: Experiment) -> bool:
    return experiment.training.generalise is not None


def study(experiment: Experiment) -> Study:
    """The experiment as one `Study`: generations are training iterations, the arena's groups and
    episodes those of every iteration."""
    spec, training, generalise = experiment.arena, experiment.training, experiment.training.generalise
    return Study(
        learner=generalise.learner,
        reward=training.reward,
        penalty=training.penalty,
        learning_rate=training.learning_rate,
        exploration=training.exploration,
        iterations=experiment.generations,
        episodes=spec.episodes,
        groups=experiment.population // spec.group_size,
        group_size=spec.group_size,
        steps=spec.steps,
        train=generalise.train,
        test=generalise.test,
        params=spec.params,
    )


def own_weights(experiment: Experiment) -> np.ndarray:
    """[N] each agent's own weight on `take` (every scope counts its own acts), from its mix
    entry's profile, founders placed in mix order as in a tournament."""
    counts = shares_to_counts([entry.share for entry in experiment.mix], experiment.population)
    per_entry = [
        sum(
            w
            for term, w in zip(entry.profile.terms, entry.profile.weights)
            if term.kind == "constraint" and term.name == "take"
        )
        for entry in experiment.mix
    ]
    return np.minimum(np.repeat(np.asarray(per_entry, dtype=float), counts), MAX_OWN)


def one_seed(experiment: Experiment, seed: int) -> dict:
    """One seed's row: the experiment's seed and the figures of `outcome`."""
    return {"seed": seed, **outcome(study(experiment), seed, own_weights(experiment))}


def check(experiment: Experiment) -> None:
    """Learners that generalise train alone, and are compared with training off, not with drift."""
    name = experiment.training.generalise.learner
    if experiment.selection.kind != "keep":
        raise InputError(
            experiment.source,
            "selection.kind",
            f"'keep' with training.learner = {name!r} (they train alone: use purity train)",
            experiment.selection.kind,
        )
    if experiment.neutral_drift:
        raise InputError(
            experiment.source, "control.neutral_drift", f"false with training.learner = {name!r}", True
        )


def new_manifest(experiment: Experiment) -> dict:
    return {
        "name": experiment.name,
        "seed": experiment.seed,
        "role": ROLE,
        "status": "running",
        "generations": experiment.generations,
        "generations_done": 0,
        "seeds": [replicate.seed for replicate in experiment.replicates()],
        "experiment": dump(experiment),
        "study": storage.plain(dataclasses.asdict(study(experiment))),
        "versions": capture.versions(),
        **capture.provenance(),
        "started": capture.now(),
        "finished": None,
    }


def seed_path(run_dir: Path, seed: int) -> Path:
    return Path(run_dir) / record.GENERALISATION / f"seed={seed}.parquet"


def run_seeds(experiment: Experiment, run_dir: Path, pool, manifest: dict) -> None:
    """Every seed without a table yet, in batches as wide as the pool, each written as it lands;
    then the manifest says the run is complete."""
    todo = [s for s in manifest["seeds"] if not seed_path(run_dir, s).is_file()]
    width = max(1, getattr(pool, "workers", 1) or 1)
    try:
        for start in range(0, len(todo), width):
            batch = todo[start : start + width]
            for seed, row in zip(batch, pool.map(one_seed, experiment, batch)):
                storage.write_parquet(pl.DataFrame([row]), seed_path(run_dir, seed))
    except BaseException:
        manifest["status"] = "failed"
        storage.write_json(manifest, run_dir / record.MANIFEST)
        raise
    manifest.update(status="complete", generations_done=experiment.generations, finished=capture.now())
    storage.write_json(manifest, run_dir / record.MANIFEST)


def start(experiment: Experiment, run_dir: Path, pool) -> None:
    """A fresh run: manifest, captured experiment, then every seed."""
    check(experiment)
    manifest = new_manifest(experiment)
    storage.write_json(manifest, run_dir / record.MANIFEST)
    capture.capture(experiment, run_dir, manifest)
    run_seeds(experiment, run_dir, pool, manifest)


def resume(run_dir: Path, pool, manifest: dict) -> None:
    """The seeds a cut-off run had not written, with the experiment it captured."""
    experiment = capture.recall(run_dir, manifest)
    manifest.update(status="running", finished=None)
    manifest.setdefault("resumed", []).append({"at": capture.now(), "git_revision": capture.git_revision()})
    storage.write_json(manifest, run_dir / record.MANIFEST)
    run_seeds(experiment, run_dir, pool, manifest)
