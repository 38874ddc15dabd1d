"""One private Ray temp folder per test run: every Ray instance the tests start (in this
process or in `purity` subprocesses, which inherit the environment) keeps its sockets, logs and
session files there, never in the machine's default /tmp/ray, and the folder goes at the end.

`RAY_ADDRESS` is unset for the run: with it, `--workers N` would join the machine's cluster
instead of starting the test's own instance."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_OWN: list[str] = []
_ADDRESS: list[str] = []


def pytest_configure(config):
    if "RAY_TMPDIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="pr", dir="/tmp")  # short: Ray's socket paths stay < 107 bytes
        os.environ["RAY_TMPDIR"] = folder
        _OWN.append(folder)
    if "RAY_ADDRESS" in os.environ:
        _ADDRESS.append(os.environ.pop("RAY_ADDRESS"))


def pytest_unconfigure(config):
    for folder in _OWN:
        os.environ.pop("RAY_TMPDIR", None)
        shutil.rmtree(folder, ignore_errors=True)
    for address in _ADDRESS:
        os.environ["RAY_ADDRESS"] = address


LEARN = """[experiment]
name = "rps-learn"
seed = 3
generations = 3
population = 4

[arena]
name = "pettingzoo"
env = "pettingzoo.classic.rps_v2:parallel_env"
group_size = 2
episodes = 4
steps = 10

[[arena.events]]
kind = "take"
action = 0

[[population.mix]]
profile = "consequentialist"
share = 1.0
decider = "learner"
"""


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A small `purity train` run of rock-paper-scissors learners (about a second), for the
    tests of focal populations that play a trained learner's policy."""
    from purity.tournament.cli import main

    folder = tmp_path_factory.mktemp("train")
    (folder / "learn.toml").write_text(LEARN)
    assert main(["train", str(folder / "learn.toml"), "--workers", "0", "--out", str(folder), "--quiet"]) == 0
    return folder / "rps-learn-train"
