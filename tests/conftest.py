"""One private Ray temp folder per test run: every Ray instance the tests start (in this
process or in `purity` subprocesses, which inherit the environment) keeps its sockets, logs and
session files there, never in the machine's default /tmp/ray, and the folder goes at the end."""

import os
import shutil
import tempfile

_OWN: list[str] = []


def pytest_configure(config):
    if "RAY_TMPDIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="pr", dir="/tmp")  # short: Ray's socket paths stay < 107 bytes
        os.environ["RAY_TMPDIR"] = folder
        _OWN.append(folder)


def pytest_unconfigure(config):
    for folder in _OWN:
        os.environ.pop("RAY_TMPDIR", None)
        shutil.rmtree(folder, ignore_errors=True)
