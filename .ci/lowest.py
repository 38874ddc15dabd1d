"""Print a pip constraints file that pins every dependency to its lower bound in pyproject.toml.

pip has no "lowest versions" resolution, so `make test-lowest` installs with these constraints:
`name==X` for each `name>=X` of [project] dependencies and of the optional extras named on the
command line (default: plot). A dependency without a lower bound is an error: every range must
say what it was tested from.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

LOWER = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*(?:[^;]*?)>=\s*([0-9][0-9A-Za-z.]*)")


def constraints(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    pins = {}
    for requirement in requirements:
        found = LOWER.match(requirement)
        if not found:
            raise SystemExit(f"{pyproject}: {requirement!r} has no lower bound (name>=version)")
        pins[found.group(1).lower()] = found.group(2)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    print("\n".join(constraints(root / "pyproject.toml", sys.argv[1:] or ["plot"])))
