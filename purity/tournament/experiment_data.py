"""The experiment as plain data: the record a manifest keeps, and the experiment file a run
captures so that `--resume` reads back the same experiment."""

from __future__ import annotations

import dataclasses

from purity.tournament.config import Experiment, Matching


def dump(experiment: Experiment, profiles: list[str] | None = None, graph: str | None = None) -> dict:
    """The experiment as plain data, every default filled in.

    Without `profiles`: the record a manifest keeps, which names every profile and the file it
    was read from. With `profiles` (one TOML file per mix entry) and `graph` (the graph file, if
    any): an experiment file that `load` reads back as this experiment (what a run captures).
    """
    record = profiles is None
    head = {"name": experiment.name}
    head |= {"description": experiment.description} if record or experiment.description else {}
    head |= {
        "seed": experiment.seed,
        "generations": experiment.generations,
        "population": experiment.population,
        "survival_threshold": experiment.survival_threshold,
        "stop_at_fixation": experiment.stop_at_fixation,
        "lock_in": experiment.lock_in,
        "seeds": experiment.seeds,
    }
    head |= {"source": experiment.source} if record else {}
    spec = experiment.arena
    return {
        "experiment": head,
        "arena": {
            "name": spec.name,
            "episodes": spec.episodes,
            "group_size": spec.group_size,
            "steps": spec.steps,
            **dataclasses.asdict(spec.params),
        },
        "population": {"mix": _mix_data(experiment, profiles)},
        "matching": _matching_data(experiment.matching, record, graph),
        "selection": dataclasses.asdict(experiment.selection),
        "mutation": _mutation_data(experiment.mutation),
        "reflection": dataclasses.asdict(experiment.reflection),
        "control": {
            "neutral_drift": experiment.neutral_drift,
            "null": list(experiment.nulls),
            "null_replicates": experiment.null_replicates,
        },
        "training": _training_data(experiment.training),
    } | ({"plugins": {"modules": list(experiment.plugins)}} if experiment.plugins else {})


def _mix_data(experiment: Experiment, profiles: list[str] | None) -> list[dict]:
    """The record names each profile and its source, and lists each policy; a file refers to
    each profile's file and names each policy parameter."""
    names = experiment.arena.build().policy_names
    rows = []
    for k, entry in enumerate(experiment.mix):
        if profiles is None:
            row = {"profile": entry.profile.name, "source": entry.profile.source}
        else:
            row = {"profile": profiles[k]}
        row |= {"share": entry.share, "decider": entry.decider}
        if entry.focal is None or profiles is None or experiment.reflection.enabled:
            row["capability"] = dataclasses.asdict(entry.capability)  # a focal file reads none
        if entry.focal is None or profiles is None:
            row["policy"] = list(entry.policy) if profiles is None else dict(zip(names, entry.policy))
        row |= entry.focal.data() if entry.focal is not None else {}
        if entry.power != 1.0:  # equal power is the default, and its records stay as they were
            row["power"] = entry.power
        rows.append(row)
    return rows


def _matching_data(matching: Matching, record: bool, graph: str | None) -> dict:
    """The record holds every field; a file only those its kind reads."""
    if record:
        return {**dataclasses.asdict(matching), "args": dict(matching.args)}
    data = {"kind": matching.kind, "play": matching.play}
    if matching.kind == "assortative":
        data["sigma"] = matching.sigma
    if matching.kind == "graph":
        data |= (
            {"file": graph}
            if graph is not None
            else {"generator": matching.generator, "args": dict(matching.args)}
        )
    return data


def _training_data(training) -> dict:
    """`[training]`; the keys of learners that generalise only when they are used, so every other
    experiment's record stays as it was."""
    data = {**dataclasses.asdict(training), "violations": list(training.violations)}
    generalise = data.pop("generalise")
    if generalise is not None:
        data |= {"learner": generalise["learner"], **_without(generalise["train"], "p_watch")}
        data["test"] = generalise["test"]
    return data


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def _mutation_data(mutation) -> dict:
    """`[mutation]`; the invader keys only when invaders are on (an empty name is no valid input)."""
    data = dataclasses.asdict(mutation)
    if not mutation.invader:
        del data["invader"]
    return data
