"""The atlas (`purity atlas`): a tiny version of its three sweeps, at fixed seeds, gives exactly the
frozen figures and tables in tests/golden-atlas/; the conditions table follows the verdicts; bad
input is one line and exit 2; an interrupted atlas continued gives the same tables; and (slow) one
atlas sweep on a two-node local Ray cluster gives the tables of the in-process run.

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

import polars as pl
import pytest

from purity.reports import atlas_page
from purity.tournament import atlas, cli, storage

GOLDEN = Path(__file__).resolve().parents[1] / "golden-atlas"  # not in tests/golden, whose folders are cases
# every base shrunk to a few agents and generations, its seeds kept fixed
SHRINK = {
    "external-base.toml": {"experiment": {"generations": 3, "population": 8, "seeds": 3}},
    "internal-base.toml": {"experiment": {"generations": 3, "population": 8, "seeds": 3}},
    "training-base.toml": {
        "experiment": {"generations": 5, "population": 4, "seeds": 4},
        "arena": {"episodes": 8},
    },
}


def tiny_sweeps(folder: Path) -> Path:
    """The shipped atlas files, their bases shrunk (`SHRINK`), in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in atlas.SWEEPS.glob("*.toml"):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for table, values in SHRINK.get(path.name, {}).items():
            data[table].update(values)
        for entry in data.get("population", {}).get("mix", []):
            if "capability" in entry:
                entry["capability"] = {"candidates": 4, "rollouts": 2}
        storage.write_text(storage.toml_text(data), folder / path.name)
    return folder


def tiny_atlas(tmp: Path, **options) -> tuple[list[atlas.Part], pl.DataFrame, dict[str, str]]:
    sweeps = tiny_sweeps(tmp / "files")
    parts = atlas.run_atlas(tmp / "runs", workers=0, progress=False, sweeps=sweeps, **options)
    page, figures = atlas_page.assemble(
        [(p.key, p.title, p.sweep_dir, p.sweep_file) for p in parts], "purity atlas"
    )
    return parts, tables(parts), figures


def tables(parts) -> pl.DataFrame:
    return pl.concat([atlas_page.cells(p.key, p.sweep_dir)[2] for p in parts])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_atlas(tmp_path_factory.mktemp("atlas"))


def test_a_tiny_atlas_gives_exactly_the_frozen_figures_and_tables(tiny):
    _parts, cells, figures = tiny
    assert cells.equals(pl.read_parquet(GOLDEN / "cells.parquet"))
    for key, svg in figures.items():
        assert svg == (GOLDEN / f"{key}.svg").read_text(encoding="utf-8"), key


def test_the_page_is_built_from_the_verdicts(tiny, tmp_path):
    parts, cells, _ = tiny
    md, html = atlas_page.build(
        [(p.key, p.title, p.sweep_dir, p.sweep_file) for p in parts], tmp_path / "atlas.md", "purity atlas"
    )
    text = md.read_text(encoding="utf-8")
    assert html.is_file() and "<svg" in html.read_text(encoding="utf-8")
    for heading in (
        "Where process preferences survive or die",
        "What goes against its argument",
        "Reproduce",
    ):
        assert heading in text
    assert "purity sweep" in text and ("None found" in text or "where the argument predicts it" in text)


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

    split = atlas_page.conditions(
        "external", ["a", "b"], settings, table(["survives", "dies", "survives", "dies"])
    )
    assert split["survives"] == "a = 0, b = x; a = 0, b = y"
    assert split["dies"] == "a = 1, b = x; a = 1, b = y"
    assert split["can't tell"] == "nowhere in this grid"
    assert split["force"].startswith("a (2 decided pair(s)")
    unknown = atlas_page.conditions("external", ["a", "b"], settings, table(["can't tell"] * 4))
    assert unknown["force"] == "we can't tell: the corrected tests decide no cell"
    assert unknown["survives"] == unknown["dies"] == "nowhere in this grid"
    # a survive where its argument predicts death is the surprise
    t = table(["survives", "dies", "can't tell", "dies"])
    found = atlas_page.surprises([("external", "E", ["a", "b"], [{"selection.intensity": 0.1}] * 4, t)])
    assert found["point"].to_list() == [0] and found["predicted"].to_list() == ["dies"]


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
    parts, cells, _ = tiny
    runs = tmp_path / "runs"
    shutil.copytree(parts[0].sweep_dir.parent, runs / "atlas")
    # the interruption: one run of the first sweep never finished, the last sweep never started
    shutil.rmtree(runs / "atlas" / parts[0].sweep_dir.name / "runs" / "run-0002")
    shutil.rmtree(runs / "atlas" / parts[-1].sweep_dir.name)
    again = atlas.run_atlas(
        runs, workers=0, progress=False, sweeps=tiny_sweeps(tmp_path / "files"), resume=True
    )
    assert tables(again).equals(cells)


@pytest.mark.slow
def test_an_atlas_sweep_on_a_two_node_cluster_gives_the_in_process_tables(tiny, tmp_path):
    import tempfile

    from tests.tournament.test_cluster import BIN, _free_port, _start, _stop

    _parts, cells, _ = tiny
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
            f"sweeps=Path({str(sweeps)!r}), only=('external',))"
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
    on_cluster = atlas_page.cells("external", tmp_path / "runs" / "atlas" / "atlas-external")[2]
    assert on_cluster.equals(cells.filter(pl.col("argument") == "external"))


def freeze() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _parts, cells, figures = tiny_atlas(Path(tmp))
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
