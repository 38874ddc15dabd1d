"""reports.export.to_json: the report as plain JSON for a run, a replicates set and a sweep.

Numbers are those of the hand-built directories in conftest.py and test_sweep_report.py.
"""

from __future__ import annotations

import json
import math

import pytest
from run_fixtures import REP_SEEDS, write_still_null
from test_sweep_report import TAKE, write_sweep

import purity.reports as reports
from purity.reports import export

TOP = ["format", "version", "kind", "name", "path"]


def strict(data) -> str:
    """JSON text with no NaN / Infinity tokens: fails if `data` holds anything but plain JSON types."""
    return json.dumps(data, allow_nan=False)


def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            assert isinstance(k, str)
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
    else:
        yield x


def test_plain_types_only():
    assert export.plain({"a": math.inf, "b": -math.inf, "c": math.nan, 1: (1, 2.5), "d": {True}}) == {
        "a": "inf",
        "b": "-inf",
        "c": None,
        "1": [1, 2.5],
        "d": [True],
    }
    assert json.loads(export.dumps({"x": math.inf})) == {"x": "inf"}


def test_run_json_holds_verdict_and_curves(run_with_drift):
    d = reports.to_json(run_with_drift)
    strict(d)
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in walk(d))
    assert list(d)[:5] == TOP and d["kind"] == "run" and d["name"] == "toy"
    assert list(d)[5:] == [
        "run",
        "terms",
        "profiles",
        "verdict",
        "lock_in",
        "lock_in_test",
        "violations",
        "births",
        "curves",
    ]
    assert d["run"]["seed"] == 7 and d["run"]["survival_threshold"] == 0.1 and d["run"]["drift_twin"]
    assert d["profiles"]["saint"]["weights"]["constraint:take:self"] == "inf"
    verdict = {v["term"]: v for v in d["verdict"]}
    take_verdict = {k: verdict[TAKE][k] for k in ("start", "end", "drift_end", "verdict")}
    # no null recorded: the report says it cannot tell, whatever the shares did, and credits no force
    assert take_verdict == {
        "start": 0.75,
        "end": 0.25,
        "drift_end": 0.75,
        "verdict": "we can't tell: no null recorded",
    }
    assert {v["moved_most"] for v in d["verdict"]} == {None} and "vs_drift" not in verdict[TAKE]
    write_still_null(run_with_drift)
    verdict = {v["term"]: v for v in reports.to_json(run_with_drift)["verdict"]}
    # against a null that never moves: two-sided 2/2001 raw, times 4 terms (Holm) < 0.05
    assert verdict[TAKE]["verdict"] == "declined beyond drift"
    assert verdict[TAKE]["p_adjusted"] == pytest.approx(8 / 2001)
    assert verdict["constraint:take:world"]["verdict"] == "declined beyond drift"  # 0.25 to extinct
    assert verdict["constraint:take:lineage"]["verdict"] == "indistinguishable from drift"  # held 0.25
    assert verdict["constraint:take:lineage"]["moved_most"] == "none"  # no force beyond the null
    assert verdict["standing:commons_above"]["verdict"] == "spread beyond drift"
    assert verdict[TAKE]["moved_most"] == "selection"
    c = d["curves"]
    assert c["generation"] == [0, 1, 2]
    assert list(c["survival"]) == [
        TAKE,
        "constraint:take:world",
        "constraint:take:lineage",
        "standing:commons_above",
    ]
    assert c["survival"][TAKE] == [0.75, 0.5, 0.25]
    assert c["drift"]["survival"][TAKE] == [0.75, 0.75, 0.75]
    assert c["process_share"]["mean"] == pytest.approx([0.4, 0.35, 0.325])
    assert c["payoff"]["keeper"] == [1.5, 1.0, None]  # no keeper left in generation 2
    assert c["payoff"]["grabber"] == [3.0, 3.0, 3.0]
    assert c["largest_lineage"]["share"] == [0.25, 0.5, 0.75]
    assert d["lock_in"] is None  # never above 0.9
    # violation rate per generation: keeper took 3 of 10 in generation 0; all profiles 5 of 14
    take = c["violations"]["take"]
    assert take["keeper"]["rate"][0] == pytest.approx(0.3)
    assert take["*"]["rate"] == pytest.approx([5 / 14, 0.5, None])
    assert take["keeper"]["rate_watched"][0] == 0.0 and take["keeper"]["rate_unwatched"][0] == 0.6
    assert "saint" not in take or take["saint"]["rate"][0] is None
    keeper = next(v for v in d["violations"] if v["profile"] == "keeper" and v["event"] == "take")
    assert keeper["rate"] == pytest.approx(0.3) and keeper["delegated_rate"] == pytest.approx(0.2)
    assert d["births"] == {"design": 1, "inherit": 6, "self_modify": 1}


def test_output_is_stable(run_with_drift):
    assert export.dumps(reports.to_json(run_with_drift)) == export.dumps(reports.to_json(run_with_drift))


def test_replicates_json(reps_dir):
    d = reports.report(reps_dir, format="json")
    strict(d)
    assert d["kind"] == "replicates" and d["replicates"]["seeds"] == list(REP_SEEDS)
    v = next(r for r in d["verdict"] if r["term"] == TAKE)
    assert (v["survived"], v["seeds"]) == (2, 3)
    assert v["survived_low"] == pytest.approx(0.2077, abs=1e-4)
    assert v["survived_high"] == pytest.approx(0.9385, abs=1e-4)
    surv = d["curves"]["survival"][TAKE]
    assert d["curves"]["generation"] == [0, 1, 2]
    assert surv["mean"] == pytest.approx([0.5, 0.5, 1 / 3])
    assert surv["min"] == [0.5, 0.25, 0.0] and surv["max"] == [0.5, 0.75, 0.75]
    assert surv["held"] == [0, 0, 1]  # seed 11 held at its fixation value
    assert d["curves"]["drift"]["survival"][TAKE]["mean"] == pytest.approx([0.5, 5 / 12, 5 / 12])
    lock = {r["seed"]: r["generation"] for r in d["lock_ins"]}
    assert lock == {10: 1, 11: 1, 12: 2}
    per_seed = {(r["seed"], r["term"]): r["end"] for r in d["seed_verdicts"]}
    assert per_seed[(11, TAKE)] == 0.75
    assert d["curves"]["violations"]["take"]["*"]["rate"][0] == pytest.approx(2 / 8)


def test_sweep_json(tmp_path):
    root = write_sweep(tmp_path / "grid")
    d = reports.to_json(root)
    strict(d)
    assert d["kind"] == "sweep" and d["sweep"]["keys"] == ["selection.intensity", "selection.kind"]
    assert d["sweep"]["values"] == {
        "selection.intensity": [0.0, 0.5],
        "selection.kind": ["moran", "wright_fisher"],
    }
    runs = {r["name"]: r for r in d["runs"]}
    assert runs["run-0001"]["summary"][f"share:{TAKE}"] == 0.25
    assert runs["run-0001"]["curves"]["survival"][TAKE] == [0.75, 0.5, 0.25]
    assert runs["run-0001"]["verdict"][0]["verdict"] == "we can't tell: no null recorded"
    assert runs["run-0002"]["curves"]["survival"][TAKE] == [0.75, 0.5, 1.0]
    assert runs["run-0004"]["curves"] is None and runs["run-0004"]["summary"] is None  # failed
    seeds = runs["run-0003"]["seeds"]
    assert runs["run-0003"]["replicates"] and [s["seed"] for s in seeds] == list(REP_SEEDS)
    assert [s["summary"][f"share:{TAKE}"] for s in seeds] == [0.0, 0.75, 0.25]
    assert seeds[1]["curves"]["generation"] == [0, 1]
    assert d["failed"] == [
        {
            "name": "run-0004",
            "status": "failed",
            "settings": {"selection.intensity": 0.0, "selection.kind": "wright_fisher"},
            "seed": 7,
            "error": "RuntimeError: the node caught <fire> & smoke",
        }
    ]
    rows = d["by_key"]["selection.intensity"]["rows"]
    assert d["by_key"]["selection.intensity"]["axis"] == "numeric"
    assert d["by_key"]["selection.kind"]["axis"] == "categorical"
    assert [r["value"] for r in rows] == [0.0, 0.5] and [r["runs"] for r in rows] == [1, 4]
    assert rows[1]["figures"][f"share:{TAKE}"] == {"mean": 0.5, "min": 0.0, "max": 1.0, "n": 4}
    assert rows[1]["figures"][f"drift_share:{TAKE}"] == {"mean": None, "min": None, "max": None, "n": 0}
    kind = d["by_key"]["selection.kind"]["rows"]
    assert kind[1]["figures"][f"share:{TAKE}"]["mean"] == pytest.approx(1 / 3)
    assert d["overall"][f"share:{TAKE}"]["n"] == 5
