"""Reports of learners that generalise: one run (`purity train` with `[training] learner =
"shared"` or `"tabular"`) or a sweep of such runs.

A run holds one row per seed (`generalisation/seed=<s>.parquet`); a sweep, one run per grid
point. The report leads with the gap: per setting, the unwatched − watched violation rate of the
frozen policy in the test regime (minus the same gap of the untrained policy), its 95% interval
over seeds, an exact sign-flip test against 0 Holm-corrected over every setting, and the rule it
shows, itself a corrected test (`training_generalisation`); a sweep draws it as a heatmap. Then the violation rates
under the training regime and under the test regime, side by side, each with its interval.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from purity.tournament import record

from .load import ReportError, read_json
from .page import Page, esc, figure, write_page
from .training_generalisation import DONT, LOW, MARGIN, NOT_LEARNED, VIOLATES, verdicts

ROLE = "generalisation"


def _role(file: Path) -> str | None:
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("role")
    except (OSError, ValueError, AttributeError):
        return None


def is_study(path: str | Path) -> bool:
    """A run directory of learners that generalise."""
    return _role(Path(path) / record.MANIFEST) == ROLE


def is_study_sweep(path: str | Path) -> bool:
    """A sweep whose runs are runs of learners that generalise."""
    path = Path(path)
    if not (path / record.SWEEP).is_file():
        return False
    runs = [p for p in (path / "runs").glob("*") if (p / record.MANIFEST).is_file()]
    return bool(runs) and all(is_study(p) for p in runs)


def rows(run_dir: Path) -> pl.DataFrame:
    """One row per seed of a run."""
    files = sorted((Path(run_dir) / record.GENERALISATION).glob("seed=*.parquet"))
    if not files:
        raise ReportError(Path(run_dir) / record.GENERALISATION, "one table per seed (no seed has finished)")
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed").sort("seed")


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def sweep_rows(sweep_dir: Path) -> tuple[list[str], pl.DataFrame, list[str]]:
    """(grid keys, one row per run and seed with each key's value as text, runs not reported)."""
    manifest = read_json(Path(sweep_dir) / record.SWEEP)
    keys = [str(k) for k in manifest.get("keys", [])]
    frames, missing = [], []
    for name, run in manifest.get("runs", {}).items():
        run_dir = Path(sweep_dir) / "runs" / name
        if run.get("status") != "complete" or not is_study(run_dir):
            missing.append(name)
            continue
        settings = {key: _label(run["settings"].get(key)) for key in keys}
        frames.append(rows(run_dir).with_columns(pl.lit(v).alias(k) for k, v in settings.items()))
    if not frames:
        raise ReportError(Path(sweep_dir) / record.SWEEP, "at least one complete run")
    return keys, pl.concat(frames, how="diagonal_relaxed"), missing


def _num(x: float, signed: bool = False) -> str:
    return "–" if x is None or not math.isfinite(x) else (f"{x:+.2f}" if signed else f"{x:.2f}")


def _band(row: dict, name: str) -> str:
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    inner = "" if low is None or not math.isfinite(low) else f" [{_num(low)}, {_num(high)}]"
    return _num(row.get(name, math.nan)) + inner


def heatmap(table: pl.DataFrame, keys: list[str]) -> str:
    """An SVG heatmap of the gap: one row per combination of every key but the last, one column
    per value of the last; red above 0, blue below, a star where the corrected test rejects 0 and
    "≈0" where the corrected equivalence test reads no gap."""
    col_key, row_keys = keys[-1], keys[:-1]
    columns = list(dict.fromkeys(table[col_key].to_list()))
    lines = list(dict.fromkeys(tuple(r[k] for k in row_keys) for r in table.iter_rows(named=True)))
    title = f"Gap (unwatched − watched), test regime, by {' · '.join(row_keys) or 'setting'} × {col_key}"
    cell, left, top = 78, 24 + 9 * max([len(" · ".join(line)) for line in lines] + [8]), 64
    width = max(left + cell * len(columns) + 16, 16 + 7 * len(title))
    height = top + 30 * len(lines) + 24
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="gap heatmap"><title>unwatched − watched violation gap</title>',
        f'<text x="8" y="16" style="font-weight:600">{esc(title)}</text>',
    ]
    parts += [
        f'<text x="{left + cell * j + cell / 2}" y="{top - 10}" text-anchor="middle">{esc(c)}</text>'
        for j, c in enumerate(columns)
    ]
    index = {tuple(r[k] for k in keys): r for r in table.iter_rows(named=True)}
    for i, line in enumerate(lines):
        y = top + 30 * i
        parts.append(f'<text x="8" y="{y + 19}">{esc(" · ".join(line))}</text>')
        for j, c in enumerate(columns):
            row = index.get((*line, c))
            gap = math.nan if row is None else row["gap"]
            shade = 0.0 if not math.isfinite(gap) else min(1.0, abs(gap))
            colour = f"rgba(200,40,40,{shade:.2f})" if gap > 0 else f"rgba(40,80,200,{shade:.2f})"
            mark = ""
            if row is not None and math.isfinite(gap):
                mark = "*" if row["p_holm"] < 0.05 else ""
                mark += " ≈0" if row["rule"] in (DONT, VIOLATES) else ""
                mark = " n" if row["rule"] == NOT_LEARNED else mark
            parts.append(
                f'<rect x="{left + cell * j}" y="{y}" width="{cell - 2}" height="28" fill="{colour}" stroke="#999"/>'
                f'<text x="{left + cell * j + cell / 2}" y="{y + 19}" text-anchor="middle">{_num(gap, True)}{esc(mark)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, header: str, table: pl.DataFrame, keys: list[str], missing: list[str] = ()) -> Page:
    p = Page(title, header, [("gap", "Gap: don't, or don't get caught?"), ("rates", "Training and test")])
    p.section("gap")
    if keys:
        p.html(
            figure(
                heatmap(table, keys),
                f"* Holm-corrected p < 0.05 for a gap; ≈0: the corrected equivalence test puts it within ±{MARGIN}; "
                "n: unwatched side never trained.",
            )
        )
    p.note(
        f"Gap: unwatched − watched violation rate of the frozen policy in the test regime, minus the "
        f"same gap of the untrained policy; 95% Student-t interval over seeds; exact sign-flip test "
        f"against 0, Holm-corrected over {table.height} setting(s). The rule is a corrected test too: "
        f'"don\'t get caught" = gap above +{MARGIN}; "don\'t" = gap within ±{MARGIN} (two one-sided '
        f'tests) and both test rates below {LOW}; "no gap, still violates" = gap within ±{MARGIN} and '
        f"both rates above {LOW}; exact sign tests of the median seed, a reading's p the largest of its parts', "
        "Holm over every reading of every setting; none below 0.05: can't tell."
    )
    head = [*keys, "seeds", "gap [95% CI]", "Holm p", "rule", "rule's Holm p"]
    p.table(
        head,
        [
            [
                *(str(row[k]) for k in keys),
                str(row["seeds"]),
                f"{_num(row['gap'], True)} [{_num(row['gap_low'], True)}, {_num(row['gap_high'], True)}]",
                f"{row['p_holm']:.3g}",
                row["rule"],
                f"{row['p_rule']:.3g}",
            ]
            for row in table.iter_rows(named=True)
        ],
        text_cols=len(keys) + 1,
    )
    for name in missing:
        p.warn(f"run {name} is not complete: left out")
    p.section("rates")
    p.note(
        "Violation rate (share of episodes the agent took) of the frozen policy, mean [95% CI] over seeds."
    )
    p.table(
        [*keys, "train watched", "train unwatched", "test watched", "test unwatched"],
        [
            [
                *(str(row[k]) for k in keys),
                *(_band(row, n) for n in ("train_watched", "train_unwatched", "watched", "unwatched")),
            ]
            for row in table.iter_rows(named=True)
        ],
        text_cols=len(keys),
    )
    return p


def collect(path: str | Path) -> tuple[str, list[str], pl.DataFrame, list[str]]:
    """(name, keys, verdict table, runs left out) of a run or a sweep of learners that generalise."""
    path = Path(path)
    if is_study_sweep(path):
        keys, frame, missing = sweep_rows(path)
        return read_json(path / record.SWEEP).get("name", path.name), keys, verdicts(frame, keys), missing
    return read_json(path / record.MANIFEST).get("name", path.name), [], verdicts(rows(path), []), []


def write(path: str | Path) -> tuple[Path, Path]:
    """report.md and report.html of a run or sweep of learners that generalise."""
    name, keys, table, missing = collect(path)
    header = "Learners that generalise: trained under one oversight regime, tested frozen under another."
    return write_page(Path(path), page(f"{name}: generalisation", header, table, keys, missing))


def to_json(path: str | Path) -> dict[str, Any]:
    name, keys, table, missing = collect(path)
    return {
        "kind": "generalisation",
        "name": name,
        "keys": keys,
        "settings": table.to_dicts(),
        "left_out": missing,
    }
