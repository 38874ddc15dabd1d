"""The verdict is one piece of data: the JSON, the Markdown and the HTML of a report give each
process term the same shares, verdict word, vs drift and moved most by — for a run, a replicate
set and a sweep (whose JSON carries every run's verdict, as the run's own report shows it).

The pages are parsed back into cells and compared with the JSON values written as a page writes a
number, so a page that computed its verdict on another path, or left a term out, fails here.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from run_fixtures import write_still_null
from test_sweep_report import write_sweep

import purity.reports as reports
from purity.reports.page import band, fmt
from purity.reports.price_page import FORCE_LABELS, force_text
from purity.reports.verdict_inference import null_band

SPLIT = re.compile(r"(?<!\\)\|")


def md_verdict(text: str) -> list[dict[str, str]]:
    """The rows of the table under "## Verdict", cells unescaped, keyed by header."""
    section = text.split("## Verdict\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[re.sub(r"\\(.)", r"\1", c.strip()) for c in SPLIT.split(line)[1:-1]] for line in lines]
    headers, body = cells[0], cells[2:]
    return [dict(zip(headers, row)) for row in body]


class TableAfter(HTMLParser):
    """The first table after the element with id `anchor`: its header and body cells as text."""

    def __init__(self, anchor: str) -> None:
        super().__init__(convert_charrefs=True)
        self.anchor, self.seen, self.done = anchor, False, False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if ("id", self.anchor) in attrs:
            self.seen = True
        if self.seen and not self.done:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("th", "td"):
                self.cell = []

    def handle_endtag(self, tag):
        if self.seen and not self.done:
            if tag in ("th", "td") and self.cell is not None:
                self.rows[-1].append("".join(self.cell))
                self.cell = None
            elif tag == "table":
                self.done = True

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_verdict(text: str) -> list[dict[str, str]]:
    parser = TableAfter("verdict")
    parser.feed(text)
    headers, *body = parser.rows
    return [dict(zip(headers, row)) for row in body]


def pages(folder: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return md_verdict((folder / "report.md").read_text()), html_verdict((folder / "report.html").read_text())


def run_cells(v: dict, has_drift: bool, headers: list[str]) -> dict[str, str]:
    """A run's JSON verdict row as its page writes it (the shares' headers name generations)."""
    cells = {
        "process term": v["label"],
        headers[3]: fmt(v["start"]),
        headers[4]: fmt(v["end"]),
        "null 95% band": null_band(v),
        "p (Holm)": fmt(v["p_adjusted"]),
        "verdict": v["verdict"],
        "moved most by": force_text(v["moved_most"], v["moved_value"]),
    }
    if has_drift:
        cells |= {"drift end": fmt(v["drift_end"])}
    return cells


def assert_run_agrees(verdict: list[dict], folder: Path, has_drift: bool) -> None:
    assert verdict, "no verdict to compare"
    for shown in pages(folder):
        assert [row["process term"] for row in shown] == [v["label"] for v in verdict]
        headers = list(shown[0])
        assert headers[3].startswith("share at gen") and headers[4].startswith("share at gen")
        for v, row in zip(verdict, shown):
            expected = run_cells(v, has_drift, headers)
            assert {k: row[k] for k in expected} == expected


def test_a_run_verdict_is_the_same_in_json_markdown_and_html(run_with_drift, run_dir):
    for folder, drift in ((run_with_drift, True), (run_dir, False)):
        reports.write_report(write_still_null(folder))
        verdict = reports.to_json(folder)["verdict"]
        assert {v["moved_most"] for v in verdict} - {"none"}, "some term must have moved"
        assert {v["verdict"] for v in verdict} >= {"declined beyond drift", "spread beyond drift"}
        assert_run_agrees(verdict, folder, drift)


def test_a_replicate_verdict_is_the_same_in_json_markdown_and_html(reps_dir):
    reports.write_report(write_still_null(reps_dir))
    data = reports.to_json(reps_dir)
    verdict = data["verdict"]
    for shown in pages(reps_dir):
        assert [row["process term"] for row in shown] == [v["label"] for v in verdict]
        for v, row in zip(verdict, shown):
            for name, header in (
                ("start", "start share"),
                ("end", "end share"),
                ("drift", "drift end share"),
            ):
                assert row[header] == band(v[f"{name}_mean"], v[f"{name}_min"], v[f"{name}_max"])
            assert row["survived in k of K seeds"] == f"{v['survived']} of {v['seeds']}"
            assert (row["verdict"], row["p (Holm)"], row["null 95% band"]) == (
                v["verdict"],
                fmt(v["p_adjusted"]),
                null_band(v),
            )
            assert row["moved most by"].startswith(force_text(v["moved_most"], v["moved_value"]))
            for force, label in FORCE_LABELS.items():
                if v[f"largest_{force}"]:
                    assert f"{label} {v[f'largest_{force}']}" in row["moved most by"]
    # each seed's verdict in the JSON is the one its own report shows
    for seed in data["replicates"]["seeds"]:
        folder = reps_dir / f"seed={seed}"
        reports.write_report(folder)
        own = [v for v in data["seed_verdicts"] if v["seed"] == seed]
        assert [{k: v for k, v in row.items() if k != "seed"} for row in own] == reports.to_json(folder)[
            "verdict"
        ]
        assert_run_agrees(own, folder, has_drift=True)


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    return write_sweep(tmp_path / "grid")


def test_a_sweep_verdict_is_the_same_in_json_markdown_and_html(sweep_dir):
    reports.write_sweep_report(sweep_dir, run_reports=True)
    runs = {r["name"]: r for r in reports.to_json(sweep_dir)["runs"]}
    single = [name for name, r in runs.items() if not r["replicates"] and r["verdict"] is not None]
    assert single == ["run-0001", "run-0002"]
    for name in single:
        folder = sweep_dir / "runs" / name
        assert runs[name]["verdict"] == reports.to_json(folder)["verdict"]
        assert_run_agrees(runs[name]["verdict"], folder, has_drift=(folder / "drift").is_dir())
    seeds = runs["run-0003"]["seeds"]
    assert [s["seed"] for s in seeds] == [10, 11, 12]
    for s in seeds:
        folder = sweep_dir / "runs" / "run-0003" / f"seed={s['seed']}"
        reports.write_report(folder)
        assert s["verdict"] == reports.to_json(folder)["verdict"]
        assert_run_agrees(s["verdict"], folder, has_drift=False)
