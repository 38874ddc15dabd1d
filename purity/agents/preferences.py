"""Preferences: terms, profiles, and the utility of a trace, batched over episodes.

A profile is a weighted sum of terms. Every weight is an exchange rate in fitness units ("what I
would give up to avoid one unit of this"), so outcome and process weights are comparable and the
process share of an agent is well defined. A weight of `inf` is a hard constraint.

What differs between the kinds of term (outcome, constraint, standing, universalization) is in
one table, `KINDS`: how a profile file spells a term, its label, and its value in a trace. Code
elsewhere asks a term (`term.process`, `term.scoped`, `term.series`) instead of testing its kind.

Utility is computed as `features · weights`: `features(trace, terms, kin)` gives each term's value
for every agent of every episode ([B, n, T]), and `utility(features, weights)` applies per-agent
weights ([B, n, T] or broadcastable). Agents of a population then differ only by a weight row.

Public traits (`traits(weights, terms, names, population)`) are what arenas with observable
preferences show others of a profile: functions of the weights alone, so no policy can fake them.
A name `"<trait>@population"` is the trait's mean over the whole population instead, the same for
everyone: what an agent knows of a partner it cannot see.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Callable

import numpy as np

from purity.agents import properties
from purity.arenas import Registry, events
from purity.arenas.core import Trace

SCOPES = ("self", "lineage", "world")


def _own_wealth(trace: Trace, kin: np.ndarray) -> np.ndarray:
    return trace.fitness


def _lineage_wealth(trace: Trace, kin: np.ndarray) -> np.ndarray:
    return ((kin > 0) * trace.fitness[:, None, :]).sum(axis=-1)


def _total_welfare(trace: Trace, kin: np.ndarray) -> np.ndarray:
    return np.broadcast_to(trace.fitness.sum(axis=-1, keepdims=True), trace.fitness.shape)


# Measures whose agent i reads only row i of `kin`: given the focal agents' rows [B, 1, n]
# (`_focal_kin`) they give the focal values alone. The others, and a measure registered later,
# get all of `kin` (those above that do not read it are cheaper without the gather).
_ROWWISE = (_lineage_wealth,)


# Outcome measures: (trace, kin[B|1, n, n]) -> [B, n]. Register more with `register_measure`; arenas
# declare those that read their own series (`Arena.measures`, e.g. the principal's `principal_power`).
MEASURES: MutableMapping[str, Callable[[Trace, np.ndarray], np.ndarray]] = Registry(
    "measures",
    {"own_wealth": _own_wealth, "lineage_wealth": _lineage_wealth, "total_welfare": _total_welfare},
)


def register_measure(name: str, measure: Callable[[Trace, np.ndarray], np.ndarray]) -> None:
    """Add an outcome measure usable as `[[outcome]] measure = name` in profiles."""
    MEASURES[name] = measure


@dataclass(frozen=True)
class Term:
    """One term of a profile. `name` is the measure, property or event it is about."""

    kind: str
    name: str
    scope: str | None = None  # constraints: whose acts count
    threshold: float | None = None  # standing properties
    endorsed: bool = False  # process terms: values its own presence
    reward: bool = False  # process terms: + steps held or chances not taken (a reward), not − breaches
    responsibility: float | None = None  # graded constraints: share of a built or descendant agent's acts
    decay: float | None = None  # graded constraints: factor per further generation of descent

    @property
    def graded(self) -> bool:
        """A constraint with its own responsibility for built and descendant agents' acts."""
        return self.responsibility is not None

    @property
    def process(self) -> bool:
        return KINDS[self.kind].process

    @property
    def scoped(self) -> bool:
        """Whether the term has a scope (so reflection or mutation can move it to another)."""
        return KINDS[self.kind].scoped

    @property
    def series(self) -> str | None:
        """The series of a trace the term reads (an arena must record it), or None."""
        return KINDS[self.kind].series(self)

    @property
    def key(self) -> str:
        """Stable identifier, used for weight columns: e.g. `constraint:take:self`."""
        parts = [self.kind, self.name]
        if self.scope is not None:
            parts.append(self.scope)
        if self.threshold is not None:
            parts.append(f"{self.threshold:g}")
        if self.endorsed:
            parts.append("endorsed")
        if self.reward:
            parts.append("reward")
        if self.graded:
            parts.append(
                f"r{self.responsibility:g}" + ("" if self.decay in (None, 1.0) else f":decay{self.decay:g}")
            )
        return ":".join(parts)

    @property
    def label(self) -> str:
        kind = KINDS[self.kind]
        return kind.label(self) + (" (endorsed)" if self.endorsed and kind.process else "")

    def describe(self) -> dict:
        about = KINDS[self.kind].about
        return {
            "key": self.key,
            "kind": self.kind,
            "process": self.process,
            "label": self.label,
            "event": self.name if about == "event" else None,
            "scope": self.scope,
            "measure": self.name if about == "measure" else None,
            "property": self.name if about == "property" else None,
            "threshold": self.threshold,
            "endorsed": self.endorsed,
            "framing": "reward" if self.reward else "penalty",
        } | ({"responsibility": self.responsibility, "decay": self.decay or 1.0} if self.graded else {})


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    terms: tuple[Term, ...]
    weights: tuple[float, ...]
    source: str = ""

    def weight_row(self, universe: tuple[Term, ...]) -> np.ndarray:
        """This profile's weights laid out over a run's term universe (0 = term absent)."""
        row = np.zeros(len(universe))
        for term, weight in zip(self.terms, self.weights):
            row[universe.index(term)] = weight
        return row


def scoped_events(trace: Trace, event: str, scope: str, kin: np.ndarray) -> np.ndarray:
    """[B, n] amount of `event` done by the actors in each agent's scope.

    `kin[i, j]` > 0 when j is i or descends from i; off the diagonal it is 1 / (generations of
    descent), so a child is 1 and a grandchild 1/2 (`graded_events` reads the distance)."""
    return _counted(trace, event, kin, scope=scope)


def scoped_opportunities(trace: Trace, event: str, scope: str, kin: np.ndarray) -> np.ndarray:
    """[B, n] steps at which `event` was open to the actors in each agent's scope, counted as
    `scoped_events` counts their acts (what a constraint written as a reward is paid for)."""
    return _counted(trace, event, kin, scope=scope, chances=True)


def graded_events(
    trace: Trace, event: str, responsibility: float, decay: float, kin: np.ndarray
) -> np.ndarray:
    """[B, n] own acts of `event`, plus `responsibility` × decay^(k − 1) of the acts of each
    actor k generations of descent away: a built helper or a child (k = 1), a grandchild (2), a
    grandchild's helper (3) ... responsibility 0 is the `self` scope; 1 with decay 1 `lineage`."""
    return _counted(trace, event, kin, grade=(responsibility, decay))


def graded_opportunities(
    trace: Trace, event: str, responsibility: float, decay: float, kin: np.ndarray
) -> np.ndarray:
    """[B, n] the chances of `event` weighted as `graded_events` weights the acts."""
    return _counted(trace, event, kin, grade=(responsibility, decay), chances=True)


def _counted(
    trace: Trace,
    event: str,
    kin: np.ndarray,
    scope: str | None = None,
    grade: tuple[float, float] | None = None,
    chances: bool = False,
    focal: np.ndarray | None = None,
) -> np.ndarray:
    """[B, n] per agent, acts of `event` (or, with `chances`, steps it was open) summed over the
    actors in its `scope`, or weighted by its `grade` (responsibility, decay); given `focal` [B],
    [B]: agent focal[b]'s alone."""
    k = trace.kind_index(event)
    if k is None:
        return np.zeros(trace.fitness.shape if focal is None else len(focal))
    per_actor = trace.opportunities if chances else trace.events
    own = per_actor[:, : trace.n_agents, k]
    if grade is None and scope == "self":
        values = own
    elif grade is None and scope != "lineage":
        values = np.broadcast_to(per_actor[..., k].sum(axis=-1, keepdims=True), own.shape)
    else:  # only these read the helpers' acts apart
        helper = (trace.helper_opportunities() if chances else trace.helper_events())[..., k]
        if grade is not None:
            values = _graded(own, helper, *grade, kin)
        else:
            rows = kin if focal is None else _focal_kin(kin, focal)
            values = ((rows > 0) * (own + helper)[:, None, :]).sum(axis=-1)
    return values if focal is None else _at(values, focal)


def _focal_kin(kin: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """[B, 1, n]: the row of `kin` [B|1, n, n] of each episode's focal agent (its lineage)."""
    kin = np.broadcast_to(kin, (len(focal), *kin.shape[1:]))
    return kin[np.arange(len(focal)), focal][:, None]


def _at(values: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """[B]: each episode's focal agent's entry of `values` [B|1, n], or of [B|1, 1] (already the
    focal agent's, or the same for every agent)."""
    values = np.broadcast_to(values, (len(focal), values.shape[-1]))
    if values.shape[-1] == 1:
        return values[:, 0]
    return values[np.arange(len(focal)), focal]


def _graded(
    own: np.ndarray, helper: np.ndarray, responsibility: float, decay: float, kin: np.ndarray
) -> np.ndarray:
    n = own.shape[-1]
    kin = np.broadcast_to(kin, (len(own), n, n))
    off = (kin > 0) & ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        depth = np.where(off, np.rint(1.0 / np.where(off, kin, 1.0)), 0.0)  # 0: self or not kin
    share = np.where(off, responsibility * decay ** np.maximum(depth - 1, 0), 0.0)
    descendants = (share * (own + decay * helper)[:, None, :]).sum(axis=-1)
    return own + responsibility * helper + descendants


def _outcome_value(term: Term, trace: Trace, kin: np.ndarray, alike, focal) -> np.ndarray:
    measure = MEASURES[term.name]
    if focal is None:
        return measure(trace, kin)
    return _at(measure(trace, _focal_kin(kin, focal) if measure in _ROWWISE else kin), focal)


def _constraint_value(term: Term, trace: Trace, kin: np.ndarray, alike, focal) -> np.ndarray:
    """Minus the amount of the event done in the term's scope (a penalty) or, written as a
    reward, the steps it was open in that scope less that amount: +1 for each chance not taken
    when acts come one a step. The two differ by the number of chances (see `_standing_value`)."""
    grade = (term.responsibility, 1.0 if term.decay is None else term.decay) if term.graded else None
    done = _counted(trace, term.name, kin, term.scope, grade, focal=focal)
    if not term.reward:
        return -done
    return _counted(trace, term.name, kin, term.scope, grade, chances=True, focal=focal) - done


def _standing_value(term: Term, trace: Trace, kin: np.ndarray, alike, focal) -> np.ndarray:
    """Minus the number of steps at which the property did not hold (a penalty), or, written as a
    reward, the number of steps at which it held. Over futures of equal length the two differ by
    a constant, so a rule that scores with fixed weights ranks them alike; one that scores with
    changed weights (hedonistic) does not, which is why the framing is a switch."""
    prop = properties.get(term.name)
    held = prop.holds(trace.series[prop.series][:, 1:], term.threshold)
    value = (
        held.sum(axis=-1, keepdims=True).astype(float)
        if term.reward
        else -(~held).sum(axis=-1, keepdims=True)
    )
    return value if focal is None else value[:, 0]


def _alike_value(term: Term, trace: Trace, kin: np.ndarray, alike, focal) -> np.ndarray:
    if alike is None:
        raise ValueError("a universalization term needs the fitness of the all-alike episodes")
    return alike if focal is None else _at(alike, focal)


def _constraint_label(term: Term) -> str:
    reward = " (reward)" if term.reward else ""
    if not term.graded:
        return f"never {term.name} ({term.scope} acts){reward}"
    decay = "" if term.decay in (None, 1.0) else f", decay {term.decay:g}"
    return f"never {term.name} (own acts, {term.responsibility:g} of built and descendants'{decay}){reward}"


@dataclass(frozen=True)
class Kind:
    """A kind of term: how a profile file spells it, what it is called, and its value.

    In a profile file a term is a `[[<kind>]]` table with the key `about` (chosen among
    `names()`), then `scope` (if `scoped`), `threshold` (if `threshold`), `weight` (may be
    `inf` if `hard`), `endorsed` (process kinds) and `framing` (if `framed`: "penalty", −1 for
    each breach, or "reward", +1 for each step held or chance not taken; a hard term is a
    penalty). `value(term, trace, kin, alike, focal)` is its
    [B, n] feature, or with `focal` [B] agent focal[b]'s alone [B] (what a planner scores: the
    same numbers, without the other agents' work); `alike` [B, n] is the fitness of episodes in
    which the whole group played the agent's policy, computed only for kinds that ask for it
    (`alike = True`).
    """

    name: str
    about: str  # the profile key naming what the term is about: measure | event | property
    names: Callable[[], tuple[str, ...]]
    value: Callable[[Term, Trace, np.ndarray, np.ndarray | None, np.ndarray | None], np.ndarray]
    label: Callable[[Term], str]
    process: bool = True
    scoped: bool = False
    threshold: bool = False
    hard: bool = True
    framed: bool = False  # may be written as a reward (`Term.reward`) as well as a penalty
    fixed: str | None = None  # the name every term of the kind has (then not in the file)
    alike: bool = False
    series: Callable[[Term], str | None] = lambda term: None


# In the order a profile file's terms are read, which is the order of a run's weight columns.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "outcome",
            "measure",
            lambda: tuple(MEASURES),
            _outcome_value,
            lambda term: f"outcome: {term.name}",
            process=False,
            hard=False,
        ),
        Kind(
            "constraint",
            "event",
            events.kinds,
            _constraint_value,
            _constraint_label,
            scoped=True,
            framed=True,
        ),
        Kind(
            "standing",
            "property",
            properties.names,
            _standing_value,
            lambda term: f"keep {term.name} {term.threshold:g}" + (" (reward)" if term.reward else ""),
            threshold=True,
            framed=True,
            series=lambda term: properties.get(term.name).series,
        ),
        Kind(
            "universalization",
            "measure",
            lambda: ("own_wealth",),
            _alike_value,
            lambda term: "payoff if all acted alike",
            hard=False,
            fixed="own_wealth",
            alike=True,
        ),
    )
}


def term_universe(profiles: list[Profile]) -> tuple[Term, ...]:
    """Every distinct term of the given profiles, in first-seen order: a run's weight columns."""
    seen: dict[Term, None] = {}
    for profile in profiles:
        for term in profile.terms:
            seen.setdefault(term)
    return tuple(seen)


def alike_columns(terms: tuple[Term, ...]) -> np.ndarray:
    """[T] bool: the terms whose value needs the all-alike episodes (universalization)."""
    return np.array([KINDS[term.kind].alike for term in terms], dtype=bool)


def reads_kin(terms: tuple[Term, ...]) -> bool:
    """Whether any term's value depends on who descends from whom (lineage scope or wealth)."""
    return any(term.scope == "lineage" or term.graded or term.name == "lineage_wealth" for term in terms)


def features(
    trace: Trace,
    terms: tuple[Term, ...],
    kin: np.ndarray | None = None,
    universal_fitness: np.ndarray | None = None,
    focal: np.ndarray | None = None,
) -> np.ndarray:
    """[B, n, T] value of each term for each agent: utility is the weighted sum.

    `kin[i, j]` is true when agent j is i or descends from i (i's lineage); default: only i.
    `universal_fitness[B, n]` is each agent's fitness in an episode where everyone in its group
    played its policy; needed only by universalization terms. Given `focal` [B], [B, T]: the
    values of agent focal[b] of episode b alone, equal bit for bit to `[arange(B), focal]` of
    the whole array (a planner or a reflecting agent scores one agent per episode).
    """
    batch, n = trace.fitness.shape
    # C order either way: a sum over a lineage adds in the order of kin's memory (for n ≥ 8)
    kin = np.eye(n)[None] if kin is None else np.ascontiguousarray(kin)
    out = np.zeros((batch, n, len(terms)) if focal is None else (batch, len(terms)))
    for t, term in enumerate(terms):
        out[..., t] = KINDS[term.kind].value(term, trace, kin, universal_fitness, focal)
    return out


def utility(feature_values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[B, n] Σ weight × feature; a hard (inf) term with any negative value gives −inf."""
    hard = np.isinf(weights)
    finite = np.where(hard, 0.0, weights) * feature_values
    broken = (hard & (feature_values < 0)).any(axis=-1)
    return np.where(broken, -np.inf, finite.sum(axis=-1))


def process_share(weights: np.ndarray, process: np.ndarray) -> np.ndarray:
    """Process weight / (process + outcome weight) per row; a hard process term makes it 1."""
    weights = np.asarray(weights, dtype=float)
    proc = np.where(process, weights, 0.0)
    hard = np.isinf(proc).any(axis=-1)
    finite_proc = np.where(np.isinf(proc), 0.0, proc).sum(axis=-1)
    total = finite_proc + np.where(process, 0.0, weights).sum(axis=-1)
    share = np.divide(finite_proc, total, out=np.zeros_like(finite_proc), where=total > 0)
    return np.where(hard, 1.0, share)


def with_scope_variants(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    """The universe plus every constraint under every scope, so a scope can mutate into another."""
    out = list(terms)
    for term in terms:
        if term.scoped:
            for scope in SCOPES:
                variant = Term(term.kind, term.name, scope=scope, endorsed=term.endorsed, reward=term.reward)
                if variant not in out:
                    out.append(variant)
    return tuple(out)


# Public traits: (weights[..., T], terms) -> [...], each in [0, 1]. Arenas declare the traits they
# show (`Arena.traits`, e.g. the promises arena's `keeps_promises`); register more with `register_trait`.
TRAITS: MutableMapping[str, Callable[[np.ndarray, tuple[Term, ...]], np.ndarray]] = Registry("traits")


def register_trait(name: str, trait: Callable[[np.ndarray, tuple[Term, ...]], np.ndarray]) -> None:
    """Add a public trait an arena may declare in `trait_names`."""
    TRAITS[name] = trait


POPULATION = "@population"  # suffix of a trait name: the trait's mean over the whole population


def traits(
    weights: np.ndarray, terms: tuple[Term, ...], names: tuple[str, ...], population: np.ndarray | None = None
) -> np.ndarray:
    """[..., F] the public traits `names` of profiles with `weights` [..., T] over `terms`.

    A name `"<trait>@population"` stands for the mean of `<trait>` over the whole population, the
    same value for every profile: what population shares tell about a stranger, and nothing about
    the profiles of one group. `population` [N, T] holds the weights of every member of the
    population (None: the rows of `weights` themselves, for a caller that has only those)."""
    weights = np.asarray(weights, dtype=float)
    bases = [name[: -len(POPULATION)] if name.endswith(POPULATION) else name for name in names]
    unknown = [name for name, base in zip(names, bases) if base not in TRAITS]
    if unknown:
        raise KeyError(
            f"no public trait registered as {unknown[0]!r} (known: {', '.join(TRAITS)}, each also as <name>{POPULATION})"
        )
    if not names:
        return np.zeros(weights.shape[:-1] + (0,))
    pool = np.asarray(weights if population is None else population, dtype=float).reshape(
        -1, weights.shape[-1]
    )

    def column(name: str, base: str) -> np.ndarray:
        if not name.endswith(POPULATION):
            return TRAITS[base](weights, terms)
        values = TRAITS[base](pool, terms)
        return np.full(weights.shape[:-1], float(values.mean()) if values.size else 0.0)

    return np.stack([column(name, base) for name, base in zip(names, bases)], axis=-1)
