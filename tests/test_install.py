"""What `pip install .` of a checkout gives a user: one import package, `purity`, and nothing
generic at the top level (`agents` is also what an LLM-agents SDK installs), built without a
setuptools warning, importable and runnable from any directory."""

from __future__ import annotations

import re
import subprocess
import tomllib
import venv
from pathlib import Path

import pytest

# About 20 s of pip: `make test-lowest` (in CI) runs it, beside the suite on the oldest versions.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
GENERIC = ("agents", "arenas", "tournament", "reports")
# This machine's pip configuration names local package mirrors that lack some folders; pip says
# so for every package it looks up. That is about the machine, not about this project's build.
MIRROR_NOTICE = re.compile(r"^WARNING: Location '[^']*' is ignored: it is neither a file nor a directory\.$")

FILES = """
import json, sys
from importlib.metadata import distribution
dist = distribution("purity-tournaments")
print(json.dumps({"files": [str(f) for f in dist.files], "bin": sys.prefix}))
"""


def warnings_in(output: str) -> list[str]:
    lines = [line.strip() for line in output.splitlines()]
    return [
        line for line in lines if re.search(r"warn|deprecat|!!", line, re.I) and not MIRROR_NOTICE.match(line)
    ]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with `pip install .` of this checkout (not editable) in it."""
    home = tmp_path_factory.mktemp("install")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    # The pip of the day: it shows the warnings a build backend raises (older pips hide them).
    upgrade = [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"]
    assert subprocess.run(upgrade, capture_output=True, timeout=300).returncode == 0
    done = subprocess.run(
        [python, "-m", "pip", "install", "--no-input", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=home,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not warnings_in(done.stdout + done.stderr), warnings_in(done.stdout + done.stderr)
    return python


def test_only_purity_modules_are_installed(installed):
    import json

    done = subprocess.run([installed, "-c", FILES], capture_output=True, text=True, cwd=installed.parent)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    tops = {Path(f).parts[0] for f in files if not f.startswith("..")}
    assert tops == {"purity", f"purity_tournaments-{VERSION}.dist-info"}, tops
    assert not set(GENERIC) & tops
    outside = [f for f in files if f.startswith("..")]
    assert outside == ["../../../bin/purity"], outside  # the console script, and nothing else
    modules = {f for f in files if f.endswith(".py")}
    for package in GENERIC:
        assert f"purity/{package}/__init__.py" in modules
    assert any(f.startswith("purity/agents/profiles/") and f.endswith(".toml") for f in files)
    assert any(f.endswith("dist-info/licenses/LICENSE") for f in files)


def test_import_and_command_work_away_from_the_checkout(installed, tmp_path):
    code = (
        "import importlib.util, purity, purity.tournament.cli\n"
        f"generic = [m for m in {GENERIC!r} if importlib.util.find_spec(m)]\n"
        "assert not generic, generic\n"
        f"assert not purity.__file__.startswith({str(ROOT)!r}), purity.__file__\n"
        "print(purity.__version__)"
    )
    done = subprocess.run([installed, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == VERSION
    command = installed.parent / "purity"
    assert (
        subprocess.run([command, "--version"], capture_output=True, text=True).stdout.strip()
        == f"purity {VERSION}"
    )
    listed = subprocess.run([command, "profiles"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0 and "consequentialist" in listed.stdout, listed.stderr
