"""Seed replicates: loading, numbers aggregated over seeds (exact, on the fixture of conftest.py),
the report, and one real `purity run` with `seeds = 3` end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from run_fixtures import (
    EVIL_NAME,
    REP_SEEDS,
    SCOPE_CHANGE,
    replicates_manifest,
    write_replicates,
    write_still_null,
)
from test_reports_render import md_tables, parse, unescaped_pipes

import purity.reports as reports
from purity.reports import births, metrics, price, replicates_page
from purity.reports import replicates as agg
from purity.reports.load import ReportError

SELF = "constraint:take:self"
ROOT = Path(reports.__file__).resolve().parents[1]


def _rows(df: pl.DataFrame, key: str = "seed") -> dict:
    return {r[key]: r for r in df.iter_rows(named=True)}


# ---------------------------------------------------------------------------------------------
# loading


def test_is_replicates_tells_the_layouts_apart(reps_dir, run_dir, tmp_path):
    assert reports.is_replicates(reps_dir)
    assert not reports.is_replicates(reps_dir / "seed=10")
    assert not reports.is_replicates(run_dir)
    assert not reports.is_replicates(tmp_path / "nowhere")
    (tmp_path / "manifest.json").write_text("{broken")
    assert not reports.is_replicates(tmp_path)


def test_load_replicates_reads_every_seed_in_seed_order(reps_dir):
    reps = reports.load_replicates(reps_dir)
    assert isinstance(reps, reports.Replicates)
    assert reps.path == reps_dir and reps.name == "reps" and reps.missing == ()
    assert reps.seeds == [10, 11, 12]
    assert [r.path.name for r in reps.runs] == ["seed=10", "seed=11", "seed=12"]
    assert all(isinstance(r, reports.Run) and r.drift is not None for r in reps.runs)
    assert [r.last_generation for r in reps.runs] == [2, 1, 2]
    assert [r.stopped_at for r in reps.runs] == [None, 1, None]
    assert reps.lock_in_share == 0.7
    assert isinstance(reports.load_any(reps_dir), reports.Replicates)
    assert isinstance(reports.load_any(reps_dir / "seed=11"), reports.Run)
    with pytest.raises(AttributeError):
        reps.runs = ()  # frozen


def test_seed_order_follows_seeds_not_manifest_order(reps_dir):
    m = replicates_manifest()
    m["seeds"], m["runs"] = m["seeds"][::-1], m["runs"][::-1]
    (reps_dir / "manifest.json").write_text(json.dumps(m))
    assert reports.load_replicates(reps_dir).seeds == [10, 11, 12]


def test_load_on_a_replicates_directory_says_what_to_do(reps_dir):
    with pytest.raises(ReportError) as err:
        reports.load(reps_dir)
    assert err.value.path == reps_dir / "manifest.json"
    assert "load_replicates" in str(err.value) and "seed=<s>" in str(err.value)
    with pytest.raises(ReportError, match="single-seed run"):
        reports.load_replicates(reps_dir / "seed=10")


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"runs": "seed=10"}, "runs to be a non-empty list"),
        ({"seeds": [10, 11]}, "seeds to be a list of integers, one per entry"),
        ({"runs": ["seed=10", "../elsewhere", "seed=12"]}, "folders inside the directory"),
    ],
)
def test_broken_replicates_manifest_names_the_file(reps_dir, change, expected):
    (reps_dir / "manifest.json").write_text(json.dumps(replicates_manifest() | change))
    with pytest.raises(ReportError) as err:
        reports.load_replicates(reps_dir)
    assert err.value.path == reps_dir / "manifest.json" and expected in str(err.value)


def test_complete_replicates_with_a_missing_seed_is_an_error(reps_dir):
    shutil.rmtree(reps_dir / "seed=12")
    with pytest.raises(ReportError) as err:
        reports.load_replicates(reps_dir)
    assert err.value.path == reps_dir / "seed=12"


def test_running_replicates_list_seeds_not_started(reps_dir):
    (reps_dir / "manifest.json").write_text(json.dumps(replicates_manifest(status="running")))
    shutil.rmtree(reps_dir / "seed=12")
    (reps_dir / "seed=12").mkdir()  # the runner made the folder, no manifest yet
    reps = reports.load_replicates(reps_dir)
    assert reps.seeds == [10, 11] and reps.missing == ("seed=12",)
    md_path, html_path = reports.write_report(reps_dir)
    text = md_path.read_text()
    assert "This experiment is running: 2 of 3 seeds have a run directory" in text
    assert "Not started (no manifest yet): seed=12." in text
    assert "| never take (self) | constraint | self | 0.5 \\[0.5, 0.5\\] | 0.375 \\[0, 0.75\\] |" in text
    assert parse(html_path.read_text()).errors == []


# ---------------------------------------------------------------------------------------------
# numbers over seeds


def test_survival_mean_band_and_hold_after_fixation(reps_dir):
    reps = reports.load_replicates(reps_dir)
    surv = agg.survival(reps).filter(pl.col("term") == SELF).sort("generation")
    assert surv.get_column("mean").to_list() == pytest.approx([0.5, 0.5, 1 / 3])
    assert surv.get_column("min").to_list() == [0.5, 0.25, 0.0]
    assert surv.get_column("max").to_list() == [0.5, 0.75, 0.75]
    assert surv.get_column("seeds").to_list() == [3, 3, 3]
    assert surv.get_column("held").to_list() == [0, 0, 1]  # seed 11 holds its generation-1 share
    drift = agg.survival(reps, drift=True).filter(pl.col("term") == SELF).sort("generation")
    assert drift.get_column("mean").to_list() == pytest.approx([0.5, 5 / 12, 5 / 12])
    assert drift.get_column("min").to_list() == [0.5, 0.25, 0.25]
    assert drift.get_column("held").to_list() == [0, 0, 0]


def test_verdict_k_of_k_wilson_and_mean_verdict(reps_dir):
    v = _rows(agg.verdict(reports.load_replicates(reps_dir)), "term")
    s = v[SELF]
    assert (s["start_mean"], s["start_min"], s["start_max"]) == (0.5, 0.5, 0.5)
    assert s["end_mean"] == pytest.approx(1 / 3) and (s["end_min"], s["end_max"]) == (0.0, 0.75)
    assert s["drift_mean"] == pytest.approx(5 / 12) and (s["drift_min"], s["drift_max"]) == (0.25, 0.5)
    assert (s["survived"], s["seeds"], s["drift_seeds"]) == (2, 3, 3)
    assert s["survived_low"] == pytest.approx(0.2076596, abs=1e-6)
    assert s["survived_high"] == pytest.approx(0.9385081, abs=1e-6)
    assert s["verdict"] is None  # the word comes from the corrected test only (`verdict_inference`)
    w = v["constraint:take:world"]
    assert (w["survived"], w["survived_low"], w["verdict"]) == (0, 0.0, None)
    assert w["survived_high"] == pytest.approx(0.5614970, abs=1e-6)
    assert list(v) == [SELF, "constraint:take:world", "constraint:take:lineage", "standing:commons_above"]


def test_wilson_matches_the_expressions():
    assert metrics.wilson(2, 3) == pytest.approx((0.2076596, 0.9385081), abs=1e-6)
    assert metrics.wilson(0, 3)[0] == 0.0 and metrics.wilson(3, 3)[1] == 1.0
    assert metrics.wilson(5, 10) == pytest.approx((0.2365931, 0.7634069), abs=1e-6)
    df = pl.DataFrame({"k": [0, 1, 2, 3, 5], "n": [3, 3, 3, 3, 10]})
    lo, hi = metrics.wilson_exprs(pl.col("k"), pl.col("n"))
    got = [b for row in df.select(lo.alias("lo"), hi.alias("hi")).rows() for b in row]
    assert got == pytest.approx([b for k, n in df.rows() for b in metrics.wilson(k, n)])


def test_process_share_payoff_and_lineage_over_seeds(reps_dir):
    reps = reports.load_replicates(reps_dir)
    ps = agg.process_share(reps)
    assert ps.get_column("mean").to_list() == pytest.approx([0.375, 0.375, 0.25])
    assert ps.get_column("min").to_list() == [0.375, 0.1875, 0.0]
    assert ps.get_column("max").to_list() == [0.375, 0.5625, 0.5625]
    fit = {
        (r["generation"], r["profile"]): (r["mean"], r["min"], r["max"], r["seeds"])
        for r in agg.fitness(reps).iter_rows(named=True)
    }
    assert fit[(0, "grabber")] == (3.0, 2.0, 4.0, 3)
    assert fit[(2, "grabber")] == (3.0, 2.0, 4.0, 3)  # seed 11 (payoff 3) held
    assert fit[(2, "keeper")] == (1.0, 1.0, 1.0, 2)  # seed 10 has no keeper left
    ls = agg.lineage(reps)
    assert ls.get_column("mean").to_list() == pytest.approx([0.25, 0.75, 11 / 12])


def test_lock_in_per_seed_uses_the_experiment_threshold(reps_dir, tmp_path):
    reps = reports.load_replicates(reps_dir)
    li = _rows(agg.lock_ins(reps))  # lock_in = 0.7 in the manifest
    assert [li[s]["generation"] for s in REP_SEEDS] == [1, 1, 2]
    assert [li[s]["process_share"] for s in REP_SEEDS] == pytest.approx([0.25, 0.5625, 0.25])
    assert [li[s]["founder"] for s in REP_SEEDS] == [2, 1, 0]
    assert [li[s]["max_share"] for s in REP_SEEDS] == [1.0, 1.0, 0.75]
    default = reports.load_replicates(write_replicates(tmp_path / "default", lock_in=None))
    assert default.lock_in_share == 0.9
    li = _rows(agg.lock_ins(default))
    assert [li[s]["generation"] for s in REP_SEEDS] == [2, 1, None]
    assert [li[s]["process_share"] for s in REP_SEEDS[:2]] == pytest.approx([0.0, 0.5625])
    # the single-seed metric reads the same threshold from the seed's manifest
    assert metrics.lock_in(reps.runs[0]).generation == 1
    assert metrics.lock_in(default.runs[0]).generation == 2


def test_violations_births_and_mutations_are_pooled(reps_dir):
    reps = reports.load_replicates(reps_dir)
    pooled = agg.pooled(reps)
    keeper = _rows(metrics.violations(pooled), "profile")["keeper"]
    assert (keeper["own"], keeper["opportunity"], keeper["rate"]) == (2.0, 8.0, 0.25)
    assert keeper["rate_unwatched"] == 0.25 and keeper["rate_watched"] is None
    summary = births.mutation_summary(pooled.agents, births.generation_ranges(0, 2))
    assert summary.rows() == [(0, 0, 0, 0, 0, 0, 0, 0), (1, 1, 12, 10, 2, 0, 0, 0), (2, 2, 7, 5, 1, 1, 0, 1)]
    assert summary.columns == ["lo", "hi", "births", "copies", "weights", "add", "remove", "scope"]
    changes = births.mutation_changes(pooled.agents)
    assert changes.rows() == [("add:constraint:take:world", 1), (SCOPE_CHANGE, 1)]


def test_generation_ranges_cover_the_run():
    assert births.generation_ranges(0, 2) == [(0, 0), (1, 1), (2, 2)]
    ranges = births.generation_ranges(0, 99)
    assert len(ranges) == 10 and ranges[0] == (0, 9) and ranges[-1] == (90, 99)
    assert births.generation_ranges(0, 24)[-1] == (24, 24)


def test_lock_in_marks_group_seeds_by_generation(reps_dir):
    li = agg.lock_ins(reports.load_replicates(reps_dir))
    assert replicates_page.lock_in_marks(li) == [(1.0, "lock-in seeds 10, 11"), (2.0, "lock-in seed 12")]
    assert replicates_page.lock_in_marks(li, limit=1) == [(1.0, "lock-in seed 10 (first of 3)")]


# ---------------------------------------------------------------------------------------------
# the report


def test_replicates_report_markdown(reps_dir):
    md_path, html_path = reports.write_report(reps_dir)
    assert (md_path, html_path) == (reps_dir / "report.md", reps_dir / "report.html")
    assert not (reps_dir / "seed=10" / "report.md").exists()
    text = md_path.read_text()
    assert text.startswith("# Survival report: reps (3 seeds)")
    assert "seed 11 stopped at fixation at generation 1" in text
    assert (
        "Seed 11 (at generation 1) stopped at fixation: its curves hold its last value up to "
        "generation 2, the last generation any seed or drift twin recorded"
    ) in text
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == [
        "## Verdict",
        "## Survival",
        "## Price decomposition",
        "## Process share",
        "## Fitness",
        "## Violations",
        "## Training",
        "## Reflection",
        "## Lineage",
        "## Run",
    ]  # oversight: training curves
    verdict = text.split("## Verdict")[1].split("## Survival")[0]
    assert (
        "| process term | kind | scope | start share | end share | drift end share | "
        "survived in k of K seeds | 95% interval (Wilson) | survived (majority of seeds) | "
        "end share 95% (t) | null 95% band | p (Holm) | verdict | moved most by |"
    ) in verdict
    assert (
        "| never take (self) | constraint | self | 0.5 \\[0.5, 0.5\\] | 0.333 \\[0, 0.75\\] | "
        "0.417 \\[0.25, 0.5\\] | 2 of 3 | \\[0.208, 0.939\\] | yes | – | – | – | we can't tell: no null recorded | – |"
    ) in verdict
    write_still_null(reps_dir)  # every null replicate ends where it started: 0.5, and 0 for the rest
    verdict = reports.write_report(reps_dir)[0].read_text().split("## Verdict")[1].split("## Survival")[0]
    # 3 seeds' mean 1/3 against 666 null means of 0.5: two-sided 2/667, Holm over 4 terms: 8/667
    assert (
        "| 2 of 3 | \\[0.208, 0.939\\] | yes | \\[0, 1\\] | \\[0.5, 0.5\\] | 0.012 | declined beyond drift | selection"
    ) in verdict
    assert (
        "| 0 of 3 | \\[0, 0.561\\] | no | \\[0, 0\\] | \\[0, 0\\] | 1 | extinct in every run and under drift too | no force beyond drift |"
        in verdict
    )
    assert "| 2 | 3 (1 held) | 0.333 \\[0, 0.75\\] |" in text
    assert "| 2 | 3 (1 held) | 0.25 | 0 | 0.562 |" in text  # process share
    assert "in 3 of 3 seeds: seed 10 at generation 1" in text
    assert "| 12 | 2 | 0 | grabber | 0.75 | 0.25 | 0.75 |" in text
    assert "### Mutation" in text and "| 2 | 7 | 5 | 1 | 1 | 0 | 1 |" in text
    assert "| keeper | take | 0.25 | 0 | 3 | 0 | 0 | 8 |" in text
    assert "| 11 | seed=11 | complete | 2 / 3 | stopped at fixation at generation 1 (of 3 planned) |" in text
    assert "| lock-in threshold | 0.7 |" in text
    for table in md_tables(text):
        assert len({unescaped_pipes(line) for line in table}) == 1, table


def test_replicates_report_without_lock_in_says_none(tmp_path):
    path = write_replicates(tmp_path / "r", lock_in=None)
    text = reports.write_report(path)[0].read_text()
    assert "in 2 of 3 seeds: seed 10 at generation 2 (its process share then 0); seed 11" in text
    assert "| 12 | none | – | – | – | – | 0.75 |" in text
    assert "| lock-in threshold | 0.9 |" in text


def test_replicates_report_html(reps_dir):
    _, html_path = reports.write_report(write_still_null(reps_dir))
    text = html_path.read_text()
    p = parse(text)
    assert p.errors == [] and p.stack == []
    for sid in (
        "verdict",
        "survival",
        "price",
        "process-share",
        "fitness",
        "violations",
        "lineage",
        "run",
        "mutation",
        "dominant-lineages",
    ):
        assert f'id="{sid}"' in text
    assert "http://" not in text and "https://" not in text and "<script" not in text
    survival = text.split('id="survival"')[1].split('id="price"')[0]
    assert survival.count("<svg") == 4
    assert survival.count('fill-opacity="0.15"') == 4  # min–max band of the seeds' mean
    assert survival.count('fill-opacity="0.07"') == 4  # drift twins' band
    assert 'stroke-dasharray="6 4"' in survival  # drift twins' mean, dashed
    assert survival.count('class="vline"') == 8  # two lock-in generations on each of 4 charts
    assert "lock-in seeds 10, 11" in survival and "lock-in seed 12" in survival
    assert "band: min–max over seeds" in survival
    assert 'class="v-declined"' in text
    assert "survived in k of K seeds" in text


def test_user_text_is_escaped_in_replicates_report(tmp_path):
    path = write_replicates(tmp_path / "evil|reps")
    for s in REP_SEEDS:
        for sub in (path / f"seed={s}", path / f"seed={s}" / "drift"):
            m = json.loads((sub / "manifest.json").read_text())
            m["profiles"][EVIL_NAME] = m["profiles"].pop("keeper")
            (sub / "manifest.json").write_text(json.dumps(m))
            for part in sub.glob("*/gen=*/part-0.parquet"):
                df = pl.read_parquet(part)
                if "profile" in df.columns:
                    df.with_columns(pl.col("profile").replace("keeper", EVIL_NAME)).write_parquet(part)
    top = json.loads((path / "manifest.json").read_text())
    top["name"] = f"reps {EVIL_NAME}"
    (path / "manifest.json").write_text(json.dumps(top))
    md_path, html_path = reports.write_report(path)
    html_text, md_text = html_path.read_text(), md_path.read_text()
    assert "<script" not in html_text and "&lt;script&gt;" in html_text
    assert parse(html_text).errors == []
    assert "<script>" not in md_text and r"\<script\>" in md_text
    for table in md_tables(md_text):
        assert len({unescaped_pipes(line) for line in table}) == 1, table


def test_each_seed_folder_reports_on_its_own(reps_dir):
    md_path, html_path = reports.write_report(reps_dir / "seed=11")
    assert md_path == reps_dir / "seed=11" / "report.md"
    text = md_path.read_text()
    assert (
        "Arena commons, seed 11, 2 generations recorded, status complete, stopped at fixation at "
        "generation 1 (of 3 planned)." in text
    )
    assert "This run stopped at fixation at generation 1" in text
    assert "| stopped | stopped at fixation at generation 1 (of 3 planned) |" in text
    html_text = html_path.read_text()
    assert parse(html_text).errors == []
    survival = html_text.split('id="survival"')[1].split('id="price"')[0]
    assert "lock-in (gen 1)" in survival and 'class="vline"' in survival


def test_runs_without_a_mutation_column_still_report(reps_dir):
    for part in (reps_dir / "seed=10" / "agents").glob("gen=*/part-0.parquet"):
        pl.read_parquet(part).drop("mutation").write_parquet(part)
    run = reports.load(reps_dir / "seed=10")
    assert run.agents.schema["mutation"] == pl.String
    text = reports.write_report(reps_dir / "seed=10")[0].read_text()
    assert "This run does not record mutations" in text
    text = reports.write_report(reps_dir)[0].read_text()
    assert "| 1 | 12 |" in text  # pooled births still counted; seed 10's labels are unknown


# ---------------------------------------------------------------------------------------------
# end to end: the real runner


E2E = """\
[experiment]
name = "e2e"
seed = 3
seeds = 3
generations = 3
population = 8
[arena]
name = "commons"
episodes = 1
steps = 10
[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 4, rollouts = 1 }
[[population.mix]]
profile = "self-keeper"
share = 0.5
capability = { candidates = 4, rollouts = 1 }
[control]
neutral_drift = true
"""


def test_purity_run_with_seeds_writes_an_aggregated_report(tmp_path):
    exp = tmp_path / "e2e.toml"
    exp.write_text(E2E)
    out = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "purity", "run", str(exp), "--workers", "0", "--out", str(out), "--quiet"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    run_dir = out / "e2e"
    assert reports.is_replicates(run_dir)
    text = (run_dir / "report.md").read_text()
    assert text.startswith("# Survival report: e2e (3 seeds)")
    assert "survived in k of K seeds" in text and "95% interval (Wilson)" in text
    assert "| never take (self acts) | constraint | self |" in text
    assert " of 3 | \\[" in text
    assert parse((run_dir / "report.html").read_text()).errors == []
    reps = reports.load_replicates(run_dir)
    assert reps.seeds == [3, 4, 5] and all(r.drift is not None for r in reps.runs)
    assert "mutation" in reps.runs[0].agents.columns
    md_path, _ = reports.write_report(run_dir / "seed=4")
    assert md_path.read_text().startswith("# Survival report: e2e")
    for run in reps.runs:
        for target in (run, run.drift):
            assert price.max_residual(price.decompose(target)) < 1e-9
    assert "## Price decomposition" in text and "moved most by" in text


# ---------------------------------------------------------------------------------------------
# Price decomposition over seeds


def test_price_over_seeds(reps_dir):
    reps = reports.load_replicates(reps_dir)
    steps, drift = agg.price_steps(reps), agg.price_steps(reps, drift=True)
    assert sorted(steps) == list(REP_SEEDS) and sorted(drift) == list(REP_SEEDS)
    tot = _rows(agg.price_totals(steps, drift), "trait")[f"carriers:{SELF}"]
    # end − start per seed: -0.5, 0.25 (seed 11, recorded rows only), -0.25
    assert tot["seeds"] == 3
    assert tot["observed_mean"] == pytest.approx(-1 / 6)
    assert (tot["observed_min"], tot["observed_max"]) == (-0.5, 0.25)
    for seed_steps in steps.values():
        assert price.max_residual(seed_steps) < 1e-12
    cum = (
        agg.price_cumulative(reps, steps)
        .filter((pl.col("trait") == f"carriers:{SELF}") & (pl.col("part") == "observed"))
        .sort("generation")
    )
    assert cum.get_column("generation").to_list() == [0, 1, 2]
    assert cum.get_column("mean").to_list() == pytest.approx([0.0, 0.0, -1 / 6])
    assert cum.get_column("held").to_list() == [0, 0, 1]  # seed 11 holds its totals
    f = _rows(agg.forces(steps, drift), "term")[SELF]
    assert f["force_seeds"] == 3
    assert sum(f[f"largest_{x}"] for x in price.FORCES) <= 3
    per = [
        price.forces(steps[s], drift[s]).filter(pl.col("term") == SELF).row(0, named=True) for s in REP_SEEDS
    ]
    assert f["force_selection"] == pytest.approx(sum(p["force_selection"] for p in per) / 3)
    assert f["beyond_min"] == min(p["beyond_drift"] for p in per)


def test_replicates_report_has_price_and_moved_most(reps_dir):
    assert "| we can't tell: no null recorded | – | 0.125 \\[-0.5, 0.5\\] |" in (
        reports.write_report(reps_dir)[0].read_text()
    )  # without a null no force is credited, whatever the seeds' largest
    md_path, html_path = reports.write_report(write_still_null(reps_dir))
    text = md_path.read_text()
    verdict = text.split("## Verdict")[1].split("## Survival")[0]
    assert "| moved most by | selection beyond the null |" in verdict
    # against the null (every replicate's selection part 0 here), not the one twin per seed; Holm
    # over the force family (selection and mutation × 4 terms): 8 × 2/667 = 0.024
    assert (
        "| selection (+0.125); largest in: selection 3 (of 3 seeds) | +0.125 \\[+0.125, +0.125\\], p (Holm) 0.024 |"
        in verdict
    )
    assert (
        "Against the drift null: one lineage took over in 3 of 3 seed(s), a share 1, where 1 of runs" in text
    )
    part = text.split("## Price decomposition")[1].split("## Process share")[0]
    assert (
        "| never take (self): carrier share | 0.5 \\[0.5, 0.5\\] | 0.333 \\[0, 0.75\\] | "
        "-0.167 \\[-0.5, 0.25\\] |" in part
    )
    assert "mean \\[min, max\\] over seeds" in part
    html_text = html_path.read_text()
    assert parse(html_text).errors == []
    price_html = html_text.split('id="price"')[1].split('id="process-share"')[0]
    assert price_html.count("<svg") == 5 and "selection, drift twins" in price_html
    assert "Dominant lineages of seed 10" in html_text
