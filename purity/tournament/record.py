"""The run-file format: which tables a run directory holds, their fixed columns, and the names of
the columns that depend on the experiment (one per term, policy parameter or event kind).

This module alone spells the format. The runner writes with it; resume, reflection and the
reports read with it. It imports nothing from purity, so `purity.reports` can read the format
without depending on how a run is made. docs/run-files.md describes the same format, and a test
holds the two together.
"""

from __future__ import annotations

TABLES = ("agents", "episodes", "lineage", "reflection")  # each under <run>/<table>/gen=<g>/part-0.parquet
MANIFEST = "manifest.json"
CAPTURE = "experiment.toml"  # the run's own copy of its experiment, what `resume` reads
DRIFT = "drift"  # the neutral-drift twin's run directory, inside the run's
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
EVENT_SOURCES = ("own", "helper", "opportunity", "detected")  # episodes: "<source>:<event kind>"
SET = "set:"  # sweep table: one per swept key, the grid point's value


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
    return keys(columns, "own:")


def null_table(kind: str) -> str:
    """The null's figures (`NULL_FIGURES`), relative to the run directory."""
    return f"{NULL}/{kind}.parquet"


def null_curve(kind: str) -> str:
    """The null's carrier share per generation and term (mean, low, median, high), relative."""
    return f"{NULL}/{kind}-curve.parquet"
