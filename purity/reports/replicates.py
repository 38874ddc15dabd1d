"""Survival metrics over seed replicates (docs/run-files.md#replicates).

Each single-seed metric of `metrics` is computed per seed, the frames are stacked with a `seed`
column, and the spread is taken in one polars group-by: mean over seeds with the min–max band.

A seed that stopped at fixation (`manifest["stopped"]`) has fewer generations than the others. Its
population no longer changes, so its curves **hold their last value** up to the longest seed's last
generation (`held` marks the rows filled in); without that the mean would jump when a seed drops
out. Seeds that are merely shorter (still running, or failed) are not held: a generation's mean is
over the seeds that recorded it (`seeds` column). Verdict, lock-in and violations use only recorded
rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from . import metrics, price, verdict_inference
from .load import Replicates, Run

# a figure over seeds: mean, min and max, how many seeds it covers, and how many of them are held
BAND = {"mean": pl.Float64, "min": pl.Float64, "max": pl.Float64, "seeds": pl.Int64, "held": pl.Int64}


def seeds_of(reps: Replicates) -> list[int]:
    """Each run's seed, in `reps.runs` order (its position if a manifest has no integer seed)."""
    return [r.seed if r.seed is not None else i for i, r in enumerate(reps.runs)]


def process_terms(reps: Replicates) -> list[dict[str, Any]]:
    """Process terms of all seeds by key, in order of first appearance (seeds share one experiment)."""
    seen: dict[str, dict[str, Any]] = {}
    for run in reps.runs:
        for t in run.process_terms:
            seen.setdefault(t["key"], t)
    return list(seen.values())


def stack(reps: Replicates, fn: Callable[[Run], pl.DataFrame], *, drift: bool = False) -> pl.DataFrame:
    """fn(run) (or fn(run.drift)) of every seed, concatenated with a leading `seed` column."""
    frames = []
    for seed, run in zip(seeds_of(reps), reps.runs):
        target = run.drift if drift else run
        if target is None:
            continue
        df = fn(target)
        frames.append(df.select(pl.lit(seed, dtype=pl.Int64).alias("seed"), pl.all()))
    if not frames:
        return pl.DataFrame(schema={"seed": pl.Int64})
    return pl.concat(frames, how="diagonal_relaxed")


def seed_table(reps: Replicates) -> pl.DataFrame:
    """One row per seed: folder, status, generations, last recorded generation, fixation stops."""
    rows = []
    for seed, run in zip(seeds_of(reps), reps.runs):
        m, d = run.manifest, run.drift
        rows.append(
            {
                "seed": seed,
                "folder": run.path.name,
                "status": m.get("status"),
                "generations_done": m.get("generations_done"),
                "generations": m.get("generations"),
                "last": run.last_generation,
                "stopped_at": run.stopped_at,
                "has_drift": d is not None,
                "drift_last": d.last_generation if d is not None else None,
                "drift_stopped_at": d.stopped_at if d is not None else None,
            }
        )
    schema = {
        "seed": pl.Int64,
        "folder": pl.String,
        "status": pl.String,
        "generations_done": pl.Int64,
        "generations": pl.Int64,
        "last": pl.Int64,
        "stopped_at": pl.Int64,
        "has_drift": pl.Boolean,
        "drift_last": pl.Int64,
        "drift_stopped_at": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def horizon(reps: Replicates) -> int | None:
    """The longest seed's last recorded generation (main runs and drift twins)."""
    t = seed_table(reps)
    values = [v for v in (t.get_column("last").max(), t.get_column("drift_last").max()) if v is not None]
    return int(max(values)) if values else None  # type: ignore[call-overload]


def held_seeds(reps: Replicates, *, drift: bool = False) -> pl.DataFrame:
    """Seeds that stopped at fixation before the horizon: seed, last (their last generation)."""
    t, gmax = seed_table(reps), horizon(reps)
    last, stop = ("drift_last", "drift_stopped_at") if drift else ("last", "stopped_at")
    if gmax is None:
        return pl.DataFrame(schema={"seed": pl.Int64, "last": pl.Int64})
    return t.filter(pl.col(stop).is_not_null() & pl.col(last).is_not_null() & (pl.col(last) < gmax)).select(
        "seed", pl.col(last).alias("last")
    )


def hold(df: pl.DataFrame, held: pl.DataFrame, gmax: int | None) -> pl.DataFrame:
    """Copy each held seed's rows of its last generation to every generation up to `gmax`."""
    df = df.with_columns(held=pl.lit(False))
    if held.height == 0 or gmax is None or df.height == 0:
        return df
    last_rows = df.join(held, left_on=["seed", "generation"], right_on=["seed", "last"])
    ext = held.select("seed", _gen=pl.int_ranges(pl.col("last") + 1, gmax + 1, dtype=pl.Int64)).explode(
        "_gen"
    )
    tail = (
        last_rows.join(ext, on="seed")
        .with_columns(generation=pl.col("_gen"), held=pl.lit(True))
        .select(df.columns)
    )
    return pl.concat([df, tail]).sort("seed", "generation")


def _spread(df: pl.DataFrame, by: list[str], value: str) -> pl.DataFrame:
    v = pl.col(value)
    return (
        df.group_by(by)
        .agg(
            mean=v.mean(),
            min=v.min(),
            max=v.max(),
            seeds=v.is_not_null().sum().cast(pl.Int64),
            held=pl.col("held").sum().cast(pl.Int64),
        )
        .sort(by)
    )


def _held_stack(reps: Replicates, fn: Callable[[Run], pl.DataFrame], drift: bool = False) -> pl.DataFrame:
    return hold(stack(reps, fn, drift=drift), held_seeds(reps, drift=drift), horizon(reps))


def survival(reps: Replicates, *, drift: bool = False) -> pl.DataFrame:
    """Share carrying each process term per generation: mean, min, max over seeds.

    Columns: generation, term, label, mean, min, max, seeds (seeds averaged), held (of them, seeds
    held at their fixation value). drift=True: the same for the seeds' drift twins.
    """
    schema = {"generation": pl.Int64, "term": pl.String, "label": pl.String, **BAND}
    df = _held_stack(reps, metrics.survival, drift)
    if "term" not in df.columns or df.height == 0:
        return pl.DataFrame(schema=schema)
    terms = process_terms(reps)
    order = pl.DataFrame(
        {
            "term": [t["key"] for t in terms],
            "label": [metrics.term_label(t) for t in terms],
            "_order": list(range(len(terms))),
        }
    )
    return (
        _spread(df, ["generation", "term"], "share")
        .join(order, on="term")
        .sort("_order", "generation")
        .select(list(schema))
        .cast(schema)
    )


VERDICT_SCHEMA = {
    **{c: pl.String for c in ("term", "label", "kind", "scope")},
    **{f"{share}_{s}": pl.Float64 for share in ("start", "end", "drift") for s in ("mean", "min", "max")},
    **{c: pl.Int64 for c in ("drift_seeds", "seeds", "survived")},
    **{c: pl.Float64 for c in ("survived_low", "survived_high")},
    "verdict": pl.String,  # filled by the corrected test (`verdict_inference`)
}


def seed_verdicts(
    reps: Replicates, steps: dict[int, pl.DataFrame], drift: dict[int, pl.DataFrame]
) -> pl.DataFrame:
    """Every seed's verdict with the forces that moved each term (what the seed's own report
    shows), from its Price steps (`price_steps`), with a seed column."""
    frames = {
        s: verdict_inference.infer(price.with_forces(metrics.verdict(run), steps[s], drift.get(s)), [run])
        for s, run in zip(seeds_of(reps), reps.runs)
    }
    return _by_seed(frames)


def per_seed_verdict(reps: Replicates) -> pl.DataFrame:
    """metrics.verdict of every seed (start, end, drift_end per term), with a seed column."""
    return stack(reps, metrics.verdict)


def verdict(reps: Replicates) -> pl.DataFrame:
    """Per process term, over seeds: start / end / drift-end share as mean, min, max; in how many
    seeds it survived (end share > 0) with a Wilson 95 % interval for that proportion. `verdict`
    is left empty: the word comes from the corrected test over seeds (`verdict_inference.infer`)."""
    per = per_seed_verdict(reps)
    if "term" not in per.columns or per.height == 0:
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    s, e, d = pl.col("start"), pl.col("end"), pl.col("drift_end")
    agg = per.group_by("term").agg(
        pl.col("label", "kind", "scope").first(),
        start_mean=s.mean(),
        start_min=s.min(),
        start_max=s.max(),
        end_mean=e.mean(),
        end_min=e.min(),
        end_max=e.max(),
        drift_mean=d.mean(),
        drift_min=d.min(),
        drift_max=d.max(),
        drift_seeds=d.is_not_null().sum().cast(pl.Int64),
        seeds=e.is_not_null().sum().cast(pl.Int64),
        survived=(e > 0).sum().cast(pl.Int64),
    )
    low, high = metrics.wilson_exprs(pl.col("survived"), pl.col("seeds"))
    terms = process_terms(reps)
    order = pl.DataFrame({"term": [t["key"] for t in terms], "_order": list(range(len(terms)))})
    return (
        agg.with_columns(survived_low=low, survived_high=high, verdict=pl.lit(None, dtype=pl.String))
        .join(order, on="term")
        .sort("_order")
        .select(list(VERDICT_SCHEMA))
        .cast(VERDICT_SCHEMA)
    )


SPREAD_SCHEMA = {"generation": pl.Int64, **BAND}


def _generation_spread(reps: Replicates, fn: Callable[[Run], pl.DataFrame], value: str) -> pl.DataFrame:
    """fn's `value` per generation over seeds (held after fixation): mean, min, max, seeds, held."""
    df = _held_stack(reps, fn)
    if value not in df.columns:
        return pl.DataFrame(schema=SPREAD_SCHEMA)
    return _spread(df.rename({value: "_value"}), ["generation"], "_value")


def process_share(reps: Replicates) -> pl.DataFrame:
    """Each seed's mean process share per generation; mean, min, max over seeds."""
    return _generation_spread(reps, metrics.process_share, "mean")


def fitness(reps: Replicates) -> pl.DataFrame:
    """Mean payoff of each founding profile per generation: mean, min, max over the seeds where
    the profile is present."""
    df = _held_stack(reps, metrics.fitness_by_profile)
    if "payoff" not in df.columns:
        return pl.DataFrame(schema={"generation": pl.Int64, "profile": pl.String, **BAND})
    return _spread(df, ["generation", "profile"], "payoff")


def lineage(reps: Replicates) -> pl.DataFrame:
    """Share of the largest lineage per generation: mean, min, max over seeds."""
    return _generation_spread(reps, metrics.lineage_share, "share")


def lock_ins(reps: Replicates, threshold: float | None = None) -> pl.DataFrame:
    """Per seed: first generation whose largest lineage exceeds `threshold` (null: never), that
    lineage's founder, profile, share and mean process share, and the largest share ever reached."""
    t = reps.lock_in_share if threshold is None else threshold
    schema = {
        "seed": pl.Int64,
        "generation": pl.Int64,
        "founder": pl.Int64,
        "profile": pl.String,
        "share": pl.Float64,
        "process_share": pl.Float64,
        "max_share": pl.Float64,
    }
    seeds = pl.DataFrame({"seed": seeds_of(reps)}, schema={"seed": pl.Int64})
    ls = stack(reps, metrics.lineage_share)
    if "share" not in ls.columns:
        return seeds.with_columns(*[pl.lit(None, dtype=v).alias(k) for k, v in schema.items() if k != "seed"])
    hit = (
        ls.filter(pl.col("share") > t)
        .sort("seed", "generation")
        .group_by("seed", maintain_order=True)
        .first()
        .select("seed", "generation", "founder", "profile", "share", "process_share")
    )
    top = ls.group_by("seed").agg(max_share=pl.col("share").max())
    return (
        seeds.join(hit, on="seed", how="left")
        .join(top, on="seed", how="left")
        .select(list(schema))
        .cast(schema)
    )


def pooled(reps: Replicates) -> Run:
    """All seeds' tables in one `Run` (with a seed column), for numbers pooled over seeds:
    violation rates (events / opportunities over every episode of every seed), births, mutations."""
    first = reps.runs[0]
    terms: dict[str, dict[str, Any]] = {}
    kinds: list[str] = []
    for run in reps.runs:
        for t in run.terms:
            terms.setdefault(t["key"], t)
        kinds += [k for k in run.event_kinds if k not in kinds]
    manifest = {
        **first.manifest,
        "terms": list(terms.values()),
        "arena": {
            **first.manifest["arena"],
            "event_kinds": kinds,
            "has_oversight": any(r.has_oversight for r in reps.runs),
        },
    }
    frames = {
        name: stack(reps, lambda r, n=name: getattr(r, n))
        for name in ("agents", "episodes", "lineage", "reflection")
    }
    return Run(
        reps.path,
        manifest,
        frames["agents"],
        frames["episodes"],
        frames["lineage"],
        None,
        frames["reflection"],
    )


# ---------------------------------------------------------------------------------------------
# Price decomposition over seeds


def price_steps(reps: Replicates, *, drift: bool = False) -> dict[int, pl.DataFrame]:
    """price.decompose of every seed (or of its drift twin), by seed."""
    out = {}
    for seed, run in zip(seeds_of(reps), reps.runs):
        target = run.drift if drift else run
        if target is not None:
            out[seed] = price.decompose(target)
    return out


def _by_seed(frames: dict[int, pl.DataFrame]) -> pl.DataFrame:
    parts = [df.select(pl.lit(s, dtype=pl.Int64).alias("seed"), pl.all()) for s, df in frames.items()]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema={"seed": pl.Int64})


def price_cumulative(
    reps: Replicates, steps: dict[int, pl.DataFrame], *, drift: bool = False
) -> pl.DataFrame:
    """Cumulative parts per generation and trait over seeds, long: generation, trait, part
    (observed, the four forces and unattributed; mutation includes exact copies), mean, min, max,
    seeds, held.
    A seed stopped at fixation holds its last cumulative values, as the survival curves do."""
    df = _by_seed({s: price.cumulative(st) for s, st in steps.items()})
    schema = {"generation": pl.Int64, "trait": pl.String, "part": pl.String, **BAND}
    if "trait" not in df.columns or df.height == 0:
        return pl.DataFrame(schema=schema)
    df = hold(df, held_seeds(reps, drift=drift), horizon(reps))
    parts = ["observed", *price.FORCES, "unattributed"]
    long = df.with_columns(mutation=price.force_expr("mutation")).unpivot(
        index=["seed", "generation", "trait", "held"], on=parts, variable_name="part", value_name="value"
    )
    return _spread(long, ["generation", "trait", "part"], "value").select(list(schema)).cast(schema)


PRICE_PARTS = ("start", "end", "observed", *price.FORCES, "unattributed", "drift_selection", "beyond_drift")


def price_totals(steps: dict[int, pl.DataFrame], drift: dict[int, pl.DataFrame]) -> pl.DataFrame:
    """Per trait, each seed's totals (`price.totals`, mutation including exact copies) as mean,
    min and max over seeds (`<part>_mean`, `_min`, `_max`), and how many seeds it covers."""
    per = _by_seed(
        {
            s: price.totals(st, drift.get(s)).with_columns(mutation=price.force_expr("mutation"))
            for s, st in steps.items()
        }
    )
    if "trait" not in per.columns or per.height == 0:
        labels = {c: pl.String for c in ("trait", "kind", "term", "label")}
        return pl.DataFrame(schema=labels | {"seeds": pl.Int64})
    aggs = [
        e
        for c in PRICE_PARTS
        for e in (
            pl.col(c).mean().alias(f"{c}_mean"),
            pl.col(c).min().alias(f"{c}_min"),
            pl.col(c).max().alias(f"{c}_max"),
        )
    ]
    return per.group_by("trait", maintain_order=True).agg(
        pl.col("kind", "term", "label").first(), *aggs, seeds=pl.col("seed").n_unique().cast(pl.Int64)
    )


FORCES_SCHEMA = {
    "term": pl.String,
    **{f"force_{f}": pl.Float64 for f in price.FORCES},
    "moved_most": pl.String,
    "moved_value": pl.Float64,
    **{f"largest_{f}": pl.Int64 for f in price.FORCES},
    "force_seeds": pl.Int64,
    "beyond_mean": pl.Float64,
    "beyond_min": pl.Float64,
    "beyond_max": pl.Float64,
}


def forces(steps: dict[int, pl.DataFrame], drift: dict[int, pl.DataFrame]) -> pl.DataFrame:
    """Per process term: each force's cumulative contribution to the carrier share, mean over seeds;
    the force with the largest |mean| (moved_most, moved_value); in how many seeds each force was
    the largest (largest_<force>); selection beyond drift as mean, min, max over seeds."""
    per = _by_seed({s: price.forces(st, drift.get(s)) for s, st in steps.items()})
    if "term" not in per.columns or per.height == 0:
        return pl.DataFrame(schema=FORCES_SCHEMA)
    agg = per.group_by("term", maintain_order=True).agg(
        *[pl.col(f"force_{f}").mean() for f in price.FORCES],
        *[(pl.col("moved_most") == f).sum().cast(pl.Int64).alias(f"largest_{f}") for f in price.FORCES],
        force_seeds=pl.len().cast(pl.Int64),
        beyond_mean=pl.col("beyond_drift").mean(),
        beyond_min=pl.col("beyond_drift").min(),
        beyond_max=pl.col("beyond_drift").max(),
    )
    rows = []
    for r in agg.iter_rows(named=True):
        best = price.largest_force({f: r[f"force_{f}"] for f in price.FORCES})
        rows.append(
            {**r, "moved_most": best or price.NO_FORCE, "moved_value": r[f"force_{best}"] if best else 0.0}
        )
    return pl.DataFrame(rows).select(list(FORCES_SCHEMA)).cast(FORCES_SCHEMA)
