"""The event vocabulary shared by every arena and every profile.

An event is `(step, kind, actor, target, amount)`. Arenas emit amounts per actor and kind; profiles
refer to kinds by name. Both sides meet here, so a profile never needs to know an arena module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventKind:
    name: str
    description: str


_KINDS: dict[str, EventKind] = {}


def register(name: str, description: str) -> EventKind:
    """Add an event kind (idempotent for the same description)."""
    if not name.isidentifier():
        raise ValueError(f"event kind {name!r} must be an identifier")
    known = _KINDS.get(name)
    if known is not None and known.description != description:
        raise ValueError(f"event kind {name!r} is already registered as {known.description!r}")
    _KINDS[name] = kind = EventKind(name, description)
    return kind


def kinds() -> tuple[str, ...]:
    """All registered kinds, in registration order."""
    return tuple(_KINDS)


def describe(name: str) -> str:
    return _KINDS[name].description


for _name, _description in (
    ("take", "moves resources out of another agent's store into one's own"),
    ("harm", "destroys another agent's resources or wellbeing"),
    ("overuse", "harvests a shared resource past the sustainable share"),
    ("deceive", "reports something false to another agent"),
    ("break_promise", "fails to do what one promised"),
    ("defect", "plays the dominated, uncooperative action of a social dilemma"),
    ("evade_oversight", "blinds or avoids an overseer"),
    ("seize_power", "takes control away from the principal"),
    ("build", "creates a helper agent that acts on one's behalf"),
    ("sanction", "spends one's own resources to fine another agent for breaking a norm"),
):
    register(_name, _description)
