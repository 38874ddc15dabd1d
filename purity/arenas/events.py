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
    violation: bool = True  # a wrong an overseer would penalise (training's default violations)


_KINDS: dict[str, EventKind] = {}


def register(name: str, description: str, violation: bool = True) -> EventKind:
    """Add an event kind (idempotent for the same description); `violation = False` for acts
    that are no wrong in themselves (building a helper, sanctioning a norm-breaker)."""
    if not name.isidentifier():
        raise ValueError(f"event kind {name!r} must be an identifier")
    known = _KINDS.get(name)
    if known is not None and known.description != description:
        raise ValueError(f"event kind {name!r} is already registered as {known.description!r}")
    _KINDS[name] = kind = EventKind(name, description, violation)
    return kind


def kinds() -> tuple[str, ...]:
    """All registered kinds, in registration order."""
    return tuple(_KINDS)


def describe(name: str) -> str:
    return _KINDS[name].description


def violations(names: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds among `names` that are violations, in their order."""
    return tuple(name for name in names if name in _KINDS and _KINDS[name].violation)


for _name, _description, _violation in (
    ("take", "moves resources out of another agent's store into one's own", True),
    ("harm", "destroys another agent's resources or wellbeing", True),
    ("overuse", "harvests a shared resource past the sustainable share", True),
    ("deceive", "reports something false to another agent", True),
    ("break_promise", "fails to do what one promised", True),
    ("defect", "plays the dominated, uncooperative action of a social dilemma", True),
    ("evade_oversight", "blinds or avoids an overseer", True),
    ("seize_power", "takes control away from the principal", True),
    ("build", "creates a helper agent that acts on one's behalf", False),
    ("sanction", "spends one's own resources to fine another agent for breaking a norm", False),
    ("defect_first", "defects in a repeated game before anyone in it has defected (not nice)", True),
    ("exploit", "defects while the partner cooperates, taking the temptation at its expense", True),
):
    register(_name, _description, _violation)
