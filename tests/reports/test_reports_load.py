"""Reading a run directory: the frames, the drift twin, and clear errors for what is not a run."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from run_fixtures import DRIFT_AGENTS, MAIN_EPISODES, manifest, write_run

import purity.reports as reports
from purity.reports import ReportError


def test_load_reads_every_table_and_ignores_temp_files(run_dir):
    run = reports.load(run_dir)
    assert isinstance(run, reports.Run)
    assert run.path == run_dir and run.name == "toy" and run.drift is None
    assert run.agents.height == 12 and run.episodes.height == 9 and run.lineage.height == 8
    assert run.agents.get_column("generation").to_list() == [0] * 4 + [1] * 4 + [2] * 4
    assert run.agents.schema["w:constraint:take:self"] == pl.Float64
    # a run without the self-modification columns gets them as nulls
    assert run.lineage.columns == ["generation", "parent", "child", "kind", "change", "before", "after"]
    assert run.lineage.select("change", "before", "after").null_count().row(0) == (8, 8, 8)
    assert run.lineage.schema["before"] == pl.List(pl.Float64)
    assert run.manifest["profiles"]["saint"]["weights"]["constraint:take:self"] == math.inf
    with pytest.raises(AttributeError):
        run.path = Path("/elsewhere")  # frozen


def test_missing_lineage_gives_empty_frame_with_columns(run_dir):
    shutil.rmtree(run_dir / "lineage")
    run = reports.load(run_dir)
    assert run.lineage.height == 0
    assert run.lineage.columns == ["generation", "parent", "child", "kind", "change", "before", "after"]
    assert run.lineage.schema["before"] == pl.List(pl.Float64)
    assert run.lineage.schema["child"] == pl.Int64


def test_drift_twin_is_loaded(run_with_drift):
    run = reports.load(run_with_drift)
    assert run.drift is not None
    assert run.drift.path == run_with_drift / "drift"
    assert run.drift.agents.height == len(DRIFT_AGENTS)
    assert run.drift.drift is None


def test_missing_manifest_names_the_file(tmp_path):
    (tmp_path / "agents").mkdir()
    with pytest.raises(ReportError) as err:
        reports.load(tmp_path)
    assert err.value.path == tmp_path / "manifest.json"
    assert "manifest.json" in str(err.value) and "expected" in str(err.value)


def test_not_a_directory(tmp_path):
    with pytest.raises(ReportError, match="run directory"):
        reports.load(tmp_path / "nope")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"name": "x"}', "survival_threshold"),
    ],
)
def test_broken_manifest_names_the_file(run_dir, text, expected):
    (run_dir / "manifest.json").write_text(text)
    with pytest.raises(ReportError) as err:
        reports.load(run_dir)
    assert str(run_dir / "manifest.json") in str(err.value)
    assert expected in str(err.value)


def test_bad_weight_in_manifest(run_dir):
    m = manifest()
    m["profiles"] = {"odd": {"description": "", "weights": {"constraint:take:self": "lots"}}}
    (run_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ReportError, match=r"profiles\.odd\.weights"):
        reports.load(run_dir)


def test_parquet_missing_a_contract_column_names_the_file(run_dir):
    part = run_dir / "agents" / "gen=1" / "part-0.parquet"
    pl.read_parquet(part).drop("w:standing:commons_above").write_parquet(part)
    with pytest.raises(ReportError) as err:
        reports.load(run_dir)
    assert err.value.path == part and "w:standing:commons_above" in str(err.value)


def test_unreadable_parquet_names_the_file(run_dir):
    part = run_dir / "episodes" / "gen=0" / "part-0.parquet"
    part.write_bytes(b"garbage")
    with pytest.raises(ReportError) as err:
        reports.load(run_dir)
    assert err.value.path == part


def test_drift_folder_without_manifest_is_an_error(run_dir):
    write_run(run_dir / "drift", manifest(role="drift"), DRIFT_AGENTS, MAIN_EPISODES)
    (run_dir / "drift" / "manifest.json").unlink()
    with pytest.raises(ReportError) as err:
        reports.load(run_dir)
    assert err.value.path == run_dir / "drift" / "manifest.json"


def test_import_is_cheap_and_independent():
    """`import purity.reports` must not pull polars (CLI --help), nor anything of purity but the
    run-file format (`purity.tournament.record`)."""
    code = (
        "import sys, purity.reports; "
        "allowed = {'purity', 'purity.reports', 'purity.tournament', 'purity.tournament.record'}; "
        "bad = [m for m in sys.modules if m == 'polars' or m.startswith('polars.') "
        "or (m.startswith('purity') and m not in allowed and not m.startswith('purity.reports.'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reports_source_imports_only_the_run_file_format():
    """reports reads run files: of the rest of purity it may import `purity.tournament.record`, the
    format, and `purity.statistics`, arithmetic on arrays that knows no run."""
    src = Path(reports.__file__).parent
    for f in src.glob("*.py"):
        for line in f.read_text().splitlines():
            words = line.strip()
            if words.startswith(("import purity", "from purity")):
                assert words == "from purity.tournament import record" or words.startswith(
                    "from purity.statistics import "
                ), (f.name, line)


def test_reports_source_spells_no_column_prefix():
    """Column prefixes and names come from `purity.tournament.record`, never as string literals."""
    src = Path(reports.__file__).parent
    for f in src.glob("*.py"):
        text = f.read_text()
        for prefix in ('"w:', '"own:', '"policy:', '"set:', '"helper:', '"opportunity:', '"detected:'):
            assert prefix not in text and prefix.replace('"', "'") not in text, (f.name, prefix)
        assert 'f"w:{' not in text and 'f"own:{' not in text, f.name


def test_reports_modules_import_without_cycles():
    """The modules of purity.reports import one another without a cycle, lazy imports inside
    functions included: the package's entry points on top, then each kind's page above its data,
    above the metrics, the loaders and the page toolkit."""
    import ast

    import networkx as nx

    src = Path(reports.__file__).parent
    modules = {f.stem for f in src.glob("*.py")}
    graph = nx.DiGraph()
    for f in src.glob("*.py"):
        graph.add_node(f.stem)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                targets = {n.split(".")[0] for n in names}
                graph.add_edges_from((f.stem, t if t in modules else "__init__") for t in targets)
    assert list(nx.simple_cycles(graph)) == []
