"""A sweep's verdicts: every grid point × process term tested against its grid point's null, the
p-values corrected over the whole sweep (Holm), the words and colours following that correction.

Known answer: a null of 2,000 replicates of which 29 end at or below the observed end share gives
the one-seed Monte-Carlo p = 2 · 30 / 2001 ≈ 0.030. Alone it is called; two such grid points
corrected together give Holm p ≈ 0.060 each, and neither is called.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from run_fixtures import write_still_null
from test_sweep_report import write_sweep

import purity.reports as reports
from purity import statistics
from purity.reports import inference, sweep_report, sweep_verdicts
from purity.reports.nulls import FIGURE_SCHEMA
from purity.reports.svg import TITLE_CHAR_WIDTH, fit, svg_open
from purity.tournament import record, storage

TERM = "constraint:take:self"


def figures(end: list[float], start: float = 0.5) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "replicate": list(range(len(end))),
            "term": [TERM] * len(end),
            "start": [start] * len(end),
            "end": end,
            **{f: [0.0] * len(end) for f in ("selection", "mutation", "design", "self_modify")},
            "lock_in": [None] * len(end),
            "generations": [10] * len(end),
        },
        schema=FIGURE_SCHEMA,
    )


def point(root: Path, name: str) -> Path:
    """A run folder with a drift null of 2,000 replicates, 29 of them at 0.05 and the rest at 0.5."""
    folder = root / name
    storage.write_parquet(figures([0.05] * 29 + [0.5] * 1971), folder / record.null_table("drift"))
    return folder


def test_one_grid_point_alone_is_called_and_two_corrected_together_are_not(tmp_path):
    observed = figures([0.1])
    alone = sweep_verdicts.grid_verdicts([(observed, point(tmp_path, "a"))])
    assert alone["p"][0] == pytest.approx(2 * 30 / 2001)
    assert alone["p_adjusted"][0] == pytest.approx(2 * 30 / 2001)
    assert alone["verdict"].to_list() == [inference.DECLINED]
    both = sweep_verdicts.grid_verdicts([(observed, point(tmp_path, "a")), (observed, point(tmp_path, "b"))])
    assert both["point"].to_list() == [0, 1]
    assert both["p_adjusted"].to_list() == pytest.approx([4 * 30 / 2001] * 2)
    assert both["verdict"].to_list() == [inference.NEUTRAL] * 2
    assert both["tone"].to_list() == ["neutral"] * 2


def test_a_grid_point_without_a_null_is_left_out_of_the_correction(tmp_path):
    observed = figures([0.1])
    (tmp_path / "bare").mkdir()
    got = sweep_verdicts.grid_verdicts([(observed, point(tmp_path, "a")), (observed, tmp_path / "bare")])
    by_point = {r["point"]: r for r in got.iter_rows(named=True)}
    assert by_point[1]["verdict"] == "we can't tell: no null recorded" and by_point[1]["p"] is None
    assert by_point[0]["p_adjusted"] == pytest.approx(2 * 30 / 2001)  # a family of one
    assert by_point[0]["verdict"] == inference.DECLINED


def test_a_null_too_small_for_the_sweep_says_so(tmp_path):
    small = tmp_path / "small"
    storage.write_parquet(figures([0.5] * 30), small / record.null_table("drift"))
    points = [(figures([0.0, 0.0, 0.4]), small)] * 2  # 2 tests need 40 null means of 3 seeds
    got = sweep_verdicts.grid_verdicts(points)
    assert set(got["verdict"]) == {"we can't tell: null too small"}
    assert got["low"].min() == 0.0 and got["high"].max() <= 1.0  # the t interval (−0.44, 0.71) clipped


@pytest.fixture
def judged(tmp_path: Path) -> Path:
    root = write_sweep(tmp_path / "grid")
    for name in ("run-0001", "run-0002", "run-0003"):
        write_still_null(root / "runs" / name)
    return root


def test_the_sweep_corrects_over_grid_points_and_terms(judged):
    data = sweep_report.collect(reports.load_sweep(judged))
    v = data.verdicts
    assert v.height == 3 * 4  # three grid points with runs × four terms
    assert v["p_adjusted"].to_list() == pytest.approx(list(statistics.holm(v["p"].to_numpy())))
    own = reports.to_json(judged / "runs" / "run-0001")["verdict"]
    own_p = {r["term"]: r["p_adjusted"] for r in own}[TERM]
    first = v.filter((pl.col("point") == 0) & (pl.col("term") == TERM)).row(0, named=True)
    assert first["p"] == pytest.approx(2 / 2001)
    assert own_p == pytest.approx(4 * 2 / 2001)  # the run's report corrects over its 4 terms
    assert first["p_adjusted"] > own_p  # the sweep over all 12
    assert first["verdict"] == inference.DECLINED  # 0.75 → 0.25 where the null stays at 0.75
    rows = reports.to_json(judged)["verdicts"]["rows"]
    assert [r["verdict"] for r in rows] == v["verdict"].to_list()
    assert rows[0]["settings"] == {"selection.intensity": 0.0, "selection.kind": "moran"}


def test_the_sweep_page_opens_with_its_verdicts_coloured_by_the_corrected_test(judged):
    reports.write_sweep_report(judged)
    html = (judged / "report.html").read_text()
    body = html.split('<h2 id="verdicts">', 1)[1]
    assert body.index("Effect beyond the null") < body.index('<h2 id="by-key">')
    section = body.split('<h2 id="by-key">', 1)[0]
    cells = re.findall(r'<td class="([^"]*)">([^<]*)</td>', section)
    coloured = {(cls, text) for cls, text in cells if "v-" in cls}
    words = {text for _, text in coloured}
    assert words == {inference.DECLINED, inference.SPREAD}
    for cls, text in coloured:
        assert ("v-declined" in cls) == (text == inference.DECLINED)
    assert not any(text == inference.NEUTRAL and "v-" in cls for cls, text in cells)
    md = (judged / "report.md").read_text()
    assert md.index("## Verdicts") < md.index("## By swept key")
    assert "corrected together (Holm)" in md


def test_a_long_chart_title_is_squeezed_into_the_chart_never_cut():
    room = 300 - 8 - 4
    short = "x" * int(room / TITLE_CHAR_WIDTH)
    assert fit(short, room) == ""
    long = "a title far longer than any chart is wide " * 3
    assert f'textLength="{room}"' in svg_open(long, 300, 100)
    assert "textLength" not in svg_open(short, 300, 100)


def test_a_single_seed_report_says_first_how_little_one_seed_shows(run_dir):
    write_still_null(run_dir)
    reports.write_report(run_dir)
    md = (run_dir / "report.md").read_text()
    head = md.split("## Verdict", 1)[0]
    assert "One seed: this compares a single run with 2000 null runs." in head
    assert "only an end share outside that band can be called" in head
    many = reports.to_json(run_dir)["verdict"]
    assert all(r["note"] and r["note"].startswith("One seed") for r in many)


def test_a_replicate_set_report_does_not_say_one_seed(reps_dir):
    write_still_null(reps_dir)
    reports.write_report(reps_dir)
    assert "One seed" not in (reps_dir / "report.md").read_text()


def test_run_and_replicate_reports_open_with_the_end_share_against_the_null_band(run_dir, reps_dir):
    for folder in (write_still_null(run_dir), write_still_null(reps_dir)):
        reports.write_report(folder)
        html = (folder / "report.html").read_text()
        verdict = html.split('<h2 id="verdict">', 1)[1].split("<table>", 1)[0]
        assert (
            "End share against the null&#x27;s 95% band" in verdict
            or "End share against the null's" in verdict
        )
        words = [r["verdict"] for r in reports.to_json(folder)["verdict"]]
        dots = re.findall(r'<circle [^>]*fill="(#[0-9a-f]{6})"><title>([^:<]*):', verdict)
        assert [w for _, w in dots] == words
        for colour, word in dots:
            expected = {inference.SPREAD: "#0a7a3c", inference.DECLINED: "#c25700"}.get(word, "#555555")
            assert colour == expected


def test_a_report_without_a_null_draws_no_verdict_chart(run_dir):
    reports.write_report(run_dir)
    assert "End share against the null" not in (run_dir / "report.html").read_text()
