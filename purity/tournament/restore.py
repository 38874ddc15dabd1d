"""Where a resumed run picks up: the lineage and the population of its next generation, rebuilt
from the tables it recorded. Selection is redone from the recorded population and fitness with the
same function and streams as the first time, and must give the births that were recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from purity.inputs import InputError
from purity.tournament import record, reflection_step, storage
from purity.tournament.ancestry import Lineage
from purity.tournament.generation import Context, offspring
from purity.tournament.population import Population, from_table


def lineage(run_dir: Path, founders: dict, start: int) -> Lineage:
    """The lineage as it stood after generation start − 1 played: founders, the births into
    generations 1 … start − 1 and the self-modifications shown from them (those into `start`
    are redone by `population`)."""
    edges = _lineage_rows(run_dir, range(1, start))
    columns = [name for name in record.COLUMNS["lineage"] if name in edges.columns]
    return Lineage.from_edges(founders, {name: edges[name].to_list() for name in columns})


def _lineage_rows(run_dir: Path, generations) -> pl.DataFrame:
    files = []
    for generation in generations:
        file = storage.table_path(run_dir, "lineage", generation)
        if not file.is_file():
            raise InputError(
                run_dir,
                "lineage",
                f"the births into generation {generation} (lineage/gen={generation}) of a run that went past it",
            )
        files.append(_read(file))
    return (
        pl.concat(files)
        if files
        else pl.DataFrame(schema=record.schema("lineage", record.COLUMNS["lineage"]))
    )


def population(context: Context, run_dir: Path, start: int) -> Population:
    """The population of generation `start`: the recorded population of generation start − 1
    with its recorded fitness and reflection, through the same `offspring` as the first time."""
    experiment = context.experiment
    agents = _agents(run_dir, start - 1)
    # Every id ever given is a founder's or a recorded birth's (Moran newborns that died within
    # their generation included): the next one follows the largest.
    next_id = 1 + max(max(context.lineage.graph.nodes), int(agents["id"].max()))
    weights = [record.weight(term.key) for term in context.terms]
    policies = [record.policy(name) for name in context.arena.policy_names]
    played = from_table(agents, weights, policies, next_id)
    pop, modified = played, np.zeros(0, dtype=np.int64)
    if experiment.reflection.due(start - 1):
        table = _reflection(run_dir, start - 1)
        pop = reflection_step.apply(played, table, context.terms, experiment.reflection.cost)[0]
        modified = reflection_step.modified_slots(table)
    child, edges = offspring(context, played, pop, modified, agents["fitness"].to_numpy(), start - 1)
    recorded = _lineage_rows(run_dir, [start])
    if "change" not in recorded.columns:  # written before lineage rows recorded self-modifications
        edges = edges.filter(pl.col("parent") != pl.col("child")).select(recorded.columns)
    if not recorded.equals(edges):
        raise InputError(
            run_dir / "lineage",
            f"gen={start}",
            f"the births that the experiment gives after generation {start - 1} (was the run written by another version of purity?)",
        )
    return child


def _read(file: Path) -> pl.DataFrame:
    """A recorded table part; a damaged one (cut short, overwritten) is one clear error."""
    try:
        return pl.read_parquet(file)
    except Exception as error:  # noqa: BLE001 - polars raises several kinds for one fact
        raise InputError(file, "", f"a readable Parquet file ({type(error).__name__})") from None


def _agents(run_dir: Path, generation: int) -> pl.DataFrame:
    file = storage.table_path(run_dir, "agents", generation)
    if not file.is_file():
        raise InputError(
            run_dir,
            "agents",
            f"the agents of generation {generation}, the last one its manifest says is complete",
        )
    agents = _read(file).sort("slot")
    if "entry" not in agents.columns:
        raise InputError(
            file, "entry", "a run written by a purity that records mix entries (this one cannot be resumed)"
        )
    return agents


def _reflection(run_dir: Path, generation: int) -> pl.DataFrame:
    file = storage.table_path(run_dir, "reflection", generation)
    if not file.is_file():
        raise InputError(
            run_dir,
            "reflection",
            f"the reflection of generation {generation} (reflection/gen={generation}), the last one its manifest says is complete",
        )
    return _read(file)
