"""A report's verdict as an inference: each term's end share against the run's recorded null, the
tests corrected together (Holm), the verdict word chosen from the corrected test alone, and "moved
most by" naming a force only when it is distinguishable from drift (`inference`).

The shuffle null is used where the run has it (it keeps selection as strong and noisy as in the
run, so a w = 0 null cannot pass selection on noise off as an effect), else the drift null. A run
without a null, or with one too small for the corrected thresholds, gets "we can't tell" and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from . import inference, nulls, price
from .load import Run
from .page import fmt
from .price_page import signed

CANT_TELL = "we can't tell"
NO_NULL = f"{CANT_TELL}: no null recorded"
TOO_SMALL = f"{CANT_TELL}: null too small"
ONE_SEED = (
    " One run is one draw: without selection a single run's end share can land anywhere in the "
    "null 95% band of its row, so only an end share outside that band can be called, and one run "
    "says nothing about how much runs of this experiment vary. Run several seeds "
    "(`[experiment] seeds = K`); `purity power` says how many an effect needs."
)
REFLECTS = (
    " This experiment reflects, and the null does not: a share that reflection moved (agents "
    "dropping a term from themselves or their successors) reads here as moved beyond drift, "
    "whether or not selection had any part in it. The mechanism null (reflection kept, selection "
    "off; docs/inference.md) tells the two apart; it is not run with the experiment."
)
SHUFFLE = (
    " (the run's own fitness shuffled among its agents each generation: drift with selection on "
    "noise as strong as in the run, and a band that need not match the drift twin's one draw)"
)
NO_NULL_NOTE = (
    "No null was recorded with this run (null/ is missing: the run was cut off before its nulls "
    "were written, or `[control] null` asks for none), so no verdict is tested and every term "
    f"reads {CANT_TELL}. A cut-off run writes them when it is resumed (`purity run --resume`)."
)
NULL_KINDS = ("shuffle", "drift")  # the first the run has is the one tested against

COLUMNS = {
    "null": pl.String,
    "end_low": pl.Float64,
    "end_high": pl.Float64,
    "band_low": pl.Float64,
    "band_high": pl.Float64,
    "p": pl.Float64,
    "p_adjusted": pl.Float64,
    "effect": pl.Float64,
    "effect_sd": pl.Float64,
    "note": pl.String,
}
# the Price selection part beyond the null's mean, with the interval of its corrected test
BEYOND = {"beyond_null": pl.Float64, "beyond_null_low": pl.Float64, "beyond_null_high": pl.Float64}
BEYOND |= {"beyond_null_p": pl.Float64}
MOVED = {"moved_most": pl.String, "moved_value": pl.Float64}


def chosen_null(path) -> tuple[str | None, pl.DataFrame | None]:
    """The kind of null and its figures a verdict is tested against (None, None: the run has none)."""
    for kind in NULL_KINDS:
        frame = nulls.load_null(path, kind)
        if frame is not None:
            return kind, frame
    return None, None


def null_curve(path) -> tuple[str | None, pl.DataFrame | None]:
    """The per-generation band of the null a verdict is tested against (`chosen_null`'s kind)."""
    for kind in NULL_KINDS:
        curve = nulls.load_null_curve(path, kind)
        if curve is not None:
            return kind, curve
    return None, None


def infer(verdict: pl.DataFrame, runs: Sequence[Run]) -> pl.DataFrame:
    """The verdict table (one row per term, column `term`) with its word, moved most by and the
    inference columns (`COLUMNS`) from the corrected test of the seeds in `runs`."""
    if verdict.height == 0:
        return verdict.with_columns(_blank(verdict.height))
    kind, null = chosen_null(runs[0].path)
    if null is None:
        return _cant_tell(verdict, NO_NULL)
    observed = nulls.seed_figures(runs)
    try:
        tests = inference.verdicts(observed, null)
    except inference.NullTooSmall:
        return _cant_tell(verdict, TOO_SMALL)
    try:  # a family of its own (forces × terms, larger): too small for it leaves the verdicts
        forces = inference.force_tests(observed, null)
    except inference.NullTooSmall:
        forces = None
    tests = tests.select(
        "term",
        verdict_inferred="verdict",
        null=pl.lit(kind),
        end_low="low",
        end_high="high",
        band_low="band_low",
        band_high="band_high",
        p="p",
        p_adjusted="p_adjusted",
        effect="effect",
        effect_sd="effect_sd",
        note="note",
    )
    moved = _moved(observed, forces).select(
        "term", moved_inferred="moved_most", moved_value_inferred="moved_value"
    )
    beyond = _beyond(forces)
    out = verdict.join(tests, on="term", how="left", maintain_order="left")
    out = out.join(moved, on="term", how="left", maintain_order="left")
    out = out.join(beyond, on="term", how="left", maintain_order="left")
    return out.with_columns(
        verdict=pl.col("verdict_inferred").fill_null(CANT_TELL),
        moved_most=pl.col("moved_inferred").replace(inference.NO_FORCE, price.NO_FORCE),
        moved_value=pl.col("moved_value_inferred"),
    ).drop("verdict_inferred", "moved_inferred", "moved_value_inferred")


def _moved(observed: pl.DataFrame, forces: pl.DataFrame | None) -> pl.DataFrame:
    """`inference.moved_most`; no force for any term when no force moved anything; "we can't
    tell" (`TOO_SMALL`) for every term when the null is too small for the forces' family."""
    if forces is not None and forces.height:
        return inference.moved_most(forces)
    terms = observed["term"].unique(maintain_order=True)
    word = inference.NO_FORCE if forces is not None else TOO_SMALL
    return pl.DataFrame(
        {"term": terms, "moved_most": [word] * len(terms), "moved_value": [None] * len(terms)},
        schema={"term": pl.String, "moved_most": pl.String, "moved_value": pl.Float64},
    )


def _beyond(forces: pl.DataFrame | None) -> pl.DataFrame:
    """The selection row of each term in the force family, under the report's column names (none
    where the family was not tested)."""
    names = {"beyond_null": "beyond", "beyond_null_low": "beyond_low", "beyond_null_high": "beyond_high"}
    names |= {"beyond_null_p": "p_adjusted"}
    if forces is None or forces.height == 0:
        return pl.DataFrame(schema={"term": pl.String} | BEYOND)
    return inference.selection_beyond_drift(forces).select("term", **names)


def _blank(height: int) -> list[pl.Series]:
    return [pl.Series(name, [None] * height, dtype=dtype) for name, dtype in (COLUMNS | BEYOND).items()]


def lock_in_test(runs: Sequence[Run]) -> dict | None:
    """How often one lineage took over in these seeds against how often it does under the run's
    null (the experiment's lock-in threshold): the share of seeds, the null's mean and 95% band of
    that share over as many seeds, and the Monte-Carlo p-value (one test, uncorrected). None
    without a usable null."""
    kind, null = chosen_null(runs[0].path) if runs else (None, None)
    if null is None:
        return None
    try:
        tests = inference.lock_in_tests(nulls.seed_figures(runs), null)
    except inference.NullTooSmall:
        return None
    if tests.height == 0:  # no process term: the figures have no rows to read lock-in from
        return None
    row = tests.row(0, named=True)
    keep = ("seeds", "mean", "null_mean", "band_low", "band_high", "p")
    return {"null": kind} | {k: row[k] for k in keep}


def lock_in_sentence(test: dict | None) -> str:
    """The lock-in test in words, or "" without one."""
    if test is None:
        return ""
    return (
        f" Against the {test['null']} null: one lineage took over in {round(test['mean'] * test['seeds'])} "
        f"of {test['seeds']} seed(s), a share {fmt(test['mean'])}, where {fmt(test['null_mean'])} of "
        f"runs under the null do (95% band of that share over as many seeds "
        f"[{fmt(test['band_low'])}, {fmt(test['band_high'])}]; p = {fmt(test['p'])})."
    )


def beyond_text(r: dict) -> str:
    """Selection beyond drift against the null, with its interval; "–" without a null."""
    if r.get("beyond_null") is None:
        return "–"
    interval = f"[{signed(r['beyond_null_low'])}, {signed(r['beyond_null_high'])}]"
    return f"{signed(r['beyond_null'])} {interval}, p (Holm) {fmt(r['beyond_null_p'])}"


def _cant_tell(verdict: pl.DataFrame, word: str) -> pl.DataFrame:
    """No test: the word says why, and no force is credited (nothing tells it from drift)."""
    return verdict.with_columns(
        *_blank(verdict.height),
        verdict=pl.lit(word),
        moved_most=pl.lit(None, dtype=pl.String),
        moved_value=pl.lit(None, dtype=pl.Float64),
    )


def null_band(r: dict) -> str:
    """The null's 95% band of the end share (of the mean over as many seeds), "–" without a null."""
    return "–" if r["band_low"] is None else f"[{fmt(r['band_low'])}, {fmt(r['band_high'])}]"


def note(null_kind: str | None, path=None, reflects: bool = False) -> str:
    """What the verdict column means, for the page under the table; with the run's `path`, what
    its null cost (replicates and seconds, `nulls.null_info`); for a run that `reflects`, that the
    null does not."""
    if null_kind is None:
        return NO_NULL_NOTE
    info = nulls.null_info(path).get(null_kind, {}) if path is not None else {}
    cost = (
        f" The {null_kind} null: {info['replicates']} replicates, simulated in {fmt(info['seconds'])} s."
        if info.get("replicates")
        else ""
    )
    beyond = (
        " selection beyond the null: the Price selection part of the carrier share, summed over "
        "generations, minus its mean under the null, with the shifts its corrected test does not "
        "reject (the interval excludes 0 exactly when the test rejects) and its p-value, corrected "
        "with moved most by over every force and term (Holm)."
    )
    return (
        "The verdict comes from a test, not a threshold: each term's end share against the "
        f"{null_kind} null recorded with the run (null/), Monte-Carlo p-values "
        "corrected for every term together (Holm, α = 0.05). In the words, drift stands for that "
        f"null{SHUFFLE if null_kind == 'shuffle' else ''}. spread / declined beyond drift: the "
        "corrected test rejects; indistinguishable from drift: it does not (the end share may "
        "still differ from the start, as drift alone moves it); extinct (or carried by all) in "
        "every run and under drift too: the runs agree, and drift could do the same. "
        f"{CANT_TELL}: the run has no null, or one too small to reach the corrected threshold. "
        "moved most by names a force only when it moved the share otherwise than under the null "
        "(each force against the null's own draws of it, every force × term corrected together); "
        "design and self-modification, which the null does not have, are named as soon as they "
        "moved anything, which follows from the null, not from the runs."
        + beyond
        + cost
        + (REFLECTS if reflects else "")
    )
