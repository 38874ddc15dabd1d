"""Killing only what a test started: a process is pinned by a pidfd before its ownership is
checked, so the check and the signal are about the same process even if its pid is reused in
between (signalling the bare pid after a check could hit a newcomer that took the number)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable


def kill_own(pid: int, owned: Callable[[int], bool]) -> bool:
    """SIGKILL `pid` if `owned(pid)` holds once the process is pinned; whether it was signalled."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        if not owned(pid):  # asked after pinning: a reused pid fails here, not at the signal
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)
