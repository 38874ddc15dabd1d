"""The atlas (`purity atlas`): a tiny version of its four sweeps, at fixed seeds, gives exactly the
frozen figures and tables in tests/golden-atlas/; the conditions table follows the verdicts; bad
input is one line and exit 2; an interrupted atlas continued gives the same tables; and (slow) two
atlas sweeps (external competition and the singleton) on a two-node local Ray cluster give the
tables of the in-process run.

A change meant to change the atlas's numbers rebaselines in its own commit, saying why:

    .venv/bin/python -m tests.tournament.test_atlas --freeze
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from purity.inputs import leading_comment
from purity.reports import atlas_cells, atlas_contrasts, atlas_figure, atlas_page, atlas_verdicts
from purity.statistics import sign_flip_pvalue, smallest_p
from purity.tournament import atlas, cli, config, storage

GOLDEN = Path(__file__).resolve().parents[1] / "golden-atlas"  # not in tests/golden, whose folders are cases
# every base shrunk to a few agents and generations, its seeds kept fixed; "mix" entries update
# the base's mix entries in order. The internal grid keeps its four keys with two keepers: 16
# points × 3 terms are 48 Holm tests, and 3 seeds need 3 × 2 × 48 / 0.05 = 5760 null replicates
# for a cell to be decidable at all (8640 give 2880 means). The
# training grid's 24 settings need 10 seeds or more before Holm can reach 0.05 (2/2^k × 24).
# The singleton runs 6 seeds so that its consequentialist's take-over without police is decided.
SHRINK = {
    "external-base.toml": {"experiment": {"generations": 3, "population": 8, "seeds": 3}},
    "singleton-base.toml": {
        "experiment": {"generations": 5, "population": 8, "seeds": 6},
        "mix": [{"share": 0.875}, {"share": 0.125}],
    },
    "internal-base.toml": {
        "experiment": {"generations": 2, "population": 8, "seeds": 3},
        "arena": {"steps": 10},
        "control": {"null_replicates": 8640},
    },
    "internal.toml": {
        "grid": {
            "population.mix.0.profile": ["self-keeper", "world-integrity"],
            "reflection.rule": ["realistic", "hedonistic"],
            "reflection.responsibility": [0.0, 1.0],
        }
    },
    "training-base.toml": {
        "experiment": {"generations": 5, "population": 4, "seeds": 11},
        "arena": {"episodes": 8},
    },
}


def tiny_sweeps(folder: Path) -> Path:
    """The shipped atlas files, their bases shrunk (`SHRINK`), in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in atlas.SWEEPS.glob("*.toml"):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        shrink = SHRINK.get(path.name, {})
        for table, values in shrink.items():
            if table != "mix":
                data[table].update(values)
        mix = data.get("population", {}).get("mix", [])
        for entry, values in zip(mix, shrink.get("mix", [])):
            entry.update(values)
        for entry in mix:
            if "capability" in entry:
                entry["capability"] = {"candidates": 4, "rollouts": 2}
        comment = "".join(f"{line}\n" for line in leading_comment(path))  # the page shows it
        storage.write_text(comment + storage.toml_text(data), folder / path.name)
    return folder


def tiny_atlas(tmp: Path, **options) -> tuple[list[atlas.Part], pl.DataFrame, dict[str, str]]:
    sweeps = tiny_sweeps(tmp / "files")
    parts = atlas.run_atlas(tmp / "runs", workers=0, progress=False, sweeps=sweeps, **options)
    given = [(p.key, p.title, p.sweep_dir, p.sweep_file) for p in parts]
    got = atlas_page.read(given)
    page, figures = atlas_page.assemble(given, "purity atlas", got)
    return parts, pl.concat([g[4] for g in got]), figures, page


def tables(parts) -> pl.DataFrame:
    return pl.concat([atlas_page.cells(p.key, p.sweep_dir)[2] for p in parts])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_atlas(tmp_path_factory.mktemp("atlas"))


def test_a_tiny_atlas_gives_exactly_the_frozen_figures_and_tables(tiny):
    _parts, cells, figures, _page = tiny
    assert cells.equals(pl.read_parquet(GOLDEN / "cells.parquet"))
    for key, svg in figures.items():
        assert svg == (GOLDEN / f"{key}.svg").read_text(encoding="utf-8"), key


def test_the_page_is_built_from_the_verdicts(tiny, tmp_path):
    parts, cells, _, page = tiny
    md, html = atlas_page.write(tmp_path / "atlas.md", page)
    text = md.read_text(encoding="utf-8")
    assert html.is_file() and "<svg" in html.read_text(encoding="utf-8")
    for heading in (
        "Where process preferences survive or die",
        "What goes against its argument",
        "Reproduce",
    ):
        assert heading in text
    assert "purity sweep" in text and ("None found" in text or "where the argument predicts it" in text)
    assert [p.key for p in parts] == ["external", "singleton", "internal", "training"]
    sections = {s.split("\n", 1)[0]: s for s in text.split("\n## ")[1:]}
    # each sweep file's comment, with what its grid leaves off, is shown with its figure
    assert "Left off: capability as rollouts per estimate" in sections["Internal competition"]
    # the singleton's keepers start near fixation: the page says "survives" is out of reach there
    singleton = sections["External competition: the singleton"]
    assert 'By construction, "survives" cannot happen' in singleton
    assert "By construction" not in sections["External competition"]  # its keepers start at half
    # facets: one panel per keeper (internal) and per reward (training), in grid order
    internal = sections["Internal competition"]
    assert internal.index("**population.mix.0.profile = self-keeper**") < internal.index(
        "**population.mix.0.profile = world-integrity**"
    )
    assert all(f"**training.reward = {r}**" in sections["Training"] for r in ("detected", "full", "internal"))
    # the singleton's control: without police power the guardians' term dies, with it never
    singleton = cells.filter((pl.col("argument") == "singleton") & pl.col("focal"))
    unpoliced = singleton.filter(pl.col("setting").str.contains("police_power = 0.0"))
    policed = singleton.filter(pl.col("setting").str.contains("police_power = 1.0"))
    assert "dies" in unpoliced["outcome"].to_list() and "dies" not in policed["outcome"].to_list()
    # a corrected p-value is never below the smallest its family can give
    tested = cells.filter(pl.col("p_adjusted").is_not_null())
    assert tested.height and (tested["p_adjusted"] >= tested["p_floor"] * (1 - 1e-9)).all()


def test_full_size_copies_multiply_seeds_generations_and_explicit_nulls(tmp_path):
    files = {key: path for key, _title, path in atlas.sweep_files(atlas.SWEEPS, tmp_path, full=True)}
    assert list(files) == ["external", "singleton", "internal", "training"]
    for path in files.values():
        shipped = atlas.SWEEPS / path.name
        base = config.load(atlas.SWEEPS / tomllib.loads(shipped.read_text())["sweep"]["experiment"])
        text = path.read_text(encoding="utf-8")
        grid = tomllib.loads(text)["grid"]
        assert text.startswith("\n".join(leading_comment(shipped)))  # the page shows what it says
        assert grid["experiment.seeds"] == [base.seeds * atlas.FULL_SEEDS]
        assert grid["experiment.generations"] == [base.generations * atlas.FULL_GENERATIONS]
        if base.null_replicates:
            want = min(base.null_replicates * atlas.FULL_SEEDS, config.MAX_NULL_REPLICATES)
            assert grid["control.null_replicates"] == [want]
        else:
            assert "control.null_replicates" not in grid
    assert "control.null_replicates" in tomllib.loads(files["internal"].read_text())["grid"]


def test_the_conditions_table_follows_the_verdicts():
    settings = [{"a": 0, "b": "x"}, {"a": 1, "b": "x"}, {"a": 0, "b": "y"}, {"a": 1, "b": "y"}]

    def table(outcomes):
        return pl.DataFrame(
            [
                {
                    "argument": "external",
                    "point": i,
                    "setting": f"a = {s['a']}, b = {s['b']}",
                    "term": "t",
                    "focal": True,
                    "measure": "m",
                    "value": 0.5,
                    "low": 0.0,
                    "high": 1.0,
                    "effect": 0.0,
                    "p_adjusted": 0.01,
                    "verdict": "v",
                    "outcome": o,
                }
                for i, (s, o) in enumerate(zip(settings, outcomes))
            ],
            schema=atlas_page.CELLS,
        )

    # a moves the focal value by +0.5 in every one of 8 seeds, b by nothing: a decides, b cannot
    noise = [0.01, -0.02, 0.03, 0.0, -0.01, 0.02, -0.03, 0.01]
    moved = pl.DataFrame(
        [
            {"point": i, "seed": k, "term": "t", "value": 0.2 + 0.5 * s["a"] + e}
            for i, s in enumerate(settings)
            for k, e in enumerate(noise)
        ],
        schema=atlas_cells.PER_SEED,
    )
    split = atlas_page.conditions(
        "external", ["a", "b"], settings, table(["survives", "dies", "survives", "dies"]), moved
    )
    assert split["survives"] == "a = 0"  # both values of b: b is left out
    assert split["dies"] == "a = 1"
    assert split["can't tell"] == "nowhere in this grid"
    # each step: 2 pairs; a's change is +0.5 in every seed: p = 2/2^8, Holm over 2 steps = 4/256
    assert split["force"].startswith("a (0 → 1: +0.50 [") and split["force"].endswith(
        "p (Holm) 0.0156), in m"
    )
    steps = atlas_contrasts.steps(["a", "b"], settings, moved)
    assert steps["key"].to_list() == ["a", "b"] and steps["pairs"].to_list() == [2, 2]
    assert steps["p"][0] == 2 / 256 and steps["p_holm"][0] == 4 / 256 and steps["p_holm"][1] > 0.05
    # the control: noise alone moves it, so no key decides, whatever the verdicts say
    noise = np.random.default_rng(1).normal(0.0, 0.05, moved.height)
    still = moved.with_columns(value=0.2 + pl.Series(noise))
    unknown = atlas_page.conditions(
        "external", ["a", "b"], settings, table(["survives", "dies", "survives", "dies"]), still
    )
    assert unknown["force"].startswith(
        "we can't tell: no one-step change of a swept key moves m beyond chance"
    )
    # identical runs change nothing: no seed can help the test, and the page says it could not tell
    same = moved.with_columns(value=pl.lit(0.2))
    flat = atlas_page.conditions("external", ["a", "b"], settings, table(["dies"] * 4), same)
    assert flat["force"].startswith("we can't tell, and could not with these seeds: at most 0 of a step's")
    # a step out of the grid's control is said as such; a step that changes the focal term is none
    found = atlas_contrasts.steps(["a", "b"], settings, moved, 1.0, lambda s: s["a"] == 0)
    assert found["control"].to_list() == [2, 1] and found["same_sign"][0] == 8  # b: only at a = 0
    said = atlas_contrasts.force(found, "m", 0.0, "the payoffs' doing")
    assert "0 → 1 (2 of its 2 pairs touch the grid's control: the payoffs' doing): +0.50" in said
    other = moved.with_columns(
        term=pl.when(pl.col("point") % 2 == 0).then(pl.lit("t")).otherwise(pl.lit("u"))
    )
    assert atlas_contrasts.steps(["a", "b"], settings, other)["key"].to_list() == ["b"]  # a changes the term
    # a gap step beyond chance but within the readings' margin does not decide
    small = moved.with_columns(value=pl.col("value") / 10)
    assert atlas_contrasts.force(atlas_contrasts.steps(["a", "b"], settings, small), "g", 0.1).startswith(
        "no key moves g by more than ±0.1. Beyond chance but within ±0.1, which the readings call no gap: a (0 → 1: +0.05"
    )
    # 6 seeds cannot decide a family of 2 steps (2 × 2/2^6 = 0.0625): the page says so, and how many could
    few = atlas_page.conditions(
        "external", ["a", "b"], settings, table(["dies"] * 4), moved.filter(pl.col("seed") < 6)
    )
    assert few["force"].startswith("we can't tell, and could not with these seeds: at most 6 of a step's")
    assert few["force"].endswith("makes it 0.0625 ≥ 0.05 (7 seeds that change would be needed)")
    assert atlas_contrasts.seeds_needed(2) == 7 and 2 * 2 / 2**7 < 0.05 <= 2 * 2 / 2**6
    # seeds no two points share cannot be paired at all
    apart = moved.with_columns(seed=pl.col("seed") + 10 * pl.col("point"))
    assert atlas_contrasts.steps(["a", "b"], settings, apart).height == 0
    # where the term dies in a reflection grid, the page says how it was lowered there
    lowered = table(["survives", "dies", "survives", "dies"]).with_columns(
        squashed=pl.lit(6, dtype=pl.Int64), by_definition=pl.lit(6, dtype=pl.Int64)
    )
    dies = atlas_page.conditions("internal", ["a", "b"], settings, lowered, moved)["dies"]
    assert dies == (
        "a = 1 (all 12 chosen changes that lowered the term there, pooled over seeds and "
        "generations, were free by definition: it dies only where the decline follows from the "
        "definitions, nowhere by trade-off)"
    )
    traded = lowered.with_columns(by_definition=pl.lit(2, dtype=pl.Int64))
    assert atlas_page.conditions("internal", ["a", "b"], settings, traded, moved)["dies"].endswith(
        "pooled over seeds and generations: 4 free by definition, 8 by trade-off)"
    )
    # a decline in the grid's control (no detection) is said apart as the payoffs' doing
    grid = [{"arena.detection": d, "b": b} for b in ("x", "y") for d in (0.0, 0.75)]
    control = atlas_page.conditions(
        "external", ["arena.detection", "b"], grid, table(["dies", "can't tell"] * 2), moved
    )
    assert control["dies"] == (
        "only in the grid's control (the payoffs' doing: the keepers can fine nothing): arena.detection = 0.0"
    )
    # a survive where its argument predicts death is the surprise
    t = table(["survives", "dies", "can't tell", "dies"])
    found = atlas_page.surprises([("external", "E", ["a", "b"], [{"selection.intensity": 0.1}] * 4, t)])
    assert found["point"].to_list() == [0] and found["predicted"].to_list() == ["dies"]
    # a null band that reaches 1 everywhere: "survives" is out of reach, and the page says so
    near_fixation = table(["dies", "can't tell"] * 2).with_columns(
        band_low=pl.lit(0.8), band_high=pl.lit(1.0), start=pl.lit(0.97), seeds=pl.lit(8, dtype=pl.Int64)
    )
    reach = atlas_page.conditions("external", ["a", "b"], settings, near_fixation, moved)
    assert reach["survives"].endswith("(out of reach by construction at every point: see its figure)")
    (note,) = atlas_verdicts.reach_notes(["a", "b"], settings, near_fixation)
    assert note.startswith(
        'By construction, "survives" cannot happen at every point: the term starts at 0.97'
    )
    # a learner that sees nothing tied to oversight at test cannot show "don't get caught"
    grid = [{"training.cue": c, "training.test.observed": o} for c in (1.0, 0.5) for o in (True, False)]
    assert [atlas_verdicts.blind_at_test(g) for g in grid] == [False, True, True, True]
    assert not atlas_verdicts.blind_at_test({"training.cue": 0.5, "training.correlated": 0.9})
    (blind,) = atlas_verdicts.reach_notes(
        ["training.cue", "training.test.observed"], grid, table(["survives"] * 4)
    )
    assert blind.startswith(
        'By construction, "don\'t get caught" cannot happen at training.test.observed = false; '
        "training.cue = 0.5, training.test.observed = true: "
    )
    reachable = near_fixation.with_columns(band_high=pl.lit(0.99))
    assert atlas_verdicts.reach_notes(["a", "b"], settings, reachable) == []
    assert (
        atlas_page.conditions("external", ["a", "b"], settings, reachable, moved)["survives"]
        == "nowhere in this grid"
    )


def test_grid_points_are_named_by_the_fewest_boxes():
    settings = [{"k": k, "r": r, "c": c} for k in ("x", "y", "z") for r in (0, 1) for c in (2, 8)]
    keys = ["k", "r", "c"]
    assert atlas_verdicts.compact(range(12), keys, settings) == "every point"
    # x and y at r = 0, c = 8, and one lone point: two boxes, in grid order
    points = [i for i, s in enumerate(settings) if s["k"] in "xy" and s["r"] == 0 and s["c"] == 8]
    lone = settings.index({"k": "z", "r": 1, "c": 2})
    assert (
        atlas_verdicts.compact([*points, lone], keys, settings)
        == "k ∈ {x, y}, r = 0, c = 8; k = z, r = 1, c = 2"
    )
    assert atlas_verdicts.compact([], keys, settings) == "nowhere in this grid"


def test_three_keys_or_more_are_faceted_by_the_first():
    settings = [{"k": k, "r": r, "c": c} for k in ("x", "y") for r in (0, 1) for c in (2, 8)]
    panels = atlas_figure.panels(["k", "r", "c"], settings)
    assert [title for title, _, _ in panels] == ["k = x", "k = y"]
    for title, lines, grid in panels:
        assert lines == ["0", "1"]
        for line, row in zip(lines, grid):
            for column, point in zip(("2", "8"), row):
                s = settings[point]
                assert f"k = {s['k']}" == title and str(s["r"]) == line and str(s["c"]) == column
    two = [{"r": r, "c": c} for r in (0, 1) for c in (2, 8)]
    assert [title for title, _, _ in atlas_figure.panels(["r", "c"], two)] == [None]


def test_a_floor_and_a_term_made_from_nothing_are_told_apart():
    row = {"p_adjusted": 0.025, "p_floor": 0.025, "start": 0.0, "band_high": 0.0, "outcome": "appeared"}
    assert atlas_cells.at_floor(row) and atlas_cells.created(row)
    assert not atlas_cells.at_floor(row | {"p_adjusted": 0.05})
    # a spread from nothing where the null never carries the term is "appeared", never "survives"
    spread = {"verdict": "spread beyond drift", "start": 0.0, "band_high": 0.0}
    assert atlas_cells._outcome(spread) == "appeared"
    assert atlas_cells._outcome(spread | {"start": 0.5}) == "survives"
    assert atlas_cells._outcome(spread | {"band_high": 0.1}) == "survives"
    # and the page says "appeared", not "survives", of a term made from nothing
    cell = {
        "setting": "s",
        "term": "t",
        "verdict": "v",
        "measure": "m",
        "value": 0.1,
        "low": 0.0,
        "high": 0.2,
        "seeds": 8,
        "carrying": 2,
    }
    made = atlas_page._finding(row | cell | {"predicted": "dies"})
    kept = atlas_page._finding(row | cell | {"predicted": "dies", "outcome": "survives", "start": 0.5})
    assert 't" appeared where no agent carried it at the start, in 2 of 8 seeds' in made
    assert "survives (" not in made and "the test cannot fail once one seed has a carrier" in made
    assert 't" survives (' in kept and "appeared" not in kept
    # the exact sign-flip test's smallest p-value is the one k equal signs give
    for k in (4, 11, 16):
        assert smallest_p(k) == sign_flip_pvalue([0.3] * k)
        assert smallest_p(k, "greater") == sign_flip_pvalue([0.3] * k, "greater")


@pytest.mark.parametrize(
    "argv",
    [
        ["atlas", "--workers", "-1"],
        ["atlas", "--resume", "--runs", "{tmp}/nothing-here"],
        ["atlas", "--out", "{tmp}/a-file"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    code = cli.main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("purity: error:")


def test_an_interrupted_atlas_continued_gives_the_same_tables(tiny, tmp_path):
    parts, cells, _, _ = tiny
    runs = tmp_path / "runs"
    shutil.copytree(parts[0].sweep_dir.parent, runs / "atlas")
    # the interruption: one run of every sweep but the last never finished, the last never started
    for part in parts[:-1]:
        shutil.rmtree(runs / "atlas" / part.sweep_dir.name / "runs" / "run-0002")
    shutil.rmtree(runs / "atlas" / parts[-1].sweep_dir.name)
    again = atlas.run_atlas(
        runs, workers=0, progress=False, sweeps=tiny_sweeps(tmp_path / "files"), resume=True
    )
    assert tables(again).equals(cells)


@pytest.mark.slow
def test_an_atlas_sweep_on_a_two_node_cluster_gives_the_in_process_tables(tiny, tmp_path):
    import tempfile

    from tests.tournament.test_cluster import BIN, _free_port, _start, _stop

    _parts, cells, _, _ = tiny
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env |= {
        "RAY_AUTH_MODE": "disabled",
        "HOME": str(tmp_path),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    }
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="pra", dir="/tmp"))  # Ray's socket paths must stay short
    sweeps = tiny_sweeps(tmp_path / "files")
    nodes = []
    try:
        nodes.append(
            _start(
                ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                env,
                tmp_path / "head.log",
            )
        )
        nodes.append(_start([f"--address=127.0.0.1:{port}"], env, tmp_path / "worker.log"))
        code = (
            "from pathlib import Path; from purity.tournament import atlas; "
            f"atlas.run_atlas(Path({str(tmp_path / 'runs')!r}), address='127.0.0.1:{port}', progress=False, "
            f"sweeps=Path({str(sweeps)!r}), only=('external', 'singleton'))"
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
    for key in ("external", "singleton"):
        on_cluster = atlas_page.cells(key, tmp_path / "runs" / "atlas" / f"atlas-{key}")[2]
        assert on_cluster.equals(cells.filter(pl.col("argument") == key)), key


def freeze() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _parts, cells, figures, _page = tiny_atlas(Path(tmp))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    cells.write_parquet(GOLDEN / "cells.parquet")
    for key, svg in figures.items():
        (GOLDEN / f"{key}.svg").write_text(svg, encoding="utf-8")
    print(f"froze {cells.height} cells and {len(figures)} figures into {GOLDEN}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--freeze"]:
        sys.exit("usage: python -m tests.tournament.test_atlas --freeze")
    if "NPY_DISABLE_CPU_FEATURES" not in os.environ:  # freeze as the tests compare (conftest.py)
        from tests.numpy_loops import without_avx512

        os.environ["NPY_DISABLE_CPU_FEATURES"] = without_avx512()
        os.execv(sys.executable, [sys.executable, "-m", "tests.tournament.test_atlas", "--freeze"])
    freeze()


def test_a_cell_is_starred_only_where_the_corrected_test_decides():
    cell = {"value": 0.0, "low": -0.01, "high": 0.01, "effect": 0.0, "verdict": "v"}
    tested = atlas_figure._cell_texts(cell | {"outcome": "dies", "p_adjusted": 0.01})
    unread = atlas_figure._cell_texts(cell | {"outcome": "survives", "p_adjusted": 1.0})
    undecided = atlas_figure._cell_texts(cell | {"outcome": "can't tell", "p_adjusted": 1.0})
    assert tested[1] == "dies *" and unread[1] == "survives" and undecided[1] == "can't tell"
    assert tested[3] and not unread[3] and not undecided[3]
