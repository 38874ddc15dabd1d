"""The run-file format as `purity.tournament.record` spells it and as docs/run-files.md describes it
are the same format, and the tables a run writes are in it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest

from purity.tournament import record

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "run-files.md"
SWEEPS = ROOT / "docs" / "sweeps.md"


def documented(table: str) -> tuple[dict[str, str], dict[str, str]]:
    """The fixed columns and the column prefixes, each with its type, that the doc's table of
    `<table>/gen=<g>/part-0.parquet` lists."""
    text = DOC.read_text(encoding="utf-8")
    heading = f"## `{table}/gen=<g>/part-0.parquet`"
    assert heading in text, f"docs/run-files.md has no section {heading!r}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    fixed, prefixed = {}, {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if "<" in name:
                prefixed[name.split("<", 1)[0]] = cells[1]
            else:
                fixed[name] = cells[1]
    return fixed, prefixed


@pytest.mark.parametrize("table", record.TABLES)
def test_the_doc_lists_every_column_of_record_and_no_other(table):
    fixed, prefixed = documented(table)
    assert fixed == record.COLUMNS[table], f"{table}: fixed columns (name: type)"
    assert prefixed == record.PREFIXED[table], f"{table}: prefixed columns (prefix: type)"


def test_the_doc_names_the_files_and_the_values_record_spells():
    text = DOC.read_text(encoding="utf-8")
    layout = [record.MANIFEST, record.CAPTURE, f"{record.DRIFT}/"]
    for name in layout + [record.part(table, "<g>") for table in record.TABLES]:
        assert name in text, name
    for value in record.ORIGINS + record.EDGE_KINDS:
        assert f"`{value}`" in text, value
    sweeps = SWEEPS.read_text(encoding="utf-8")
    for name in (record.SWEEP, record.SWEEP_TABLE, f"`{record.swept('<key>')}`"):
        assert name in sweeps, name


def test_names_round_trip():
    assert record.keys(
        [record.weight("constraint:take:self"), "id", record.policy("harvest")], record.WEIGHT
    ) == ["constraint:take:self"]
    assert record.event_kinds([record.event(source, "take") for source in record.EVENT_SOURCES]) == ["take"]
    assert record.generation_of(Path(record.folder("lineage", 12)).name) == 12
    assert record.generation_of("gen=x") is None and record.generation_of(".gen=1.tmp") is None
    assert record.filed_under("lineage", 3) == 4 and record.filed_under("agents", 3) == 3
    with pytest.raises(ValueError):
        record.event("seen", "take")
    with pytest.raises(ValueError):
        record.column_type("agents", "score")


def test_a_run_writes_only_the_format(tmp_path):
    """Every table of a run with reflection and a drift twin has the fixed columns of record in
    order, then prefixed columns, each of the type record gives."""
    from purity.tournament import runner
    from purity.tournament.config import load

    experiment = load(ROOT / "experiments" / "successors-base.toml")
    small = dataclasses.replace(experiment, generations=2, population=8, neutral_drift=True)
    run_dir = runner.run(small, tmp_path, workers=0, progress=False)
    seen = set()
    for table in record.TABLES:
        for file in sorted(run_dir.rglob(f"{table}/gen=*/part-0.parquet")):
            frame = pl.read_parquet(file)
            fixed = list(record.COLUMNS[table])
            assert frame.columns[: len(fixed)] == fixed, file
            assert dict(frame.schema) == record.schema(table, frame.columns), file
            seen.add(table)
    assert seen == set(record.TABLES)
