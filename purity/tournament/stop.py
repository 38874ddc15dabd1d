"""Stopping this process's runs from another thread, as Ctrl-C stops the main thread's.

Ctrl-C reaches only the main thread; an in-process sweep runs its runs in other threads. It sets
`STOP` on Ctrl-C, and every run checks it between generations (its own and its nulls'), so a
run that was going ends as a cut-off run, which a resume continues.
"""

from __future__ import annotations

import threading

STOP = threading.Event()


def check(where: str) -> None:
    """Raise KeyboardInterrupt where `STOP` is set (`where`: what was about to run)."""
    if STOP.is_set():
        raise KeyboardInterrupt(f"stopped before {where}")
