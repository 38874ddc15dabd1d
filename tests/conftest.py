"""One private Ray temp folder per test run: every Ray instance the tests start (in this
process or in `purity` subprocesses, which inherit the environment) keeps its sockets, logs and
session files there, never in the machine's default /tmp/ray, and the folder goes at the end.

`RAY_ADDRESS` is unset for the run: with it, `--workers N` would join the machine's cluster
instead of starting the test's own instance.

numpy runs without its AVX-512 loops (`NPY_DISABLE_CPU_FEATURES`, set before numpy is first
imported and inherited by every subprocess and Ray worker): its AVX-512 float64 exp rounds
differently from the C library's in the last bit, which moves fitness ties, so the golden tables
would differ between CPUs with and without AVX-512 (2026-12: an Intel Xeon and an AMD EPYC of
this machine kind). Without those loops both compute the same tables."""

import functools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from tests.numpy_loops import without_avx512

if "numpy" in sys.modules:  # too late to choose its loops: the tables could depend on the CPU
    raise RuntimeError("tests/conftest.py must run before numpy is imported")
if "NPY_DISABLE_CPU_FEATURES" not in os.environ:  # xdist workers inherit it
    os.environ["NPY_DISABLE_CPU_FEATURES"] = without_avx512()

import pytest  # noqa: E402

_OWN: list[str] = []
_ADDRESS: list[str] = []


def pytest_configure(config):
    if "RAY_TMPDIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="pr", dir="/tmp")  # short: Ray's socket paths stay < 107 bytes
        os.environ["RAY_TMPDIR"] = folder
        _OWN.append(folder)
    if "RAY_ADDRESS" in os.environ:
        _ADDRESS.append(os.environ.pop("RAY_ADDRESS"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test`'s two processes share the tests out one at a time (xdist's `load`), but a test
    file that defines a module-scoped fixture goes whole to one process, which builds the fixture
    once: under `load`, each process that ran one of its tests built it again (the browser's
    pages, the tiny atlas, the Price runs: 7-22 s each). The files whose tests take the session's
    Ray instance (`two_workers`) go together to one process, so one instance starts, not one per
    process: a start costs about 5 s of CPU and an idle instance about 0.05 CPU-seconds a
    second until the session ends. xdist's `loadgroup` would say the same with marks, but on
    pytest 9.2 it silently groups nothing (pytest-dev/pytest-xdist#1386)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return _setup_scope(config.rootpath / file) or nodeid

    return SharedSetups(config, log)


_RAY = re.compile(r"def test_\w+\([^)]*\btwo_workers\b")
_MODULE_FIXTURE = re.compile(r"""@pytest\.fixture\([^)]*scope\s*=\s*["']module["']""")


@functools.cache
def _setup_scope(path: Path) -> str:
    """The scope a test file's tests share because of a costly setup: "two_workers" if a test
    takes the session's Ray instance, the file if it defines a module-scoped fixture, else ""
    (read as text: the scheduler runs in the controlling process, which collects nothing)."""
    text = path.read_text(encoding="utf-8") if path.suffix == ".py" else ""
    if _RAY.search(text):
        return "two_workers"
    return str(path) if _MODULE_FIXTURE.search(text) else ""


def pytest_unconfigure(config):
    for folder in _OWN:
        os.environ.pop("RAY_TMPDIR", None)
        shutil.rmtree(folder, ignore_errors=True)
    for address in _ADDRESS:
        os.environ["RAY_ADDRESS"] = address


LEARN = Path(__file__).resolve().parents[1] / "examples/pettingzoo/rps_learn.toml"  # shipped


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A small `purity train` run of rock-paper-scissors learners (about a second), for the
    tests of focal populations that play a trained learner's policy."""
    from purity.tournament.cli import main

    folder = tmp_path_factory.mktemp("train")
    (folder / "learn.toml").write_text(LEARN.read_text())
    assert main(["train", str(folder / "learn.toml"), "--workers", "0", "--out", str(folder), "--quiet"]) == 0
    return folder / "rps-learn-train"
