"""Arenas: multi-agent worlds with a batched numpy core and a PettingZoo wrapper.

Arenas are found by name. Built-ins are imported lazily so that reading an experiment file does
not pay for modules it does not use; a researcher registers a new arena with `register`.
"""

from __future__ import annotations

import importlib

from purity.arenas.core import Arena

_ARENAS: dict[str, str | type[Arena]] = {
    "commons": "purity.arenas.commons:CommonsArena",
    "commons_sanctions": "purity.arenas.commons:SanctionsCommonsArena",
    "matrix": "purity.arenas.matrix:MatrixArena",
    "principal": "purity.arenas.principal:PrincipalArena",
    "promises": "purity.arenas.promises:PromisesArena",
    "oversight": "purity.arenas.oversight:OversightArena",
    "repeated": "purity.arenas.repeated:RepeatedArena",
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
