"""Arenas: multi-agent worlds with a batched numpy core and a PettingZoo wrapper.

Arenas are found by name. Built-ins are imported lazily so that an experiment pays only for the
arena it plays; a researcher registers a new arena with `register`. What arenas let profiles say
about them (standing properties, outcome measures, public traits; `purity.arenas.vocabulary`) is
found by name with `declared`, which imports every registered arena the first time it is asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from purity.arenas.core import Arena

_ARENAS: dict[str, str | type[Arena]] = {
    "commons": "purity.arenas.commons:CommonsArena",
    "commons_sanctions": "purity.arenas.commons_sanctions:SanctionsCommonsArena",
    "matrix": "purity.arenas.matrix:MatrixArena",
    "principal": "purity.arenas.principal:PrincipalArena",
    "principal_police": "purity.arenas.principal_police:PoliceArena",
    "promises": "purity.arenas.promises:PromisesArena",
    "promises_sanctions": "purity.arenas.promises_sanctions:PromisesSanctionsArena",
    "oversight": "purity.arenas.oversight:OversightArena",
    "pettingzoo": "purity.arenas.adapter:PettingZooArena",  # any PettingZoo ParallelEnv
    "repeated": "purity.arenas.repeated:RepeatedArena",
}
KINDS = ("properties", "measures", "traits")  # what an arena declares for profiles to name
_DECLARED: dict[str, dict[str, Any]] = {}


def register(name: str, arena: str | type[Arena]) -> None:
    """Make an arena class (or a lazy "module:Class" path) known under `name`."""
    _ARENAS[name] = arena
    _DECLARED.clear()


def names() -> tuple[str, ...]:
    return tuple(_ARENAS)


def arena_class(name: str) -> type[Arena]:
    """The arena class registered as `name` (KeyError if none)."""
    found = _ARENAS[name]
    if isinstance(found, str):
        module, _, attr = found.partition(":")
        found = _ARENAS[name] = getattr(importlib.import_module(module), attr)
    return found


def declared(kind: str) -> Mapping[str, Any]:
    """What the registered arenas declare of `kind` ("properties", "measures" or "traits"), by
    name, in registration order. A variant inherits its base's declarations; two different ones
    of one name are an error."""
    if kind not in KINDS:
        raise ValueError(f"arenas declare {', '.join(KINDS)}, not {kind!r}")
    if kind not in _DECLARED:
        found: dict[str, Any] = {}
        for arena in list(_ARENAS):
            for item in getattr(arena_class(arena), kind):
                if found.setdefault(item.name, item) != item:
                    raise ValueError(f"two arenas declare different {kind} named {item.name!r}")
        _DECLARED[kind] = found
    return _DECLARED[kind]


class Registry(MutableMapping):
    """Names registered in Python (`registry[name] = x`; read first), then what the registered
    arenas declare of `kind`: one lookup for the profile layer, which never names an arena."""

    def __init__(self, kind: str, registered: Mapping[str, Any] | None = None):
        self.kind, self.registered = kind, dict(registered or {})

    def __getitem__(self, name: str) -> Any:
        if name in self.registered:
            return self.registered[name]
        return declared(self.kind)[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.registered[name] = value

    def __delitem__(self, name: str) -> None:
        del self.registered[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.registered), **dict.fromkeys(declared(self.kind))})

    def __len__(self) -> int:
        return len(set(self.registered) | set(declared(self.kind)))
