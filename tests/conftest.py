"""One private Ray temp folder per test run: every Ray instance the tests start (in this
process or in `purity` subprocesses, which inherit the environment) keeps its sockets, logs and
session files there, never in the machine's default /tmp/ray, and the folder goes at the end.

`RAY_ADDRESS` is unset for the run: with it, `--workers N` would join the machine's cluster
instead of starting the test's own instance."""

import os
import shutil
import tempfile

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
