"""A process that runs tasks keeps the memory it frees (heap.py): the same large temporaries,
allocated and freed again and again, page-fault once instead of every time. Each count comes
from a fresh process, since the setting is for the whole process and cannot be undone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from purity.tournament import heap

REUSE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from purity.tournament import heap
    kept = heap.keep_freed_memory() if sys.argv[1] == "keep" else None
    np.ones(1 << 20) * 2.0  # numpy's own first allocations, outside the count
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = np.ones(1 << 20)  # 8 MiB, and another as large
        b = a * 2.0
        del a, b
    print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", REUSE, mode], capture_output=True, text=True, timeout=60, check=True
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not heap.keep_freed_memory(), reason="the heap thresholds are glibc's (Linux)")
def test_freed_blocks_are_reused_without_page_faults_and_are_not_without_it():
    _, plain = _faults("plain")
    kept, kept_faults = _faults("keep")
    assert kept == "True"
    # Without the setting every round faults its two 8 MiB arrays in again (about 1,000 faults a
    # round on this machine kind, where huge pages cover part of them); with it only the first.
    assert plain > 20 * 200, plain
    assert kept_faults < plain / 10, (kept_faults, plain)


def test_elsewhere_nothing_is_set_and_nothing_fails(monkeypatch):
    monkeypatch.setattr(os, "confstr", lambda name: "musl libc")
    heap.keep_freed_memory.cache_clear()
    try:
        assert heap.keep_freed_memory() is False
    finally:
        heap.keep_freed_memory.cache_clear()


def test_a_task_in_a_worker_is_the_task():
    def play_groups(shared, item):
        return shared + item

    task = heap.in_worker(play_groups)
    assert task.__name__ == "play_groups"  # Ray names the task by it
    assert task(2, 3) == 5
