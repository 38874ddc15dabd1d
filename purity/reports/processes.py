"""The figures of many runs on every CPU: a sweep's runs are read independently, so a report of
144 runs takes about half the time on two CPUs.

`each(fn, items)` keeps one share of the items in this process and gives each other usable CPU a
share, run by a child Python that reads `(fn, share)` pickled on its stdin and writes the results
pickled to what was its stdout (its own prints go to stderr). Not `multiprocessing`: its spawned
children import the caller's main script again, which runs whole in every child when a
researcher's script has no `if __name__ == "__main__"` guard; forked ones inherit polars' thread
pool in whatever state it was. Children ignore Ctrl-C: this process stops them.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

# A child costs about half a second (importing polars and numpy); a run's figures 0.1-0.3 s.
ITEMS_PER_PROCESS = 16
# The child's start: this very `purity` first on its path (not one in its working directory).
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from purity.reports.processes import serve; serve()"


def each(fn: Callable[[Any], Any], items: list) -> list:
    """`fn(item)` of every item, in order. `fn` is a module-level function (children import it by
    name) and the items and results pickle."""
    processes = min(_cpus(), len(items) // ITEMS_PER_PROCESS)
    if processes < 2:
        return [fn(item) for item in items]
    cuts = [len(items) * k // processes for k in range(processes + 1)]
    shares = [items[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    children: list[subprocess.Popen] = []
    try:
        for share in shares[1:]:
            children.append(_start(pickle.dumps((fn, share))))
        mine = [fn(item) for item in shares[0]]
        return mine + [result for child in children for result in _results(child)]
    finally:
        for child in children:
            if child.poll() is None:  # this process failed first: the children's work is moot
                child.kill()
                child.wait()


def _cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _start(work: bytes) -> subprocess.Popen:
    """A child given `work`, importing what this process imports: this `purity` (`BOOT`), then
    this process's own module path (where `fn`'s module may live)."""
    paths = os.pathsep.join(path or os.getcwd() for path in sys.path)
    child = subprocess.Popen(
        [sys.executable, "-c", BOOT, str(Path(__file__).resolve().parents[2])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": paths},
    )
    child.stdin.write(work)
    child.stdin.close()
    return child


def _results(child: subprocess.Popen) -> list:
    data = child.stdout.read()
    child.wait()
    if child.returncode != 0 or not data:
        raise RuntimeError(f"a report process ended with exit code {child.returncode}")
    status, value = pickle.loads(data)
    if status == "error":
        raise value
    return value


def serve() -> None:
    """A child's work: results to the stdout it was given, anything `fn` prints to stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer_to = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    fn, share = pickle.load(sys.stdin.buffer)
    try:
        answer = ("ok", [fn(item) for item in share])
    except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
        answer = ("error", error)
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:  # noqa: BLE001 - an error that does not survive pickling: its text does
            answer = ("error", RuntimeError(f"{type(error).__name__}: {error}"))
    answer_to.write(pickle.dumps(answer))
    answer_to.close()
