"""Arenas: multi-agent worlds with a batched numpy core and a PettingZoo wrapper.

Arenas are found by name. Built-ins are imported lazily so that reading an experiment file does
not pay for modules it does not use; a researcher registers a new arena with `register`.
"""

from __future__ import annotations

import importlib

from arenas.core import Arena

_ARENAS: dict[str, str | type[Arena]] = {
    "commons": "arenas.commons:CommonsArena",
    "commons_sanctions": "arenas.commons:SanctionsCommonsArena",
    "matrix": "arenas.matrix:MatrixArena",
    "principal": "arenas.principal:PrincipalArena",
    "promises": "arenas.promises:PromisesArena",
    "oversight": "arenas.oversight:OversightArena",
}


def register(name: str, arena: str | type[Arena]) -> None:
    """Make an arena class (or a lazy "module:Class" path) known under `name`."""
    _ARENAS[name] = arena


def names() -> tuple[str, ...]:
    return tuple(_ARENAS)


def arena_class(name: str) -> type[Arena]:
    """The arena class registered as `name` (KeyError if none)."""
    found = _ARENAS[name]
    if isinstance(found, str):
        module, _, attr = found.partition(":")
        found = _ARENAS[name] = getattr(importlib.import_module(module), attr)
    return found
