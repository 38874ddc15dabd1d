"""The atlas page (`docs/atlas.md` and `.html`): per argument its phase diagram, its verdicts
with intervals, and, built from those verdicts alone, the table "argument → conditions under which
process preferences survive / die, and which force decides", the finding that goes against its
argument's prediction (or the statement that none did), and the commands and seeds that
reproduce every figure. The cells are `atlas_cells`'s, the diagrams `atlas_figure`'s.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from purity.statistics import ALPHA

from .atlas_cells import CANT_TELL, CELLS, DIES, GAP, SURVIVES, at_floor, cells, created
from .atlas_figure import grid_markdown, num, phase_diagram
from .atlas_verdicts import PREDICTIONS, conditions, contrasts, reach_notes, surprises
from .page import Page, esc, figure, write_atomic

__all__ = ["CELLS", "PREDICTIONS", "assemble", "build", "cells", "conditions", "page", "read", "surprises"]


def page(
    parts: Sequence[tuple[str, str, list[str], list[dict], pl.DataFrame, pl.DataFrame]],
    reproduce: Sequence[tuple[str, str, str]],
    header: str,
    command: str = "purity atlas",
    grids: Sequence[str] = (),
) -> tuple[Page, dict[str, str]]:
    """The atlas page and its figures (argument key → SVG). `parts`: per argument its key, title,
    swept keys, grid settings, cells and focal values per seed (`atlas_cells.cells`); `reproduce`: per argument its key, command and seeds;
    `grids`: per argument what its sweep file's leading comment says of its grid."""
    grids = list(grids) + [""] * (len(parts) - len(grids))
    sections = [
        ("conditions", "Where process preferences survive or die"),
        ("surprise", "What goes against its argument"),
    ]
    sections += [(key, title) for key, title, *_ in parts]
    sections += [("reproduce", "Reproduce")]
    p = Page("purity atlas", header, sections)
    figures = {}
    p.section("conditions")
    p.note(
        "Built from the verdicts below, the focal term of each argument (the process term it starts "
        "with; in training, the learner's own weight on taking): survives = spread beyond drift or "
        'learned "don\'t"; dies = declined beyond drift, "don\'t get caught" or "no gap, still '
        "violates\"; can't tell = the corrected test cannot tell. Every outcome rests on a corrected "
        "test, Holm within its family at 0.05: one family per argument for its cells and one for its "
        "paired steps (the page holds eight, and makes no claim over all of them at once). In "
        'training each reading is one: "don\'t get caught" = the gap (trained − untrained) above '
        '+0.1; "don\'t" = the gap within ±0.1 (two one-sided tests) and both test-time violation '
        'rates below 0.2; "no gap, still violates" = the gap within ±0.1 and both rates above 0.2; '
        "exact sign tests of the median seed, a reading's p the largest of its parts', Holm over "
        "every reading of the grid (three a setting). A decline in a grid's control (no detection, "
        "no police power: the preference cannot pay there by construction) is said apart: it is the "
        "payoffs' doing. Which force decides: the swept keys whose one-step change moves the focal "
        "value beyond chance, tested paired over the shared seeds (averaged over the other keys' "
        "combinations, Holm over the argument's steps; the table after this one)."
    )
    rows = []
    for key, title, keys, settings, table, per_seed in parts:
        c = conditions(key, keys, settings, table, per_seed)
        rows.append([title, c[SURVIVES], c[DIES], c[CANT_TELL], c["force"]])
    p.table(["argument", "survives", "dies", "we can't tell", "which force decides"], rows, text_cols=5)
    _steps(p, parts)
    _surprise(p, parts)
    for (key, title, keys, settings, table, _per_seed), about in zip(parts, grids):
        p.section(key)
        if about:
            p.note(f"The grid, as its sweep file says: {about}")
        svg = phase_diagram(
            f"{title}: {_focal_terms(table)}",
            keys,
            settings,
            table,
        )
        figures[key] = svg
        p.html(figure(svg, esc("Each cell: value [95% interval] and outcome; * the corrected test decides.")))
        p.add(grid_markdown(keys, settings, table) + "\n", None)
        for line in reach_notes(keys, settings, table):
            p.para(line)
        _cells_table(p, table)
    p.section("reproduce")
    p.note(
        f"The whole page: {command}. One figure: its sweep alone (the command below), then purity report on its directory."
    )
    p.table(["argument", "command", "seeds"], [list(r) for r in reproduce], text_cols=3)
    return p, figures


def _cells_table(p: Page, table: pl.DataFrame) -> None:
    """Every cell of an argument with its value, test and outcome; a training grid's cells also
    with their two test-time violation rates, a reflection grid's with how the term was lowered."""
    rates = table["watched"].is_not_null().any()
    lowered = table["squashed"].is_not_null().any()
    head = ["setting", "term", "measure", "value [95%]", "effect", "p (Holm)", "verdict", "outcome"]
    head += ["watched [95%]", "unwatched [95%]"] if rates else []
    head += ["lowered: free by definition / by trade-off"] if lowered else []
    rows = []
    for r in table.iter_rows(named=True):
        row = [
            r["setting"],
            r["term"],
            r["measure"],
            _interval(r),
            num(r["effect"], True),
            num(r["p_adjusted"], p=True),
            r["verdict"],
            r["outcome"],
        ]
        row += [_interval(r, "watched"), _interval(r, "unwatched")] if rates else []
        if lowered:
            n, free = r["squashed"], r["by_definition"]
            row.append("–" if n is None else f"{n}: {free} / {n - free}")
        rows.append(row)
    p.table(head, rows, text_cols=3)


def _interval(r: dict, name: str | None = None) -> str:
    """A cell's `name` (its value when None) as "value [low, high]"."""
    value, low, high = (
        (r["value"], r["low"], r["high"]) if name is None else (r[name], r[f"{name}_low"], r[f"{name}_high"])
    )
    return f"{num(value)} [{num(low)}, {num(high)}]"


def _steps(p: Page, parts) -> None:
    """Every paired step of every argument (`atlas_verdicts.contrasts`): the evidence for "which
    force decides"."""
    p.para(
        "Which force decides, the evidence: per argument, each step of a swept key from one value "
        "to the next, the focal value's change averaged over the other keys' combinations (pairs) "
        "and tested paired over the shared seeds (exact two-sided sign-flip test, Holm over the "
        "argument's steps). Only points that measure the same term are paired, so a key that "
        "changes the focal term (the keeper) has no step. in control: pairs with a point in the "
        "grid's control (where the outcome is fixed by construction: see the table above). changed: "
        "seeds whose change is not 0 (a "
        "step's smallest p is 2/2^changed); on its side: seeds on the side of the mean. The "
        "interval is Student-t over seeds, unadjusted and clipped to what a share can take. In "
        "training a step beyond chance decides only if it exceeds ±0.1, the readings' margin. A "
        "key whose effect changes sign across the other keys can average out here."
    )
    rows = []
    for key, _title, keys, settings, table, per_seed in parts:
        found, _measure, margin, _why = contrasts(key, keys, settings, table, per_seed)
        for r in found.iter_rows(named=True):
            decides = r["p_holm"] < ALPHA and abs(r["mean"]) > margin
            rows.append(
                [
                    key,
                    r["key"],
                    f"{r['before']} → {r['after']}",
                    str(r["pairs"]),
                    str(r["control"]),
                    str(r["seeds"]),
                    str(r["changed"]),
                    str(r["same_sign"]),
                    f"{num(r['mean'], True)} [{num(r['low'], True)}, {num(r['high'], True)}]",
                    num(r["p"], p=True),
                    num(r["p_holm"], p=True),
                    "yes" if decides else "within ±0.1" if r["p_holm"] < ALPHA else "can't tell",
                ]
            )
    head = [
        "argument",
        "key",
        "step",
        "pairs",
        "in control",
        "seeds",
        "changed",
        "on its side",
        "change [95%]",
    ]
    p.table([*head, "p", "p (Holm)", "decides"], rows, text_cols=3)


def _surprise(p: Page, parts) -> None:
    """The cells that go against their argument, or the statement that none did."""
    p.section("surprise")
    found = surprises(parts)
    p.note(
        "Rule: a decided cell, of any term, whose outcome goes against what its argument predicts "
        "there (selection at intensity > 0, reflection, and training on a reward that sees only "
        "detected violations or outcomes all predict that a process preference dies; training on "
        "a reward that sees every violation, or on the learner's own weight, predicts that it "
        "survives). The focal term's cells come first, then the most significant."
    )
    if found.height:
        r = found.row(0, named=True)
        title = dict((k, t) for k, t, *_ in parts)[r["argument"]]
        p.para(f"{title}: {_finding(r)}")
        p.table(
            ["argument", "setting", "term", "verdict", "value [95%]", "p (Holm)", "floor", "predicted"],
            [
                [
                    x["argument"],
                    x["setting"],
                    x["term"],
                    x["verdict"] + (" (absent at the start)" if created(x) else ""),
                    f"{num(x['value'])} [{num(x['low'])}, {num(x['high'])}]",
                    num(x["p_adjusted"], p=True),
                    num(x["p_floor"], p=True),
                    x["predicted"],
                ]
                for x in found.iter_rows(named=True)
            ],
            text_cols=4,
        )
    else:
        grid = "; ".join(
            f"{title}: {len(settings)} grid points over {', '.join(keys)}"
            for _, title, keys, settings, *_ in parts
        )
        p.para(f"None found: no decided cell goes against its argument's prediction in this grid ({grid}).")


def _finding(r: dict) -> str:
    """One surprising cell in a sentence, with what its p-value and its null can and cannot say."""
    if created(r):
        return (
            f'at {r["setting"]}, the term "{r["term"]}" appeared where no agent carried it at the '
            f"start, in {r['carrying']} of {r['seeds']} seeds ({r['measure']} {num(r['value'])} "
            f"[{num(r['low'])}, {num(r['high'])}]), where the argument predicts that reflection "
            f"squashes process terms. Its test says nothing more (p (Holm) {num(r['p_adjusted'], p=True)}, "
            "the grid's floor): the drift null never carries the term (band [0, 0]), so the test "
            "cannot fail once one seed has a carrier. The cell shows that something the null leaves "
            "out made the term (in a reflection sweep, the agents' redesigns moving a constraint "
            "into this scope), not how strongly, and not that it survives selection; whether a "
            'constraint moved to a wider scope goes against "reflection squashes" depends on what '
            "became of the term it came from (its row in the table below)."
        )
    text = (
        f'at {r["setting"]}, the term "{r["term"]}" {r["outcome"]} '
        f"({r['verdict']}; {r['measure']} {num(r['value'])} [{num(r['low'])}, {num(r['high'])}], "
        f"p (Holm) {num(r['p_adjusted'], p=True)}), where the argument predicts it {r['predicted']}."
    )
    if at_floor(r):
        text += (
            f" That p-value is the smallest this grid can give (its floor, {num(r['p_floor'], p=True)}): "
            "the true p-value may be smaller, and only "
            + ("more seeds" if r["measure"] == GAP else "a larger null")
            + " would say how much."
        )
    elif r["p_floor"] is not None:
        text += f" The smallest p-value this grid can give is {num(r['p_floor'], p=True)}."
    return text


def write(md_path: Path, page_: Page) -> tuple[Path, Path]:
    """The page as Markdown at `md_path` and HTML beside it."""
    md_path = Path(md_path)
    html_path = md_path.with_suffix(".html")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(md_path, page_.markdown())
    write_atomic(html_path, page_.html_page())
    return md_path, html_path


def reproduce_rows(key: str, sweep_dir: Path, sweep_file: Path) -> tuple[str, str, str]:
    """An argument's command and seeds: each run's seeds as its recorded experiment sets them."""
    import tomllib

    manifest = json.loads((Path(sweep_dir) / "sweep.json").read_text(encoding="utf-8"))
    seeds = []
    for name, run in manifest["runs"].items():
        with open(Path(sweep_dir) / run["experiment"], "rb") as f:
            n = tomllib.load(f).get("experiment", {}).get("seeds", 1)
        first = run["seed"]
        seeds.append((name, f"{first}" if n == 1 else f"{first}–{first + n - 1}"))
    shared = {s for _name, s in seeds}
    if len(seeds) > 1 and len(shared) == 1:  # every grid point ran the same seeds
        return key, f"purity sweep {_shown(sweep_file)}", f"every run ({len(seeds)}): {shared.pop()}"
    return key, f"purity sweep {_shown(sweep_file)}", "; ".join(f"{n}: {s}" for n, s in seeds)


def _shown(path: Path) -> str:
    """A sweep file's path as a reader would type it: relative to the repository when inside it."""
    path = Path(path).resolve()
    for parent in path.parents:
        if (parent / "experiments" / "atlas").is_dir() and (parent / "pyproject.toml").is_file():
            return str(path.relative_to(parent))
    return path.name


def build(parts: Sequence[tuple[str, str, Path, Path]], md_path: Path, command: str) -> tuple[Path, Path]:
    """Read each argument's sweep (key, title, sweep directory, sweep file as run) and write the
    atlas page at `md_path` (and its HTML beside it)."""
    page_, _figures = assemble(parts, command)
    return write(md_path, page_)


def read(
    parts: Sequence[tuple[str, str, Path, Path]],
) -> list[tuple[str, str, list[str], list[dict], pl.DataFrame, pl.DataFrame]]:
    """Per argument (key, title, sweep directory, sweep file) its key, title, swept keys, grid
    settings, cells and focal values per seed (`atlas_cells.cells`)."""
    return [(key, title, *cells(key, sweep_dir)) for key, title, sweep_dir, _file in parts]


def assemble(
    parts: Sequence[tuple[str, str, Path, Path]], command: str, read_parts: Sequence[tuple] | None = None
) -> tuple[Page, dict[str, str]]:
    """The page and its figures; `read_parts`: `read(parts)`, when the caller has it already."""
    got = list(read_parts) if read_parts is not None else read(parts)
    reproduce = [reproduce_rows(key, d, f) for key, _t, d, f in parts]
    grids = [_grid_comment(f) for *_, f in parts]
    header = (
        f"purity's answer to the three arguments, generated by {command} from the sweeps of "
        "experiments/atlas/; every figure below is reproduced by the commands and seeds at the end."
    )
    return page(got, reproduce, header, command, grids)


def _grid_comment(path: Path) -> str:
    """A sweep file's leading comment as one paragraph, its "# - " items marked "•"."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    lines = [line.lstrip("#").strip() for line in itertools.takewhile(lambda x: x.startswith("#"), lines)]
    return " ".join(x for x in lines if x).replace(" - ", " • ")


def _focal_terms(table: pl.DataFrame) -> str:
    """The focal terms of an argument's cells, each once, in order."""
    return " / ".join(dict.fromkeys(table.filter(pl.col("focal"))["term"].to_list()))
