"""Profiles from TOML, and the library of ready-made profiles that ships beside this file.

Profiles are data: no code is evaluated. Names of measures, properties and event kinds are
checked against the registries, so a typo is an error naming the file and field.
"""

from __future__ import annotations

from pathlib import Path

from purity.agents import properties
from purity.agents.preferences import MEASURES, SCOPES, Profile, Term
from purity.arenas import events
from purity.inputs import InputError, Table, load_toml

LIBRARY = Path(__file__).parent


def library() -> dict[str, Path]:
    """Library profile names (file stems) → paths, sorted by name."""
    return {path.stem: path for path in sorted(LIBRARY.glob("*.toml"))}


def resolve(reference: str, relative_to: Path | None = None) -> Path | None:
    """A library name, or a path (relative to the experiment file's folder) to a TOML file."""
    if reference in library():
        return library()[reference]
    candidate = Path(reference)
    if relative_to is not None and not candidate.is_absolute():
        candidate = relative_to / candidate
    return candidate if candidate.suffix == ".toml" and candidate.is_file() else None


def _weight(table: Table, allow_inf: bool) -> float:
    return table.number("weight", low=0.0, allow_inf=allow_inf)


def _endorsed(table: Table) -> bool:
    return table.boolean("endorsed", default=False)


def _outcome(table: Table) -> tuple[Term, float]:
    measure = table.string("measure", choices=tuple(MEASURES))
    return Term("outcome", measure), _weight(table, allow_inf=False)


def _constraint(table: Table) -> tuple[Term, float]:
    event = table.string("event", choices=events.kinds())
    scope = table.string("scope", choices=SCOPES)
    weight = _weight(table, allow_inf=True)
    return Term("constraint", event, scope=scope, endorsed=_endorsed(table)), weight


def _standing(table: Table) -> tuple[Term, float]:
    prop = table.string("property", choices=properties.names())
    threshold = table.number("threshold", low=0.0, high=1.0)
    weight = _weight(table, allow_inf=True)
    return Term("standing", prop, threshold=threshold, endorsed=_endorsed(table)), weight


def _universalization(table: Table) -> tuple[Term, float]:
    weight = _weight(table, allow_inf=False)
    return Term("universalization", "own_wealth", endorsed=_endorsed(table)), weight


_READERS = {
    "outcome": _outcome,
    "constraint": _constraint,
    "standing": _standing,
    "universalization": _universalization,
}


def parse(data: dict, file: str | Path) -> Profile:
    """Check a profile's TOML data and build the `Profile`."""
    top = Table(data, file)
    head = top.table("profile", required=True)
    name = head.string("name")
    description = head.string("description", default="")
    head.done()
    terms: list[Term] = []
    weights: list[float] = []
    for kind, reader in _READERS.items():
        for table in top.tables(kind):
            term, weight = reader(table)
            if term in terms:
                raise table.error("", f"no second {kind} term of the same kind", term.key)
            table.done()
            terms.append(term)
            weights.append(weight)
    top.done()
    if not terms:
        raise InputError(
            file, "", "at least one term ([[outcome]], [[constraint]], [[standing]] or [[universalization]])"
        )
    return Profile(name, description, tuple(terms), tuple(weights), source=str(file))


def load(path: str | Path) -> Profile:
    return parse(load_toml(path), path)
