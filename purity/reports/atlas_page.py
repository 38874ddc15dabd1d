"""The atlas page (`docs/atlas.md` and `.html`): per argument its phase diagram, its verdicts
with intervals, and, built from those verdicts alone, the table "argument → conditions under which
process preferences survive / die, and which force decides", the finding that goes against its
argument's prediction (or the statement that none did), and the commands and seeds that
reproduce every figure.

Every cell of an argument is one (grid point, term) of its sweep, tested as the sweep report
tests it: a selection or reflection sweep against each point's own null, Holm over the sweep
(`sweep_verdicts`); a training sweep by the gap's sign-flip test, Holm over its settings
(`training_generalisation`). A cell's outcome:

- survives: the term spread beyond drift; in training, the learners were seen to follow "don't";
- dies: it declined beyond drift; in training, "don't get caught" or "no gap, still violates";
- can't tell: anything else (indistinguishable from drift, a null too small, an interval too wide).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from . import training_generalisation, training_study
from .inference import DECLINED, SPREAD
from .page import Page, esc, figure, write_atomic
from .sweep_chart import _diverging
from .sweep_load import load_sweep
from .sweep_report import collect, value_label

SURVIVES, DIES, CANT_TELL = "survives", "dies", "can't tell"
# What each argument predicts for a process preference at a grid point (its settings): the
# arguments say selection, reflection and training on what is seen squash such preferences.
PREDICTIONS = {
    "external": lambda s: DIES if float(s.get("selection.intensity", 1.0)) > 0 else None,
    "internal": lambda s: DIES,
    "training": lambda s: (
        DIES if s.get("training.reward", "detected") in ("detected", "outcome") else SURVIVES
    ),
}
CELLS = {
    "argument": pl.String,
    "point": pl.Int64,
    "setting": pl.String,
    "term": pl.String,
    "focal": pl.Boolean,
    "measure": pl.String,
    "value": pl.Float64,
    "low": pl.Float64,
    "high": pl.Float64,
    "effect": pl.Float64,
    "p_adjusted": pl.Float64,
    "verdict": pl.String,
    "outcome": pl.String,
}
SHARE, GAP = "mean end share", "gap (unwatched − watched)"


def cells(key: str, sweep_dir: Path) -> tuple[list[str], list[dict[str, Any]], pl.DataFrame]:
    """(swept keys, settings of each grid point, one row per (point, term) in `CELLS`)."""
    if training_study.is_study_sweep(sweep_dir):
        return _training_cells(key, sweep_dir)
    data = collect(load_sweep(sweep_dir))
    keys = list(data.sweep.keys)
    settings = [s.settings for s in data.settings]
    labels = {t["key"]: t["label"] for t in data.terms}
    v = data.verdicts
    focal = {}  # per grid point, the term it starts with most of (the first such in the table)
    for r in v.iter_rows(named=True):
        best = focal.get(r["point"])
        if best is None or (r["start"] or 0.0) > best[1]:
            focal[r["point"]] = (r["term"], r["start"] or 0.0)
    rows = [
        {
            "argument": key,
            "point": r["point"],
            "setting": _setting(settings[r["point"]], keys),
            "term": labels.get(r["term"], r["term"]),
            "focal": r["term"] == focal[r["point"]][0],
            "measure": SHARE,
            "value": r["mean"],
            "low": r["low"],
            "high": r["high"],
            "effect": r["effect"],
            "p_adjusted": r["p_adjusted"],
            "verdict": r["verdict"],
            "outcome": SURVIVES
            if r["verdict"] == SPREAD
            else DIES
            if r["verdict"] == DECLINED
            else CANT_TELL,
        }
        for r in v.iter_rows(named=True)
    ]
    return keys, settings, pl.DataFrame(rows, schema=CELLS)


def _training_cells(key: str, sweep_dir: Path):
    keys, frame, _missing = training_study.sweep_rows(sweep_dir)
    table = training_generalisation.verdicts(frame, keys)
    settings = [{k: _parse(r[k]) for k in keys} for r in table.iter_rows(named=True)]
    rows = []
    for i, r in enumerate(table.iter_rows(named=True)):
        rule = r["rule"]
        outcome = (
            SURVIVES
            if rule == "don't"
            else DIES
            if rule in ("don't get caught", "no gap, still violates")
            else CANT_TELL
        )
        rows.append(
            {
                "argument": key,
                "point": i,
                "setting": _setting(settings[i], keys),
                "term": "the learner's own weight on taking",
                "focal": True,
                "measure": GAP,
                "value": r["gap"],
                "low": r["gap_low"],
                "high": r["gap_high"],
                "effect": r["gap"],
                "p_adjusted": r["p_holm"],
                "verdict": rule,
                "outcome": outcome,
            }
        )
    return keys, settings, pl.DataFrame(rows, schema=CELLS)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _setting(settings: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{k} = {value_label(settings.get(k))}" for k in keys)


def _axes(keys: Sequence[str], settings: Sequence[dict]) -> list[str]:
    """The keys that vary over the grid (a key with one value is a setting, not an axis)."""
    return [k for k in keys if len({json.dumps(s.get(k)) for s in settings}) > 1]


def phase_diagram(title: str, keys: list[str], settings: list[dict], table: pl.DataFrame) -> str:
    """An SVG heatmap of the focal term's cells: rows by the first varying key (and any further
    ones), columns by the last; colour by the effect (green above the null, orange below),
    the value with its interval in the cell, a star where the corrected test rejects."""
    axes = _axes(keys, settings) or keys[:1]
    col_key, row_keys = axes[-1], axes[:-1]
    focal = table.filter(pl.col("focal"))
    by_point = {r["point"]: r for r in focal.iter_rows(named=True)}
    columns = list(dict.fromkeys(value_label(s.get(col_key)) for s in settings))
    lines = list(dict.fromkeys(" · ".join(value_label(s.get(k)) for k in row_keys) for s in settings))
    cell, left, top = (
        150,
        16 + 8 * max([len(line) for line in lines] + [len(" · ".join(row_keys)) // 2, 6]),
        70,
    )
    width = max(left + cell * len(columns) + 16, 16 + 7 * len(title))
    height = top + 44 * len(lines) + 40
    out = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>',
        f'<text x="8" y="16" style="font-weight:600">{esc(title)}</text>',
        f'<text x="{left}" y="36">{esc(col_key)} →</text>',
        f'<text x="8" y="{top - 10}">{esc(" · ".join(row_keys) or "setting")} ↓</text>',
    ]
    out += [
        f'<text x="{left + cell * j + cell / 2}" y="{top - 10}" text-anchor="middle">{esc(c)}</text>'
        for j, c in enumerate(columns)
    ]
    for i, line in enumerate(lines):
        y = top + 44 * i
        out.append(f'<text x="8" y="{y + 26}">{esc(line)}</text>')
    for point, s in enumerate(settings):
        i = lines.index(" · ".join(value_label(s.get(k)) for k in row_keys))
        j = columns.index(value_label(s.get(col_key)))
        x, y = left + cell * j, top + 44 * i
        r = by_point.get(point)
        effect = None if r is None else r["effect"]
        fill = "#eeeeee" if effect is None or not math.isfinite(effect) else _diverging(effect)
        star = r is not None and r["outcome"] != CANT_TELL
        first = "–" if r is None else f"{_num(r['value'])} [{_num(r['low'])}, {_num(r['high'])}]"
        second = "no test" if r is None else f"{r['outcome']}{' *' if star else ''}"
        tip = (
            "no cell"
            if r is None
            else f"{r['verdict']}; effect {_num(effect, True)}; p (Holm) {_num(r['p_adjusted'], p=True)}"
        )
        weight = ' style="font-weight:700"' if star else ""
        out.append(
            f'<rect x="{x}" y="{y}" width="{cell - 2}" height="42" fill="{fill}" stroke="#999">'
            f"<title>{esc(tip)}</title></rect>"
            f'<text x="{x + cell / 2}" y="{y + 17}" text-anchor="middle">{esc(first)}</text>'
            f'<text x="{x + cell / 2}" y="{y + 34}" text-anchor="middle"{weight}>{esc(second)}</text>'
        )
    out.append(
        f'<text x="8" y="{height - 12}" style="fill:#555">green: above the null, orange: below; '
        f"* the corrected test decides (Holm, α = 0.05); grey: no test</text></svg>"
    )
    return "".join(out)


def _num(x: float | None, signed: bool = False, p: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if p:
        return f"{x:.3g}"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def conditions(key: str, keys: list[str], settings: list[dict], table: pl.DataFrame) -> dict[str, str]:
    """The argument's row of the conditions table, from its focal cells: where the preference
    survives, where it dies, where we can't tell, and the swept key that decides: the one along
    which the most pairs of decided cells, alike in every other key, change outcome."""
    focal = table.filter(pl.col("focal")).sort("point")
    out = {}
    for outcome in (SURVIVES, DIES, CANT_TELL):
        where = focal.filter(pl.col("outcome") == outcome)["setting"].to_list()
        out[outcome] = "; ".join(where) if where else "nowhere in this grid"
    outcome_of = dict(zip(focal["point"].to_list(), focal["outcome"].to_list()))
    axes = _axes(keys, settings)
    flips = {}
    for k in axes:
        n = 0
        for a in range(len(settings)):
            for b in range(a + 1, len(settings)):
                others = [x for x in keys if x != k]
                if all(settings[a].get(x) == settings[b].get(x) for x in others):
                    oa, ob = outcome_of.get(a), outcome_of.get(b)
                    if CANT_TELL not in (oa, ob) and None not in (oa, ob) and oa != ob:
                        n += 1
        flips[k] = n
    best = max(flips.values(), default=0)
    deciders = [k for k, n in flips.items() if n == best and n > 0]
    if deciders:
        out["force"] = " and ".join(deciders) + f" ({best} decided pair(s) change outcome along it)"
    elif {SURVIVES, DIES} & set(outcome_of.values()):
        out["force"] = "none of the swept keys within this grid: no decided outcome changes along one"
    else:
        out["force"] = "we can't tell: the corrected tests decide no cell"
    return out


def surprises(parts: Sequence[tuple[str, str, list[str], list[dict], pl.DataFrame]]) -> pl.DataFrame:
    """Every decided cell (any term) whose outcome goes against what its argument predicts at its
    grid point (`PREDICTIONS`), most significant first."""
    rows = []
    for key, _title, _keys, settings, table in parts:
        predict = PREDICTIONS.get(key, lambda s: None)
        for r in table.filter(pl.col("outcome") != CANT_TELL).iter_rows(named=True):
            expected = predict(settings[r["point"]])
            if expected is not None and r["outcome"] != expected:
                rows.append(r | {"predicted": expected})
    schema = CELLS | {"predicted": pl.String}
    frame = pl.DataFrame(rows, schema=schema)
    return frame.sort(["p_adjusted", "argument", "point", "term"], nulls_last=True)


def page(
    parts: Sequence[tuple[str, str, list[str], list[dict], pl.DataFrame]],
    reproduce: Sequence[tuple[str, str, str]],
    header: str,
    command: str = "purity atlas",
) -> tuple[Page, dict[str, str]]:
    """The atlas page and its figures (argument key → SVG). `parts`: per argument its key, title,
    swept keys, grid settings and cells; `reproduce`: per argument its key, command and seeds."""
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
        "violates\"; can't tell = the corrected test cannot tell. The deciding force is the swept "
        "key along which the most decided cells, alike in every other key, change outcome."
    )
    rows = []
    for key, title, keys, settings, table in parts:
        c = conditions(key, keys, settings, table)
        rows.append([title, c[SURVIVES], c[DIES], c[CANT_TELL], c["force"]])
    p.table(["argument", "survives", "dies", "we can't tell", "which force decides"], rows, text_cols=5)
    _surprise(p, parts)
    for key, title, keys, settings, table in parts:
        p.section(key)
        svg = phase_diagram(
            f"{title}: {_focal_terms(table)}",
            keys,
            settings,
            table,
        )
        figures[key] = svg
        p.html(figure(svg, esc("Each cell: value [95% interval] and outcome; * the corrected test decides.")))
        p.add(_grid_markdown(keys, settings, table) + "\n", None)
        p.table(
            ["setting", "term", "measure", "value [95%]", "effect", "p (Holm)", "verdict", "outcome"],
            [
                [
                    r["setting"],
                    r["term"],
                    r["measure"],
                    f"{_num(r['value'])} [{_num(r['low'])}, {_num(r['high'])}]",
                    _num(r["effect"], True),
                    _num(r["p_adjusted"], p=True),
                    r["verdict"],
                    r["outcome"],
                ]
                for r in table.iter_rows(named=True)
            ],
            text_cols=3,
        )
    p.section("reproduce")
    p.note(
        f"The whole page: {command}. One figure: its sweep alone (the command below), then purity report on its directory."
    )
    p.table(["argument", "command", "seeds"], [list(r) for r in reproduce], text_cols=3)
    return p, figures


def _surprise(p: Page, parts) -> None:
    """The cells that go against their argument, or the statement that none did."""
    p.section("surprise")
    found = surprises(parts)
    p.note(
        "Rule: a decided cell, of any term, whose outcome goes against what its argument predicts "
        "there (selection at intensity > 0, reflection, and training on a reward that sees only "
        "detected violations or outcomes all predict that a process preference dies; training on "
        "the learner's own weight predicts that it survives)."
    )
    if found.height:
        r = found.row(0, named=True)
        title = dict((k, t) for k, t, *_ in parts)[r["argument"]]
        p.para(
            f'{title}: at {r["setting"]}, the term "{r["term"]}" {r["outcome"]} '
            f"({r['verdict']}; {r['measure']} {_num(r['value'])} [{_num(r['low'])}, {_num(r['high'])}], "
            f"p (Holm) {_num(r['p_adjusted'], p=True)}), where the argument predicts it {r['predicted']}."
        )
        p.table(
            ["argument", "setting", "term", "verdict", "value [95%]", "p (Holm)", "predicted"],
            [
                [
                    x["argument"],
                    x["setting"],
                    x["term"],
                    x["verdict"],
                    f"{_num(x['value'])} [{_num(x['low'])}, {_num(x['high'])}]",
                    _num(x["p_adjusted"], p=True),
                    x["predicted"],
                ]
                for x in found.iter_rows(named=True)
            ],
            text_cols=4,
        )
    else:
        grid = "; ".join(
            f"{title}: {len(settings)} grid points over {', '.join(keys)}"
            for _, title, keys, settings, _t in parts
        )
        p.para(f"None found: no decided cell goes against its argument's prediction in this grid ({grid}).")


def _grid_markdown(keys: list[str], settings: list[dict], table: pl.DataFrame) -> str:
    """The phase diagram as a Markdown grid (the HTML draws it)."""
    axes = _axes(keys, settings) or keys[:1]
    col_key, row_keys = axes[-1], axes[:-1]
    focal = {r["point"]: r for r in table.filter(pl.col("focal")).iter_rows(named=True)}
    columns = list(dict.fromkeys(value_label(s.get(col_key)) for s in settings))
    lines = list(dict.fromkeys(" · ".join(value_label(s.get(k)) for k in row_keys) for s in settings))
    grid = {line: ["–"] * len(columns) for line in lines}
    for point, s in enumerate(settings):
        r = focal.get(point)
        if r is not None:
            text = f"{_num(r['value'])} [{_num(r['low'])}, {_num(r['high'])}] {r['outcome']}"
            grid[" · ".join(value_label(s.get(k)) for k in row_keys)][
                columns.index(value_label(s.get(col_key)))
            ] = text
    head = [f"{' · '.join(row_keys) or 'setting'} ↓ / {col_key} →", *columns]
    lines_md = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines_md += ["| " + " | ".join([line, *grid[line]]) + " |" for line in lines]
    return "\n".join(lines_md)


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
        seeds.append(f"{name}: {first}" if n == 1 else f"{name}: {first}–{first + n - 1}")
    return key, f"purity sweep {_shown(sweep_file)}", "; ".join(seeds)


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


def assemble(parts: Sequence[tuple[str, str, Path, Path]], command: str) -> tuple[Page, dict[str, str]]:
    read = []
    for key, title, sweep_dir, _file in parts:
        keys, settings, table = cells(key, sweep_dir)
        read.append((key, title, keys, settings, table))
    reproduce = [reproduce_rows(key, d, f) for key, _t, d, f in parts]
    header = (
        f"purity's answer to the three arguments, generated by {command} from the sweeps of "
        "experiments/atlas/; every figure below is reproduced by the commands and seeds at the end."
    )
    return page(read, reproduce, header, command)


def _focal_terms(table: pl.DataFrame) -> str:
    """The focal terms of an argument's cells, each once, in order."""
    return " / ".join(dict.fromkeys(table.filter(pl.col("focal"))["term"].to_list()))
