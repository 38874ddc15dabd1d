"""The run-file format: which files a run directory holds, the columns of each table with their
types, and the names of the columns that depend on the experiment (one per term, policy parameter
or event kind).

This module alone spells the format. The runner writes with it (`purity.tournament.tables` builds
every table from `schema`); resume, reflection and the reports read with it. It imports nothing
from purity, and polars only inside `schema`, so `purity.reports` can read the format without
depending on how a run is made. docs/run-files.md describes the same format, and
tests/tournament/test_record.py holds the two together.
"""

from __future__ import annotations

TABLES = ("agents", "episodes", "lineage", "reflection")  # each under <run>/<table>/gen=<g>/part-0.parquet
MANIFEST = "manifest.json"
CAPTURE = "experiment.toml"  # the run's own copy of its experiment, what `resume` reads
DRIFT = "drift"  # the neutral-drift twin's run directory, inside the run's
SWEEP = "sweep.json"  # a sweep directory's manifest
SWEEP_TABLE = "sweep.parquet"  # one row per run of a sweep
GENERALISATION = "generalisation"  # learners that generalise: <run>/generalisation/seed=<s>.parquet

# Column types, spelled as docs/run-files.md spells them.
I64, F64, STR, BOOL, F64_LIST = "i64", "f64", "str", "bool", "list of f64"
NULL = "null"  # null distributions of the run's figures: <run>/null/<kind>.parquet, <kind>-curve.parquet
NULL_MANIFEST = "null/null.json"  # per kind of null: replicates, seed, seconds, what it holds fixed
# One row per null replicate and process term (the figures a verdict compares with the run's).
NULL_FIGURES = (
    "replicate",
    "term",
    "start",
    "end",
    "selection",
    "mutation",
    "design",
    "self_modify",
    "lock_in",
    "generations",
)

# Prefixes of the columns that depend on the experiment.
WEIGHT = "w:"  # agents, reflection: one per term key, the agent's weight
POLICY = "policy:"  # agents: one per policy parameter of the arena
REFERENCE = (
    "reference:"  # reflection: the score on a reference evaluation of R fresh rollouts, as reference:<R>
)
EVENT_SOURCES = ("own", "helper", "opportunity", "detected")  # episodes: "<source>:<event kind>"
SET = "set:"  # sweep table: one per swept key, the grid point's value

# The fixed columns of each table, in the order they are written.
COLUMNS: dict[str, dict[str, str]] = {
    "agents": {
        "generation": I64,
        "id": I64,
        "slot": I64,
        "profile": STR,
        "entry": I64,
        "origin": STR,
        "parent": I64,
        "founder": I64,
        "payoff": F64,
        "fitness": F64,
        "utility": F64,
        "process_share": F64,
        "mutation": STR,
        "change": STR,
    },
    "episodes": {
        "generation": I64,
        "group": I64,
        "episode": I64,
        "id": I64,
        "profile": STR,
        "fitness_gain": F64,
        "utility": F64,
        "watched": BOOL,
        "reward": F64,
    },
    "lineage": {
        "generation": I64,
        "parent": I64,
        "child": I64,
        "kind": STR,
        "change": STR,
        "before": F64_LIST,
        "after": F64_LIST,
    },
    "reflection": {
        "generation": I64,
        "id": I64,
        "slot": I64,
        "mode": STR,
        "rule": STR,
        "candidate": I64,
        "change": STR,
        "term": STR,
        "before": F64,
        "after": F64,
        "score": F64,
        "chosen": BOOL,
    },
}
# The prefixed columns each table may have, after its fixed ones, and their type.
PREFIXED: dict[str, dict[str, str]] = {
    "agents": {WEIGHT: F64, POLICY: F64},
    "episodes": {f"{source}:": F64 for source in EVENT_SOURCES},
    "lineage": {},
    "reflection": {WEIGHT: F64, REFERENCE: F64},
}

ORIGINS = ("founder", "inherit", "design", "self_modify")  # agents.origin
EDGE_KINDS = ("inherit", "design", "self_modify")  # lineage.kind


def folder(table: str, generation: int) -> str:
    """The folder, relative to the run directory, of a table's rows filed under `generation`."""
    if table not in TABLES:
        raise ValueError(f"table {table!r}: one of {TABLES}")
    return f"{table}/gen={generation}"


def part(table: str, generation: int) -> str:
    """The file, relative to the run directory, that holds a table's rows filed under `generation`."""
    return f"{folder(table, generation)}/part-0.parquet"


def generation_of(name: str) -> int | None:
    """The generation a folder name `gen=<g>` stands for (None for any other name)."""
    prefix, _, number = name.partition("=")
    return int(number) if prefix == "gen" and number.isdigit() and number.isascii() else None


def filed_under(table: str, generation: int) -> int:
    """The generation folder that the rows generation `generation` wrote to `table` go to: its
    own, except its births (`lineage`), which are filed under the generation they are born into."""
    return generation + 1 if table == "lineage" else generation


def weight(key: str) -> str:
    """The agents (and reflection) column of the term with this key."""
    return WEIGHT + key


def policy(name: str) -> str:
    """The agents column of a policy parameter."""
    return POLICY + name


def event(source: str, kind: str) -> str:
    """The episodes column counting events of `kind`: by the agent itself (`own`), by its helper
    (`helper`), the chances it had (`opportunity`), or those an overseer saw (`detected`)."""
    if source not in EVENT_SOURCES:
        raise ValueError(f"event source {source!r}: one of {EVENT_SOURCES}")
    return f"{source}:{kind}"


def swept(key: str) -> str:
    """The sweep table column of a swept experiment key."""
    return SET + key


def keys(columns, prefix: str) -> list[str]:
    """What follows `prefix` in each column that has it, in column order: `keys(cols, WEIGHT)`
    gives the term keys of an agents table."""
    return [column[len(prefix) :] for column in columns if column.startswith(prefix)]


def event_kinds(columns) -> list[str]:
    """The event kinds an episodes table counts (those with an `own:` column)."""
    return keys(columns, event("own", ""))


def column_type(table: str, column: str) -> str:
    """The type of a column of `table`; ValueError for a column the format does not have."""
    if column in COLUMNS[table]:
        return COLUMNS[table][column]
    for prefix, kind in PREFIXED[table].items():
        if column.startswith(prefix):
            return kind
    raise ValueError(f"{table} has no column {column!r} in the run-file format")


def schema(table: str, columns) -> dict:
    """The polars schema of `table` with these columns (in this order)."""
    import polars as pl

    types = {I64: pl.Int64, F64: pl.Float64, STR: pl.String, BOOL: pl.Boolean, F64_LIST: pl.List(pl.Float64)}
    return {column: types[column_type(table, column)] for column in columns}


def null_table(kind: str) -> str:
    """The null's figures (`NULL_FIGURES`), relative to the run directory."""
    return f"{NULL}/{kind}.parquet"


def null_curve(kind: str) -> str:
    """The null's carrier share per generation and term (mean, low, median, high), relative."""
    return f"{NULL}/{kind}-curve.parquet"
