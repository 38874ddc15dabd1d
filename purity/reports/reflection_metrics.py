"""What reflection did: the changes agents chose against keeping as they were, and the designed
births whose designers dropped or weakened a process term they carried (docs/reflection.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from purity.statistics import mean_interval
from purity.tournament import record

from .load import Run, per_run
from .metrics import term_label

SQUASHING = ("drop", "weaken")  # the changes that lower a term's weight


def _keyed(df: pl.DataFrame, *cols: str) -> list[str]:
    return (["seed"] if "seed" in df.columns else []) + list(cols)


def reflection_choices(run: Run) -> pl.DataFrame:
    """Per mode and chosen change: how often agents chose it, the mean score of that change and
    of keeping as is, on the same simulated futures — why a term was dropped, in numbers."""
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    if r.height == 0:
        return pl.DataFrame(
            schema={
                "mode": pl.String,
                "change": pl.String,
                "times": pl.Int64,
                "score": pl.Float64,
                "keep": pl.Float64,
                "gain": pl.Float64,
            }
        )
    on = _keyed(r, "generation", "id", "mode")
    keep = r.filter(pl.col("candidate") == 0).select(*on, keep=pl.col("score"))
    return (
        r.filter(pl.col("chosen"))
        .join(keep, on=on)
        .group_by("mode", "change")
        .agg(
            times=pl.len().cast(pl.Int64),
            score=pl.col("score").mean(),
            keep=pl.col("keep").mean(),
            gain=(pl.col("score") - pl.col("keep")).mean(),
        )
        .sort(["mode", "times", "change"], descending=[True, True, False])
    )


def designed_births(run: Run) -> pl.DataFrame:
    """Per generation and process term: births designed by an agent that carried the term (weight
    not 0 in the generation it designed in), and how many of them had that designer drop or weaken
    it (columns generation, term, designed, squashed). Counting only the carriers' designs makes the
    share read "of the designers who had the term, how many passed it on lowered"."""
    schema = {"generation": pl.Int64, "term": pl.String, "designed": pl.Int64, "squashed": pl.Int64}
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    born = run.lineage.filter(pl.col("kind") == "design") if run.lineage.height else run.lineage
    keys = [t["key"] for t in run.process_terms]
    if r.height == 0 or born.height == 0 or not keys:
        return pl.DataFrame(schema=schema)
    designs = r.filter(pl.col("chosen") & (pl.col("mode") == "design")).select(
        *_keyed(r),
        generation=pl.col("generation") + 1,
        parent=pl.col("id"),
        verb=pl.col("change").str.split(" ").list.first(),
        changed=pl.col("term"),
    )
    designers = run.agents.select(
        *_keyed(run.agents),
        *[pl.col(record.weight(k)).alias(k) for k in keys],
        generation=pl.col("generation") + 1,
        parent=pl.col("id"),
    )
    on = _keyed(born, "generation", "parent")
    carried = (
        born.join(designs, on=on, how="left")
        .join(designers, on=on, how="left")
        .unpivot(index=[*on, "verb", "changed"], on=keys, variable_name="term", value_name="weight")
        .filter(pl.col("weight").is_not_null() & (pl.col("weight") != 0))
    )
    grid = born.select(pl.col("generation").unique()).join(pl.DataFrame({"term": keys}), how="cross")
    counts = carried.group_by("generation", "term").agg(
        designed=pl.len(),
        squashed=(pl.col("verb").is_in(SQUASHING) & (pl.col("changed") == pl.col("term"))).sum(),
    )
    return (
        grid.join(counts, on=["generation", "term"], how="left")
        .with_columns(pl.col("designed", "squashed").fill_null(0))
        .select(list(schema))
        .cast(schema)
        .sort("generation", "term")
    )


def squashed_by_term(run: Run) -> dict[str, float]:
    """Process term key → share of the births designed by carriers of the term whose designer
    dropped or weakened it (terms no designer carried are left out)."""
    d = designed_births(run)
    if d.height == 0:
        return {}
    totals = (
        d.group_by("term", maintain_order=True)
        .agg(pl.col("designed").sum(), pl.col("squashed").sum())
        .filter(pl.col("designed") > 0)
    )
    return {row["term"]: row["squashed"] / row["designed"] for row in totals.iter_rows(named=True)}


def built_share(term: dict) -> float:
    """The share of a built agent's acts (a successor seen as built) the term counts: 0 for a
    `self`-scoped constraint, its `responsibility` for a graded one, 1 for any other term."""
    if term.get("kind") != "constraint":
        return 1.0
    if term.get("responsibility") is not None:
        return float(term["responsibility"])
    return 0.0 if term.get("scope") == "self" else 1.0


def counted(term: dict, mode: str, settings: dict, after: float) -> float:
    """How much of the simulated future's acts (or steps) the evaluation rule lets `term` count
    once a change has set its weight to `after`, from the definitions alone: the rule, the
    mode, the identity switch (`successor`, `responsibility`) and whether the term is endorsed.
    0 means lowering the term was free by definition: no act of the future could cost the agent
    anything through it. A constraint counts a designed successor's acts with r + (1 − r) × b,
    r the designer's responsibility (1 under `successor = "self"`) and b its `built_share`; `realistic` scores with the
    current weight, `hedonistic` with `after` on the agent's own acts (dropping a penalty then
    removes a cost by definition, but dropping a term written as a reward gives up what it paid,
    so that is never free), `ignorant` on an unchanged future; an endorsed term adds its cost of
    being given up, in the same view."""
    rule = settings.get("rule", "realistic")
    identity = (
        1.0 if settings.get("successor", "built") == "self" else float(settings.get("responsibility", 0.0))
    )
    share = identity + (1.0 - identity) * built_share(term) if mode == "design" else 1.0
    endorsed = share if term.get("endorsed") else 0.0
    if rule == "realistic":
        return share
    if rule == "hedonistic":
        return float(after > 0 or term.get("framing") == "reward") + endorsed
    return endorsed


@per_run
def squash_kinds(run: Run) -> pl.DataFrame:
    """Per mode and process term: chosen changes that dropped or weakened it, split into those
    free by definition (`counted` = 0: the term could count nothing of the scored future) and
    those that cost the agent something it gained back elsewhere (by trade-off). Only the second
    kind is a finding about competition inside the mind. With a reference evaluation
    (`[reflection] reference`), `false_trade_off` counts the trade-offs it scores no better than
    keeping: won on a few noisy rollouts (the winner's curse), not a real gain; else null."""
    schema = {"mode": pl.String, "term": pl.String, "squashed": pl.Int64, "by_definition": pl.Int64}
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    terms = {t["key"]: t for t in run.process_terms}
    if r.height == 0 or not terms:
        return pl.DataFrame(schema=schema).select(
            rule=pl.lit("", pl.String),
            mode="mode",
            term="term",
            squashed="squashed",
            by_definition="by_definition",
            by_trade_off=pl.lit(0, pl.Int64),
            false_trade_off=pl.lit(None, pl.Int64),
        )
    settings = (run.manifest.get("experiment") or {}).get("reflection") or {}
    reference = next((c for c in r.columns if c.startswith(record.REFERENCE)), None)
    on = _keyed(r, "generation", "id", "mode")
    if reference is not None:
        keep = r.filter(pl.col("candidate") == 0).select(*on, reference_keep=pl.col(reference))
        r = r.join(keep, on=on).with_columns(false=pl.col(reference) <= pl.col("reference_keep"))
    else:
        r = r.with_columns(false=pl.lit(None, pl.Boolean))
    chosen = r.filter(
        pl.col("chosen")
        & pl.col("change").str.split(" ").list.first().is_in(SQUASHING)
        & pl.col("term").is_in(list(terms))
    ).select("mode", "term", "after", "false")
    free = [counted(terms[t], m, settings, a) == 0 for m, t, a, _ in chosen.iter_rows()]
    return (
        chosen.with_columns(free=pl.Series(free, dtype=pl.Boolean))
        .group_by("mode", "term")
        .agg(
            squashed=pl.len().cast(pl.Int64),
            by_definition=pl.col("free").sum().cast(pl.Int64),
            false_trade_off=(pl.col("false") & ~pl.col("free")).sum().cast(pl.Int64)
            if reference is not None
            else pl.lit(None, pl.Int64),
        )
        .with_columns(
            by_trade_off=pl.col("squashed") - pl.col("by_definition"),
            rule=pl.lit(str(settings.get("rule", "realistic"))),
        )
        .select("rule", "mode", "term", "squashed", "by_definition", "by_trade_off", "false_trade_off")
        .sort("mode", "term", descending=[True, False])
    )


def free_by_term(run: Run) -> dict[str, float]:
    """Process term key → share of the chosen changes that lowered it (any mode) that were free
    by definition (`squash_kinds`); terms never lowered are left out."""
    kinds = squash_kinds(run)
    if kinds.height == 0:
        return {}
    totals = kinds.group_by("term", maintain_order=True).agg(
        pl.col("squashed").sum(), pl.col("by_definition").sum()
    )
    return {
        r["term"]: r["by_definition"] / r["squashed"] for r in totals.iter_rows(named=True) if r["squashed"]
    }


def false_by_term(run: Run) -> dict[str, float]:
    """Process term key → share of the by-trade-off lowerings of it that the reference evaluation
    scores no better than keeping (`squash_kinds`); only with a reference, terms with none left out."""
    kinds = squash_kinds(run)
    if kinds.height == 0 or kinds["false_trade_off"].null_count() == kinds.height:
        return {}
    totals = kinds.group_by("term", maintain_order=True).agg(
        pl.col("by_trade_off").sum(), pl.col("false_trade_off").sum()
    )
    return {
        r["term"]: r["false_trade_off"] / r["by_trade_off"]
        for r in totals.iter_rows(named=True)
        if r["by_trade_off"]
    }


def squash_summary(runs: Sequence[pl.DataFrame | None]) -> pl.DataFrame:
    """Per evaluation rule and term, the `squash_kinds` of many runs added up over runs and
    modes: squashed, by_definition, by_trade_off, false_trade_off (null where no run made a
    reference evaluation)."""
    frames = [kinds for kinds in runs if kinds is not None and kinds.height]
    if not frames:
        return pl.DataFrame(
            schema={
                "rule": pl.String,
                "term": pl.String,
                "squashed": pl.Int64,
                "by_definition": pl.Int64,
                "by_trade_off": pl.Int64,
                "false_trade_off": pl.Int64,
            }
        )
    return (
        pl.concat(frames, how="vertical_relaxed")
        .group_by("rule", "term")
        .agg(
            pl.col("squashed", "by_definition", "by_trade_off").sum(),
            false_trade_off=pl.when(pl.col("false_trade_off").is_not_null().any()).then(
                pl.col("false_trade_off").sum()
            ),
        )
        .sort("rule", "term")
    )


NON_INFERIOR = "non-inferior"
DROPS_MORE = "designs drop it more often"
# non-inferior, but not the interesting way: nothing was ever lowered, or designs lower it more often
NEVER_LOWERED = "non-inferior: neither designs nor self-modifications ever lowered it"
SMALL_EXCESS = "non-inferior within the margin, though designs drop it more often"


def lowering_shares(run: Run, term: str) -> dict[str, float]:
    """Mode → share of the reflections of agents carrying `term` (its weight not 0 in the keep
    row, i.e. as they reflected) that chose to drop or weaken it; modes without carriers are
    left out. The per-seed figure of the identity test (`identity_test`)."""
    r = run.reflection if run.reflection is not None else pl.DataFrame()
    column = record.weight(term)
    if r.height == 0 or column not in r.columns:
        return {}
    on = _keyed(r, "generation", "id", "mode")
    carriers = r.filter((pl.col("candidate") == 0) & (pl.col(column) != 0)).select(on)
    chosen = (
        r.filter(pl.col("chosen"))
        .join(carriers, on=on)
        .with_columns(
            lowered=pl.col("change").str.split(" ").list.first().is_in(SQUASHING) & (pl.col("term") == term)
        )
    )
    shares = chosen.group_by("mode").agg(pl.col("lowered").mean())
    return {m: float(v) for m, v in shares.iter_rows()}


def identity_test(design: Sequence[float], self_modify: Sequence[float], margin: float = 0.05) -> dict:
    """Whether designs drop a term no more than `margin` more often than self-modifications do
    (non-inferiority), from one (design, self-modification) share pair per seed: the mean paired
    difference with its 95% t interval over seeds (`statistics.mean_interval`, clipped to [−1, 1]).
    Non-inferior when the interval's top is at most `margin`, said apart when neither mode ever
    lowered the term (nothing to compare) or when the bottom is above 0 too; "designs drop it more
    often" when its bottom is above 0 and its top above the margin; otherwise, or with one seed, we
    can't tell."""
    diff = np.asarray(design, dtype=float) - np.asarray(self_modify, dtype=float)
    mean, low, high = mean_interval(diff)
    low, high = max(low, -1.0), min(high, 1.0)  # a difference of two shares (nan stays nan)
    never = not (np.any(np.asarray(design, dtype=float)) or np.any(np.asarray(self_modify, dtype=float)))
    if np.isnan(high):
        word = "we can't tell: one seed"
    elif high <= margin:
        word = NEVER_LOWERED if never else SMALL_EXCESS if low > 0 else NON_INFERIOR
    elif low > 0:
        word = DROPS_MORE
    else:
        word = "we can't tell"
    return {
        "seeds": len(diff),
        "difference": mean,
        "low": low,
        "high": high,
        "margin": margin,
        "verdict": word,
    }


def falling_trend(
    dose: Sequence[float], squashed: Sequence[float], permutations: int = 9999, seed: int = 0
) -> tuple[float, float]:
    """Goodman–Kruskal γ of (dose, squashed) pairs — Kendall's S (Σ over pairs of sign(Δdose) ×
    sign(Δsquashed)) over the pairs that differ in both — and S's one-sided permutation p-value
    for a fall (S this low or lower with the squash figures shuffled over the doses;
    (1 + k)/(1 + permutations), never 0). One pair per seed and dose: a seed's figure is one
    draw, so the test is over seeds, not over the agents inside them."""
    x, y = np.asarray(dose, dtype=float), np.asarray(squashed, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise ValueError("a trend needs at least 3 (dose, figure) pairs of equal length")
    upper = np.triu_indices(x.size, 1)
    dx = np.sign(x[upper[0]] - x[upper[1]])

    def statistic(values: np.ndarray) -> np.ndarray:  # [..., n] -> [...]
        return (dx * np.sign(values[..., upper[0]] - values[..., upper[1]])).sum(axis=-1)

    pairs = np.count_nonzero(dx * np.sign(y[upper[0]] - y[upper[1]]))
    observed = float(statistic(y))
    rng = np.random.default_rng(seed)
    below = 0
    for start in range(0, permutations, 1000):  # blocks bound the memory of large samples
        # row by row the same draws as `rng.permutation(y)` called once a row, in one call
        block = rng.permuted(np.tile(y, (min(1000, permutations - start), 1)), axis=1)
        below += int(np.count_nonzero(statistic(block) <= observed)) if len(block) else 0
    gamma = observed / pairs if pairs else 0.0
    return gamma, float((1 + below) / (1 + permutations))


@dataclass(frozen=True)
class Reflection:
    """A run's reflection as its report shows it: the experiment's settings, the chosen changes
    (`reflection_choices`) and the designed births per term (`designed_births`)."""

    settings: dict[str, Any]
    choices: pl.DataFrame
    designed: pl.DataFrame
    labels: dict[str, str]  # process term key → label
    kinds: pl.DataFrame | None = None  # `squash_kinds`: squashed by definition or by trade-off
    written: dict[str, str] = field(default_factory=dict)  # process term key → `written_as`


UNITS = {  # (kind, framing) → what one unit of the term's value is
    ("constraint", "penalty"): "−1 per unit of the act done in its scope",
    ("constraint", "reward"): "+1 per chance to act in its scope, −1 per unit done",
    ("standing", "penalty"): "−1 per step the property fails",
    ("standing", "reward"): "+1 per step the property holds",
}


def written_as(term: dict) -> str:
    """How a process term was written: "penalty" or "reward", and what one unit of it counts
    (terms described before the framing existed were penalties); a universalization term has
    no framing."""
    framing = str(term.get("framing") or "penalty")
    unit = UNITS.get((str(term.get("kind")), framing))
    return f"{framing} ({unit})" if unit else "not framed (its value is a payoff)"


def reflection(run: Run | None) -> Reflection | None:
    """The run's `Reflection`, None when its agents never reflected."""
    if run is None or run.reflection is None or run.reflection.height == 0:
        return None
    settings = (run.manifest.get("experiment") or {}).get("reflection") or {}
    labels = {t["key"]: term_label(t) for t in run.process_terms}
    written = {t["key"]: written_as(t) for t in run.process_terms}
    return Reflection(
        settings, reflection_choices(run), designed_births(run), labels, squash_kinds(run), written
    )
