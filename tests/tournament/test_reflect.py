"""Reflection in whole runs: the reflection table, self-modification in place, designed
successors, the cost, `every`, and determinism across worker counts."""

import polars as pl
import pytest

from purity.tournament.config import load
from purity.tournament.runner import run

REFLECT = '[reflection]\nenabled = true\nself_modify = true\nsuccessors = "design"\ncost = 0.1\nrule = "{rule}"\nevery = {every}\n\n[control]'


def _experiment(write_experiment, rule="realistic", every=1, cost=0.1, name="exp"):
    section = REFLECT.format(rule=rule, every=every).replace("cost = 0.1", f"cost = {cost}")
    return write_experiment(
        ('"consequentialist"', '"self-keeper"'), ("[control]", section), name=f"{name}.toml"
    )


def _read(run_dir, table):
    return pl.read_parquet(run_dir / table / "**" / "*.parquet")


def _reflecting_run(tmp_path_factory, small_text, rule):
    folder = tmp_path_factory.mktemp(rule)
    path = folder / "exp.toml"
    path.write_text(
        small_text.replace('"consequentialist"', '"self-keeper"').replace(
            "[control]", REFLECT.format(rule=rule, every=1)
        )
    )
    return run(load(path), folder / "runs", workers=0, progress=False)


@pytest.fixture(scope="module")
def realistic(tmp_path_factory, small_text):
    return _reflecting_run(tmp_path_factory, small_text, "realistic")


def test_every_planner_considers_keep_first_and_chooses_once(realistic):
    table = _read(realistic, "reflection")
    agents = _read(realistic, "agents")
    planners = (
        agents.filter(pl.col("profile") != "universalizer").group_by("generation").len().sort("generation")
    )
    per_agent = table.group_by("generation", "id", "mode").agg(
        pl.col("chosen").sum(), pl.col("change").first(), pl.len()
    )
    assert per_agent["chosen"].to_list() == [1] * per_agent.height
    assert set(per_agent["change"]) == {"keep"}  # candidate 0
    assert (
        per_agent.filter(pl.col("mode") == "design")
        .group_by("generation")
        .len()
        .sort("generation")["len"]
        .to_list()
        == planners["len"].to_list()
    )
    keep = table.filter(pl.col("candidate") == 0).select(
        "generation", "id", "mode", pl.col("score").alias("keep")
    )
    chosen = table.filter(pl.col("chosen")).join(keep, on=["generation", "id", "mode"])
    assert (chosen["score"] >= chosen["keep"]).all()  # realistic never lowers its own score


def test_designed_children_carry_the_design_of_their_parent(realistic):
    table, agents, lineage = (_read(realistic, t) for t in ("reflection", "agents", "lineage"))
    weights = [c for c in agents.columns if c.startswith("w:")]
    designs = table.filter(pl.col("chosen") & (pl.col("mode") == "design")).select(
        pl.col("generation") + 1,
        pl.col("id").alias("parent"),
        pl.col("change").alias("design"),
        *[pl.col(w).alias(f"d{w}") for w in weights],
    )
    born = lineage.filter(pl.col("kind") == "design").join(designs, on=["generation", "parent"])
    assert born.height == lineage.filter(pl.col("kind") == "design").height > 0
    assert born["change"].to_list() == born["design"].to_list()  # the lineage row names the design
    children = agents.join(born.rename({"child": "id"}), on=["generation", "id"])
    assert children.height > 0 and set(children["origin"]) == {"design"}
    assert children["change"].to_list() == children["design"].to_list()
    copies = children.filter(pl.col("mutation") == "")
    assert copies.height > 0
    for w in weights:
        assert copies[w].to_list() == copies[f"d{w}"].to_list()
    # a self-keeper designs successors without its own-hands constraint at least once; a
    # lineage-keeper never drops its lineage constraint
    chosen = table.filter(pl.col("chosen") & (pl.col("mode") == "design")).join(
        agents.select("generation", "id", "profile"), on=["generation", "id"]
    )
    assert (
        chosen.filter(
            (pl.col("profile") == "self-keeper")
            & pl.col("change").is_in(["drop constraint:take:self", "weaken constraint:take:self"])
        ).height
        > 0
    )
    assert (
        chosen.filter(
            (pl.col("profile") == "lineage-keeper")
            & pl.col("change").str.starts_with("drop constraint:take:lineage")
        ).height
        == 0
    )


@pytest.fixture(scope="module")
def hedonistic(tmp_path_factory, small_text):
    return _reflecting_run(tmp_path_factory, small_text, "hedonistic")


def test_self_modification_changes_the_agent_in_place(hedonistic):
    """Hedonistic agents judge a change by the changed profile: doubling a weight doubles the
    score, so they strengthen; the agent keeps its id and carries the new row."""
    run_dir = hedonistic
    table, agents = _read(run_dir, "reflection"), _read(run_dir, "agents")
    weights = [c for c in agents.columns if c.startswith("w:")]
    modified = table.filter(
        pl.col("chosen") & (pl.col("mode") == "self_modify") & (pl.col("change") != "keep")
    )
    assert modified.height > 0
    later = agents.join(
        modified.select(
            pl.col("generation") + 1,
            "id",
            pl.col("change").alias("made"),
            *[pl.col(w).alias(f"m{w}") for w in weights],
        ),
        on=["generation", "id"],
    )
    assert later.height > 0 and set(later["origin"]) == {"self_modify"}
    assert later["change"].to_list() == later["made"].to_list()
    for w in weights:
        assert later[w].to_list() == later[f"m{w}"].to_list()


def test_self_modification_is_a_self_loop_in_the_lineage_with_its_weights(hedonistic):
    """Each self-modification is a `self_modify` row parent == child == id in the lineage table
    of the generation that plays the new weights: before = the agent's row in the generation it
    reflected in, after = its row from then on; the rebuilt lineage graph has the self-loop."""
    from purity.tournament.ancestry import Lineage

    table, agents, lineage = (_read(hedonistic, t) for t in ("reflection", "agents", "lineage"))
    weights = [c for c in agents.columns if c.startswith("w:")]
    last = agents["generation"].max()
    made = table.filter(
        pl.col("chosen")
        & (pl.col("mode") == "self_modify")
        & (pl.col("change") != "keep")
        & (pl.col("generation") < last)
    )
    rows = lineage.filter(pl.col("kind") == "self_modify")
    assert rows.height == made.height > 0
    assert (rows["parent"] == rows["child"]).all()
    assert (
        lineage.filter((pl.col("kind") != "self_modify") & (pl.col("parent") == pl.col("child"))).height == 0
    )
    assert sorted(zip(rows["generation"], rows["child"], rows["change"])) == sorted(
        zip(made["generation"] + 1, made["id"], made["change"])
    )

    def row_of(g, i):
        return agents.filter((pl.col("generation") == g) & (pl.col("id") == i)).select(weights).row(0)  # noqa: E731

    survived = 0
    for g, agent, before, after in rows.select("generation", "child", "before", "after").iter_rows():
        assert tuple(before) == row_of(g - 1, agent)
        if agents.filter((pl.col("generation") == g) & (pl.col("id") == agent)).height:
            assert tuple(after) == row_of(g, agent)
            survived += 1
    assert survived > 0
    births = lineage.filter(pl.col("kind") != "self_modify")
    assert births["before"].is_null().all() and births["after"].is_null().all()
    assert set(births.filter(pl.col("kind") == "inherit")["change"]) <= {""}
    founders = agents.filter(pl.col("generation") == 0)
    graph = Lineage.from_edges(
        dict(zip(founders["id"], founders["profile"])), {c: lineage[c].to_list() for c in lineage.columns}
    )
    for agent in set(rows["child"]):
        assert graph.graph.has_edge(agent, agent) and graph.parent(agent) != agent
        changes = graph.graph.edges[agent, agent]["changes"]
        assert [c["change"] for c in changes] == rows.filter(pl.col("child") == agent).sort("generation")[
            "change"
        ].to_list()
    assert graph.graph.number_of_edges() == births.height + len(set(rows["child"]))


def test_cost_is_paid_only_by_reflecting_agents_and_every_spaces_reflection(write_experiment, tmp_path):
    free = run(
        load(_experiment(write_experiment, every=2, cost=0.0, name="free")),
        tmp_path / "a",
        workers=0,
        progress=False,
    )
    paid = run(
        load(_experiment(write_experiment, every=2, cost=0.5, name="paid")),
        tmp_path / "b",
        workers=0,
        progress=False,
    )
    assert sorted(int(p.name.split("=")[1]) for p in (paid / "reflection").iterdir()) == [0, 2]
    a, b = (_read(d, "agents").filter(pl.col("generation") == 0).sort("slot") for d in (free, paid))
    reflected = (a["profile"] != "universalizer").to_numpy()
    difference = (a["payoff"] - b["payoff"]).to_numpy()
    assert difference[reflected].tolist() == pytest.approx([0.5] * reflected.sum(), abs=1e-12)
    assert difference[~reflected].tolist() == [0.0] * (~reflected).sum()


def test_reflection_tables_are_the_same_whatever_the_worker_count(
    realistic, tmp_path, small_text, two_workers
):
    path = tmp_path / "exp.toml"
    path.write_text(
        small_text.replace('"consequentialist"', '"self-keeper"').replace(
            "[control]", REFLECT.format(rule="realistic", every=1)
        )
    )
    again = run(load(path), tmp_path / "runs", pool=two_workers, progress=False)
    for table in ("agents", "episodes", "lineage", "reflection"):
        for twin in ("", "drift"):
            assert (
                _read(again / twin, table)
                .sort(pl.all())
                .equals(_read(realistic / twin, table).sort(pl.all()))
            ), (table, twin)


def test_reflection_off_changes_nothing(write_experiment, tmp_path):
    """A `[reflection]` table with enabled = false gives the tables of an experiment without one:
    agents change only by mutation, and nothing is designed or self-modified."""
    plain = run(load(write_experiment(name="plain")), tmp_path / "a", workers=0, progress=False)
    off = write_experiment(
        (
            "[control]",
            '[reflection]\nenabled = false\nself_modify = true\nsuccessors = "design"\n\n[control]',
        ),
        name="off",
    )
    off = run(load(off), tmp_path / "b", workers=0, progress=False)
    for table in ("agents", "episodes", "lineage"):
        assert _read(off, table).sort(pl.all()).equals(_read(plain, table).sort(pl.all())), table
    assert not (off / "reflection").exists()
    assert set(_read(off, "agents")["origin"]) == {"founder", "inherit"}
    assert set(_read(off, "lineage")["kind"]) == {"inherit"}


def test_a_sweep_over_rules_reports_designs_that_squash_by_setting(tmp_path, small_text):
    """The sweep report carries, per run, the share of designed births whose designer dropped or
    weakened each term — equal to what the run's own files give — and has one row per grid point."""
    from purity.reports import load_sweep, write_sweep_report
    from purity.reports.load import load as load_run
    from purity.reports.reflection_metrics import squashed_by_term
    from purity.reports.sweep_report import collect
    from purity.tournament.sweep import run_sweep

    base = tmp_path / "base.toml"
    base.write_text(
        small_text.replace('"consequentialist"', '"self-keeper"')
        .replace("[control]", REFLECT.format(rule="realistic", every=1))
        .replace("neutral_drift = true", "neutral_drift = false")
    )
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(
        '[sweep]\nname = "rules"\nexperiment = "base.toml"\n\n[grid]\n"reflection.rule" = ["realistic", "ignorant"]\n'
    )
    sweep_dir = run_sweep(sweep_file, tmp_path / "sweeps", workers=0, progress=False)
    table = pl.read_parquet(sweep_dir / "sweep.parquet").sort("run")
    assert table["set:reflection.rule"].to_list() == ["realistic", "ignorant"]
    observations = collect(load_sweep(sweep_dir)).observations
    assert [o.run for o in observations] == ["run-0001", "run-0002"]
    for o in observations:
        expected = squashed_by_term(load_run(sweep_dir / "runs" / o.run))
        assert {k: o.figures[f"squashed:{k}"] for k in expected} == expected
    squashed = [o.figures["squashed:constraint:take:self"] for o in observations]
    assert squashed[0] > 0  # the realistic designers drop it
    assert squashed[1] == 0  # ignorant ones see no gain in it
    text = write_sweep_report(sweep_dir)[0].read_text()
    section = text[text.index("## By setting") : text.index("## Runs")]
    assert (
        "| reflection.rule = realistic | 1 |" in section and "| reflection.rule = ignorant | 1 |" in section
    )
    assert "designs dropping or weakening never take (self acts)" in section


def _referenced(tmp_path, small_text):
    path = tmp_path / "exp.toml"
    section = REFLECT.format(rule="realistic", every=1).replace("[control]", "reference = 16\n\n[control]")
    path.write_text(small_text.replace('"consequentialist"', '"self-keeper"').replace("[control]", section))
    return path


def test_a_reference_evaluation_adds_its_column_and_changes_nothing_else(realistic, tmp_path, small_text):
    """`reference = R` draws from a stream of its own: every table equals the run without it but
    for the reflection table's `reference:<R>` column, which differs from the agents' own scores
    (fresh noise, more rollouts)."""
    one = run(load(_referenced(tmp_path, small_text)), tmp_path / "zero", workers=0, progress=False)
    for table in ("agents", "episodes", "lineage"):
        assert _read(one, table).equals(_read(realistic, table)), table
    table = _read(one, "reflection")
    assert table.drop("reference:16").equals(_read(realistic, "reflection"))
    assert table["reference:16"].is_finite().all() and not table["reference:16"].equals(table["score"])


@pytest.mark.slow
def test_the_reference_column_is_the_same_whatever_the_worker_count(tmp_path, small_text):
    path = _referenced(tmp_path, small_text)
    zero = run(load(path), tmp_path / "zero", workers=0, progress=False)
    two = run(load(path), tmp_path / "two", workers=2, progress=False)
    assert _read(two, "reflection").sort(pl.all()).equals(_read(zero, "reflection").sort(pl.all()))


@pytest.mark.parametrize("value", [-1, 1001, 2.5, "many"])
def test_a_reference_out_of_bounds_is_one_line_naming_the_field(tmp_path, small_text, value):
    from purity.inputs import InputError

    path = _referenced(tmp_path, small_text)
    path.write_text(path.read_text().replace("reference = 16", f"reference = {value!r}".replace("'", '"')))
    with pytest.raises(InputError, match=r"exp.toml: reflection.reference: expected") as caught:
        load(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("successor", ["built", "self"])
def test_the_successors_base_self_keeper_s_design_drops_are_free_by_definition_only_when_built(
    tmp_path, successor
):
    """The shipped successors base, shrunk: with `successor = "built"` every design that lowers
    the self-scoped take constraint is free by definition; with `"self"` none is."""
    import dataclasses
    from pathlib import Path

    from purity.reports.load import load as load_run
    from purity.reports.reflection_metrics import squash_kinds

    base = load(Path(__file__).parents[2] / "experiments" / "successors-base.toml")
    small = dataclasses.replace(
        base,
        population=16,
        generations=4,
        reflection=dataclasses.replace(base.reflection, successor=successor),
    )
    kinds = squash_kinds(load_run(run(small, tmp_path, workers=0, progress=False)))
    design = kinds.filter((pl.col("mode") == "design") & (pl.col("term") == "constraint:take:self"))
    assert design["squashed"].sum() > 0 or successor == "self"
    if successor == "built":
        assert design["by_trade_off"].sum() == 0
    else:
        assert design["by_definition"].sum() == 0
