"""Module-level functions for tests/reports/test_processes.py: `processes.each` hands a function to
its children by name, so it must live in a module they can import (this one imports nothing of
the tests')."""

import os


def where(item: int) -> tuple[int, int]:
    """The item's square and the process that computed it."""
    return item * item, os.getpid()


def fails(item: int) -> int:
    if item == 7:
        raise ValueError(f"item {item} is bad")
    return item


def loud(item: int) -> int:
    """Prints as it works, as a library might."""
    print(f"working on {item}")
    return item
