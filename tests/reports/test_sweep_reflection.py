"""A reflection sweep's report tests whether squashing falls along each numeric swept key: per
setting of the other keys and term, the share of the carriers' designs that lowered the term,
one figure per seed, against the key (γ and a permutation p, Holm-corrected)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from purity import reports
from purity.reports import sweep_reflection, sweep_report
from purity.reports.reflection_metrics import DROPS_MORE, NON_INFERIOR
from purity.tournament.cli import main

TERM = "constraint:take:self"


def obs(settings: dict, squashed: float | None) -> SimpleNamespace:
    figures = {} if squashed is None else {f"squashed:{TERM}": squashed}
    return SimpleNamespace(settings=settings, figures=figures)


def test_a_fall_is_called_per_slice_of_the_other_keys_and_a_flat_one_is_not():
    """The keeper decides the level (0.9 against 0.1) but only the self keeper's share falls
    with d: pooled over keepers the level would pass for a trend; sliced, the flat keeper shows
    none. A categorical key, and a key at one value, are not tested; a seed without carriers'
    designs (no figure) is left out."""
    falling = {0.0: [0.9, 0.8, 0.85, 1.0], 0.5: [0.3, 0.2, 0.4, 0.35], 1.0: [0.0, 0.05, 0.0, 0.0]}
    rows = [
        obs({"keeper": keeper, "d": d, "one": 1}, v if keeper == "self" else 0.1)
        for keeper in ("self", "lineage")
        for d, values in falling.items()
        for v in values
    ] + [obs({"keeper": "self", "d": 0.5, "one": 1}, None)]
    got = sweep_reflection.trends(["keeper", "d", "one"], rows)
    assert got["key"].to_list() == ["d", "d"]
    self_row, flat = got.row(0, named=True), got.row(1, named=True)
    assert self_row["others"] == "keeper = self, one = 1" and self_row["seeds"] == 12
    assert self_row["gamma"] == -1.0 and self_row["p_adjusted"] < 0.01 and self_row["verdict"] == "falls"
    assert (self_row["first"], self_row["last"]) == (pytest.approx(0.8875), pytest.approx(0.0125))
    assert flat["gamma"] == 0.0 and flat["p"] == 1.0 and flat["verdict"] == "no fall shown"
    rising = [obs({"d": d}, d) for d in (0.0, 0.5, 1.0) for _ in range(4)]
    assert sweep_reflection.trends(["d"], rising)["verdict"].to_list() == ["no fall shown"]
    assert sweep_reflection.trends(["d"], rising[:2]).height == 0  # too few pairs to test


def test_a_fall_made_only_of_drops_free_by_definition_is_said_to_be_so():
    """The same fall, once with every drop free by definition (free share 1 in every run that
    dropped) and once with one trade-off among them: only the first is 'by definition'."""
    falling = {0.0: [0.9, 0.8, 0.85, 1.0], 0.5: [0.3, 0.2, 0.4, 0.35], 1.0: [0.0, 0.05, 0.0, 0.0]}

    def runs(free_shares):
        out = [obs({"d": d}, v) for d, values in falling.items() for v in values]
        for o, free in zip(out, free_shares):
            if free is not None:
                o.figures[f"free:{TERM}"] = free
        return out

    all_free = runs([1.0] * 12)
    assert sweep_reflection.trends(["d"], all_free)["verdict"].to_list() == [sweep_reflection.BY_DEFINITION]
    one_trade_off = runs([1.0] * 11 + [0.5])
    assert sweep_reflection.trends(["d"], one_trade_off)["verdict"].to_list() == ["falls"]
    unknown = runs([None] * 12)  # no squashed table: nothing says the drops were free
    assert sweep_reflection.trends(["d"], unknown)["verdict"].to_list() == ["falls"]


BASE = """
[experiment]
name = "trend-base"
seed = 40
generations = 2
population = 16
survival_threshold = 0.1

[arena]
name = "commons"
episodes = 1
group_size = 4
steps = 20

[[population.mix]]
profile = "self-keeper"
share = 0.5
capability = { candidates = 6, rollouts = 2 }

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 6, rollouts = 2 }

[selection]
kind = "moran"
intensity = 0.0

[reflection]
enabled = true
rule = "realistic"
self_modify = true
successors = "design"
"""
SWEEP = """
[sweep]
name = "trend"
experiment = "base.toml"
seeds = 4
streams = "independent"

[grid]
"population.mix.0.profile" = ["self-keeper", "lineage-keeper"]
"reflection.responsibility" = [0.0, 0.5, 1.0]
"""


def test_a_small_responsibility_sweep_reports_the_fall_and_its_control(tmp_path: Path):
    """A self-scoped keeper designs 16-agent lines over two generations with responsibility d
    for its successor's takes: its designs drop the constraint less as d rises (the fall is
    called after Holm); a lineage keeper's constraint counts the successor's takes whatever d,
    so its designs never drop it (γ 0, p 1): the control. Four independent seeds per point.
    The same runs give the identity test: at d = 0 designs drop it more often than
    self-modifications, at d = 1 no more than 0.05 more often."""
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "trend.toml").write_text(SWEEP)
    assert (
        main(["sweep", str(tmp_path / "trend.toml"), "--out", str(tmp_path / "out"), "--workers", "0", "-q"])
        == 0
    )
    data = sweep_report.collect(reports.load_sweep(tmp_path / "out" / "trend"))
    rows = {r["others"]: r for r in data.trends.iter_rows(named=True)}
    keeper = rows["population.mix.0.profile = self-keeper"]
    control = rows["population.mix.0.profile = lineage-keeper"]
    assert (keeper["key"], keeper["term"], keeper["seeds"]) == ("reflection.responsibility", TERM, 12)
    assert keeper["first"] > 0.3 and keeper["last"] == 0.0
    assert keeper["gamma"] < -0.8 and keeper["p_adjusted"] <= 0.05 and keeper["verdict"] == "falls"
    assert control["term"] == "constraint:take:lineage" and control["first"] == control["last"] == 0.0
    assert control["gamma"] == 0.0 and control["p"] == 1.0 and control["verdict"] == "no fall shown"
    text = (tmp_path / "out" / "trend" / "report.md").read_text()
    assert text.index("## Squashed, by definition") < text.index("## Squashing along a numeric key")
    assert "| reflection.responsibility | population.mix.0.profile = self-keeper |" in text
    exported = json.loads(json.dumps(sweep_report.to_json(data)))
    assert [r["verdict"] for r in exported["trends"]["rows"]] == ["falls", "no fall shown"]
    identity = {
        (r["settings"]["reflection.responsibility"], r["settings"]["population.mix.0.profile"]): r
        for r in exported["identity"]["rows"]
        if r["term"] == TERM
    }
    assert (
        identity[(0.0, "self-keeper")]["verdict"] == DROPS_MORE
        and identity[(0.0, "self-keeper")]["low"] > 0.3
    )
    assert identity[(1.0, "self-keeper")]["verdict"] == NON_INFERIOR
    assert "## Designs against self-modifications" in text and "| designs drop it more often |" in text


def test_the_identity_test_pairs_each_seed_s_designs_with_its_self_modifications():
    def seed(design, own):
        return SimpleNamespace(figures={f"lowered:design:{TERM}": design, f"lowered:self_modify:{TERM}": own})

    built = [seed(0.7, 0.0), seed(0.8, 0.01), seed(0.75, 0.0)]
    same = [seed(0.0, 0.0), seed(0.02, 0.01), seed(0.01, 0.0), seed(0.0, 0.01)]
    lone = [SimpleNamespace(figures={f"lowered:design:{TERM}": 0.5})]  # no self-modification: no pair
    got = sweep_reflection.identity([built, same, lone])
    assert got["point"].to_list() == [0, 1] and got["verdict"].to_list() == [DROPS_MORE, NON_INFERIOR]
    assert got.row(0, named=True)["difference"] == pytest.approx((0.7 + 0.79 + 0.75) / 3)
