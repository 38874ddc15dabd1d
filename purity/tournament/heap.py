"""A process that runs tasks keeps the memory it frees, for the next generation to reuse.

Every generation allocates and frees the same large numpy temporaries: a planning rollout's
trace and the nulls' arrays are megabytes. glibc gives blocks that large back to the kernel when
they are freed (above its mmap threshold, or when the top of the heap is trimmed), so each reuse
page-faults them in again: a default run took about 800,000 minor faults and 12-17% of its CPU
in the kernel (BENCHMARKS.md). With both thresholds raised the blocks stay in the heap.

Set in the `purity` process (with or without Ray) and in each Ray worker before its first task
(`executor.py`), for the whole process and for good. Not set where the environment already
chooses (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES`: glibc's own
names, so setting one of them is also the way to opt out), nor anywhere but Linux with glibc.
"""

from __future__ import annotations

import ctypes
import functools
import os

MMAP_THRESHOLD = 32 << 20  # blocks up to 32 MiB come from the heap: glibc's maximum on 64-bit
TRIM_THRESHOLD = 256 << 20  # up to 256 MiB free at the top of the heap stays with the process
CHOSEN = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def glibc() -> bool:
    """Whether this process runs on glibc (asking changes nothing)."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):  # no such name (macOS, musl), or no confstr (Windows)
        return False
    return bool(version) and version.startswith("glibc")


@functools.cache
def keep_freed_memory() -> bool:
    """Raise this process's thresholds, once; True where they were raised."""
    if not glibc() or any(name in os.environ for name in CHOSEN):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    # glibc's mallopt returns 1 on success; an explicit mmap threshold also stops glibc moving it
    results = [mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD), mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)]
    return all(result == 1 for result in results)


def in_worker(fn):
    """`fn(shared, item)` as a Ray task: the worker keeps freed memory before it runs the task."""

    @functools.wraps(fn)
    def task(shared, item):
        keep_freed_memory()
        return fn(shared, item)

    return task
