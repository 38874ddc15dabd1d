"""A process that runs tasks keeps the memory it frees (heap.py): the same large temporaries,
allocated and freed again and again, page-fault once instead of every time. Each count comes
from a fresh process, since the setting is for the whole process and cannot be undone."""

from __future__ import annotations

import os
import pickle
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


def _faults(mode: str, **env: str) -> tuple[str, int]:
    # 4 KiB pages only, so the count does not depend on the machine's huge-page setting
    environment = {key: value for key, value in os.environ.items() if key not in heap.CHOSEN} | {
        "NUMPY_MADVISE_HUGEPAGE": "0"
    }
    done = subprocess.run(
        [sys.executable, "-c", REUSE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=environment | env,
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not heap.glibc(), reason="the heap's thresholds are glibc's")
def test_freed_blocks_are_reused_without_page_faults_and_are_not_without_it():
    _, plain = _faults("plain")
    kept, kept_faults = _faults("keep")
    assert kept == "True"
    # Without the setting every round faults in its two 8 MiB arrays again (2 × 2,048 pages; glibc
    # keeps some of them); with it only the first round does.
    assert plain > 20 * 1000, plain
    assert kept_faults < plain / 10, (kept_faults, plain)


@pytest.mark.skipif(not heap.glibc(), reason="the heap's thresholds are glibc's")
def test_a_threshold_the_environment_chose_is_left_alone():
    kept, faults = _faults("keep", MALLOC_TRIM_THRESHOLD_="131072")  # glibc's default, chosen
    assert kept == "False"
    assert faults > 20 * 1000, faults


@pytest.mark.parametrize(
    "confstr",
    [
        lambda name: "musl libc",
        lambda name: None,
        pytest.param(lambda name: (_ for _ in ()).throw(ValueError(name)), id="macOS"),
        pytest.param(None, id="Windows"),
    ],
)
def test_elsewhere_nothing_is_set_and_nothing_fails(monkeypatch, confstr):
    if confstr is None:
        monkeypatch.delattr(os, "confstr", raising=False)
    else:
        monkeypatch.setattr(os, "confstr", confstr)
    heap.keep_freed_memory.cache_clear()
    try:
        assert heap.glibc() is False
        assert heap.keep_freed_memory() is False
    finally:
        heap.keep_freed_memory.cache_clear()


def test_a_task_in_a_worker_is_the_task_and_travels_to_ray():
    def play_groups(shared, item):
        return shared + item

    from ray import cloudpickle  # Ray's own pickler, as it ships a task

    task = pickle.loads(cloudpickle.dumps(heap.in_worker(play_groups)))
    assert task.__name__ == "play_groups"  # Ray names the task by it
    assert task(2, 3) == 5
