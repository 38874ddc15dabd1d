"""Profiles from TOML, and the library of ready-made profiles that ships beside this file.

Profiles are data: no code is evaluated. Names of measures, properties and event kinds are
checked against the registries, so a typo is an error naming the file and field. Which keys a
term has is read from its kind (`purity.agents.preferences.KINDS`), for reading and writing alike.
"""

from __future__ import annotations

from pathlib import Path

from purity.agents.preferences import KINDS, SCOPES, Kind, Profile, Term
from purity.inputs import InputError, Table, load_toml

LIBRARY = Path(__file__).parent
FRAMINGS = ("penalty", "reward")  # how a process term is written: − each breach, or + each step kept


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


def _term(kind: Kind, table: Table) -> tuple[Term, float]:
    """One `[[<kind>]]` table, its keys read in the order `dump` writes them."""
    name = kind.fixed or table.string(kind.about, choices=kind.names())
    scope = table.string("scope", choices=SCOPES) if kind.scoped else None
    threshold = table.number("threshold", low=0.0, high=1.0) if kind.threshold else None
    weight = table.number("weight", low=0.0, allow_inf=kind.hard)
    endorsed = table.boolean("endorsed", default=False) if kind.process else False
    framing = table.string("framing", choices=FRAMINGS, default="penalty") if kind.framed else ""
    if framing == "reward" and weight == float("inf"):
        raise table.error(
            "framing", '"penalty" on a hard term (weight "inf" forbids what it counts)', framing
        )
    responsibility, decay = _graded(table, scope) if kind.scoped else (None, None)
    term = Term(
        kind.name,
        name,
        scope=scope,
        threshold=threshold,
        endorsed=endorsed,
        reward=framing == "reward",
        responsibility=responsibility,
        decay=decay,
    )
    return term, weight


def _graded(table: Table, scope: str | None) -> tuple[float | None, float | None]:
    """A lineage constraint's optional `responsibility` (share of built and descendant agents'
    acts, 0 = self, 1 = lineage) and `decay` (factor per further generation of descent)."""
    if not (table.has("responsibility") or table.has("decay")):
        return None, None
    if scope != "lineage":
        key = "responsibility" if table.has("responsibility") else "decay"
        raise table.error(
            key, 'only with scope = "lineage" (the scope that reaches built and descendant agents)'
        )
    responsibility = table.number("responsibility", default=1.0, low=0.0, high=1.0)
    decay = table.number("decay", default=1.0, low=0.0, high=1.0)
    return float(responsibility), float(decay)


def parse(data: dict, file: str | Path) -> Profile:
    """Check a profile's TOML data and build the `Profile`."""
    top = Table(data, file)
    head = top.table("profile", required=True)
    name = head.string("name")
    description = head.string("description", default="")
    head.done()
    terms: list[Term] = []
    weights: list[float] = []
    for kind in KINDS.values():
        for table in top.tables(kind.name):
            term, weight = _term(kind, table)
            if term in terms:
                raise table.error("", f"no second {kind.name} term of the same kind", term.key)
            table.done()
            terms.append(term)
            weights.append(weight)
    top.done()
    if not terms:
        tables = [f"[[{name}]]" for name in KINDS]
        raise InputError(file, "", f"at least one term ({', '.join(tables[:-1])} or {tables[-1]})")
    return Profile(name, description, tuple(terms), tuple(weights), source=str(file))


def dump(profile: Profile) -> dict:
    """The profile as TOML data that `parse` reads back as the same profile."""
    data: dict = {
        "profile": {"name": profile.name}
        | ({"description": profile.description} if profile.description else {})
    }
    for term, weight in zip(profile.terms, profile.weights):
        kind = KINDS[term.kind]
        row = {} if kind.fixed else {kind.about: term.name}
        row |= {"scope": term.scope} if kind.scoped else {}
        row |= {"threshold": term.threshold} if kind.threshold else {}
        row |= {"weight": weight}
        row |= {"endorsed": term.endorsed} if kind.process else {}
        row |= {"framing": "reward"} if term.reward else {}
        row |= {"responsibility": term.responsibility, "decay": term.decay} if term.graded else {}
        data.setdefault(term.kind, []).append(row)
    return data


def load(path: str | Path) -> Profile:
    return parse(load_toml(path), path)
