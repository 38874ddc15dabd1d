"""Price decomposition: exact numbers on a hand-built Moran-style run, and exactness on real runs.

The hand-built run (threshold 0.1, 4 agents a generation; weights in conftest KEYS order:
outcome, take:self, take:world, take:lineage, commons):

    gen 0   id 0, 1 keepers (take:self 3, process share 0.5); id 2, 3 grabbers (pure, 0)
    gen 1   0 survives; 2 begets 4 (an exact copy, replaced within the generation: only in the
            lineage table), 4 begets 5 ("add:standing…", commons 1, process share 0.5); 0 begets 6
            (exact copy); 1 designs 7 (take:self 2, process share 0.1)
    gen 2   5 and 6 survive; 7 self-modifies into 9 (drops take:self, commons 1, share 0.5);
            10 has parent 99, which no table knows (unattributed; take:lineage inf, share 1)

Mean process share 0.25 → 0.4 → 0.625. Step 0→1: descendants w = (2, 1, 1, 0), selection
Σ w (z − z̄) / N' = 0.125, mutation (5 via the hidden 4) 0.5 / 4, copy 0, design −0.4 / 4.
Step 1→2: w = (0, 1, 1, 1), selection −0.1 / 4, self-modification 0.4 / 4, unattributed
(1 − 0.4) / 4. Carrier share of take:self 0.5 → 0.75 → 0.25: selection 0.25 then −0.0625,
self-modification −0.25, unattributed −0.1875.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from run_fixtures import DRIFT_AGENTS, INF, MAIN_EPISODES, manifest, write_run

import purity.reports as reports
from purity.reports import price, price_page
from purity.reports.births import births

ROOT = Path(reports.__file__).resolve().parents[1]
SELF, LINEAGE, COMMONS = "constraint:take:self", "constraint:take:lineage", "standing:commons_above"

HAND_AGENTS = [
    (0, 0, "keeper", "founder", None, 0, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (0, 1, "keeper", "founder", None, 1, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (0, 2, "grabber", "founder", None, 2, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
    (0, 3, "grabber", "founder", None, 3, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
    (1, 0, "keeper", "founder", None, 0, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (1, 5, "grabber", "inherit", 4, 2, 2.0, 0.5, (1, 0, 0, 0, 1), "add:standing:commons_above"),
    (1, 6, "keeper", "inherit", 0, 0, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (1, 7, "keeper", "design", 1, 1, 1.0, 0.1, (1, 2, 0, 0, 0), ""),
    (2, 5, "grabber", "inherit", 4, 2, 2.0, 0.5, (1, 0, 0, 0, 1), "add:standing:commons_above"),
    (2, 6, "keeper", "inherit", 0, 0, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (2, 9, "keeper", "self_modify", 7, 1, 1.0, 0.5, (1, 0, 0, 0, 1), ""),
    (2, 10, "grabber", "inherit", 99, 3, 2.0, 1.0, (1, 0, 0, INF, 0), "weights"),
]
HAND_LINEAGE = [
    (1, 2, 4, "inherit"),
    (1, 4, 5, "inherit"),
    (1, 0, 6, "inherit"),
    (1, 1, 7, "design"),
    (2, 7, 9, "self_modify"),
]


def write_hand_run(root: Path, drift: bool = False) -> Path:
    path = write_run(root, manifest(), HAND_AGENTS, MAIN_EPISODES)
    shutil.rmtree(path / "lineage")
    lin = pl.DataFrame(
        HAND_LINEAGE,
        schema={"generation": pl.Int64, "parent": pl.Int64, "child": pl.Int64, "kind": pl.String},
        orient="row",
    )
    for (g,), part in lin.partition_by("generation", as_dict=True).items():
        (path / "lineage" / f"gen={g}").mkdir(parents=True)
        part.write_parquet(path / "lineage" / f"gen={g}" / "part-0.parquet")
    if drift:
        write_run(path / "drift", manifest(role="drift"), DRIFT_AGENTS, MAIN_EPISODES)
    return path


@pytest.fixture
def hand(tmp_path: Path) -> reports.Run:
    return reports.load(write_hand_run(tmp_path / "hand", drift=True))


def _step(steps: pl.DataFrame, trait: str, generation: int) -> dict:
    return steps.filter((pl.col("trait") == trait) & (pl.col("generation") == generation)).row(0, named=True)


def test_hand_built_process_share_steps(hand):
    steps = price.decompose(hand)
    one, two = _step(steps, "process_share", 1), _step(steps, "process_share", 2)
    assert (one["from_generation"], one["mean_before"], one["mean_after"]) == (0, 0.25, pytest.approx(0.4))
    assert one["observed"] == pytest.approx(0.15)
    assert one["selection"] == pytest.approx(0.125)
    assert one["mutation"] == pytest.approx(0.125)  # 5 descends from 2 through 4, born and replaced
    assert one["copy"] == 0.0 and one["survivors"] == 0.0
    assert one["design"] == pytest.approx(-0.1)
    assert one["self_modify"] == 0.0 and one["unattributed"] == 0.0
    assert [one[f"n_{c}"] for c in price.COMPONENTS] == [1, 1, 1, 1, 0, 0]
    assert two["observed"] == pytest.approx(0.225)
    assert two["selection"] == pytest.approx(-0.025)
    assert two["self_modify"] == pytest.approx(0.1)
    assert two["unattributed"] == pytest.approx(0.15)
    assert two["survivors"] == 0.0 and two["mutation"] == 0.0 and two["design"] == 0.0
    assert [two[f"n_{c}"] for c in price.COMPONENTS] == [2, 0, 0, 0, 1, 1]
    assert price.max_residual(steps) < 1e-15


def test_hand_built_carrier_share_and_weights(hand):
    steps = price.decompose(hand)
    one, two = _step(steps, f"carriers:{SELF}", 1), _step(steps, f"carriers:{SELF}", 2)
    assert (one["observed"], one["selection"], one["mutation"], one["design"]) == (0.25, 0.25, 0.0, 0.0)
    assert (two["observed"], two["selection"], two["self_modify"], two["unattributed"]) == (
        -0.5,
        -0.0625,
        -0.25,
        -0.1875,
    )
    w1, w2 = _step(steps, f"weight:{SELF}", 1), _step(steps, f"weight:{SELF}", 2)
    assert (w1["observed"], w1["selection"], w1["design"]) == (0.5, 0.75, -0.25)
    assert (w2["observed"], w2["selection"], w2["self_modify"], w2["unattributed"]) == (
        -1.25,
        -0.25,
        -0.5,
        -0.5,
    )
    # a hard constraint (inf) in generation 2: that step of the weight has no mean change
    assert _step(steps, f"weight:{LINEAGE}", 1)["observed"] == 0.0
    assert _step(steps, f"weight:{LINEAGE}", 2)["observed"] is None
    assert _step(steps, f"carriers:{LINEAGE}", 2)["unattributed"] == 0.25  # inf carries


def test_cumulative_and_totals(hand):
    steps = price.decompose(hand)
    cum = price.cumulative(steps).filter(pl.col("trait") == "process_share")
    assert cum.get_column("generation").to_list() == [0, 1, 2]
    assert cum.get_column("selection").to_list() == pytest.approx([0.0, 0.125, 0.1])
    assert cum.get_column("observed").to_list() == pytest.approx([0.0, 0.15, 0.375])
    assert cum.get_column("mean").to_list() == pytest.approx([0.25, 0.4, 0.625])
    weight = price.cumulative(steps).filter(pl.col("trait") == f"weight:{LINEAGE}")
    assert weight.get_column("selection").null_count() == 3  # null throughout, not a partial sum
    tot = {r["trait"]: r for r in price.totals(steps).iter_rows(named=True)}
    ps = tot["process_share"]
    assert (ps["start"], ps["end"]) == (0.25, 0.625)
    assert ps["observed"] == pytest.approx(0.375)
    parts = ps["selection"] + sum(ps[c] for c in price.COMPONENTS)
    assert parts == pytest.approx(ps["end"] - ps["start"], abs=1e-12)
    assert ps["drift_selection"] is None and ps["beyond_drift"] is None
    assert tot[f"carriers:{SELF}"]["observed"] == -0.25


def test_moved_most_by_and_drift(hand):
    steps, drift = price.decompose(hand), price.decompose(hand.drift)
    # the drift twin: every agent has one child identical to it, so nothing moves
    assert drift.get_column("selection").abs().max() == 0.0
    f = {r["term"]: r for r in price.forces(steps, drift).iter_rows(named=True)}
    s = f[SELF]
    assert (s["force_selection"], s["force_mutation"], s["force_design"], s["force_self_modify"]) == (
        0.1875,
        0.0,
        0.0,
        -0.25,
    )
    assert (s["moved_most"], s["moved_value"]) == ("self_modify", -0.25)
    assert (s["drift_selection"], s["beyond_drift"]) == (0.0, 0.1875)
    # commons: mutation 0.25 and self-modification 0.25 tie; the first force in FORCES wins
    assert (f[COMMONS]["moved_most"], f[COMMONS]["moved_value"]) == ("mutation", 0.25)
    assert f["constraint:take:world"]["moved_most"] == "none"
    assert price_page.force_text("self_modify", -0.25) == "self-modification (-0.25)"
    assert (
        price_page.force_text("none", 0.0) == "no force beyond drift"
        and price_page.force_text(None, None) == "–"
    )
    assert price_page.signed(3e-17) == "0" and price_page.signed(0.5) == "+0.5"


def test_report_shows_the_decomposition(hand):
    md_path, html_path = reports.write_report(hand.path)
    text = md_path.read_text()
    assert "## Price decomposition" in text
    assert (
        "| never take (self) | constraint | self | 0.5 | 0.25 | 0.75 | – | – | we can't tell: no null recorded | "
        "– | +0.188 |" in text
    )
    assert (
        "| never take (self): carrier share | 0.5 | 0.25 | -0.25 | +0.188 | 0 | 0 | -0.25 | -0.188 | "
        "0 | +0.188 |"
    ) in text
    assert (
        "| mean process share | 0.25 | 0.625 | +0.375 | +0.1 | +0.125 | -0.1 | +0.1 | +0.15 | 0 | +0.1 |"
        in text
    )
    assert "| no taking (lineage): mean weight | – | – | – | – | – | – | – | – | 0 | – |" in text
    assert "unattributed: agents whose parent links never reach" in text
    assert "largest \\|selection + transmission − observed\\|" in text
    html_text = html_path.read_text()
    price_html = html_text.split('id="price"')[1].split('id="process-share"')[0]
    assert price_html.count("<svg") == 5  # mean process share + 4 process terms
    assert "selection, drift twin" in price_html and 'stroke-dasharray="6 4"' in price_html
    assert ">design<" in price_html and ">self-modification<" in price_html


def test_single_generation_has_no_steps(tmp_path):
    rows = [r for r in HAND_AGENTS if r[0] == 0]
    run = reports.load(write_run(tmp_path / "one", manifest(), rows, []))
    assert price.decompose(run).height == 0
    assert price.totals(price.decompose(run)).height == 0
    assert (
        "The decomposition needs two recorded generations." in reports.write_report(run.path)[0].read_text()
    )


# ---------------------------------------------------------------------------------------------
# real runs: the parts add up to the observed change


EXPERIMENT = """\
[experiment]
name = "{name}"
seed = 5
generations = 6
population = 16
[arena]
name = "commons"
episodes = 1
steps = 10
[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = {{ candidates = 4, rollouts = 1 }}
[[population.mix]]
profile = "self-keeper"
share = 0.25
capability = {{ candidates = 4, rollouts = 1 }}
[[population.mix]]
profile = "steward"
share = 0.25
capability = {{ candidates = 4, rollouts = 1 }}
[selection]
kind = "{kind}"
[mutation]
rate = 0.5
add_rate = 0.2
remove_rate = 0.2
scope_rate = 0.2
[control]
neutral_drift = true
"""


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory) -> dict[str, reports.Run]:
    out = tmp_path_factory.mktemp("price-runs")
    runs = {}
    for kind in ("moran", "wright_fisher"):
        exp = out / f"{kind}.toml"
        exp.write_text(EXPERIMENT.format(name=kind, kind=kind))
        done = subprocess.run(
            [sys.executable, "-m", "purity", "run", str(exp), "--workers", "0", "--out", str(out), "--quiet"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        runs[kind] = reports.load(out / kind)
    return runs


def _nearest_ancestors(run: reports.Run, g: int) -> list[int]:
    """Slow and plain: follow parent links (lineage table first, then agents) up to generation g."""
    parent = dict(zip(run.agents["id"].to_list(), run.agents["parent"].to_list()))
    parent |= dict(zip(run.lineage["child"].to_list(), run.lineage["parent"].to_list()))
    alive = set(run.agents.filter(pl.col("generation") == g)["id"].to_list())
    out = []
    for j in run.agents.filter(pl.col("generation") == g + 1)["id"].to_list():
        while j not in alive:
            j = parent[j]
        out.append(j)
    return out


@pytest.mark.parametrize("kind", ["moran", "wright_fisher"])
def test_parts_add_up_exactly_on_real_runs(real_runs, kind):
    run = real_runs[kind]
    for target in (run, run.drift):
        steps = price.decompose(target)
        assert steps.height == 5 * (1 + 2 * len(target.process_terms))
        assert steps.get_column("n_unattributed").sum() == 0  # every agent traced to generation g
        assert price.max_residual(steps) < 1e-9
        parts = steps.select(pl.sum_horizontal("selection", *price.COMPONENTS) - pl.col("observed"))
        finite = parts.to_series().drop_nulls()
        assert finite.len() > 0 and finite.abs().max() < 1e-9
        assert steps.get_column("survivors").abs().max() == 0.0
        assert steps.get_column("copy").abs().max() == 0.0  # exact copies carry no change


@pytest.mark.parametrize("kind", ["moran", "wright_fisher"])
def test_selection_is_the_covariance_of_descendants(real_runs, kind):
    """Cov(w, z) / w̄ with w from a plain ancestor walk, against the vectorised decomposition."""
    run = real_runs[kind]
    steps = price.decompose(run)
    agents = run.agents.sort("generation", "id")
    for g in range(5):
        before = agents.filter(pl.col("generation") == g)
        after = agents.filter(pl.col("generation") == g + 1)
        anc = _nearest_ancestors(run, g)
        counts = {i: 0 for i in before["id"].to_list()}
        for a in anc:
            counts[a] += 1
        w = np.array([counts[i] for i in before["id"].to_list()], dtype=float)
        z = before["process_share"].to_numpy()
        cov = np.mean(w * z) - w.mean() * z.mean()
        got = _step(steps, "process_share", g + 1)
        assert got["selection"] == pytest.approx(cov / w.mean(), abs=1e-12)
        z_of = dict(zip(before["id"].to_list(), z.tolist()))
        transmission = np.mean(after["process_share"].to_numpy() - np.array([z_of[a] for a in anc]))
        parts = sum(got[c] for c in price.COMPONENTS)
        assert parts == pytest.approx(transmission, abs=1e-12)
        survivors = set(before["id"].to_list()) & set(after["id"].to_list())
        assert got["n_survivors"] == len(survivors)
        if kind == "wright_fisher":
            assert got["n_survivors"] == 0


def test_real_run_report_and_verdict(real_runs):
    run = real_runs["moran"]
    data_md = (run.path / "report.md").read_text()
    assert "## Price decomposition" in data_md and "moved most by" in data_md
    steps, drift = price.decompose(run), price.decompose(run.drift)
    tot = price.totals(steps, drift)
    for r in tot.filter(pl.col("kind") != "weight").iter_rows(named=True):
        assert r["observed"] == pytest.approx(r["end"] - r["start"], abs=1e-12)
        assert r["beyond_drift"] == pytest.approx(r["selection"] - r["drift_selection"], abs=1e-15)
    forces = price.forces(steps, drift)
    assert forces.height == len(run.process_terms)
    for r in forces.iter_rows(named=True):
        values = {f: abs(r[f"force_{f}"]) for f in price.FORCES}
        if r["moved_most"] != "none":
            assert values[r["moved_most"]] == max(values.values())
    assert not math.isnan(price.max_residual(steps))


# Self-modification rows (parent == child, same id): founder 0 modifies itself after gen 0 and
# survives (origin self_modify); founder 1 drops take:self after gen 0 and dies, its exact copy 4
# carries the changed row (an `inherit` birth with an empty mutation label, not a copy of what 1
# played); 2 and 3 are replaced by an exact copy 5 of 2. take:self 3 → 0 in 0 and 1.
SELF_AGENTS = [
    (0, 0, "keeper", "founder", None, 0, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (0, 1, "keeper", "founder", None, 1, 1.0, 0.5, (1, 3, 0, 0, 0), ""),
    (0, 2, "grabber", "founder", None, 2, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
    (0, 3, "grabber", "founder", None, 3, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
    (1, 0, "keeper", "self_modify", None, 0, 1.0, 0.0, (1, 0, 0, 0, 0), ""),
    (1, 4, "keeper", "inherit", 1, 1, 1.0, 0.0, (1, 0, 0, 0, 0), ""),
    (1, 5, "grabber", "inherit", 2, 2, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
    (1, 6, "grabber", "inherit", 2, 3, 2.0, 0.0, (1, 0, 0, 0, 0), ""),
]
SELF_LINEAGE = [
    (1, 0, 0, "self_modify", "drop take:self", [1.0, 3, 0, 0, 0], [1.0, 0, 0, 0, 0]),
    (1, 1, 1, "self_modify", "drop take:self", [1.0, 3, 0, 0, 0], [1.0, 0, 0, 0, 0]),
    (1, 1, 4, "inherit", "", None, None),
    (1, 2, 5, "inherit", "", None, None),
    (1, 2, 6, "inherit", "", None, None),
]


def test_self_modification_rows_are_no_parent_links_and_credit_self_modification(tmp_path):
    from purity.reports.lineage import founders_of

    path = write_run(tmp_path / "selfmod", manifest(), SELF_AGENTS, MAIN_EPISODES)
    shutil.rmtree(path / "lineage")
    (path / "lineage" / "gen=1").mkdir(parents=True)
    pl.DataFrame(
        SELF_LINEAGE,
        orient="row",
        schema={
            "generation": pl.Int64,
            "parent": pl.Int64,
            "child": pl.Int64,
            "kind": pl.String,
            "change": pl.String,
            "before": pl.List(pl.Float64),
            "after": pl.List(pl.Float64),
        },
    ).write_parquet(path / "lineage" / "gen=1" / "part-0.parquet")
    run = reports.load(path)
    assert run.lineage.height == 5 and run.lineage["before"].dtype == pl.List(pl.Float64)
    steps = price.decompose(run)
    share = _step(steps, "process_share", 1)
    # 0.25 → 0: selection (w = 1, 1, 2, 0) Σ w (z − z̄) / 4 = 0; self-modification: 0 and 4, −0.5 each
    assert share["observed"] == pytest.approx(-0.25)
    assert share["selection"] == pytest.approx(0.0)
    assert share["self_modify"] == pytest.approx(-0.25)
    assert share["copy"] == 0.0 and share["mutation"] == 0.0 and share["unattributed"] == 0.0
    assert [share[f"n_{c}"] for c in price.COMPONENTS] == [0, 2, 0, 0, 2, 0]
    carriers = _step(steps, f"carriers:{SELF}", 1)
    assert (carriers["observed"], carriers["self_modify"]) == (-0.5, -0.5)
    assert price.max_residual(steps) < 1e-15
    # births exclude the self-modifications; founders stay roots of their own trees
    assert births(run).get_column("births").sum() == 3
    roots = dict(founders_of(run.agents, run.lineage).iter_rows())
    assert (roots[0], roots[1], roots[4], roots[6]) == (0, 1, 1, 2)


def test_a_runs_figures_are_computed_once_per_run_object(hand):
    """`per_run`: the sections of a report that ask for a run's Price steps get the one frame
    computed first; a run with other agents (another object) gets its own."""
    steps = price.decompose(hand)
    assert price.decompose(hand) is steps
    fewer = dataclasses.replace(hand, agents=hand.agents.filter(pl.col("generation") < 2))
    assert price.decompose(fewer) is not steps
    assert price.decompose(fewer)["generation"].max() == 1 < steps["generation"].max()
    again = pickle.loads(pickle.dumps(hand))  # a run with its figures kept still pickles
    assert price.decompose(again).equals(steps)
