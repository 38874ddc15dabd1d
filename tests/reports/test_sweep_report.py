"""Sweep reports: loading a sweep directory, final shares by swept key, failed runs, links, entry point.

A hand-built sweep over two keys whose figures are known exactly, every one read from the runs' own
directories (sweep.parquet holds only what the sweep knows: settings, seed, status, generations):

    run       intensity  kind           seed(s)     status    take:self final share   run files
    run-0001  0.0        moran          7           complete  0.25                    the toy run (conftest), drift twin
    run-0002  0.5        moran          7           complete  1.0                     OTHER_AGENTS
    run-0003  0.5        wright_fisher  10, 11, 12  complete  0, 0.75, 0.25           seed folders (replicates)
    run-0004  0.0        wright_fisher  7           failed    –                       none (error recorded)

    by intensity: 0.0 → 0.25 (n 1); 0.5 → mean 0.5 [0, 1] (n 4)
    by kind:      moran → 0.625 [0.25, 1] (n 2); wright_fisher → 1/3 [0, 0.75] (n 3)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import polars as pl
import pytest
from run_fixtures import (
    DRIFT_AGENTS,
    INF,
    MAIN_AGENTS,
    MAIN_EPISODES,
    manifest,
    write_replicates,
    write_run,
)
from test_reports_render import StrictParser

import purity.reports as reports
from purity.reports import sweep_chart, sweep_page
from purity.reports import sweep_report as sr
from purity.tournament import record

TAKE = "constraint:take:self"
FIRE = "RuntimeError: the node caught <fire> & smoke"
SETTINGS = {
    "run-0001": {"selection.intensity": 0.0, "selection.kind": "moran"},
    "run-0002": {"selection.intensity": 0.5, "selection.kind": "moran"},
    "run-0003": {"selection.intensity": 0.5, "selection.kind": "wright_fisher"},
    "run-0004": {"selection.intensity": 0.0, "selection.kind": "wright_fisher"},
}
# Final figures of the toy run (conftest: generation 2 of MAIN_AGENTS).
TOY = {
    "generations_done": 3,
    "mean_process_share": (0.1 * 3 + 1.0) / 4,
    "mean_payoff": 9 / 4,
    f"share:{TAKE}": 0.25,
    "share:constraint:take:world": 0.0,
    "share:constraint:take:lineage": 0.25,
    "share:standing:commons_above": 0.75,
}
# run-0002: generations 0 and 1 of the toy run, then four agents that all carry take:self
OTHER_AGENTS = [
    *MAIN_AGENTS[:8],
    (2, 8, "keeper", "inherit", 4, 0, 1.0, 0.5, (1, 3, 1, 0, 0.5)),
    (2, 9, "keeper", "inherit", 4, 0, 1.0, 0.5, (1, 3, 1, 0, 0)),
    (2, 10, "saint", "inherit", 7, 3, 1.0, 0.5, (1, INF, 0, 0, 0)),
    (2, 11, "saint", "inherit", 7, 3, 1.0, 0.5, (1, INF, 0, 0, 0)),
]
OTHER = {
    "generations_done": 3,
    "mean_process_share": 0.5,
    "mean_payoff": 1.0,
    f"share:{TAKE}": 1.0,
    "share:constraint:take:world": 0.5,
    "share:constraint:take:lineage": 0.0,
    "share:standing:commons_above": 0.25,
}


def write_sweep(root: Path, *, table: bool = True, status: str = "complete") -> Path:
    """The sweep of the module docstring, in the layout `purity sweep` writes."""
    root.mkdir(parents=True)
    runs = {}
    for name, settings in SETTINGS.items():
        seed = 10 if name == "run-0003" else 7
        done = name != "run-0004"
        runs[name] = {
            "settings": settings,
            "seed": seed,
            "experiment": f"experiments/{name}.toml",
            "status": "complete" if done else "failed",
            "error": None if done else FIRE,
        }
    manifest_ = {
        "name": "grid",
        "role": "sweep",
        "base": "/somewhere/base.toml",
        "status": status,
        "started": "2026-01-01T00:00:00+0000",
        "finished": "2026-01-01T00:05:00+0000",
        "keys": ["selection.intensity", "selection.kind"],
        "runs": runs,
    }
    (root / "sweep.json").write_text(json.dumps(manifest_, indent=2))
    (root / "sweep.toml").write_text('[sweep]\nname = "grid"\n# <b>not bold</b>\n')
    write_run(root / "runs" / "run-0001", manifest(name="run-0001"), MAIN_AGENTS, MAIN_EPISODES)
    write_run(
        root / "runs" / "run-0001" / "drift",
        manifest(name="run-0001", role="drift"),
        DRIFT_AGENTS,
        MAIN_EPISODES,
    )
    other = manifest(name="run-0002", has_oversight=False)
    write_run(root / "runs" / "run-0002", other, OTHER_AGENTS, MAIN_EPISODES)
    write_replicates(root / "runs" / "run-0003", drift=False)
    (root / "runs" / "run-0004").mkdir(parents=True)  # failed before writing anything
    if table:
        rows = []
        for name, run in runs.items():
            row = {"run": name, "seed": run["seed"], "status": run["status"], "error": run["error"]}
            row |= {record.swept(k): v for k, v in run["settings"].items()}
            rows.append(row | {"generations_done": None if name in ("run-0003", "run-0004") else 3})
        pl.DataFrame(rows, infer_schema_length=None).write_parquet(root / "sweep.parquet")
    return root


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    return write_sweep(tmp_path / "grid")


# ---------------------------------------------------------------------------------------------
# loading


def test_load_sweep_reads_manifest_table_and_run_paths(sweep_dir):
    assert reports.is_sweep(sweep_dir) and reports.kind_of(sweep_dir) == "sweep"
    assert reports.kind_of(sweep_dir / "runs" / "run-0001") == "run"
    assert reports.kind_of(sweep_dir / "runs" / "run-0003") == "replicates"
    sweep = reports.load_sweep(sweep_dir)
    assert isinstance(reports.load_any(sweep_dir), reports.Sweep)
    assert sweep.name == "grid" and sweep.keys == ("selection.intensity", "selection.kind")
    assert [r.name for r in sweep.runs] == list(SETTINGS)
    one, two, three, four = sweep.runs
    assert one.path == sweep_dir / "runs" / "run-0001" and two.exists and not four.exists
    assert one.exists and not one.is_replicates and three.is_replicates
    assert four.status == "failed" and four.error == FIRE
    assert sweep.values("selection.kind") == ["moran", "wright_fisher"]
    assert sweep.table is not None and sweep.table.height == 4


def test_figures_come_from_the_run_files_whatever_the_table_holds(sweep_dir):
    """An older sweep.parquet carried figure columns; the report reads every figure from the runs."""
    table = pl.read_parquet(sweep_dir / "sweep.parquet").with_columns(
        pl.lit(0.125).alias(f"share:{TAKE}"), pl.lit(9.0).alias("mean_payoff")
    )
    table.write_parquet(sweep_dir / "sweep.parquet")
    obs = sr.observe(reports.load_sweep(sweep_dir), [])
    assert [o.figures[f"share:{TAKE}"] for o in obs] == [0.25, 1.0, 0.0, 0.75, 0.25]
    assert obs[0].figures["mean_payoff"] == TOY["mean_payoff"]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda m: m.update(role="main"), 'role "sweep"'),
        (lambda m: m.update(runs=[1, 2]), "runs to be an object"),
        (lambda m: m.update(keys="selection.intensity"), "keys to be a list"),
        (lambda m: m["runs"].update({"../evil": m["runs"]["run-0001"]}), "plain folder names"),
        (lambda m: m["runs"]["run-0002"].update(status="exploded"), "runs.run-0002.status"),
        (lambda m: m["runs"]["run-0002"].update(seed="seven"), "runs.run-0002.seed"),
    ],
)
def test_bad_sweep_manifests_name_the_file_and_the_field(sweep_dir, mutate, expected):
    file = sweep_dir / "sweep.json"
    m = json.loads(file.read_text())
    mutate(m)
    file.write_text(json.dumps(m))
    with pytest.raises(reports.ReportError) as err:
        reports.load_sweep(sweep_dir)
    assert err.value.path == file and expected in str(err.value)


def test_not_a_sweep(tmp_path, run_dir):
    with pytest.raises(reports.ReportError) as err:
        reports.load_sweep(run_dir)
    assert err.value.path == run_dir / "sweep.json"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "sweep.parquet").write_bytes(b"nope")
    (tmp_path / "broken" / "sweep.json").write_text(json.dumps({"role": "sweep", "runs": {}}))
    with pytest.raises(reports.ReportError) as err:
        reports.load_sweep(tmp_path / "broken")
    assert err.value.path == tmp_path / "broken" / "sweep.parquet"


# ---------------------------------------------------------------------------------------------
# the numbers


def test_observations_are_read_from_the_run_and_seed_folders(sweep_dir):
    sweep = reports.load_sweep(sweep_dir)
    problems: list[str] = []
    obs = sr.observe(sweep, problems)
    assert problems == []
    assert [(o.run, o.seed, o.path.name) for o in obs] == [
        ("run-0001", 7, "run-0001"),
        ("run-0002", 7, "run-0002"),
        ("run-0003", 10, "seed=10"),
        ("run-0003", 11, "seed=11"),
        ("run-0003", 12, "seed=12"),
    ]
    for o, expected in zip(obs[:2], (TOY, OTHER)):
        assert {k: o.figures[k] for k in expected} == pytest.approx(expected)
    assert [o.figures[f"share:{TAKE}"] for o in obs] == [0.25, 1.0, 0.0, 0.75, 0.25]
    # computed figures: seed 11 stopped at generation 1 (all keepers but one: process share 0.75 × 3/4)
    seed11 = obs[3].figures
    assert seed11["mean_process_share"] == pytest.approx(0.5625)
    assert seed11["mean_payoff"] == pytest.approx((1 + 1 + 1 + 3) / 4)
    assert seed11["generations_done"] == 2
    # the toy run's drift twin is read from its files (end shares: conftest DRIFT_AGENTS)
    assert obs[0].figures[f"drift_share:{TAKE}"] == 0.75
    assert obs[0].figures["drift_share:standing:commons_above"] == 0.5


def test_final_figures_of_a_run(sweep_dir):
    run = reports.load(sweep_dir / "runs" / "run-0001")
    figures = sr.final_figures(run)
    for key, value in TOY.items():
        assert figures[key] == pytest.approx(value), key
    # the toy arena has oversight: its last generation's training measures (keeper and grabber
    # episodes of generation 1: 2 of 4 opportunities taken, none watched)
    assert figures["train:rate_unwatched"] == 0.5 and "train:rate_watched" not in figures


def test_shares_by_key_mean_min_max_over_seeds_and_other_keys(sweep_dir):
    data = sr.collect(reports.load_sweep(sweep_dir))
    intensity, kind = data.axes
    assert intensity.numeric and not intensity.log and intensity.values == [0.0, 0.5]
    assert intensity.runs == [1, 4]
    assert intensity.stats[0][f"share:{TAKE}"] == (0.25, 0.25, 0.25, 1)
    assert intensity.stats[1][f"share:{TAKE}"] == pytest.approx((0.5, 0.0, 1.0, 4))
    assert not kind.numeric and kind.labels == ["moran", "wright_fisher"] and kind.runs == [2, 3]
    assert kind.stats[0][f"share:{TAKE}"] == pytest.approx((0.625, 0.25, 1.0, 2))
    assert kind.stats[1][f"share:{TAKE}"] == pytest.approx((1 / 3, 0.0, 0.75, 3))
    # drift figures exist for the one run with a twin only
    assert intensity.stats[0][f"drift_share:{TAKE}"] == (0.75, 0.75, 0.75, 1)
    assert intensity.stats[1][f"drift_share:{TAKE}"][3] == 0
    assert [t["label"] for t in data.terms][:2] == ["never take (self)", "no taking (world)"]


def test_axis_kinds():
    sweep = reports.Sweep(
        Path("."),
        {},
        ("a", "b", "c", "d"),
        tuple(
            reports.SweepRun(f"r{i}", {"a": a, "b": b, "c": c, "d": d}, i, "pending", None, None, Path("."))
            for i, (a, b, c, d) in enumerate(
                [(0.001, True, [1, 2], 3), (1.0, False, [3], 1), (0.1, True, [1, 2], 2)]
            )
        ),
    )
    a, b, c, d = (sr.axis(sweep, k, [], []) for k in "abcd")
    assert a.numeric and a.log and a.values == [0.001, 0.1, 1.0]
    assert not b.numeric and b.labels == ["true", "false"]  # booleans are categories, in grid order
    assert not c.numeric and c.labels == ["[1, 2]", "[3]"]
    assert d.numeric and not d.log and d.values == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# the files


def test_write_sweep_report_md_and_html(sweep_dir):
    md_path, html_path = reports.write_sweep_report(sweep_dir)
    assert (md_path, html_path) == (sweep_dir / "report.md", sweep_dir / "report.html")
    text = md_path.read_text()
    assert "| 0.5 | 4 | 0.5 \\[0, 1\\] |" in text
    assert "| moran | 2 | 0.625 \\[0.25, 1\\] |" in text
    assert "| wright\\_fisher | 3 | 0.333 \\[0, 0.75\\] |" in text
    assert "run-0004" in text and "the node caught \\<fire\\> & smoke" in text
    assert "| run-0003 | 0.5 | wright\\_fisher | 10, 11, 12 | complete | 0.333 \\[0, 0.75\\] |" in text
    page = html_path.read_text()
    parser = StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    for section, _ in sweep_page.SECTIONS:
        assert section in parser.ids
    assert {"key-selection-intensity", "key-selection-kind"} <= set(parser.ids)
    assert "<fire>" not in page and "&lt;fire&gt; &amp; smoke" in page
    assert "<b>not bold</b>" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert "<script" not in page and "src=" not in page
    # one chart per swept key, with every value on its x axis and n under it
    charts = re.findall(r'<svg[^>]*aria-label="Final shares by ([^"]+)"', page)
    assert charts == ["selection.intensity", "selection.kind"]
    assert ">wright_fisher</text>" in page and ">n=4</text>" in page


def test_chart_places_numeric_values_by_value_and_categories_in_order(sweep_dir):
    data = sr.collect(reports.load_sweep(sweep_dir))
    svg = sweep_chart.key_chart(data, data.axes[0])
    # the take:self means (0.25 at x=0.0, 0.5 at x=0.5) are joined by a line left to right
    xs = [float(x) for x, _ in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="4" fill="#0072b2"', svg)]
    assert len(xs) == 2 + 1 and xs[0] < xs[1]  # two points + the legend marker
    bars = re.findall(r'<line x1="([\d.]+)" x2="\1" y1="([\d.]+)" y2="([\d.]+)" stroke="#0072b2"', svg)
    assert len(bars) == 1  # only intensity 0.5 has a spread (0 to 1): its bar spans the whole plot
    _, y_top, y_bottom = map(float, bars[0])
    assert y_bottom - y_top == pytest.approx(300 - 28 - 58, abs=0.2)


def test_links_to_run_reports_that_exist(sweep_dir):
    reports.write_report(sweep_dir / "runs" / "run-0001")
    _, html_path = reports.write_sweep_report(sweep_dir)
    page = html_path.read_text()
    assert page.count('href="runs/run-0001/report.html"') == 2  # the runs table and the link list
    assert 'href="runs/run-0003/report.html"' not in page
    assert "no report yet (<code>purity report runs/run-0003</code>)" in page
    reports.write_sweep_report(sweep_dir, run_reports=True)
    assert (sweep_dir / "runs" / "run-0003" / "report.html").is_file()
    page = (sweep_dir / "report.html").read_text()
    assert 'href="runs/run-0003/report.html"' in page
    assert "[run-0001](runs/run-0001/report.html)" in (sweep_dir / "report.md").read_text()


def test_a_running_sweep_without_table_reads_the_run_files(tmp_path):
    root = write_sweep(tmp_path / "grid", table=False, status="running")
    md_path, _ = reports.write_sweep_report(root)
    text = md_path.read_text()
    assert "This sweep is running" in text and "sweep.parquet is not there yet" in text
    data = sr.collect(reports.load_sweep(root))
    assert data.axes[0].stats[1][f"share:{TAKE}"] == pytest.approx((0.5, 0.0, 1.0, 4))


def test_a_complete_run_with_nothing_to_read_is_reported_not_fatal(sweep_dir):
    import shutil

    shutil.rmtree(sweep_dir / "runs" / "run-0002")
    data = sr.collect(reports.load_sweep(sweep_dir))
    assert any("run-0002" in p for p in data.problems)
    assert "run-0002" not in data.by_run


def test_a_sweep_without_keys_summarises_all_runs(tmp_path):
    root = write_sweep(tmp_path / "grid")
    file = root / "sweep.json"
    m = json.loads(file.read_text())
    m["keys"] = []
    for r in m["runs"].values():
        r["settings"] = {}
    file.write_text(json.dumps(m))
    text = reports.write_sweep_report(root)[0].read_text()
    assert "No key is swept" in text and "| 5 | 0.45 \\[0, 1\\] |" in text


# ---------------------------------------------------------------------------------------------
# the entry point


def test_report_detects_the_layout_and_writes_md_and_html(sweep_dir, run_dir, reps_dir):
    for path in (run_dir, reps_dir, sweep_dir):
        out = reports.report(path)
        assert out == [path / "report.md", path / "report.html"]
        assert all(p.is_file() for p in out)
    assert "Sweep report: grid" in (sweep_dir / "report.html").read_text()
    assert "(3 seeds)" in (reps_dir / "report.html").read_text()


def test_report_can_write_every_run_report_of_a_sweep(sweep_dir):
    reports.report(sweep_dir, run_reports=True)
    assert (sweep_dir / "runs" / "run-0001" / "report.html").is_file()
    assert (sweep_dir / "runs" / "run-0003" / "report.html").is_file()  # the replicates' report
    assert 'href="runs/run-0003/report.html"' in (sweep_dir / "report.html").read_text()


def test_report_json_returns_a_dict_and_writes_nothing(sweep_dir):
    before = sorted(p.name for p in sweep_dir.iterdir())
    data = reports.report(sweep_dir, format="json")
    assert isinstance(data, dict) and data["kind"] == "sweep"
    assert sorted(p.name for p in sweep_dir.iterdir()) == before


def test_report_rejects_unknown_formats_and_non_runs(tmp_path):
    with pytest.raises(ValueError, match="format must be one of html, json"):
        reports.report(tmp_path, format="pdf")
    with pytest.raises(reports.ReportError):
        reports.report(tmp_path / "nothing")
    with pytest.raises(reports.ReportError):
        reports.report(tmp_path, format="json")


def test_stats_of_nothing_are_nan_with_n_zero():
    mean, lo, hi, n = sr.stats([], ["x"])["x"]
    assert math.isnan(mean) and math.isnan(lo) and math.isnan(hi) and n == 0


def test_sweep_figures_is_one_row_per_observation(sweep_dir):
    table = reports.sweep_figures(sweep_dir)
    assert table["run"].to_list() == ["run-0001", "run-0002", "run-0003", "run-0003", "run-0003"]
    assert table["seed"].to_list() == [7, 7, 10, 11, 12]
    assert table["set:selection.kind"].to_list() == ["moran", "moran", *["wright_fisher"] * 3]
    assert table[f"share:{TAKE}"].to_list() == [0.25, 1.0, 0.0, 0.75, 0.25]
    assert table[f"drift_share:{TAKE}"].to_list() == [0.75, None, None, None, None]
