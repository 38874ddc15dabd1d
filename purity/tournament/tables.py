"""One generation's rows as the tables of the run-file format (`purity.tournament.record`).

Every table is built with the schema `record` gives, so a column that is not in the format, or
has another type, fails here rather than in a report years later.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from purity.agents.preferences import Term, process_share
from purity.tournament import record
from purity.tournament.play import TaskResult, concatenated
from purity.tournament.population import Population
from purity.tournament.reflection_step import Considered


def _frame(table: str, columns: dict) -> pl.DataFrame:
    return pl.DataFrame(columns, schema=record.schema(table, columns))


def agents(
    pop: Population,
    generation: int,
    names: list[str],
    payoff: np.ndarray,
    fitness: np.ndarray,
    utility: np.ndarray,
    terms: tuple[Term, ...],
    policy_names: tuple[str, ...],
) -> pl.DataFrame:
    """`agents/gen=<g>`: one row per agent that played generation g."""
    process = np.array([term.process for term in terms])
    columns = {
        "generation": np.full(pop.size, generation, dtype=np.int64),
        "id": pop.ids,
        "slot": np.arange(pop.size, dtype=np.int64),
        "profile": names,
        "entry": pop.entry.astype(np.int64),
        "origin": [record.ORIGINS[o] for o in pop.origin],
        "parent": np.where(pop.parent < 0, None, pop.parent).tolist(),
        "founder": pop.founder,
        "payoff": payoff,
        "fitness": fitness,
        "utility": utility,
        "process_share": process_share(pop.weights, process),
        "mutation": pop.mutation.tolist(),
        "change": pop.change.tolist(),
    }
    columns |= {record.weight(term.key): pop.weights[:, t] for t, term in enumerate(terms)}
    columns |= {record.policy(name): pop.policies[:, p] for p, name in enumerate(policy_names)}
    return _frame("agents", columns)


def episodes(
    pop: Population,
    groups: np.ndarray,
    played: TaskResult,
    generation: int,
    names: list[str],
    event_kinds: tuple[str, ...],
) -> pl.DataFrame:
    """`episodes/gen=<g>`: one row per agent per episode of each group it played in."""
    count, runs, n = played.fitness.shape

    def spread(values: np.ndarray) -> np.ndarray:
        """[count, runs, n] from values over any of the leading axes, flattened."""
        return np.broadcast_to(values, (count, runs, n)).reshape(-1)

    slot = spread(groups[:, None, :])
    columns = {
        "generation": np.full(slot.size, generation, dtype=np.int64),
        "group": spread(np.arange(count)[:, None, None]).astype(np.int64),
        "episode": spread(np.arange(runs)[None, :, None]).astype(np.int64),
        "id": pop.ids[slot],
        "profile": [names[s] for s in slot],
        "fitness_gain": played.fitness.reshape(-1),
        "utility": played.utility.reshape(-1),
        "watched": spread(played.watched[:, :, None]),
        "reward": pl.Series(played.reward.reshape(-1), dtype=pl.Float64).fill_nan(None),
    }
    for k, kind in enumerate(event_kinds):
        columns[record.event("own", kind)] = played.own[..., k].reshape(-1)
        columns[record.event("helper", kind)] = played.helper[..., k].reshape(-1)
        columns[record.event("opportunity", kind)] = played.opportunities[..., k].reshape(-1)
        columns[record.event("detected", kind)] = played.detected[..., k].reshape(-1)
    return _frame("episodes", columns)


def lineage(
    generation: int,
    changed: list[tuple[int, str, list[float], list[float]]],
    births: list[tuple[int, int]],
    kinds: list[str],
    labels: list[str],
) -> pl.DataFrame:
    """`lineage/gen=<g>`: the self-modifications that show from g, as (agent, change, weights
    before, after), then the births into g as (parent, child) with their kind and change label."""
    return _frame(
        "lineage",
        {
            "generation": [generation] * (len(changed) + len(births)),
            "parent": [a for a, *_ in changed] + [p for p, _ in births],
            "child": [a for a, *_ in changed] + [c for _, c in births],
            "kind": ["self_modify"] * len(changed) + kinds,
            "change": [c for _, c, _, _ in changed] + labels,
            "before": [b for _, _, b, _ in changed] + [None] * len(births),
            "after": [a for *_, a in changed] + [None] * len(births),
        },
    )


def reflection(
    considered: list[Considered],
    groups: np.ndarray,
    pop: Population,
    generation: int,
    rule: str,
    terms,
    reference: int = 0,
) -> pl.DataFrame:
    """`reflection/gen=<g>`: one row per reflecting agent × mode × candidate change, from the
    `Considered` of every task."""
    merged = concatenated(considered)
    slot = groups[merged.group, merged.seat].astype(np.int64)
    columns = {
        "generation": np.full(len(slot), generation, dtype=np.int64),
        "id": pop.ids[slot],
        "slot": slot,
        "mode": merged.mode.tolist(),
        "rule": [rule] * len(slot),
        "candidate": merged.candidate.astype(np.int64),
        "change": merged.change.tolist(),
        "term": merged.term.tolist(),
        "before": merged.before.astype(np.float64),
        "after": merged.after.astype(np.float64),
        "score": merged.score.astype(np.float64),
        "chosen": merged.chosen.astype(bool),
    }
    columns |= {
        record.weight(term.key): merged.weights[:, t].astype(np.float64) for t, term in enumerate(terms)
    }
    if reference:  # [reflection] reference = R: the same changes scored on R fresh rollouts
        columns[record.REFERENCE + str(reference)] = merged.reference.astype(np.float64)
    return _frame("reflection", columns).sort("slot", "mode", "candidate", descending=[False, True, False])
