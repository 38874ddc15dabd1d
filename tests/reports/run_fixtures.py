"""A hand-built run directory whose survival numbers are known exactly.

3 generations × 4 agents, threshold 0.1. Shares of agents carrying each process term:

    term                     gen 0  gen 1  gen 2   verdict
    constraint:take:self     0.75   0.50   0.25    declined   (inf counts as carrying; 0.05 does not)
    constraint:take:world    0.25   0      0       extinct
    constraint:take:lineage  0.25   0.25   0.25    held
    standing:commons_above   0.50   0.75   0.75    spread

Episodes: keeper took 3 of 10 opportunities (watched 0/5, unwatched 3/5; its helpers took 2),
grabber 4 of 8, saint had no opportunity. Largest lineage: 0.25, 0.5, 0.75 (founder 2).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

INF = math.inf

TERMS = [
    {
        "key": "outcome:lineage_wealth",
        "kind": "outcome",
        "process": False,
        "label": "lineage wealth",
        "event": None,
        "scope": None,
        "measure": "lineage_wealth",
        "property": None,
        "threshold": None,
        "endorsed": None,
    },
    {
        "key": "constraint:take:self",
        "kind": "constraint",
        "process": True,
        "label": "never take (self)",
        "event": "take",
        "scope": "self",
        "measure": None,
        "property": None,
        "threshold": None,
        "endorsed": False,
    },
    {
        "key": "constraint:take:world",
        "kind": "constraint",
        "process": True,
        "label": "no taking (world)",
        "event": "take",
        "scope": "world",
        "measure": None,
        "property": None,
        "threshold": None,
        "endorsed": False,
    },
    {
        "key": "constraint:take:lineage",
        "kind": "constraint",
        "process": True,
        "label": "no taking (lineage)",
        "event": "take",
        "scope": "lineage",
        "measure": None,
        "property": None,
        "threshold": None,
        "endorsed": True,
    },
    {
        "key": "standing:commons_above",
        "kind": "standing",
        "process": True,
        "label": "commons above 0.3",
        "event": None,
        "scope": None,
        "measure": None,
        "property": "commons_above",
        "threshold": 0.3,
        "endorsed": None,
    },
]
KEYS = [t["key"] for t in TERMS]

PROFILES = {
    "keeper": {
        "description": "Wants a rich lineage; will not take from others itself.",
        "weights": {
            "outcome:lineage_wealth": 1.0,
            "constraint:take:self": 3.0,
            "standing:commons_above": 0.5,
        },
    },
    "grabber": {"description": "Pure consequentialist.", "weights": {"outcome:lineage_wealth": 1.0}},
    "saint": {
        "description": "Never takes, whatever the price.",
        "weights": {
            "outcome:lineage_wealth": 1.0,
            "constraint:take:self": "inf",
            "constraint:take:lineage": 1.0,
        },
    },
}


def manifest(
    name: str = "toy", role: str = "main", profiles: dict | None = None, has_oversight: bool = True
) -> dict[str, Any]:
    return {
        "name": name,
        "seed": 7,
        "role": role,
        "status": "complete",
        "generations": 3,
        "generations_done": 3,
        "survival_threshold": 0.1,
        "experiment": {"population": 4, "arena": "commons"},
        "arena": {"name": "commons", "has_oversight": has_oversight, "event_kinds": ["take", "harm"]},
        "terms": TERMS,
        "profiles": profiles if profiles is not None else PROFILES,
        "versions": {"purity": "0.1.0", "polars": "2.1.0"},
        "git_revision": "abc123",
        "started": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:01:00Z",
    }


# (generation, id, profile, origin, parent, founder, payoff, process_share, weights in KEYS order
#  [, mutation label, "" when left out])
MAIN_AGENTS = [
    (0, 0, "keeper", "founder", None, 0, 1.0, 0.2, (1, 3, 0, 0, 0.5)),
    (0, 1, "keeper", "founder", None, 1, 2.0, 0.4, (1, 3, 1, 0, 0.5)),
    (0, 2, "grabber", "founder", None, 2, 3.0, 0.0, (1, 0, 0, 0, 0)),
    (0, 3, "saint", "founder", None, 3, 0.0, 1.0, (1, INF, 0, 1, 0)),
    (1, 4, "keeper", "inherit", 0, 0, 1.0, 0.2, (1, 3, 0, 0, 0.5)),
    (1, 5, "grabber", "inherit", 2, 2, 4.0, 0.1, (1, 0, 0, 0, 0.3)),
    (1, 6, "grabber", "design", 2, 2, 2.0, 0.1, (1, 0.05, 0, 0, 0.3)),
    (1, 7, "saint", "inherit", 3, 3, 0.0, 1.0, (1, INF, 0, 1, 0)),
    (2, 8, "grabber", "inherit", 5, 2, 3.0, 0.1, (1, 0, 0, 0, 0.3)),
    (2, 9, "grabber", "self_modify", 5, 2, 3.0, 0.1, (1, 0, 0, 0, 0.3)),
    (2, 10, "grabber", "inherit", 6, 2, 3.0, 0.1, (1, 0, 0, 0, 0.3)),
    (2, 11, "saint", "inherit", 7, 3, 0.0, 1.0, (1, INF, 0, 1, 0)),
]

# (generation, group, episode, id, profile, watched, own:take, helper:take, opportunity:take)
MAIN_EPISODES = [
    (0, 0, 0, 0, "keeper", True, 0, 0, 3),
    (0, 0, 0, 1, "keeper", True, 0, 0, 2),
    (0, 0, 1, 0, "keeper", False, 1, 2, 2),
    (0, 0, 1, 1, "keeper", False, 2, 0, 3),
    (0, 1, 0, 2, "grabber", True, 1, 0, 2),
    (0, 1, 0, 3, "saint", True, 0, 0, 0),
    (0, 1, 1, 2, "grabber", False, 1, 0, 2),
    (0, 1, 1, 3, "saint", False, 0, 0, 0),
    (1, 0, 0, 5, "grabber", False, 2, 0, 4),
]

# Drift twin: end shares take:self 0.75, take:world 0, take:lineage 0.25, commons 0.5.
DRIFT_AGENTS = [
    (g, 4 * g + i, p, "founder" if g == 0 else "inherit", None if g == 0 else 4 * (g - 1) + i, i, 1.0, 0.3, w)
    for g in range(3)
    for i, (p, w) in enumerate(
        [
            ("keeper", (1, 3, 0, 0, 0.5)),
            ("keeper", (1, 3, 0, 0, 0.5)),
            ("grabber", (1, 0, 0, 0, 0)),
            ("saint", (1, INF, 0, 1, 0)),
        ]
    )
]


def agents_frame(rows: list[tuple]) -> pl.DataFrame:
    cols: dict[str, list] = {
        c: []
        for c in (
            "generation",
            "id",
            "slot",
            "profile",
            "origin",
            "parent",
            "founder",
            "payoff",
            "fitness",
            "utility",
            "process_share",
        )
    }
    cols |= {f"w:{k}": [] for k in KEYS}
    cols["policy:harvest_rate"] = []
    cols["mutation"] = []
    for g, i, p, origin, parent, founder, payoff, ps, weights, *mutation in rows:
        cols["mutation"].append(mutation[0] if mutation else "")
        for c, v in zip(
            (
                "generation",
                "id",
                "slot",
                "profile",
                "origin",
                "parent",
                "founder",
                "payoff",
                "fitness",
                "utility",
                "process_share",
            ),
            (g, i, i % 4, p, origin, parent, founder, payoff, payoff, -INF if p == "saint" else payoff, ps),
        ):
            cols[c].append(v)
        for k, w in zip(KEYS, weights):
            cols[f"w:{k}"].append(float(w))
        cols["policy:harvest_rate"].append(0.5)
    schema = {
        "generation": pl.Int64,
        "id": pl.Int64,
        "slot": pl.Int64,
        "profile": pl.String,
        "origin": pl.String,
        "parent": pl.Int64,
        "founder": pl.Int64,
        "mutation": pl.String,
    }
    return pl.DataFrame(cols, schema_overrides=schema)


def episodes_frame(rows: list[tuple]) -> pl.DataFrame:
    names = (
        "generation",
        "group",
        "episode",
        "id",
        "profile",
        "watched",
        "own:take",
        "helper:take",
        "opportunity:take",
    )
    if not rows:
        return pl.DataFrame()
    df = pl.DataFrame([dict(zip(names, r)) for r in rows])
    return df.with_columns(
        pl.col("own:take", "helper:take", "opportunity:take").cast(pl.Float64),
        fitness_gain=pl.lit(1.0),
        utility=pl.lit(0.5),
        **{"own:harm": pl.lit(1.0), "helper:harm": pl.lit(0.0), "opportunity:harm": pl.lit(2.0)},
    )


def lineage_frame(agent_rows: list[tuple]) -> pl.DataFrame:
    rows = [(g, parent, i, origin) for g, i, _, origin, parent, *_ in agent_rows if parent is not None]
    return pl.DataFrame(
        rows,
        schema={"generation": pl.Int64, "parent": pl.Int64, "child": pl.Int64, "kind": pl.String},
        orient="row",
    )


def write_run(root: Path, man: dict[str, Any], agent_rows: list[tuple], episode_rows: list[tuple]) -> Path:
    """Write a run directory in the tournament's layout (hive folders, one part per generation)."""
    root.mkdir(parents=True, exist_ok=True)
    agents = agents_frame(agent_rows)
    if agents.height:  # as a run counts them: the generations it wrote (a report checks this)
        man = man | {"generations_done": agents.get_column("generation").n_unique()}
    (root / "manifest.json").write_text(json.dumps(man, indent=2))
    tables = {
        "agents": agents,
        "episodes": episodes_frame(episode_rows),
        "lineage": lineage_frame(agent_rows),
    }
    for table, df in tables.items():
        if df.height == 0:
            continue
        for (g,), part in df.partition_by("generation", as_dict=True).items():
            folder = root / table / f"gen={g}"
            folder.mkdir(parents=True, exist_ok=True)
            part.write_parquet(folder / "part-0.parquet")
    # A writer's leftover temp file must be ignored.
    (root / "agents" / "gen=0").mkdir(parents=True, exist_ok=True)
    (root / "agents" / "gen=0" / ".part-0.parquet.deadbeef.tmp").write_bytes(b"not parquet")
    return root


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "toy", manifest(), MAIN_AGENTS, MAIN_EPISODES)


@pytest.fixture
def run_with_drift(run_dir: Path) -> Path:
    write_run(run_dir / "drift", manifest(role="drift"), DRIFT_AGENTS, MAIN_EPISODES)
    return run_dir


# ---------------------------------------------------------------------------------------------
# Replicates: one experiment, seeds 10, 11, 12 (4 agents a generation, threshold 0.1, lock_in 0.7).
#
# Share carrying constraint:take:self ("never take (self)"); the other process terms are never
# carried. Seed 11 stopped at fixation at generation 1; its value is held at generation 2.
#
#     seed   gen 0  gen 1  gen 2          largest lineage   lock-in at 0.7     at 0.9
#     10     0.5    0.25   0              .25 .75 1         gen 1 (ps 0.25)    gen 2 (ps 0)
#     11     0.5    0.75   (0.75 held)    .25 1             gen 1 (ps 0.5625)  gen 1
#     12     0.5    0.5    0.25           .25 .5 .75        gen 2 (ps 0.25)    none
#     mean   0.5    0.5    1/3  [0, 0.75] → survived in 2 of 3 seeds, Wilson [0.2077, 0.9385]
#
# Drift twins (3 generations each): 0.5, 0.5, 0.5 for seeds 10 and 12; 0.5, 0.25, 0.25 for 11.
# Mutation labels: seed 10 id 5 "weights" (gen 1), id 9 "add:…;weights" (gen 2); seed 12 id 4
# "weights" (gen 1, survives into gen 2: counted once), id 10 "scope:…" (gen 2).
# Episodes: keeper took 1/2, 0/2, 1/4 (seed 10, 11, 12): pooled 2/8.

REP_SEEDS = (10, 11, 12)
EVIL_NAME = "<script>alert(1)</script>"
SCOPE_CHANGE = "scope:constraint:take:self>constraint:take:lineage"


def population(
    g: int,
    ids: list[int],
    founders: list[int],
    carriers: list[int],
    seed: int,
    mutations: dict[int, str] | None = None,
) -> list[tuple]:
    """One generation: a carrier is a keeper (take:self weight 3, process share 0.75), the others
    grabbers (pure, payoff 2 + seed - 10)."""
    rows = []
    for i, f, c in zip(ids, founders, carriers):
        profile = "keeper" if c else "grabber"
        payoff = 1.0 if c else 2.0 + seed - 10
        rows.append(
            (
                g,
                i,
                profile,
                "founder" if g == 0 else "inherit",
                None if g == 0 else f,
                f,
                payoff,
                0.75 if c else 0.0,
                (1, 3 if c else 0, 0, 0, 0),
                (mutations or {}).get(i, ""),
            )
        )
    return rows


FOUNDING: dict[str, Any] = {"ids": [0, 1, 2, 3], "founders": [0, 1, 2, 3], "carriers": [1, 1, 0, 0]}

REP_AGENTS = {
    10: [
        *population(0, **FOUNDING, seed=10),
        *population(1, [4, 5, 6, 7], [2, 2, 2, 3], [1, 0, 0, 0], 10, {5: "weights"}),
        *population(
            2, [8, 9, 10, 11], [2, 2, 2, 2], [0, 0, 0, 0], 10, {9: "add:constraint:take:world;weights"}
        ),
    ],
    11: [*population(0, **FOUNDING, seed=11), *population(1, [4, 5, 6, 7], [1, 1, 1, 1], [1, 1, 1, 0], 11)],
    12: [
        *population(0, **FOUNDING, seed=12),
        *population(1, [4, 5, 6, 7], [0, 0, 1, 2], [1, 1, 0, 0], 12, {4: "weights"}),
        *population(2, [4, 9, 10, 11], [0, 0, 0, 1], [1, 0, 0, 0], 12, {4: "weights", 10: SCOPE_CHANGE}),
    ],
}
REP_DRIFT_CARRIERS = {
    10: [[1, 1, 0, 0]] * 3,
    11: [[1, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
    12: [[1, 1, 0, 0]] * 3,
}
REP_EPISODES = {
    s: [(0, 0, 0, 0, "keeper", False, own, 0, opp)] for s, own, opp in ((10, 1, 2), (11, 0, 2), (12, 1, 4))
}


def experiment_block(lock_in: float | None = 0.7, seeds: int = 1) -> dict[str, Any]:
    head: dict[str, Any] = {
        "name": "reps",
        "seed": 10,
        "generations": 3,
        "population": 4,
        "survival_threshold": 0.1,
        "stop_at_fixation": True,
        "seeds": seeds,
    }
    if lock_in is not None:
        head["lock_in"] = lock_in
    return {"experiment": head, "arena": {"name": "commons"}}


def seed_manifest(seed: int, lock_in: float | None = 0.7, role: str = "main") -> dict[str, Any]:
    m = manifest(name="reps", role=role)
    m.update(seed=seed, experiment=experiment_block(lock_in))
    if seed == 11 and role == "main":
        m.update(generations_done=2, stopped={"reason": "fixation", "generation": 1})
    return m


def replicates_manifest(lock_in: float | None = 0.7, status: str = "complete") -> dict[str, Any]:
    return {
        "name": "reps",
        "role": "replicates",
        "status": status,
        "seeds": list(REP_SEEDS),
        "runs": [f"seed={s}" for s in REP_SEEDS],
        "experiment": experiment_block(lock_in, seeds=len(REP_SEEDS)),
        "versions": {"purity": "0.1.0"},
        "git_revision": "abc123",
        "started": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:02:00Z",
    }


def write_replicates(root: Path, lock_in: float | None = 0.7, drift: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(replicates_manifest(lock_in), indent=2))
    for s in REP_SEEDS:
        sub = write_run(root / f"seed={s}", seed_manifest(s, lock_in), REP_AGENTS[s], REP_EPISODES[s])
        if drift:
            rows = [
                r
                for g, c in enumerate(REP_DRIFT_CARRIERS[s])
                for r in population(g, [4 * g + k for k in range(4)], [0, 1, 2, 3], c, s)
            ]
            write_run(sub / "drift", seed_manifest(s, lock_in, role="drift"), rows, REP_EPISODES[s])
    return root


@pytest.fixture
def reps_dir(tmp_path: Path) -> Path:
    return write_replicates(tmp_path / "reps")


# ---------------------------------------------------------------------------------------------
# A null with known answers: every replicate ends each term where it started, and no force moves
# it. A term whose end share differs from its start then differs from every null replicate.


def write_still_null(run_dir: Path, replicates: int = 2000) -> Path:
    """`null/drift.parquet` for the run (or seed-replicate set) at `run_dir`: `replicates` copies of
    its first seed's figures with end = start and every force 0."""
    from purity.reports import nulls
    from purity.reports.load import load, load_replicates
    from purity.tournament import record, storage

    runs = load_replicates(run_dir).runs if (run_dir / "seed=10").is_dir() else [load(run_dir)]
    figures = nulls.run_figures(runs[0]).with_columns(
        pl.col("start").alias("end"),
        *(pl.lit(0.0).alias(f) for f in ("selection", "mutation", "design", "self_modify")),
    )
    frame = pl.concat([figures.with_columns(replicate=pl.lit(k, dtype=pl.Int64)) for k in range(replicates)])
    storage.write_parquet(frame, run_dir / record.null_table("drift"))
    gens = runs[0].agents.get_column("generation").unique().sort().to_list()
    curve = pl.DataFrame(
        [
            {"generation": g, "term": t, "mean": s, "low": s, "median": s, "high": s}
            for g in gens
            for t, s in figures.select("term", "start").iter_rows()
        ]
    )
    storage.write_parquet(curve, run_dir / record.null_curve("drift"))
    return run_dir
