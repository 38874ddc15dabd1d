"""Price decomposition of the change of a trait's population mean between generations
(docs/inference.md#forces-against-the-null).

For each recorded generation g and the next recorded one g' and each trait z (an agent's process
share; for every process term the indicator "carries it", whose mean is the survival share; and the
term's weight), the observed change Δz̄ = z̄' − z̄ splits exactly into

    selection      Cov(w, z) / w̄ = (1/N') Σ_i w_i (z_i − z̄)
    transmission   E(w Δz) / w̄   = (1/N') Σ_j (z_j − z_anc(j))

where w_i counts the agents of g' whose nearest ancestor in g is agent i (itself when it survived:
Moran keeps survivors under the same id; otherwise found by following `parent` links through the
lineage table, which also holds the births that were born and replaced within the generation and
so never appear in the agents table), and w̄ = N'/N. Transmission is split by how each agent j of
g' came to be:

    survivors      j was alive in g (no change)
    copy           an `inherit` birth identical to its parent (empty `mutation` label) whose parent
                   is in g: contributes 0, none of these traits being frequency dependent
    mutation       an `inherit` birth with a mutation label, an unlabelled one (older runs), or one
                   that descends from g through births not in the agents table (an exact copy of a
                   mutant that lived only within the generation carries that mutant's change)
    design         a chain from the ancestor through a `design` edge (successor design)
    self_modify    a chain through a `self_modify` edge (self-modification): a survivor that changed
                   itself within the step, or a birth descending from an agent that did (its
                   row parent == child in the lineage table, or origin `self_modify`)
    unattributed   no ancestor in g could be found (lineage rows missing): measured against z̄

The parts add up to the observed change up to rounding (`residual`, ~1e-16). The "selection" term
is the covariance of descendants with the trait, so it includes random drift: the neutral-drift
twin's covariance, decomposed the same way, is what drift alone gives ("selection beyond drift" is
the difference). Weights: a step in which some agent holds a hard constraint (weight inf) or NaN
has no mean change, so the weight trait of that term is null there (and its cumulative sums null);
the carrier share treats inf as carrying, so hard constraints are decomposed through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from purity.tournament import record

from .load import Run, per_run
from .metrics import carries, term_label

COMPONENTS = ("survivors", "copy", "mutation", "design", "self_modify", "unattributed")
PARTS = ("selection", *COMPONENTS)
FORCES = ("selection", "mutation", "design", "self_modify")
FORCE_LABELS = {
    "selection": "selection",
    "mutation": "mutation",
    "design": "design",
    "self_modify": "self-modification",
}
KIND_CODES = {"inherit": 0, "design": 1, "self_modify": 2}
_SURVIVOR, _COPY, _MUTATION, _DESIGN, _SELF, _LOST = range(6)
NO_FORCE = "none"
# below this a cumulative contribution counts as no movement at all (rounding of exact zeros)
TINY = 1e-12

STEP_SCHEMA: dict[str, pl.DataType] = {
    "from_generation": pl.Int64(),
    "generation": pl.Int64(),
    "trait": pl.String(),
    "kind": pl.String(),
    "term": pl.String(),
    "label": pl.String(),
    "mean_before": pl.Float64(),
    "mean_after": pl.Float64(),
    "observed": pl.Float64(),
    **{p: pl.Float64() for p in PARTS},
    "residual": pl.Float64(),
    "agents_before": pl.Int64(),
    "agents_after": pl.Int64(),
    **{f"n_{c}": pl.Int64() for c in COMPONENTS},
}


@dataclass(frozen=True)
class Trait:
    trait: str
    kind: str  # process_share | carriers | weight
    term: str | None
    label: str
    expr: pl.Expr


def traits(run: Run) -> list[Trait]:
    """Mean process share, then for every process term its carrier share and its weight."""
    out = [
        Trait(
            "process_share",
            "process_share",
            None,
            "mean process share",
            pl.col("process_share").cast(pl.Float64),
        )
    ]
    for t in run.process_terms:
        key, label, col = t["key"], term_label(t), pl.col(record.weight(t["key"]))
        out.append(
            Trait(
                f"carriers:{key}",
                "carriers",
                key,
                f"{label}: carrier share",
                carries(col, run.threshold).cast(pl.Float64),
            )
        )
        out.append(Trait(f"weight:{key}", "weight", key, f"{label}: mean weight", col.cast(pl.Float64)))
    return out


def _ancestry(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """All ids the run knows (sorted), each one's parent position (-1: none) and birth-kind code,
    and the self-modifications (lineage rows with parent == child: no parent link) as the
    position of the agent and the generation from which its new weights show."""
    agents = run.agents
    loops = pl.col("parent") == pl.col("child")
    lin, changed = run.lineage.filter(~loops), run.lineage.filter(loops)
    born = agents.filter(pl.col("parent").is_not_null()).unique("id", keep="first")
    a_child = born.get_column("id").to_numpy()
    a_parent = born.get_column("parent").to_numpy()
    a_kind = _kind_codes(born.get_column("origin"))
    l_child = lin.get_column("child").to_numpy().astype(np.int64)
    l_parent = lin.get_column("parent").to_numpy().astype(np.int64)
    l_kind = _kind_codes(lin.get_column("kind"))
    ids = np.unique(
        np.concatenate([agents.get_column("id").to_numpy(), a_child, a_parent, l_child, l_parent]).astype(
            np.int64
        )
    )
    parent = np.full(ids.size, -1, dtype=np.int64)
    kind = np.zeros(ids.size, dtype=np.int8)
    for child, par, kinds in ((a_child, a_parent, a_kind), (l_child, l_parent, l_kind)):
        if child.size:  # the lineage table wins: it is the record of births
            pos = np.searchsorted(ids, child)
            parent[pos] = np.searchsorted(ids, par)
            kind[pos] = kinds
    modified = (
        np.searchsorted(ids, changed.get_column("child").to_numpy().astype(np.int64)),
        changed.get_column("generation").to_numpy().astype(np.int64),
    )
    return ids, parent, kind, modified


def _kind_codes(kinds: pl.Series) -> np.ndarray:
    """`KIND_CODES` of each birth kind (0, inherit, for any other or none)."""
    codes = kinds.cast(pl.String).replace_strict(KIND_CODES, default=0, return_dtype=pl.Int8)
    return codes.fill_null(0).to_numpy()


def _nearest_ancestors(
    ids_before: np.ndarray,
    ids_after: np.ndarray,
    all_ids: np.ndarray,
    parent: np.ndarray,
    kind: np.ndarray,
    labelled: np.ndarray,
    self_made: np.ndarray,
    modified: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each agent after: the row of its nearest ancestor among `ids_before` (-1: none found)
    and its category (survivor, copy, mutation, design, self_modify, unattributed). `labelled`:
    its mutation label is not empty (or missing); `self_made`: its origin is `self_modify`. A
    survivor that is `self_made`, or that is `modified` (per id: it changed itself in place
    within the step), changed itself: its change is self-modification; so is a birth whose chain
    passes through a `modified` agent."""
    in_before = np.zeros(all_ids.size, dtype=bool)
    in_before[np.searchsorted(all_ids, ids_before)] = True
    if modified is None:
        modified = np.zeros(all_ids.size, dtype=bool)
    cur = np.searchsorted(all_ids, ids_after)
    survivor = in_before[cur]
    changed_self = modified[cur] | self_made
    design = np.zeros(cur.size, dtype=bool)
    selfmod = np.zeros(cur.size, dtype=bool)
    hidden = np.zeros(cur.size, dtype=bool)
    lost = np.zeros(cur.size, dtype=bool)
    active = np.flatnonzero(~survivor)
    for _ in range(all_ids.size + 1):  # a chain is at most as long as there are ids
        if active.size == 0:
            break
        c = cur[active]
        design[active] |= kind[c] == KIND_CODES["design"]
        selfmod[active] |= kind[c] == KIND_CODES["self_modify"]
        p = parent[c]
        cur[active] = p
        gone = p < 0
        selfmod[active[~gone]] |= modified[p[~gone]]
        lost[active[gone]] = True
        reached = ~gone & in_before[np.where(gone, 0, p)]
        step_on = ~gone & ~reached
        hidden[active[step_on]] = True
        active = active[step_on]
    lost[active] = True  # a cycle: never reached generation g
    order = np.argsort(ids_before)
    row = np.full(cur.size, -1, dtype=np.int64)
    ok = ~lost
    row[ok] = order[np.searchsorted(ids_before, all_ids[cur[ok]], sorter=order)]
    cat = np.select(
        [survivor & changed_self, survivor, lost, design, selfmod, hidden | labelled],
        [_SELF, _SURVIVOR, _LOST, _DESIGN, _SELF, _MUTATION],
        _COPY,
    )
    return row, cat


@per_run
def decompose(run: Run) -> pl.DataFrame:
    """One row per pair of consecutive recorded generations and trait: the observed change of the
    mean, selection, the transmission parts by origin, the residual, and the agents per origin."""
    agents = run.agents.sort("generation", "id")
    specs = traits(run)
    if agents.height == 0:
        return pl.DataFrame(schema=STEP_SCHEMA)
    all_ids, parent, kind, (changed_at, changed_from) = _ancestry(run)
    z = agents.select([s.expr.alias(s.trait) for s in specs]).to_numpy().astype(np.float64)
    z = z.reshape(agents.height, len(specs))
    gen = agents.get_column("generation").to_numpy()
    ids = agents.get_column("id").to_numpy().astype(np.int64)
    mutation, origin = agents.get_column("mutation"), agents.get_column("origin").cast(pl.String)
    labelled = (mutation.is_null() | (mutation != "")).to_numpy()
    self_made = (origin == "self_modify").fill_null(False).to_numpy()
    gens = np.unique(gen)
    bounds = {
        int(g): (int(np.searchsorted(gen, g, "left")), int(np.searchsorted(gen, g, "right"))) for g in gens
    }
    cols: dict[str, list] = {c: [] for c in STEP_SCHEMA}
    for g, g2 in zip(gens[:-1].tolist(), gens[1:].tolist()):
        a0, a1 = bounds[g]
        b0, b1 = bounds[g2]
        modified = np.zeros(all_ids.size, dtype=bool)
        modified[changed_at[(changed_from > g) & (changed_from <= g2)]] = True
        row, cat = _nearest_ancestors(
            ids[a0:a1], ids[b0:b1], all_ids, parent, kind, labelled[b0:b1], self_made[b0:b1], modified
        )
        za, zb = z[a0:a1], z[b0:b1]
        n, n2 = a1 - a0, b1 - b0
        valid = np.isfinite(za).all(axis=0) & np.isfinite(zb).all(axis=0)
        with np.errstate(invalid="ignore"):
            mean_a, mean_b = za.mean(axis=0), zb.mean(axis=0)
            w = np.bincount(row[row >= 0], minlength=n).astype(np.float64)
            selection = w @ (za - mean_a) / n2
            anc = np.where((row >= 0)[:, None], za[np.maximum(row, 0)], mean_a)
            d = zb - anc
            parts = np.stack([d[cat == c].sum(axis=0) / n2 for c in range(len(COMPONENTS))])
            observed = mean_b - mean_a
            residual = observed - selection - parts.sum(axis=0)
        counts = np.bincount(cat, minlength=len(COMPONENTS))
        for t, spec in enumerate(specs):
            ok = bool(valid[t])

            def val(x: float, ok: bool = ok) -> float | None:
                return float(x) if ok else None

            cols["from_generation"].append(g)
            cols["generation"].append(g2)
            cols["trait"].append(spec.trait)
            cols["kind"].append(spec.kind)
            cols["term"].append(spec.term)
            cols["label"].append(spec.label)
            cols["mean_before"].append(val(mean_a[t]))
            cols["mean_after"].append(val(mean_b[t]))
            cols["observed"].append(val(observed[t]))
            cols["selection"].append(val(selection[t]))
            for c, name in enumerate(COMPONENTS):
                cols[name].append(val(parts[c, t]))
            cols["residual"].append(val(residual[t]))
            cols["agents_before"].append(n)
            cols["agents_after"].append(n2)
            for c, name in enumerate(COMPONENTS):
                cols[f"n_{name}"].append(int(counts[c]))
    return pl.DataFrame(cols, schema=STEP_SCHEMA)


def _trait_order(df: pl.DataFrame) -> pl.DataFrame:
    names = df.get_column("trait").unique(maintain_order=True)
    return pl.DataFrame(
        {"trait": names, "_order": range(names.len())}, schema={"trait": pl.String, "_order": pl.Int64}
    )


CUMULATIVE_SCHEMA: dict[str, pl.DataType] = {
    "generation": pl.Int64(),
    "trait": pl.String(),
    "kind": pl.String(),
    "term": pl.String(),
    "label": pl.String(),
    "mean": pl.Float64(),
    "observed": pl.Float64(),
    **{p: pl.Float64() for p in PARTS},
    "residual": pl.Float64(),
}


def cumulative(steps: pl.DataFrame) -> pl.DataFrame:
    """Running sums of every part from the first recorded generation (a row of zeros there) to
    each later one; `mean` is the trait's mean then, and `observed` = mean − first mean. A trait
    with a null step (weight inf somewhere) is null throughout."""
    if steps.height == 0:
        return pl.DataFrame(schema=CUMULATIVE_SCHEMA)
    first = (
        steps.sort("generation")
        .group_by("trait", maintain_order=True)
        .first()
        .select(
            pl.col("from_generation").alias("generation"),
            "trait",
            "kind",
            "term",
            "label",
            pl.col("mean_before").alias("mean"),
            *[pl.lit(0.0).alias(c) for c in ("observed", *PARTS, "residual")],
        )
    )
    sums = ["observed", *PARTS, "residual"]
    later = steps.sort("generation").select(
        "generation",
        "trait",
        "kind",
        "term",
        "label",
        pl.col("mean_after").alias("mean"),
        *[pl.col(c).cum_sum().over("trait") for c in sums],
    )
    broken = pl.col("observed").is_null().any().over("trait")
    return (
        pl.concat([first.cast(CUMULATIVE_SCHEMA), later.cast(CUMULATIVE_SCHEMA)])
        .join(_trait_order(steps), on="trait")
        .with_columns([pl.when(broken).then(None).otherwise(pl.col(c)).alias(c) for c in ("mean", *sums)])
        .sort("_order", "generation")
        .select(list(CUMULATIVE_SCHEMA))
    )


TOTALS_SCHEMA: dict[str, pl.DataType] = {
    "trait": pl.String(),
    "kind": pl.String(),
    "term": pl.String(),
    "label": pl.String(),
    "start": pl.Float64(),
    "end": pl.Float64(),
    "observed": pl.Float64(),
    **{p: pl.Float64() for p in PARTS},
    "max_residual": pl.Float64(),
    "drift_selection": pl.Float64(),
    "beyond_drift": pl.Float64(),
}


def totals(steps: pl.DataFrame, drift_steps: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per trait: the mean at the first and last generation, every part summed over all steps,
    the largest |residual| of a step, and the drift twin's summed selection term (with the
    difference, "selection beyond drift"; null without a twin)."""
    if steps.height == 0:
        return pl.DataFrame(schema=TOTALS_SCHEMA)
    cum = cumulative(steps)
    last = cum.group_by("trait", maintain_order=True).agg(
        pl.col("kind", "term", "label").first(),
        start=pl.col("mean").first(),
        end=pl.col("mean").last(),
        **{c: pl.col(c).last() for c in ("observed", *PARTS)},
    )
    res = steps.group_by("trait").agg(max_residual=pl.col("residual").abs().max())
    out = last.join(res, on="trait", how="left", maintain_order="left")
    if drift_steps is not None and drift_steps.height:
        d = cumulative(drift_steps).group_by("trait").agg(drift_selection=pl.col("selection").last())
        out = out.join(d, on="trait", how="left", maintain_order="left")
    else:
        out = out.with_columns(drift_selection=pl.lit(None, dtype=pl.Float64))
    return (
        out.with_columns(beyond_drift=pl.col("selection") - pl.col("drift_selection"))
        .select(list(TOTALS_SCHEMA))
        .cast(TOTALS_SCHEMA)
    )


def force_values(row: dict) -> dict[str, float]:
    """The four forces of a totals row: exact copies count with mutation (inherit births)."""

    def v(c: str) -> float:
        x = row.get(c)
        return 0.0 if x is None or not math.isfinite(x) else float(x)

    return {
        "selection": v("selection"),
        "mutation": v("mutation") + v("copy"),
        "design": v("design"),
        "self_modify": v("self_modify"),
    }


def largest_force(values: dict[str, float]) -> str | None:
    """The force with the largest |value| (first in FORCES on ties), None if nothing moved."""
    best = max(FORCES, key=lambda f: abs(values[f]))
    return best if abs(values[best]) > TINY else None


FORCE_SCHEMA: dict[str, pl.DataType] = {
    "term": pl.String(),
    **{f"force_{f}": pl.Float64() for f in FORCES},
    "moved_most": pl.String(),
    "moved_value": pl.Float64(),
    "drift_selection": pl.Float64(),
    "beyond_drift": pl.Float64(),
}


def forces(steps: pl.DataFrame, drift_steps: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per process term, the cumulative forces on its carrier share and which moved it most."""
    tot = totals(steps, drift_steps).filter(pl.col("kind") == "carriers")
    rows = []
    for r in tot.iter_rows(named=True):
        values = force_values(r)
        best = largest_force(values)
        rows.append(
            {
                "term": r["term"],
                **{f"force_{f}": values[f] for f in FORCES},
                "moved_most": best or NO_FORCE,
                "moved_value": values[best] if best else 0.0,
                "drift_selection": r["drift_selection"],
                "beyond_drift": r["beyond_drift"],
            }
        )
    return pl.DataFrame(rows, schema=FORCE_SCHEMA)


def with_forces(
    verdict: pl.DataFrame, steps: pl.DataFrame, drift_steps: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The verdict table with the moved-most-by columns added (null where a term has no rows)."""
    return verdict.join(forces(steps, drift_steps), on="term", how="left", maintain_order="left")


def force_expr(force: str) -> pl.Expr:
    """A force as a column of a step, cumulative or totals frame (mutation includes exact copies)."""
    return pl.col("mutation") + pl.col("copy") if force == "mutation" else pl.col(force)


def max_residual(steps: pl.DataFrame) -> float | None:
    """The largest |selection + transmission − observed| of any step and trait (None: no steps)."""
    if steps.height == 0:
        return None
    value = steps.get_column("residual").abs().max()
    return float(value) if value is not None else None  # type: ignore[arg-type]


def active_forces(peaks: dict[str, float | None]) -> list[str]:
    """Selection, and the other forces whose largest |contribution| (`peaks`) is not 0: a chart
    leaves out lines that are 0 throughout (no design or self-modification births, say)."""
    return [f for f in FORCES if f == "selection" or (peaks.get(f) or 0.0) > TINY]
