"""Standing properties: conditions on the world that a profile may want kept at every step.

A property reads a named state series of a trace (e.g. `commons`, the stock as a share of its
capacity) and says, per episode and step after it, whether it held (the state before the first step is
nobody's doing and is not judged). Arenas declare which series they
record; registering a property is a few lines, and profiles refer to it by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class StandingProperty:
    name: str
    series: str
    description: str
    holds: Callable[[np.ndarray, float], np.ndarray]  # (series[B, T], threshold) -> bool[B, T]


_PROPERTIES: dict[str, StandingProperty] = {}


def register(prop: StandingProperty) -> StandingProperty:
    _PROPERTIES[prop.name] = prop
    return prop


def get(name: str) -> StandingProperty:
    return _PROPERTIES[name]


def names() -> tuple[str, ...]:
    return tuple(_PROPERTIES)


register(
    StandingProperty(
        "commons_above",
        "commons",
        "the shared stock stays above `threshold` of its capacity",
        lambda series, threshold: series > threshold,
    )
)
register(
    StandingProperty(
        "principal_in_control",
        "principal_control",
        "the principal's share of control stays above `threshold`",
        lambda series, threshold: series > threshold,
    )
)
