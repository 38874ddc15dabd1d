"""The notebook guide (docs/notebook.ipynb) runs from top to bottom in a fresh kernel, in a
scratch directory, within a time limit, and shows its figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "notebook.ipynb"
CELL_SECONDS = 120  # a limit per cell: far above the few seconds each takes, so only a hang trips it


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.read(GUIDE, as_version=4)
    work = tmp_path_factory.mktemp("notebook")
    client = NotebookClient(
        notebook, timeout=CELL_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    return notebook, work


def test_every_cell_runs_without_error(executed):
    notebook, _ = executed
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code)
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors


def test_it_writes_the_run_the_figure_and_the_graph(executed):
    notebook, work = executed
    assert (work / "runs" / "small" / "report.html").is_file()
    assert (work / "survival.pdf").read_bytes().startswith(b"%PDF")
    assert (work / "lineage.graphml").is_file()
    images = [
        out
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert len(images) >= 2  # the survival/violations pair and the Price forces
    shown = "".join(
        out.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        for out in cell.get("outputs", [])
    )
    assert "<Run 'small' seed 1: 12 generations (0–11), 16 agents, commons" in shown


def test_the_guide_is_stored_without_outputs():
    """Outputs hold machine paths and images; the repository keeps the source cells only."""
    notebook = nbformat.read(GUIDE, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
