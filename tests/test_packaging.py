"""The files a package index and a citation manager read agree with pyproject.toml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # installed with ray

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_citation_file_names_this_version_and_licence():
    """CFF 1.2 (checked once with cffconvert --validate): required keys, and no identifier that
    does not exist (no DOI until one is minted)."""
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff) and cff["title"] == "purity"
    assert cff["version"] == PROJECT["version"]
    assert cff["license"] == PROJECT["license"] == "MIT"
    assert "doi" not in cff and "identifiers" not in cff
    assert all("name" in author or "family-names" in author for author in cff["authors"])


def test_licence_and_changelog():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert PROJECT["license-files"] == ["LICENSE"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog


def test_every_dependency_has_a_lower_bound_and_the_lowest_pins_follow():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from lowest import constraints
    finally:
        sys.path.pop(0)
    pins = dict(line.split("==") for line in constraints(ROOT / "pyproject.toml", ["plot"]))
    assert set(pins) == {
        "numpy",
        "networkx",
        "polars",
        "pettingzoo",
        "gymnasium",
        "ray",
        "numba",
        "matplotlib",
    }
    for requirement in PROJECT["dependencies"]:
        name = requirement.split(">=")[0]
        assert f"{name}>={pins[name]}" in requirement


def test_python_m_purity_prints_the_version():
    done = subprocess.run([sys.executable, "-m", "purity", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("purity ")


@pytest.mark.slow
def test_the_default_run_prints_no_warnings(tmp_path):
    """What `make run` runs (a private local Ray instance, the default experiment): its output is
    the progress bar, the run directory and the report, with no warning of purity's or a library's."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "purity",
            "run",
            ROOT / "experiments/default.toml",
            "--out",
            tmp_path,
            "--force",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")},
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    noisy = [line for line in said if re.search(r"warn|deprecat|traceback|error", line, re.I)]
    assert not noisy, noisy
    assert done.stdout.splitlines()[-2:] == [
        f"report: {tmp_path}/default/report.html",
        f"        {tmp_path}/default/report.md",
    ], done.stdout
