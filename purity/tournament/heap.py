"""A process that runs tasks keeps the memory it frees, for the next generation to reuse.

Every generation allocates and frees the same large numpy temporaries: a planning rollout's
trace and scores are megabytes. glibc gives blocks that large back to the kernel when they are
freed (above its mmap threshold, or when the top of the heap is trimmed), so each reuse
page-faults them in again. A default run took about 800,000 minor faults and spent 12% of its
CPU in the kernel (BENCHMARKS.md). With both thresholds raised the blocks stay in the heap.
Linux with glibc only; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import os

MMAP_THRESHOLD = 64 << 20  # blocks up to 64 MiB come from the heap, and are reused from it
TRIM_THRESHOLD = 256 << 20  # up to 256 MiB free at the top of the heap stays with the process
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


@functools.cache
def keep_freed_memory() -> bool:
    """Raise this process's thresholds, once; True where they were raised (glibc)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
    except (ValueError, OSError, AttributeError):  # not glibc: no such name, or no confstr at all
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    # glibc's mallopt returns 1 on success; an explicit mmap threshold also stops glibc moving it
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


def in_worker(fn):
    """`fn(shared, item)` as a Ray task: the worker keeps freed memory before it runs the task."""

    @functools.wraps(fn)
    def task(shared, item):
        keep_freed_memory()
        return fn(shared, item)

    return task
