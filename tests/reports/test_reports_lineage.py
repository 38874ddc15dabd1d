"""The dominant-lineage picture: founders from the lineage DiGraph, a bounded deterministic SVG."""

from __future__ import annotations

import re
import time

import numpy as np
import polars as pl
import pytest
from test_reports_render import parse

import purity.reports as reports
from purity.reports import lineage
from purity.reports.run_report import collect


def synthetic(
    n: int = 3000, generations: int = 30, seed: int = 1
) -> tuple[pl.DataFrame, pl.DataFrame, dict[int, int]]:
    """Wright–Fisher-like agents and lineage tables; a tenth of the births go through an
    intermediate that only the lineage table records. The agents' founder column is garbage
    (-1), so the picture must take founders from the graph. Returns the true founder of every id."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    founder = ids.copy()
    share = rng.random(n)
    fitness = 1.0 + 4.0 * (ids < 20)  # 20 fit founders: a few lineages take over
    truth = dict(zip(ids.tolist(), founder.tolist()))
    agent_cols: dict[str, list] = {
        "generation": [],
        "id": [],
        "process_share": [],
        "founder": [],
        "parent": [],
        "origin": [],
        "profile": [],
    }
    lin_cols: dict[str, list] = {"generation": [], "parent": [], "child": [], "kind": []}

    def record(g: int) -> None:
        agent_cols["generation"] += [g] * n
        agent_cols["id"] += ids.tolist()
        agent_cols["process_share"] += share.tolist()
        agent_cols["founder"] += [-1] * n
        agent_cols["parent"] += [None] * n
        agent_cols["origin"] += ["founder" if g == 0 else "inherit"] * n
        agent_cols["profile"] += [f"p{f % 3}" for f in founder.tolist()]

    record(0)
    next_id = n
    for g in range(1, generations):
        parents = rng.choice(n, size=n, p=fitness / fitness.sum())
        new_ids = np.arange(next_id, next_id + n)
        next_id += n
        via = rng.random(n) < 0.1
        for k in range(n):
            p = int(ids[parents[k]])
            if via[k]:
                lin_cols["generation"].append(g)
                lin_cols["parent"].append(p)
                lin_cols["child"].append(next_id)
                lin_cols["kind"].append("inherit")
                truth[next_id] = truth[p]
                p, next_id = next_id, next_id + 1
            lin_cols["generation"].append(g)
            lin_cols["parent"].append(p)
            lin_cols["child"].append(int(new_ids[k]))
            lin_cols["kind"].append("inherit")
            truth[int(new_ids[k])] = truth[int(ids[parents[k]])]
        ids, founder = new_ids, founder[parents]
        share, fitness = np.clip(share[parents] + rng.normal(0, 0.02, n), 0, 1), fitness[parents]
        record(g)
    agents = pl.DataFrame(agent_cols, schema_overrides={"parent": pl.Int64})
    lin = pl.DataFrame(
        lin_cols, schema={"generation": pl.Int64, "parent": pl.Int64, "child": pl.Int64, "kind": pl.String}
    )
    return agents, lin, truth


@pytest.fixture(scope="module")
def big():
    return synthetic()


def test_thousands_of_agents_give_a_small_deterministic_picture(big):
    agents, lin, truth = big
    assert agents.height == 90_000 and lin.height > 87_000
    start = time.perf_counter()
    dom = lineage.dominant_lineages(agents, lin)
    svg = lineage.lineage_svg(dom)
    elapsed = time.perf_counter() - start
    print(f"dominant lineages of 3000 x 30 agents: {elapsed:.2f} s")
    elements = len(re.findall(r"<[a-z]", svg))
    assert 0 < elements <= 2000
    assert dom.lineages.height == 5 and dom.nodes.height <= 5 * 30
    assert lineage.lineage_svg(dom) == svg
    # founders come from the graph (the agents' founder column is -1 throughout)
    last = agents.filter(pl.col("generation") == 29).get_column("id").to_list()
    counts: dict[int, int] = {}
    for i in last:
        counts[truth[i]] = counts.get(truth[i], 0) + 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    got = list(zip(dom.lineages.get_column("founder").to_list(), dom.lineages.get_column("living").to_list()))
    assert got == expected
    assert dom.lineages.get_column("share").sum() == pytest.approx(sum(c for _, c in expected) / 3000)


def test_long_runs_are_thinned_and_row_order_does_not_matter():
    agents, lin, _ = synthetic(n=200)
    dom = lineage.dominant_lineages(agents, lin, k=3, max_columns=10)
    assert len(dom.generations) == 10 and dom.generations[0] == 0 and dom.generations[-1] == 29
    assert dom.nodes.get_column("generation").is_in(dom.generations).all()
    assert dom.lineages.height == 3
    shuffled = lineage.dominant_lineages(
        agents.sample(fraction=1.0, shuffle=True, seed=3),
        lin.sample(fraction=1.0, shuffle=True, seed=4),
        k=3,
        max_columns=10,
    )
    assert lineage.lineage_svg(shuffled) == lineage.lineage_svg(dom)


def test_hand_built_lineages(run_dir):
    run = reports.load(run_dir)
    dom = lineage.dominant_lineages(run.agents, run.lineage)
    assert dom.lineages.select("rank", "founder", "profile", "living", "share").rows() == [
        (1, 2, "grabber", 3, 0.75),
        (2, 3, "saint", 1, 0.25),
    ]
    assert dom.lineages.get_column("process_share").to_list() == pytest.approx([0.1, 1.0])
    nodes = dom.nodes.filter(pl.col("founder") == 2)
    assert nodes.get_column("agents").to_list() == [1, 2, 3]
    assert nodes.get_column("process_share").to_list() == pytest.approx([0.0, 0.1, 0.1])
    headers, rows = lineage.dominant_rows(dom)
    assert headers[3] == "living at gen 2"
    assert rows[0] == ["1", "2", "grabber", "3", "0.75", "0.1", "3 (2)"]


def test_colour_scale():
    assert lineage.color(0.0) == "#440154" and lineage.color(1.0) == "#fde725"
    assert lineage.color(0.5) == "#21918c"
    assert lineage.color(None) == lineage.color(float("nan")) == lineage.MISSING_COLOR
    assert lineage.color(-1.0) == lineage.color(0.0)


def test_picture_in_the_report(run_dir):
    md_path, html_path = reports.write_report(run_dir)
    text = html_path.read_text()
    assert parse(text).errors == []
    part = text.split('id="dominant-lineages"')[1].split('id="mutation"')[0]
    assert part.count('<svg class="lineage"') == 1 and "mean process share" in part
    assert "founder 2, generation 2: 3 agents, mean process share 0.1" in part
    md_text = md_path.read_text()
    assert "### Dominant lineages" in md_text and "| 1 | 2 | grabber | 3 | 0.75 | 0.1 | 3 (2) |" in md_text
    assert collect(reports.load(run_dir)).dominant is not None
