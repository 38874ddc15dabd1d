"""The notebook API: `import purity` stays cheap, `purity.run` / `purity.load` give the run a
command would write, with a short repr, and `Run.lineage_graph()` is the lineage table as a
networkx graph that survives a GraphML round trip."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import networkx as nx
import polars as pl
import pytest

import purity
from purity.reports.births import born

HEAVY = ("numpy", "polars", "networkx", "ray", "pettingzoo", "gymnasium", "matplotlib", "numba")

SMALL = """
[experiment]
name = "small"
seed = 3
generations = 5
population = 12
survival_threshold = 0.5

[arena]
name = "commons"
episodes = 2
group_size = 4
steps = 10

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = { harvest = 0.6 }

[[population.mix]]
profile = "lineage-keeper"
share = 0.5
capability = { candidates = 4, rollouts = 2 }

[mutation]
rate = 0.5

[control]
neutral_drift = true
"""


def test_import_purity_loads_nothing_heavy():
    code = (
        "import sys, purity\n"
        "purity.run, purity.load, purity.Run, purity.__version__\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert {'run', 'load', 'plot', 'Run'} <= set(dir(purity))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        purity.nope  # noqa: B018


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    path = folder / "small.toml"
    path.write_text(textwrap.dedent(SMALL))
    return path


@pytest.fixture(scope="module")
def ran(small):
    return purity.run(small, out=small.parent / "runs")


def test_run_writes_the_run_directory_and_its_report_and_returns_it_loaded(ran, small):
    run_dir = small.parent / "runs" / "small"
    assert ran.path == run_dir
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
    again = purity.load(run_dir)
    for table in ("agents", "episodes", "lineage"):
        assert getattr(again, table).equals(getattr(ran, table))
    assert ran.drift is not None and ran.manifest["status"] == "complete"


def test_repr_is_one_short_informative_line(ran, small):
    text = repr(ran)
    assert len(ran.process_terms) == 1  # lineage-keeper's take constraint
    assert text == (
        "<Run 'small' seed 3: 5 generations (0–4), 12 agents, commons, 1 process term, complete, "
        f"drift twin; {small.parent / 'runs' / 'small'}>"
    )


def test_an_experiment_object_and_a_seed_override(small, tmp_path):
    from purity.tournament.config import load

    other = purity.run(load(small), out=tmp_path, seed=4, report=False)
    assert other.seed == 4 and not (tmp_path / "small" / "report.md").exists()
    same = purity.run(small, out=tmp_path / "again", seed=4, report=False)
    assert same.agents.equals(other.agents)


def test_an_existing_run_is_refused_unless_forced(ran, small):
    from purity.inputs import InputError

    with pytest.raises(InputError, match="--force"):
        purity.run(small, out=small.parent / "runs")


def test_lineage_graph_is_the_lineage_table(ran, tmp_path):
    graph = ran.lineage_graph()
    assert isinstance(graph, nx.DiGraph)
    births = born(ran.lineage)
    # every agent of the tables, and those born and replaced within one generation
    ids = set(ran.agents.get_column("id").to_list()) | set(births.get_column("child").to_list())
    assert set(graph.nodes) == ids
    assert {(p, c) for p, c in births.select("parent", "child").iter_rows()} == {
        (p, c) for p, c in graph.edges if p != c
    }
    assert all(graph.in_degree(n) - graph.has_edge(n, n) <= 1 for n in graph.nodes)  # a forest
    founders = set(ran.agents.filter(pl.col("generation") == 0).get_column("id").to_list())
    for node, data in graph.nodes(data=True):
        parents = [p for p in graph.predecessors(node) if p != node]
        assert (node in founders) == (not parents)
        if data:  # in the agents table: where it descends from
            assert data["founder"] in founders
    for parent, child, data in graph.edges(data=True):
        if parent != child:
            row = births.filter(pl.col("child") == child).row(0, named=True)
            assert (data["kind"], data["generation"]) == (row["kind"], row["generation"])

    path = tmp_path / "lineage.graphml"
    nx.write_graphml(graph, path)
    back = nx.read_graphml(path, node_type=int)
    assert set(back.nodes) == set(graph.nodes) and set(back.edges) == set(graph.edges)
    assert dict(back.nodes(data=True)) == dict(graph.nodes(data=True))


def test_self_modifications_are_counted_self_loops():
    from purity.reports.lineage_graph import lineage_graph

    agents = pl.DataFrame(
        {
            "generation": [0, 0, 1, 1, 2],
            "id": [0, 1, 0, 2, 2],
            "profile": ["a", "b", "a", "a", "a"],
            "founder": [0, 1, 0, 0, 0],
            "origin": ["founder", "founder", "founder", "inherit", "inherit"],
        }
    )
    lineage = pl.DataFrame(
        {
            "generation": [1, 1, 2],
            "parent": [0, 0, 0],
            "child": [2, 0, 0],
            "kind": ["design", "self_modify", "self_modify"],
            "change": ["drop:x", "weights", "weights"],
        }
    )
    graph = lineage_graph(agents, lineage)
    assert graph.nodes[2] == {"generation": 1, "profile": "a", "founder": 0, "origin": "inherit"}
    assert graph.edges[0, 2] == {"kind": "design", "generation": 1, "change": "drop:x"}
    assert graph.edges[0, 0] == {"kind": "self_modify", "count": 2, "changes": "1,2"}


def test_load_of_replicates_and_sweeps_gives_short_reprs(small, tmp_path):
    from purity.tournament.cli import main

    reps = small.parent / "reps.toml"
    reps.write_text(
        textwrap.dedent(SMALL).replace("seed = 3\n", "seed = 3\nseeds = 2\n").replace("small", "reps")
    )
    loaded = purity.run(reps, out=tmp_path, report=False)
    assert repr(loaded) == f"<Replicates 'reps': 2 seeds (3, 4); {tmp_path / 'reps'}>"
    sweep = small.parent / "sweep.toml"
    sweep.write_text('[sweep]\nname = "s"\nexperiment = "small.toml"\n[grid]\n"mutation.rate" = [0.1, 0.5]\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path), "--workers", "0", "--quiet"]) == 0
    assert (
        repr(purity.load(tmp_path / "s"))
        == f"<Sweep 's': 2 runs (2 complete), keys mutation.rate; {tmp_path / 's'}>"
    )
