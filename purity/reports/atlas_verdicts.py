"""What the atlas's cells (`atlas_cells`) say, in words: per argument its row of the conditions
table (where the focal term survives, dies or can't be told, and which swept key decides,
`atlas_contrasts`), the
outcomes its grid cannot reach by construction, and the cells that go against what their
argument predicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl

from . import atlas_contrasts
from .atlas_cells import CANT_TELL, CELLS, DIES, GAP, NOT_LEARNED, SHARE, SURVIVES, reachable
from .atlas_figure import num, varying
from .sweep_report import value_label
from .training_generalisation import MARGIN

# What each argument predicts for a process preference at a grid point (its settings): the
# arguments say selection, reflection and training on what is seen squash such preferences.
PREDICTIONS = {
    "external": lambda s: DIES if float(s.get("selection.intensity", 1.0)) > 0 else None,
    "singleton": lambda s: DIES if float(s.get("selection.intensity", 1.0)) > 0 else None,
    "internal": lambda s: DIES,
    "training": lambda s: (
        DIES if s.get("training.reward", "detected") in ("detected", "outcome") else SURVIVES
    ),
}
# The grid points where an argument's outcome is fixed by construction, and why: no detection
# (the keepers fine nothing) and no police power (the patrol only costs) are the controls the
# sweep files name, where a decline is the payoffs' doing, not a finding about selection; a
# learner that sees nothing at test tied to being watched cannot open a gap (`blind_at_test`).
CONTROLS = {
    "external": (
        lambda s: float(s.get("arena.detection", 1.0)) == 0.0,
        "the payoffs' doing: the keepers can fine nothing",
    ),
    "singleton": (
        lambda s: float(s.get("arena.police_power", 1.0)) == 0.0,
        "the payoffs' doing: the patrol only costs",
    ),
    "training": (
        lambda s: blind_at_test(s),
        "no gap can open by construction: nothing at test tells watched from unwatched",
    ),
}
NO_CONTROL = (lambda s: False, "")
NOWHERE = "nowhere in this grid"


def compact(points: Sequence[int], keys: Sequence[str], settings: Sequence[dict]) -> str:
    """Grid points as few boxes as merging finds: points alike in every key but one merge into a
    box over that key's values, a key that then takes all of its grid's values is left out, and
    a box that leaves out every key is "every point". Boxes are separated by "; "."""
    axes = varying(keys, settings) or list(keys)
    values = {k: list(dict.fromkeys(json.dumps(s.get(k)) for s in settings)) for k in axes}
    boxes = [tuple(frozenset([json.dumps(settings[p].get(k))]) for k in axes) for p in points]
    changed = True
    while changed:
        changed = False
        for i in range(len(axes)):
            merged: dict[tuple, set] = {}
            for box in boxes:
                merged.setdefault(box[:i] + box[i + 1 :], set()).update(box[i])
            if len(merged) < len(boxes):
                changed = True
                boxes = [rest[:i] + (frozenset(v),) + rest[i:] for rest, v in merged.items()]
    texts = []
    for box in boxes:
        parts = []
        for k, chosen in zip(axes, box):
            if len(chosen) == len(values[k]):
                continue
            shown = [value_label(json.loads(v)) for v in values[k] if v in chosen]
            parts.append(f"{k} = {shown[0]}" if len(shown) == 1 else f"{k} ∈ {{{', '.join(shown)}}}")
        first = min(p for p in points if all(json.dumps(settings[p].get(k)) in c for k, c in zip(axes, box)))
        texts.append((first, ", ".join(parts) or "every point"))
    return "; ".join(text for _, text in sorted(texts)) or NOWHERE


def conditions(
    key: str, keys: list[str], settings: list[dict], table: pl.DataFrame, per_seed: pl.DataFrame
) -> dict[str, str]:
    """The argument's row of the conditions table, from its focal cells: where the preference
    survives, where it dies (and, in a reflection sweep, how many of the lowerings there were free
    by definition), where we can't tell, and which swept key decides (`atlas_contrasts`: paired,
    Holm-corrected steps between neighbouring points)."""
    focal = table.filter(pl.col("focal")).sort("point")
    out = {}
    control = CONTROLS.get(key, NO_CONTROL)
    for outcome in (SURVIVES, DIES, CANT_TELL):
        where = focal.filter(pl.col("outcome") == outcome)["point"].to_list()
        out[outcome] = _where(where, keys, settings, control)
        rows = list(focal.iter_rows(named=True))
        if not where and outcome != CANT_TELL and rows and all(reachable(r, outcome) is False for r in rows):
            out[outcome] += " (out of reach by construction at every point: see its figure)"
    out[DIES] += lowering_note(focal.filter(pl.col("outcome") == DIES))
    out["force"] = atlas_contrasts.force(*contrasts(key, keys, settings, table, per_seed))
    return out


def contrasts(
    key: str, keys: list[str], settings: list[dict], table: pl.DataFrame, per_seed: pl.DataFrame
) -> tuple[pl.DataFrame, str, float, str]:
    """The argument's paired steps (`atlas_contrasts.steps`: a share's change clipped to ±1, the
    grid's control marked), the measure they move, in words, and the margin a step must exceed to
    decide (training's ±MARGIN, which its readings call no gap; none for a share), and what makes
    the grid's control points what they are (`CONTROLS`)."""
    focal = table.filter(pl.col("focal"))
    measure = focal["measure"][0] if focal.height else SHARE
    bound, margin = (None, MARGIN) if measure == GAP else (1.0, 0.0)
    control, why = CONTROLS.get(key, NO_CONTROL)
    found = atlas_contrasts.steps(keys, settings, per_seed, bound, control)
    return found, MEASURES.get(measure, measure), margin, why


def _where(points: list[int], keys: list[str], settings: list[dict], control: tuple) -> str:
    """Grid points as boxes (`compact`), those of the grid's control (`CONTROLS`) said apart."""
    if not points:
        return NOWHERE
    fixed, why = control
    kept = [p for p in points if not fixed(settings[p])]
    controls = [p for p in points if fixed(settings[p])]
    text = compact(kept, keys, settings) if kept else ""
    if controls:
        said = f"in the grid's control ({why}): {compact(controls, keys, settings)}"
        text = f"{text}; {said}" if text else f"only {said}"
    return text


MEASURES = {SHARE: "the focal term's end share", GAP: "the gap"}


def lowering_note(dying: pl.DataFrame) -> str:
    """Where a reflection sweep's focal term dies, how its designers lowered it there: free by
    definition (the decline then follows from the definitions) or by trade-off."""
    counted = dying.filter(pl.col("squashed").is_not_null())
    if counted.height == 0:
        return ""
    lowered, free = int(counted["squashed"].sum()), int(counted["by_definition"].sum())
    if lowered == 0:
        return " (no chosen change lowered the term there)"
    if free == lowered:
        return (
            f" (all {lowered} chosen changes that lowered the term there, pooled over seeds and "
            "generations, were free by definition: it dies only where the decline follows from the "
            "definitions, nowhere by trade-off)"
        )
    return (
        f" ({lowered} chosen changes lowered the term there, pooled over seeds and generations: "
        f"{free} free by definition, {lowered - free} by trade-off)"
    )


def reach_notes(keys: list[str], settings: list[dict], table: pl.DataFrame) -> list[str]:
    """What the focal cells cannot show by construction, said plainly: where the null's band of
    the K-seed mean reaches 1 (or 0), no end share can be called above (or below) drift; where a
    learner never trained in the situation it is tested in, nothing can be called."""
    rows = list(table.filter(pl.col("focal")).iter_rows(named=True))
    out = []
    for outcome, end, word in ((SURVIVES, "1", "above"), (DIES, "0", "below")):
        where = [r for r in rows if reachable(r, outcome) is False and r["band_low"] is not None]
        if not where:
            continue
        starts = ", ".join(dict.fromkeys(num(r["start"]) for r in where))
        seeds = ", ".join(dict.fromkeys(str(r["seeds"]) for r in where))
        places = compact([r["point"] for r in where], keys, settings)
        out.append(
            f'By construction, "{outcome}" cannot happen at {places}: the term starts at {starts} of '
            f"the population, and the null's 95% band of the {seeds}-seed mean end share reaches "
            f"{end}, so no end share, not even {end} in every seed, would be called {word} drift. "
            f'There the grid can only tell the other outcome from "{CANT_TELL}".'
        )
    untrained = [r["point"] for r in rows if str(r["verdict"]).startswith(NOT_LEARNED)]
    blind = [r["point"] for r in rows if r["point"] not in untrained and blind_at_test(settings[r["point"]])]
    if blind:
        out.append(
            f'By construction, "don\'t get caught" cannot happen at {compact(blind, keys, settings)}: '
            "there nothing the learner observes at test tells watched from unwatched (a cue of "
            "reliability 0.5, or no cue at test, with the second feature unrelated), so its "
            'expected gap is 0 and the test can only read "don\'t" or "no gap, still violates".'
        )
    if untrained:
        out.append(
            f"By construction, neither outcome can happen at {compact(untrained, keys, settings)}: "
            "those learners are tested in situations training never showed them (a tabular "
            "learner keeps one value per cue cell, and a cell it never visited keeps its initial "
            f'policy), so what they do there was not learned: "{CANT_TELL}".'
        )
    return out


def blind_at_test(settings: dict) -> bool:
    """Whether a training grid point's learner sees nothing at test that depends on being
    watched: a cue of reliability 0.5 (the test regime keeps the training cue unless it sets its
    own) or none at test, with the second feature unrelated (0.5: the default and the atlas's)."""
    cue = float(settings.get("training.test.cue", settings.get("training.cue", 1.0)))
    unseen = cue == 0.5 or settings.get("training.test.observed") is False
    return unseen and float(settings.get("training.correlated", 0.5)) == 0.5


def surprises(parts: Sequence[tuple[str, str, list[str], list[dict], pl.DataFrame]]) -> pl.DataFrame:
    """Every decided cell (any term) whose outcome goes against what its argument predicts at its
    grid point (`PREDICTIONS`): the focal term's first, then the most significant, then the
    largest effect."""
    rows = []
    for key, _title, _keys, settings, table, *_ in parts:
        predict = PREDICTIONS.get(key, lambda s: None)
        for r in table.filter(pl.col("outcome") != CANT_TELL).iter_rows(named=True):
            expected = predict(settings[r["point"]])
            if expected is not None and r["outcome"] != expected:
                rows.append(r | {"predicted": expected})
    schema = CELLS | {"predicted": pl.String}
    frame = pl.DataFrame(rows, schema=schema).with_columns(size=pl.col("effect").abs())
    order = ["focal", "p_adjusted", "size", "argument", "point", "term"]
    frame = frame.sort(order, descending=[True, False, True, False, False, False], nulls_last=True)
    return frame.drop("size")
