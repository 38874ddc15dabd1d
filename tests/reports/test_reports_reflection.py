"""The reflection part of reports, on a hand-built run whose numbers are known exactly.

Generation 0: keepers 0 and 1 (constraint:take:self weight 3). Keeper 0 weakens the constraint
in itself (3 → 1.5; score 2 against keep 1) and designs successors without it (score 5 against
keep 3); keeper 1 keeps as it is, in itself and in its successors (score 4).
Generation 1: 0 survives, modified; 2 and 3 are its designed children (weight 0), 4 is keeper
1's designed child (weight 3).
"""

import json

import polars as pl
import pytest
from run_fixtures import KEYS, manifest, write_run

from purity.reports import price, write_report
from purity.reports.load import load
from purity.reports.reflection_metrics import (
    designed_births,
    false_by_term,
    free_by_term,
    reflection,
    reflection_choices,
    squash_kinds,
    squashed_by_term,
    written_as,
)

W = lambda take: (1, take, 0, 0, 0)  # noqa: E731 - weights in KEYS order

AGENTS = [
    (0, 0, "keeper", "founder", None, 0, 1.0, 0.75, W(3)),
    (0, 1, "keeper", "founder", None, 1, 1.0, 0.75, W(3)),
    (1, 0, "keeper", "self_modify", None, 0, 1.0, 0.6, W(1.5)),
    (1, 2, "keeper", "design", 0, 0, 1.0, 0.0, W(0)),
    (1, 3, "keeper", "design", 0, 0, 1.0, 0.0, W(0)),
    (1, 4, "keeper", "design", 1, 1, 1.0, 0.75, W(3)),
]
# (id, mode, candidate, change, term, before, after, score, chosen)
CONSIDERED = [
    (0, "self_modify", 0, "keep", "", 0.0, 0.0, 1.0, False),
    (0, "self_modify", 1, "weaken constraint:take:self", "constraint:take:self", 3.0, 1.5, 2.0, True),
    (0, "design", 0, "keep", "", 0.0, 0.0, 3.0, False),
    (0, "design", 1, "drop constraint:take:self", "constraint:take:self", 3.0, 0.0, 5.0, True),
    (1, "self_modify", 0, "keep", "", 0.0, 0.0, 4.0, True),
    (1, "design", 0, "keep", "", 0.0, 0.0, 4.0, True),
    (1, "design", 1, "drop constraint:take:self", "constraint:take:self", 3.0, 0.0, 1.0, False),
]


def _reflected_run(folder, agents, reference=None, **switches):
    man = manifest() | {
        "experiment": {
            "reflection": switches
            | {
                "enabled": True,
                "rule": "realistic",
                "self_modify": True,
                "successors": "design",
                "every": 1,
                "cost": 0.25,
            }
        }
    }
    root = write_run(folder / "toy", man, agents, [])
    table = pl.DataFrame(
        CONSIDERED,
        orient="row",
        schema=["id", "mode", "candidate", "change", "term", "before", "after", "score", "chosen"],
    )
    table = table.with_columns(generation=pl.lit(0, dtype=pl.Int64), rule=pl.lit("realistic"))
    if reference is not None:
        table = table.with_columns(pl.Series("reference:64", reference, dtype=pl.Float64))
    (root / "reflection" / "gen=0").mkdir(parents=True)
    table.write_parquet(root / "reflection" / "gen=0" / "part-0.parquet")
    return root


@pytest.fixture
def reflected(tmp_path):
    return _reflected_run(tmp_path, AGENTS)


def test_choices_against_keep(reflected):
    choices = reflection_choices(load(reflected))
    assert choices.rows() == [
        ("self_modify", "keep", 1, 4.0, 4.0, 0.0),
        ("self_modify", "weaken constraint:take:self", 1, 2.0, 1.0, 1.0),
        ("design", "drop constraint:take:self", 1, 5.0, 3.0, 2.0),
        ("design", "keep", 1, 4.0, 4.0, 0.0),
    ]


def test_two_of_three_designed_births_had_a_designer_that_dropped_the_constraint(reflected):
    run = load(reflected)
    designed = designed_births(run).filter(pl.col("term") == "constraint:take:self")
    assert designed.rows() == [(1, "constraint:take:self", 3, 2)]
    assert squashed_by_term(run) == {"constraint:take:self": pytest.approx(2 / 3)}
    md, _ = write_report(reflected)
    text = md.read_text()
    assert "| design | drop constraint:take:self | 1 | 5 | 3 | 2 |" in text
    assert "reflecting costs 0.25 payoff" in text


def test_designs_by_agents_without_the_term_are_not_counted(tmp_path):
    """Make keeper 1 a consequentialist (weight 0) in generation 0: its designed child 4 was
    designed by an agent that had nothing to drop, so of the carriers' designed births (2 and 3)
    both lost the constraint — a share of 1, not 2 / 3."""
    agents = [row[:-1] + (W(0),) if row[:2] == (0, 1) else row for row in AGENTS]
    run = load(_reflected_run(tmp_path, agents))
    assert designed_births(run).filter(pl.col("term") == "constraint:take:self").rows() == [
        (1, "constraint:take:self", 2, 2)
    ]
    assert squashed_by_term(run) == {"constraint:take:self": 1.0}


def test_the_figures_of_several_terms_come_in_one_order_every_time(tmp_path):
    """Every agent also carries the world-scoped constraint and the standing property: the
    per-term figures list the terms in the designed-births table's order (sorted) on every call,
    so a sweep report's rows do not change order from one reading to the next."""
    agents = [row[:-1] + ((1, row[-1][1], 2.0, 0, 0.5),) for row in AGENTS]
    run = load(_reflected_run(tmp_path, agents))
    terms = ["constraint:take:self", "constraint:take:world", "standing:commons_above"]
    for _ in range(20):
        assert list(squashed_by_term(run)) == terms
    assert squashed_by_term(run)["constraint:take:world"] == 0.0


def test_price_credits_self_modification_and_design(reflected):
    """Mean weight of take:self goes 3 → (1.5 + 0 + 0 + 3) / 4 = 1.125, observed −1.875.
    Selection: 0 leaves 3 descendants (itself, 2, 3), 1 leaves one; both have weight 3, so the
    covariance is 0. Self-modification: 0 changed by −1.5 → −1.5 / 4 = −0.375. Design: 2 and 3
    differ from 0's recorded 3 by −3 each, 4 from 1 by 0 → −6 / 4 = −1.5."""
    steps = price.decompose(load(reflected)).filter(pl.col("trait") == "weight:constraint:take:self")
    row = steps.row(0, named=True)
    assert row["observed"] == pytest.approx(-1.875)
    assert row["selection"] == pytest.approx(0.0)
    assert row["self_modify"] == pytest.approx(-0.375)
    assert row["design"] == pytest.approx(-1.5)
    assert row["survivors"] == 0.0 and row["residual"] == pytest.approx(0.0)
    assert (row["n_self_modify"], row["n_design"]) == (1, 3)
    assert KEYS[1] == "constraint:take:self"


def test_the_self_keeper_s_design_drop_is_free_by_definition_its_self_weakening_is_not(tmp_path):
    """Under successor = "built" the design's drop of a self-scoped constraint could count no act
    of the scored future; the self-modification's weakening could. Under "self" neither is free."""
    built = load(_reflected_run(tmp_path / "built", AGENTS))
    assert squash_kinds(built).rows() == [
        ("realistic", "self_modify", "constraint:take:self", 1, 0, 1, None),
        ("realistic", "design", "constraint:take:self", 1, 1, 0, None),
    ]
    assert free_by_term(built) == {"constraint:take:self": 0.5}
    own = load(_reflected_run(tmp_path / "self", AGENTS, successor="self"))
    assert squash_kinds(own)["by_definition"].to_list() == [0, 0]
    md, _ = write_report(built.path)
    assert "| realistic | design | never take (self) | 1 | 1 | 0 |" in md.read_text()


def test_a_reference_evaluation_tells_a_false_trade_off_from_a_real_one(tmp_path):
    """Agent 0's self-weakening won 2.0 against keep's 1.0 on its own rollouts; the reference
    scores it 0.9 against keep's 1.0, so it was the winner's curse: a false trade-off. Without a
    reference the column is null and the report has no false column."""
    reference = [1.0, 0.9, 3.0, 5.0, 4.0, 4.0, 1.0]  # in CONSIDERED order
    run = load(_reflected_run(tmp_path / "ref", AGENTS, reference=reference))
    assert squash_kinds(run).rows() == [
        ("realistic", "self_modify", "constraint:take:self", 1, 0, 1, 1),
        ("realistic", "design", "constraint:take:self", 1, 1, 0, 0),  # free by definition: not a trade-off
    ]
    assert false_by_term(run) == {"constraint:take:self": 1.0}
    real = [1.0, 1.1, 3.0, 5.0, 4.0, 4.0, 1.0]
    assert false_by_term(load(_reflected_run(tmp_path / "real", AGENTS, reference=real))) == {
        "constraint:take:self": 0.0
    }
    md, _ = write_report(run.path)
    assert "| realistic | self\\_modify | never take (self) | 1 | 0 | 1 | 1 |" in md.read_text()
    assert false_by_term(load(_reflected_run(tmp_path / "none", AGENTS))) == {}


def test_the_report_says_which_way_each_process_term_was_written(tmp_path):
    """Each process term's framing, penalty or reward, and what one unit of it counts; a term
    described before framings existed (no `framing`) was a penalty."""
    plain = load(_reflected_run(tmp_path / "plain", AGENTS))
    written = reflection(plain).written
    assert written["constraint:take:self"] == "penalty (−1 per unit of the act done in its scope)"
    assert written["standing:commons_above"] == "penalty (−1 per step the property fails)"
    assert "outcome:lineage_wealth" not in written
    assert written_as({"kind": "universalization", "framing": "penalty"}).startswith("not framed")
    root = _reflected_run(tmp_path / "reward", AGENTS)
    file = root / "manifest.json"
    data = json.loads(file.read_text())
    for term in data["terms"]:
        if term["key"] in ("constraint:take:self", "standing:commons_above"):
            term["framing"] = "reward"
    file.write_text(json.dumps(data))
    written = reflection(load(root)).written
    assert written["constraint:take:self"] == "reward (+1 per chance to act in its scope, −1 per unit done)"
    assert written["standing:commons_above"] == "reward (+1 per step the property holds)"
    assert written["constraint:take:world"].startswith("penalty")
    md, _ = write_report(root)
    text = md.read_text()
    assert "How each process term is written" in text
    assert "| never take (self) | reward (+1 per chance to act in its scope, −1 per unit done) |" in text
