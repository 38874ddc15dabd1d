"""Experiment files: read, check and resolve them into frozen dataclasses.

Every section is checked strictly (unknown keys are errors) so that a typo in a long sweep is
caught before a single generation runs. `dump` is the one way back from an experiment to plain
data: the record a manifest keeps, or a file `load` reads back as the same experiment.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from purity import plugins as plugin_modules
from purity.agents import profiles
from purity.agents.deciders import DECIDERS, Capability
from purity.agents.learners import REWARDS, Training
from purity.agents.preferences import Profile, term_universe, with_scope_variants
from purity.agents.reflection import RULES as EVALUATION_RULES
from purity.agents.reflection import Reflector
from purity.arenas import arena_class, events
from purity.arenas import names as arena_names
from purity.arenas.core import Arena
from purity.arenas.external import ExternalPolicy
from purity.inputs import InputError, Table, load_toml, read_bytes, read_params
from purity.tournament import bounds, training_keys
from purity.tournament import focal as focals
from purity.tournament.matching import MATCHINGS, PLAYS, graph_structure
from purity.tournament.mutation import DISTRIBUTIONS, MutationSpec
from purity.tournament.selection import FITNESS_RULES
from purity.tournament.selection import RULES as SELECTIONS


@dataclass(frozen=True)
class ArenaSpec:
    name: str
    episodes: int  # per generation, per group
    group_size: int
    steps: int
    params: object  # the arena's frozen Params dataclass
    policies: tuple[ExternalPolicy, ...] = ()  # the focal entries' callables (purity.tournament.focal)

    def build(self) -> Arena:
        arena = arena_class(self.name)(self.group_size, self.steps, self.params)
        return arena.with_policies(self.policies) if self.policies else arena


@dataclass(frozen=True)
class MixEntry:
    profile: Profile
    share: float
    decider: str
    capability: Capability
    policy: tuple[float, ...]  # starting policy (the fixed decider's only one)
    power: float = 1.0  # resources: starting store and enforcement strength × power (powered arenas)
    focal: focals.Focal | None = None  # decider "focal": where its policy comes from


@dataclass(frozen=True)
class Selection:
    kind: str = "moran"
    intensity: float = 0.1
    rule: str = "linear"


SUCCESSORS = ("inherit", "design")
MAX_POWER = 1000.0  # a mix entry's power: how many times the resources of power 1
MAX_INTENSITY = 1000.0  # exp(w·π) of any payoff an arena pays stays finite in float64
NULL_KINDS = ("drift", "shuffle")  # the nulls a run records without play (purity.tournament.null)
IDENTITIES = ("built", "self")  # what a designed successor is to its designer
MAX_NULL_REPLICATES = 100_000  # `[control] null_replicates`


@dataclass(frozen=True)
class Reflection:
    """The reflection step (`[reflection]`): who reflects how, how often, at what cost."""

    enabled: bool = False
    rule: str = "realistic"  # evaluation rule: realistic | hedonistic | ignorant
    self_modify: bool = False  # agents change their own weights in place
    successors: str = "inherit"  # "design": offspring get the profile their parent designed
    every: int = field(
        default=1, metadata={"low": 1, "high": 1_000_000}
    )  # reflect in generations g % every == 0
    cost: float = field(
        default=0.0, metadata={"low": 0.0, "high": 1e12}
    )  # payoff an agent pays when it reflects
    weaken: float = field(default=0.5, metadata={"low": 0.0, "high": 1.0})  # factor of a weakened weight
    strengthen: float = field(
        default=2.0, metadata={"low": 1.0, "high": 1000.0}
    )  # factor of a strengthened weight
    rescope: bool = True  # a constraint may move to another scope
    outcomes: bool = True  # outcome weights may be weakened or strengthened
    successor: str = (
        "built"  # a designed successor's acts: a built agent's, or the designer's own future ("self")
    )
    responsibility: float = field(
        default=0.0, metadata={"low": 0.0, "high": 1.0}
    )  # with successor = "built": the share of the successor's acts the designer's self scope counts
    reference: int = field(
        default=0, metadata={"low": 0, "high": 1000}
    )  # rollouts of a reference evaluation of the same changes on fresh noise (0: none)

    @property
    def discount(self) -> float:
        """The share of a designed successor's acts counted as the designer's own (1 under "self")."""
        return 1.0 if self.successor == "self" else self.responsibility

    @property
    def reflector(self) -> Reflector:
        return Reflector(self.weaken, self.strengthen, self.rescope, self.outcomes)

    @property
    def modes(self) -> tuple[str, ...]:
        """What reflection decides, in order: the agent itself first, then its successors."""
        if not self.enabled:
            return ()
        return ("self_modify",) * self.self_modify + ("design",) * (self.successors == "design")

    def due(self, generation: int) -> bool:
        return bool(self.modes) and generation % self.every == 0


@dataclass(frozen=True)
class Matching:
    """Who plays whom (and, on a graph, who replaces whom)."""

    kind: str = "well_mixed"
    play: str = "groups"  # "all_pairs": every agent meets every other once (2-player arenas)
    sigma: float = 0.0  # assortative: chance that a partner shares the focal agent's type
    generator: str | None = None  # graph: a networkx *_graph function ...
    args: tuple[tuple[str, object], ...] = ()  # ... and its arguments
    file: str | None = None  # graph: or a graph file


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    seed: int
    generations: int
    population: int
    survival_threshold: float
    arena: ArenaSpec
    mix: tuple[MixEntry, ...]
    matching: Matching
    selection: Selection
    mutation: MutationSpec
    reflection: Reflection
    neutral_drift: bool
    source: str
    stop_at_fixation: bool = False
    lock_in: float = 0.9
    seeds: int = 1  # replicate runs with seeds seed, seed+1, ...: the spread over seeds
    training: Training = Training()  # how the mix's learners learn
    plugins: tuple[str, ...] = ()  # modules imported before the file is checked (file paths absolute)
    nulls: tuple[str, ...] = ("drift", "shuffle")  # the cheap nulls the run records (null.KINDS)
    null_replicates: int = 0  # replicates per null; 0: as many as the corrected tests need

    def replicates(self) -> list["Experiment"]:
        """One single-seed experiment per replicate seed: seed, seed + 1, …"""
        return [dataclasses.replace(self, seed=self.seed + k, seeds=1) for k in range(self.seeds)]

    def terms(self) -> tuple:
        """The run's weight columns: every founding profile's terms, and every constraint under
        all three scopes when a scope can change (by mutation or by reflection)."""
        terms = term_universe([entry.profile for entry in self.mix])
        if self.mutation.scope_rate > 0 or (self.reflection.modes and self.reflection.rescope):
            return with_scope_variants(terms)
        return terms

    def drift_twin(self) -> "Experiment":
        """The same population, update rule and seed family with fitness ignored (intensity 0):
        the neutral-drift control every selection effect is measured against."""
        selection = dataclasses.replace(self.selection, intensity=0.0)
        return dataclasses.replace(self, selection=selection, neutral_drift=False)

    def training_alone(self) -> "Experiment":
        """The experiment as a pure training run (`purity train`): nobody is born or dies
        (selection `keep`), so every generation is one training iteration of the same agents and
        the `policy:*` columns are each learner's learning curve. No births means no mutation and
        no drift twin; the run directory is `<name>-train`, beside the tournament run."""
        if not self.learns:
            raise InputError(
                self.source,
                "population.mix.decider",
                'at least one entry with decider = "learner" (purity train trains learners)',
            )
        return dataclasses.replace(
            self,
            name=f"{self.name}-train",
            selection=Selection(kind="keep", intensity=0.0),
            neutral_drift=False,
            stop_at_fixation=False,
        )

    @property
    def learns(self) -> bool:
        return any(entry.decider == "learner" for entry in self.mix)


def load(path: str | Path, seed: int | None = None, local: bool = True) -> Experiment:
    """Read and check an experiment file; `seed` overrides `[experiment] seed`. An experiment
    that would not fit this machine's memory is refused when it runs here (`local`), and only
    warned about when it goes to a cluster."""
    path = Path(path)
    top = Table(load_toml(path), path)
    extensions = _plugins(top.table("plugins"), path)  # first: they add names the rest may use
    head = top.table("experiment", required=True)
    name = head.folder_name("name", "run directory")
    description = head.string("description", default="")
    file_seed = head.integer("seed", default=0, low=0, high=2**63 - 1)
    generations = head.integer("generations", low=1, high=1_000_000)
    population = head.integer("population", low=2, high=10_000_000)
    threshold = head.number("survival_threshold", default=0.1, low=0.0)
    stop_at_fixation = head.boolean("stop_at_fixation", default=False)
    lock_in = head.number("lock_in", default=0.9, low=0.0, high=1.0)
    seeds = head.integer("seeds", default=1, low=1, high=100_000)
    head.done()
    if (file_seed if seed is None else seed) + seeds - 1 > 2**63 - 1:
        raise head.error("seeds", "replicate seeds seed … seed + seeds − 1 that stay below 2**63", seeds)

    arena = _arena(top.table("arena", required=True), path)
    if population % arena.group_size:
        raise InputError(
            path, "experiment.population", f"a multiple of arena.group_size ({arena.group_size})", population
        )
    reflection = _reflection(top.table("reflection"), path)
    mix, policies = _mix(top.table("population", required=True), path, arena, reflection.enabled)
    arena = dataclasses.replace(arena, policies=policies) if policies else arena
    matching = _matching(top.table("matching"), path, population, arena)
    selection = _selection(top.table("selection"))
    mutation = read_params(MutationSpec, top.table("mutation").data, path, "mutation")
    if mutation.distribution not in DISTRIBUTIONS:
        raise InputError(
            path,
            "mutation.distribution",
            "one of " + ", ".join(repr(d) for d in DISTRIBUTIONS),
            mutation.distribution,
        )
    if mutation.invader_rate > 0 and mutation.invader not in [entry.profile.name for entry in mix]:
        raise InputError(
            path, "mutation.invader", "the profile of a [[population.mix]] entry", mutation.invader or None
        )
    if reflection.enabled and any(entry.power != 1.0 for entry in mix):
        k, unequal = next((k, entry.power) for k, entry in enumerate(mix) if entry.power != 1.0)
        raise InputError(
            path, f"population.mix[{k}].power", "1 in an experiment with [reflection] enabled", unequal
        )
    training = _training(top.table("training"), arena, mix)
    control = top.table("control")
    neutral_drift = control.boolean("neutral_drift", default=False)
    nulls = control.strings("null", default=NULL_KINDS, choices=NULL_KINDS)
    null_replicates = control.integer("null_replicates", default=0, low=0, high=MAX_NULL_REPLICATES)
    control.done()
    top.done()
    experiment = Experiment(
        name,
        description,
        file_seed if seed is None else seed,
        generations,
        population,
        threshold,
        arena,
        mix,
        matching,
        selection,
        mutation,
        reflection,
        neutral_drift,
        str(path),
        stop_at_fixation,
        lock_in,
        seeds,
        training,
        extensions,
        nulls,
        null_replicates,
    )
    bounds.check_memory(experiment, lambda field, expected: InputError(path, field, expected), local)
    return experiment


def _plugins(table: Table, path: Path) -> tuple[str, ...]:
    entries = table.strings("modules", default=())
    table.done()
    loaded = plugin_modules.load(list(entries), path, f"{table.where}.modules")
    return tuple(plugin.file if plugin.module != plugin.entry else plugin.entry for plugin in loaded)


def _arena(table: Table, path: Path) -> ArenaSpec:
    name = table.string("name", choices=arena_names())
    episodes = table.integer("episodes", default=4, low=1, high=100_000)
    group_size = table.integer("group_size", default=4, low=2, high=1000)
    steps = table.integer("steps", default=50, low=1, high=1_000_000)
    cls = arena_class(name)
    params = read_params(cls.Params, table.rest(), path, table.where)
    spec = ArenaSpec(name, episodes, group_size, steps, params)
    try:
        spec.build()
    except ValueError as error:
        raise InputError(path, "arena", f"settings the {name} arena accepts ({error})") from None
    return spec


def _no_profile(reference: str, folder: Path) -> str:
    """What a mix entry's profile should have been: a file where it names one, else a library name."""
    if reference.endswith(".toml"):
        where = folder / reference
        return f"an existing profile file ({where} is {'a folder' if where.is_dir() else 'not there'})"
    return f"a library profile ({', '.join(profiles.library())}) or a path to a .toml file"


def _mix(
    table: Table, path: Path, arena: ArenaSpec, reflects: bool
) -> tuple[tuple[MixEntry, ...], tuple[ExternalPolicy, ...]]:
    entries = table.tables("mix", required=True)
    table.done()
    if not entries:
        raise table.error("mix", "at least one [[population.mix]] entry")
    built = arena.build()
    mix, externals = [], []
    for entry in entries:
        reference = entry.string("profile")
        found = profiles.resolve(reference, path.parent)
        if found is None:
            raise entry.error("profile", _no_profile(reference, path.parent), reference)
        profile = profiles.load(found)
        _check_series(profile, built, path, entry.field("profile"))
        share = entry.number("share", low=0.0, high=1.0)
        decider = entry.string("decider", default="planner", choices=DECIDERS)
        raw = entry.table("capability")
        capability = read_params(Capability, raw.data, path, raw.where)
        source = None
        if decider == "focal":
            if entry.has("capability") and not reflects:  # its policy is fixed: nothing would read it
                raise entry.error(
                    "capability",
                    "no capability table for a focal entry (its policy is fixed; only [reflection] reads it)",
                    raw.data,
                )
            source, policy = focals.read(entry, path, built, externals)
        else:
            policy = _policy(entry, built)
        power = entry.number("power", default=1.0, low=0.0, high=MAX_POWER)
        if power != 1.0 and not built.powered:
            powered = ", ".join(name for name in arena_names() if arena_class(name).powered)
            raise entry.error(
                "power", f"1: the {arena.name} arena does not read power (arenas that do: {powered})", power
            )
        entry.done()
        mix.append(MixEntry(profile, share, decider, capability, policy, power=power, focal=source))
    bounds.check_names(mix, profiles.library(), profiles.load, lambda *a: InputError(path, *a))
    total = sum(entry.share for entry in mix)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise InputError(path, "population.mix.share", "shares that sum to 1", round(total, 12))
    return tuple(mix), tuple(externals)


def _check_series(profile: Profile, arena: Arena, path: Path, field: str) -> None:
    """A term that reads a series (a standing property) is only meaningful in an arena that
    records it."""
    for term in profile.terms:
        series = term.series
        if series is not None and series not in arena.series_names:
            recorded = ", ".join(arena.series_names) or "none"
            raise InputError(
                path,
                field,
                f"a profile whose standing properties read series the {arena.name} arena records ({recorded}); {profile.name!r} needs {series!r}",
                profile.source,
            )


def _policy(entry: Table, arena: Arena) -> tuple[float, ...]:
    """`policy = { name = value, ... }` over the arena's policy names (the rest: its default), or
    `policy = "name"`, one of the arena's `named_policies` (the repeated game's "tft", ...)."""
    named = getattr(arena, "named_policies", {})
    if named and isinstance(entry.data.get("policy"), str):
        return tuple(float(v) for v in named[entry.string("policy", choices=tuple(named))])
    table = entry.table("policy")
    values = tuple(
        table.number(name, default=float(value), low=0.0, high=1.0)
        for name, value in zip(arena.policy_names, arena.default_policy)
    )
    table.done()
    return values


def _matching(table: Table, path: Path, population: int, arena: ArenaSpec) -> Matching:
    kind = table.string("kind", default="well_mixed", choices=tuple(MATCHINGS))
    play = table.string("play", default="groups", choices=PLAYS)
    sigma = table.number("sigma", default=0.0, low=0.0, high=1.0) if kind == "assortative" else 0.0
    generator = file = None
    args: dict = {}
    if kind == "graph":
        generator = table.string("generator", default=None)
        file = table.string("file", default=None)
        args = table.table("args").data
        if (generator is None) == (file is None):
            raise table.error(
                "generator", "either a networkx generator name or a graph file (one of the two)"
            )
        if file is not None:
            file = str((path.parent / file) if not Path(file).is_absolute() else Path(file))
            read_bytes(file)  # a regular file of bounded size, before networkx reads it
        bounds.check_graph_arguments(args, population, table.error)
    table.done()
    if play == "all_pairs" and (kind != "well_mixed" or arena.group_size != 2):
        raise table.error("play", '"all_pairs" only with kind = "well_mixed" and arena.group_size = 2', play)
    matching = Matching(kind, play, sigma, generator, tuple(sorted(args.items())), file)
    if kind == "graph":
        try:
            structure = graph_structure(generator, args, file)
        except ValueError as error:
            raise table.error(
                "generator" if generator else "file", f"a usable graph ({error})", generator or file
            ) from None
        if play == "groups":
            bounds.check_degree(structure.degree, arena.group_size, table.error)
        if structure.n != population:
            raise table.error(
                "args" if generator else "file",
                f"a graph with experiment.population = {population} nodes",
                f"{structure.n} nodes",
            )
    return matching


def _selection(table: Table) -> Selection:
    selection = Selection(
        kind=table.string("kind", default=Selection.kind, choices=tuple(SELECTIONS)),
        intensity=table.number("intensity", default=Selection.intensity, low=0.0, high=MAX_INTENSITY),
        rule=table.string("rule", default=Selection.rule, choices=tuple(FITNESS_RULES)),
    )
    table.done()
    return selection


def _training(table: Table, arena: ArenaSpec, mix) -> Training:
    """The learners' reward and step; violations default to the arena's violation kinds."""
    kinds = arena.build().event_kinds
    defaults = Training()
    reward = table.string("reward", default=defaults.reward, choices=(*REWARDS, "disposition"))
    training = Training(
        reward=reward,
        penalty=table.number("penalty", default=defaults.penalty, low=0.0, high=1e12),
        learning_rate=table.number("learning_rate", default=defaults.learning_rate, low=0.0, high=1000.0),
        exploration=table.number("exploration", default=defaults.exploration, low=0.0, high=0.5),
        violations=table.strings("violations", default=events.violations(kinds), choices=kinds),
        generalise=training_keys.read(table, arena, mix, reward),
    )
    table.done()
    return training


def _reflection(table: Table, path: Path) -> Reflection:
    reflection = read_params(Reflection, table.data, path, "reflection")
    if reflection.rule not in EVALUATION_RULES:
        raise InputError(
            path, "reflection.rule", "one of " + ", ".join(repr(r) for r in EVALUATION_RULES), reflection.rule
        )
    if reflection.successors not in SUCCESSORS:
        raise InputError(
            path,
            "reflection.successors",
            "one of " + ", ".join(repr(s) for s in SUCCESSORS),
            reflection.successors,
        )
    if reflection.successor not in IDENTITIES:
        raise InputError(
            path,
            "reflection.successor",
            "one of " + ", ".join(repr(s) for s in IDENTITIES),
            reflection.successor,
        )
    if reflection.enabled and not reflection.modes:
        raise InputError(
            path,
            "reflection",
            'self_modify = true or successors = "design" when enabled = true (else nothing reflects)',
        )
    return reflection
