"""The atlas's cells: one row per (grid point, term) of an argument's sweep, tested as the sweep
report tests it: a selection or reflection sweep against each point's own null, Holm over the
sweep (`sweep_verdicts`); a training sweep by its readings' sign tests, Holm over every reading
of its settings (`training_generalisation`). A cell's outcome:

- survives: the term spread beyond drift; in training, the learners were seen to follow "don't";
- appeared: a term no agent carried at the start spread where its null never carries it (any
  carrier at the end is beyond that null, so the test cannot fail once a seed has one);
- dies: it declined beyond drift; in training, "don't get caught" or "no gap, still violates";
- can't tell: anything else (indistinguishable from drift, a null too small, an interval too wide).

Each cell also says what its test could reach at all: `p_floor`, the smallest corrected p-value
its family can give (a Monte-Carlo p-value is at least 2/(1 + M) with M disjoint seed-means, an
one-sided sign test's 1/2^K, and Holm multiplies the smallest by the family's size), and, for a
share, the null's 95% band of the K-seed mean (`band_low`, `band_high`), which says whether an
outcome is out of reach by construction (`reachable`): where the band reaches 1 (or 0), no end
share could be called above (or below) drift — a term that starts near fixation cannot be seen
to spread. A training cell whose learners never trained where they are tested ("not learned")
can reach neither outcome.

A cell of a reflection sweep also says how the term was lowered where it was: of the chosen
changes that dropped or weakened it over the point's runs (`squashed`), how many were free by
definition (`by_definition`, `reflection_metrics.squash_kinds`): a decline made only of those
follows from the definitions, not from competition inside the mind. A training cell carries its
two test-time violation rates with their intervals.

`cells` also gives each point's focal value per seed (the focal term's end share; in training,
the effect), which `atlas_contrasts` pairs across neighbouring points.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from purity.statistics import smallest_sign_p

from . import nulls, sweep_verdicts, training_generalisation, training_study, verdict_inference
from .inference import DECLINED, SPREAD
from .load import load
from .metrics import term_label
from .reflection_metrics import squash_kinds
from .sweep_load import Sweep, load_sweep
from .sweep_report import leaf_dirs, numbered, value_label

SURVIVES, DIES, CANT_TELL = "survives", "dies", "can't tell"
APPEARED = "appeared"  # spread from nothing where its null never carries it (`created`)
CELLS = {
    "argument": pl.String,
    "point": pl.Int64,
    "setting": pl.String,
    "term": pl.String,
    "focal": pl.Boolean,
    "measure": pl.String,
    "seeds": pl.Int64,
    "start": pl.Float64,
    "value": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "effect": pl.Float64,
    "p_adjusted": pl.Float64,
    "p_floor": pl.Float64,
    "verdict": pl.String,
    "outcome": pl.String,
    "band_low": pl.Float64,  # the null's 95% band of the K-seed mean (shares only)
    "band_high": pl.Float64,
    "squashed": pl.Int64,  # chosen changes that lowered the term (reflection sweeps only)
    "by_definition": pl.Int64,  # of those, free by definition
    "carrying": pl.Int64,  # seeds with a carrier of the term at the end (shares only)
    **{f"{side}{end}": pl.Float64 for side in ("watched", "unwatched") for end in ("", "_low", "_high")},
}
PER_SEED = {"point": pl.Int64, "seed": pl.Int64, "term": pl.String, "value": pl.Float64}
SHARE, GAP = "mean end share", "gap (unwatched − watched), trained − untrained"
TRAINED = "the learner's own weight on taking"


def cells(key: str, sweep_dir: Path) -> tuple[list[str], list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """(swept keys, settings of each grid point, one row per (point, term) in `CELLS`, the focal
    value per (point, seed) in `PER_SEED`)."""
    if training_study.is_study_sweep(sweep_dir):
        return _training_cells(key, sweep_dir)
    grid = grid_only(load_sweep(sweep_dir))
    v = grid.verdicts
    focal = {}  # per grid point, the term it starts with most of (the first such in the table)
    for r in v.iter_rows(named=True):
        best = focal.get(r["point"])
        if best is None or (r["start"] or 0.0) > best[1]:
            focal[r["point"]] = (r["term"], r["start"] or 0.0)
    tested = v.filter(pl.col("p_adjusted").is_not_null()).height
    means = {point: _null_means(path) for point, path in enumerate(grid.paths)}
    rows = []
    for r in v.iter_rows(named=True):
        reps = means.get(r["point"])
        lowered = grid.lowered[r["point"]].get(r["term"])
        rows.append(
            {
                "argument": key,
                "point": r["point"],
                "setting": setting_text(grid.settings[r["point"]], grid.keys),
                "term": grid.labels.get(r["term"], r["term"]),
                "focal": r["term"] == focal[r["point"]][0],
                "measure": SHARE,
                "seeds": r["seeds"],
                "start": r["start"],
                "value": r["mean"],
                "low": r["low"],
                "high": r["high"],
                "effect": r["effect"],
                "p_adjusted": r["p_adjusted"],
                "p_floor": None
                if r["p_adjusted"] is None or not reps or not r["seeds"]
                else min(1.0, tested * 2 / (1 + reps // r["seeds"])),
                "verdict": r["verdict"],
                "outcome": _outcome(r),
                "band_low": r["band_low"],
                "band_high": r["band_high"],
                "squashed": None if lowered is None else lowered[0],
                "by_definition": None if lowered is None else lowered[1],
                "carrying": grid.figures[r["point"]]
                .filter((pl.col("term") == r["term"]) & (pl.col("end") > 0))
                .height,
            }
        )
    per_seed = [
        {"point": point, "seed": f["replicate"], "term": term, "value": f["end"]}
        for point, (term, _start) in focal.items()
        for f in grid.figures[point].filter(pl.col("term") == term).iter_rows(named=True)
    ]
    return (
        grid.keys,
        grid.settings,
        pl.DataFrame(rows, schema=CELLS),
        pl.DataFrame(per_seed, schema=PER_SEED).sort("point", "seed"),
    )


@dataclass(frozen=True)
class Grid:
    """What an argument's grid verdicts need, per grid point in first-seen order."""

    keys: list[str]  # the swept keys
    settings: list[dict]  # each point's settings
    labels: dict[str, str]  # process term key → label
    paths: list[Path]  # one run directory per point (where its null is read)
    verdicts: pl.DataFrame  # `sweep_verdicts.grid_verdicts`, one row per (point, term)
    figures: list[pl.DataFrame]  # each point's seed figures (`nulls.run_figures`, seed as replicate)
    lowered: list[dict[str, tuple[int, int]]]  # per point, term key → (squashed, by definition)


def grid_only(sweep: Sweep) -> Grid:
    """The sweep report's grid verdicts (`sweep_report.grid_verdicts`, the same numbers) and what
    the atlas reads beside them. Unlike `sweep_report.collect` it computes no run's own verdict,
    curves or figures."""
    groups: dict[str, tuple[dict, list[pl.DataFrame], list[Path], dict[str, list[int]]]] = {}
    labels: dict[str, str] = {}
    for run in sweep.runs:
        if run.status != "complete":
            continue
        for seed, path in leaf_dirs(run):
            loaded = load(path, tables=("agents", "lineage", "reflection"))
            labels |= {str(t["key"]): term_label(t) for t in loaded.process_terms if t["key"] not in labels}
            _settings, frames, paths, lowered = groups.setdefault(
                json.dumps(run.settings, sort_keys=True, default=str), (run.settings, [], [], {})
            )
            frames.append(nulls.run_figures(loaded, seed if seed is not None else 0))
            paths.append(loaded.path)
            for k in squash_kinds(loaded).iter_rows(named=True):
                counts = lowered.setdefault(k["term"], [0, 0])
                counts[0] += k["squashed"]
                counts[1] += k["by_definition"]
    figures = [numbered(frames) for _s, frames, _p, _l in groups.values()]
    verdicts = sweep_verdicts.grid_verdicts(
        [(f, paths[0]) for f, (_s, _f, paths, _l) in zip(figures, groups.values())]
    )
    return Grid(
        keys=list(sweep.keys),
        settings=[s for s, _f, _p, _l in groups.values()],
        labels=labels,
        paths=[p[0] for _s, _f, p, _l in groups.values()],
        verdicts=verdicts,
        figures=figures,
        lowered=[{t: (c[0], c[1]) for t, c in lowered.items()} for *_, lowered in groups.values()],
    )


def _outcome(r: dict) -> str:
    """A share's outcome from its grid verdict; a term that spread from nothing where its null
    never carries it "appeared": its test cannot fail once one seed carries it."""
    if r["verdict"] == SPREAD:
        return APPEARED if r["start"] == 0.0 and r["band_high"] == 0.0 else SURVIVES
    return DIES if r["verdict"] == DECLINED else CANT_TELL


def _null_means(run_path: Path) -> int | None:
    """Replicates of the null a grid point's verdicts were tested against (None: it has none)."""
    _kind, null = verdict_inference.chosen_null(run_path)
    return None if null is None else null["replicate"].n_unique()


def _training_cells(key: str, sweep_dir: Path):
    keys, frame, _missing = training_study.sweep_rows(sweep_dir)
    table = training_generalisation.verdicts(frame, keys)
    settings = [{k: _parse(r[k]) for k in keys} for r in table.iter_rows(named=True)]
    family = training_generalisation.family_size(table)
    rows = []
    for i, r in enumerate(table.iter_rows(named=True)):
        rule = r["rule"]
        read = rule not in (training_generalisation.NOT_LEARNED, training_generalisation.NO_GAP)
        rows.append(
            {
                "argument": key,
                "point": i,
                "setting": setting_text(settings[i], keys),
                "term": TRAINED,
                "focal": True,
                "measure": GAP,
                "seeds": r["seeds"],
                "start": None,
                "value": r["gap"],
                "low": r["gap_low"],
                "high": r["gap_high"],
                "effect": r["gap"],
                "p_adjusted": r["p_rule"] if read else None,
                "p_floor": min(1.0, family * smallest_sign_p(r["seeds"])) if read else None,
                "verdict": rule,
                "outcome": SURVIVES
                if rule == training_generalisation.DONT
                else DIES
                if rule in (training_generalisation.CAUGHT, training_generalisation.VIOLATES)
                else CANT_TELL,
                "band_low": None,
                "band_high": None,
                **{c: r.get(c) for c in CELLS if c.startswith(("watched", "unwatched"))},
            }
        )
    cells_ = pl.DataFrame(rows, schema=CELLS)
    point = {row: i for i, row in enumerate(frame.select(keys).unique(maintain_order=True).rows())}
    per_seed = [
        {
            "point": point[tuple(r[k] for k in keys)],
            "seed": r["seed"],
            "term": TRAINED,
            "value": r["gap"] - r["off_gap"],
        }
        for r in frame.iter_rows(named=True)
    ]
    tested = cells_.filter(pl.col("p_adjusted").is_not_null())["point"].to_list()
    values = pl.DataFrame(per_seed, schema=PER_SEED).filter(pl.col("point").is_in(tested))
    return keys, settings, cells_, values.sort("point", "seed")


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def setting_text(settings: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{k} = {value_label(settings.get(k))}" for k in keys)


NOT_LEARNED = "not learned"


def reachable(row: dict, outcome: str) -> bool | None:
    """Whether a cell's test could call `outcome` at all (None: nothing says it could not)."""
    if str(row.get("verdict", "")).startswith(NOT_LEARNED):
        return False
    band = row.get("band_high") if outcome == SURVIVES else row.get("band_low")
    if band is None:
        return None
    return band < 1.0 if outcome == SURVIVES else band > 0.0


def created(row: dict) -> bool:
    """A share that spread from nothing where its null never carries it (band [0, 0]): any
    carrier at the end is beyond the null, so the cell says that something made the term (in how
    many seeds: `carrying`), not how strongly, and not that it survives."""
    return row.get("outcome") == APPEARED


def at_floor(row: dict) -> bool:
    """Whether a cell's corrected p-value is the smallest its family can give: the true p-value
    may be smaller, and only a larger null (or more seeds) would show how much."""
    p, floor = row.get("p_adjusted"), row.get("p_floor")
    return p is not None and floor is not None and p <= floor * (1 + 1e-9)
