"""The survival report as JSON (`purity.reports.to_json(path)` for a run, a replicates set or a sweep).

For programs (notebooks, dashboards, other tools) rather than people: the verdict and everything it
rests on, plus the per-generation curves, as plain JSON types — dicts, lists, str, int, float, bool,
None. Infinite numbers become the strings "inf" / "-inf" (a hard constraint's weight), NaN becomes
null, so `json.dumps(..., allow_nan=False)` always succeeds. Keys come in a fixed order (insertion
order, the same for every call), so two exports of the same directory are byte-identical.

Each kind's JSON is rendered from the same data as its Markdown and HTML (`run_report`,
`replicates_report`, `sweep_report`: `collect`, then `to_json`); this module holds the helpers.

Curves are columnar: `curves.generation` lists the generations and every curve is a list aligned
with it (null where a generation has no value, e.g. a profile that died out).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

__all__ = ["FORMAT", "VERSION", "dumps", "plain"]

FORMAT = "purity-report"
VERSION = 2  # 2: a sweep run's figures are read from its files ("source" is gone); verdicts name forces


def dumps(data: Any, indent: int | None = 2) -> str:
    """`data` as JSON text (strict: no NaN or Infinity tokens), key order kept."""
    return json.dumps(plain(data), indent=indent, ensure_ascii=False, allow_nan=False)


def plain(x: Any) -> Any:
    """`x` with only plain JSON types: inf → "inf", NaN → None, tuples → lists, paths → str, keys → str."""
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, Sequence | set | frozenset) and not isinstance(x, bytes | bytearray):
        return [plain(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, datetime | date):
        return x.isoformat()
    if hasattr(x, "item"):  # numpy scalars
        return plain(x.item())
    return str(x)


def head(kind: str, name: str, path: Path) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "kind": kind, "name": name, "path": str(path)}


def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [plain(r) for r in df.iter_rows(named=True)]


def aligned(
    df: pl.DataFrame, gens: list[int], value: str, by: str | None = None, order: Sequence[str] | None = None
) -> Any:
    """`value` per generation aligned with `gens` (None where missing); with `by`, one list per group."""
    if df.height == 0 or value not in df.columns:
        return {} if by is not None else [None] * len(gens)
    if by is None:
        lookup = dict(zip(df.get_column("generation").to_list(), df.get_column(value).to_list()))
        return [plain(lookup.get(g)) for g in gens]
    groups = order if order is not None else sorted(set(df.get_column(by).to_list()))
    out: dict[str, Any] = {}
    for key in groups:
        part = df.filter(df.get_column(by) == key)
        if part.height:
            out[str(key)] = aligned(part, gens, value)
    return out


TERM_FIELDS = (
    "key",
    "kind",
    "process",
    "label",
    "event",
    "scope",
    "measure",
    "property",
    "threshold",
    "endorsed",
)


def terms_json(terms: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [plain({k: t.get(k) for k in TERM_FIELDS}) for t in terms]


def profiles_json(manifest: Mapping[str, Any]) -> dict[str, Any]:
    profiles = manifest.get("profiles") or {}
    return {
        name: plain({"description": p.get("description"), "weights": dict(p.get("weights") or {})})
        for name, p in sorted(profiles.items())
    }


def provenance(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Which code made the run and when: git revision, start and end times, package versions."""
    return {key: manifest.get(key) for key in ("git_revision", "started", "finished", "versions")}


def lock_in_json(li: Any) -> dict[str, Any] | None:
    if li is None:
        return None
    fields = ("generation", "founder", "profile", "share", "process_share", "threshold")
    return plain({f: getattr(li, f) for f in fields})
