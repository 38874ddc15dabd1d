"""What one case costs: its peak resident memory, of this process and of the child processes it
waited for, and its wall time.

The process's peak is reset before the case (Linux: writing 5 to /proc/self/clear_refs resets
both VmHWM and getrusage's ru_maxrss), so the figure is this case's, interpreter included. Where
the reset is refused, the figure is the process's lifetime peak: larger, never smaller. The
children's figure is getrusage(RUSAGE_CHILDREN): the peak of the largest child (with the
descendants it waited for) this process ever waited for, so a bound on this case's children,
never smaller. It cannot be reset; it only matters when a case starts processes.

Set PURITY_FOOTPRINT=FILE to append one line per case (`id<TAB>self MiB<TAB>children MiB<TAB>s`).
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

MIB = 2**20
LIMIT_BYTES = 2**30  # the bound: no case above 1 GiB, children included
LIMIT_SECONDS = 30.0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _kib(who: int) -> int:
    return resource.getrusage(who).ru_maxrss


@dataclass
class Footprint:
    """A context manager around one case; after it, `own`, `children` (bytes) and `seconds`."""

    case: str = ""
    own: int = 0
    children: int = 0
    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> Footprint:
        _reset_peak()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        self.own = _kib(resource.RUSAGE_SELF) * 1024
        self.children = _kib(resource.RUSAGE_CHILDREN) * 1024
        log = os.environ.get("PURITY_FOOTPRINT")
        if log:
            with open(log, "a") as handle:
                handle.write(
                    f"{self.case}\t{self.own / MIB:.0f}\t{self.children / MIB:.0f}\t{self.seconds:.3f}\n"
                )

    def check(self) -> None:
        """The case stayed within 1 GiB (this process and its children) and 30 s."""
        assert self.own <= LIMIT_BYTES, f"{self.case}: {self.own / MIB:.0f} MiB resident"
        assert self.children <= LIMIT_BYTES, f"{self.case}: a child reached {self.children / MIB:.0f} MiB"
        assert self.seconds <= LIMIT_SECONDS, f"{self.case}: {self.seconds:.1f} s"
