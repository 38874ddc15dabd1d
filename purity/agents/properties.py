"""Standing properties by name: conditions on the world that a profile may want kept at every step.

A property reads a named state series of a trace (e.g. `commons`, the stock as a share of its
capacity) and says, per episode and step after reset, whether it held. Arenas declare the
properties of the series they record (`Arena.properties`: the commons' `commons_above`, the
principal's `principal_in_control`); a researcher registers more here, over any series an arena
records, in a few lines. Profiles and experiment files refer to them by name; a property
registered here is found before an arena's of the same name.
"""

from __future__ import annotations

from purity.arenas import Registry
from purity.arenas.vocabulary import StandingProperty

_PROPERTIES = Registry("properties")


def register(prop: StandingProperty) -> StandingProperty:
    _PROPERTIES[prop.name] = prop
    return prop


def get(name: str) -> StandingProperty:
    return _PROPERTIES[name]


def names() -> tuple[str, ...]:
    return tuple(_PROPERTIES)
