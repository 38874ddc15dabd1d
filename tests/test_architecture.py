"""The shape of the code: no import cycles, imports that point one way between the layers, and
small modules and functions.

The import graph is read from the source with `ast` (no module is imported): every `import` and
`from … import` statement counts, at module level, inside a function or under `TYPE_CHECKING`,
and relative imports are resolved against the importing module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "purity"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
SIZED = ("purity.tournament", "purity.agents", "purity.arenas", "purity.reports")
# Cycles that exist and are accepted: none. The set stays so that a cycle kept on purpose is named.
KNOWN_CYCLES: set[frozenset[str]] = set()


def modules() -> dict[str, Path]:
    """Every module of purity by dotted name (a package by its own name, for its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The purity modules that module `name` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out |= {target for target in targets if target in known and target != name}
    return out


def graph() -> nx.DiGraph:
    known = modules()
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in known.items():
        g.add_edges_from((name, target) for target in imported(name, path, known))
    return g


def test_the_graph_reader_resolves_every_kind_of_import(tmp_path):
    """The reader itself: absolute, relative (one and two levels), `from pkg import module`,
    `from module import name`, imports inside functions and under TYPE_CHECKING."""
    known = {name: tmp_path / f"{name}.py" for name in ("purity.a", "purity.a.b", "purity.a.c", "purity.d")}
    source = (
        "from typing import TYPE_CHECKING\nimport numpy\nfrom . import c\nfrom .c import thing\n"
        "from .. import d\nif TYPE_CHECKING:\n    import purity.a\n"
        "def f():\n    from purity.d import other\n"
    )
    path = tmp_path / "b.py"
    path.write_text(source)
    assert imported("purity.a.b", path, known) == {"purity.a.c", "purity.d", "purity.a"}


def test_no_import_cycles():
    """Each group of modules that import each other, directly or around a loop, is one strongly
    connected component of the import graph."""
    cycles = {frozenset(c) for c in nx.strongly_connected_components(graph()) if len(c) > 1}
    assert cycles - KNOWN_CYCLES == set(), f"import cycles: {sorted(map(sorted, cycles - KNOWN_CYCLES))}"
    assert KNOWN_CYCLES <= cycles, (
        f"gone, remove from KNOWN_CYCLES: {sorted(map(sorted, KNOWN_CYCLES - cycles))}"
    )


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("purity.arenas", ("purity.agents", "purity.tournament", "purity.reports")),
        ("purity.agents", ("purity.tournament", "purity.reports")),
    ],
)
def test_lower_layers_import_nothing_above_them(layer, forbidden):
    g = graph()
    wrong = [
        (source, target)
        for source, target in g.edges
        if (source == layer or source.startswith(layer + "."))
        and any(target == f or target.startswith(f + ".") for f in forbidden)
    ]
    assert not wrong, wrong


def test_reports_read_only_the_run_file_format_from_tournament():
    g = graph()
    wrong = [
        (source, target)
        for source, target in g.edges
        if source.startswith("purity.reports")
        and (target.startswith(("purity.tournament", "purity.agents", "purity.arenas")))
        and target != "purity.tournament.record"
    ]
    assert not wrong, wrong


def test_tournament_imports_reports_only_in_the_cli():
    """The engine computes no report figure: only the command line, which prints reports, reaches
    into `purity.reports` (so a sweep's figures are computed at report time)."""
    g = graph()
    reaching = {
        source
        for source, target in g.edges
        if source.startswith("purity.tournament") and target.startswith("purity.reports")
    }
    assert reaching <= {"purity.tournament.cli"}, sorted(reaching)


def test_one_generation_reads_in_one_file_of_at_most_250_lines():
    """The generation step (match, plan, play, learn, reflect, select) stays readable top to bottom."""
    lines = (PACKAGE / "tournament" / "generation.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"purity/tournament/generation.py has {lines} lines"


def test_record_imports_nothing_from_purity():
    assert set(graph().successors("purity.tournament.record")) == set()


def _sized() -> list[tuple[str, Path]]:
    return [(name, path) for name, path in modules().items() if name.startswith(SIZED)]


def test_modules_are_small():
    long = {
        name: n
        for name, path in _sized()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_short():
    long = {}
    for name, path in _sized():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
