"""JSON Schemas (draft 2020-12) of experiment, profile and sweep files, so TOML editors (Taplo,
Even Better TOML) complete and check keys while one types.

Built from the code that reads the files: parameter dataclasses (each arena's `Params`,
`Capability`, `MutationSpec`, `Reflection`, `Training`) give their keys, types and bounds; the
registries (arenas, deciders, selection and fitness rules, matchings, mutation distributions,
evaluation rules, rewards, term kinds, scopes, the event vocabulary) give the choices. The keys
of the sections `config` reads by hand are listed here, and `tests/test_schema.py` holds each
section's keys equal to the keys `purity validate` knows. A schema says less than `purity
validate` (shares summing to 1, a population that is a multiple of the group size, files that
exist): a schema-valid file may still be refused, never the reverse for the keys it lists.
Names a plug-in can register (arenas, measures, properties, event kinds) are suggested, not
required.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from purity.agents import profiles
from purity.agents.deciders import DECIDERS, Capability
from purity.agents.generalisation import Regime
from purity.agents.learners import REWARDS, Training
from purity.agents.preferences import KINDS, SCOPES
from purity.agents.profiles import FRAMINGS
from purity.agents.reflection import RULES as EVALUATION_RULES
from purity.arenas import arena_class, events
from purity.arenas import names as arena_names
from purity.tournament import config
from purity.tournament.matching import MATCHINGS, PLAYS
from purity.tournament.mutation import DISTRIBUTIONS, MutationSpec
from purity.tournament.selection import FITNESS_RULES
from purity.tournament.selection import RULES as SELECTIONS
from purity.tournament.training_keys import LEARNER_CHOICES, SHARES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
FILES = ("experiment", "profile", "sweep")


def _number(low: float | None = None, high: float | None = None, whole: bool = False, **more: Any) -> dict:
    found: dict[str, Any] = {"type": "integer" if whole else "number"}
    found |= {"minimum": low} if low is not None and math.isfinite(low) else {}
    found |= {"maximum": high} if high is not None and math.isfinite(high) else {}
    return found | more


def _choice(choices, **more: Any) -> dict:
    return {"enum": list(choices)} | more


def _named(names, what: str) -> dict:
    """A name a plug-in may add to: the built-in ones are suggested, any string is accepted."""
    return {"type": "string", "description": f"{what}; built in: {', '.join(names)}", "examples": list(names)}


def _table(properties: dict, required: tuple[str, ...] = (), closed: bool = True) -> dict:
    found: dict[str, Any] = {"type": "object", "properties": properties}
    found |= {"required": list(required)} if required else {}
    return found | ({"additionalProperties": False} if closed else {})


def _fields(cls: type, choices: dict[str, Any] | None = None) -> dict:
    """The keys of a parameter dataclass as `read_params` reads them: type from the default,
    bounds from the field's metadata, a nested array of tables from `items`."""
    choices = choices or {}
    properties = {}
    for spec in dataclasses.fields(cls):
        default, meta = spec.default, spec.metadata
        if spec.name in choices:
            found = choices[spec.name]
        elif "choices" in meta:
            found = _choice(meta["choices"])
        elif "items" in meta:
            found = {"type": "array", "items": _table(_fields(meta["items"]))}
        elif isinstance(default, bool):
            found = {"type": "boolean"}
        elif isinstance(default, int):
            found = _number(meta.get("low"), meta.get("high"), whole=True)
        elif isinstance(default, float):
            found = _number(meta.get("low"), meta.get("high"))
        else:
            found = {"type": "string"}
        if isinstance(default, (bool, int, float, str)) and (
            not isinstance(default, float) or math.isfinite(default)
        ):
            found = found | {"default": default}
        properties[spec.name] = found
    return properties


def _arena() -> dict:
    base = {
        "name": _named(arena_names(), "the arena"),
        "episodes": _number(1, 100_000, whole=True, default=4),
        "group_size": _number(2, 1000, whole=True, default=4),
        "steps": _number(1, 1_000_000, whole=True, default=50),
    }
    branches = [
        {
            "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
            "then": {"properties": _fields(arena_class(name).Params)},
        }
        for name in arena_names()
    ]
    branches.append(
        {  # a plug-in's arena: its parameters are its own
            "if": {"properties": {"name": {"not": {"enum": list(arena_names())}}}},
            "then": {"additionalProperties": True},
        }
    )
    return {
        "type": "object",
        "properties": base,
        "required": ["name"],
        "allOf": branches,
        "unevaluatedProperties": False,
    }


def _mix() -> dict:
    entry = {
        "profile": _named(tuple(profiles.library()), "a library profile or a path to a profile file"),
        "share": _number(0.0, 1.0),
        "decider": _choice(DECIDERS, default="planner"),
        "capability": _table(_fields(Capability)),
        "power": _number(0.0, config.MAX_POWER, default=1.0)
        | {"description": "resources: starting store and enforcement strength × power (powered arenas)"},
        "policy": {
            "description": "the starting policy: { parameter = value in [0, 1] }, or a named policy",
            "anyOf": [
                {"type": "object", "additionalProperties": _number(0.0, 1.0)},
                {"type": "string"},
            ],
        },
        "policy_fn": {
            "type": "string",
            "description": 'decider "focal": "module:callable" mapping observations to actions (pettingzoo arena)',
        },
        "trained": {"type": "string", "description": 'decider "focal": a purity train run directory'},
        "agent": _number(0, whole=True, description="with trained: the id of the learner it plays"),
    }
    return _table(
        {"mix": {"type": "array", "minItems": 1, "items": _table(entry, ("profile", "share"))}}, ("mix",)
    )


def experiment() -> dict:
    """The schema of an experiment file."""
    head = {
        "name": {"type": "string", "minLength": 1, "description": "the run directory's name"},
        "description": {"type": "string"},
        "seed": _number(0, 2**63 - 1, whole=True, default=0),
        "generations": _number(1, 1_000_000, whole=True),
        "population": _number(2, 10_000_000, whole=True),
        "survival_threshold": _number(0.0, default=0.1),
        "stop_at_fixation": {"type": "boolean", "default": False},
        "lock_in": _number(0.0, 1.0, default=0.9),
        "seeds": _number(1, 100_000, whole=True, default=1),
    }
    matching = {
        "kind": _choice(MATCHINGS, default="well_mixed"),
        "play": _choice(PLAYS, default="groups"),
        "sigma": _number(0.0, 1.0, default=0.0),
        "generator": {"type": "string", "description": "a networkx *_graph function (kind = graph)"},
        "file": {"type": "string", "description": "a graph file (kind = graph)"},
        "args": {"type": "object", "description": "the generator's arguments"},
    }
    selection = {
        "kind": _choice(SELECTIONS, default=config.Selection.kind),
        "intensity": _number(0.0, config.MAX_INTENSITY, default=config.Selection.intensity),
        "rule": _choice(FITNESS_RULES, default=config.Selection.rule),
    }
    training = _fields(Training, {"reward": _choice(REWARDS, default=Training.reward)})
    del training["generalise"]  # what the keys below are read into, not a key itself
    training |= _generalise()
    training["violations"] = {
        "type": "array",
        "items": _named(events.kinds(), "an event kind the arena emits"),
    }
    for key, (low, high) in {
        "penalty": (0.0, 1e12),
        "learning_rate": (0.0, 1000.0),
        "exploration": (0.0, 0.5),
    }.items():
        training[key] = training[key] | _number(low, high)
    reflection = _fields(
        config.Reflection,
        {
            "rule": _choice(EVALUATION_RULES, default="realistic"),
            "successors": _choice(config.SUCCESSORS, default="inherit"),
            "successor": _choice(config.IDENTITIES, default="built"),
        },
    )
    control = {
        "neutral_drift": {"type": "boolean", "default": False},
        "null": {"type": "array", "items": _choice(config.NULL_KINDS)},
        "null_replicates": _number(0, 100_000, whole=True, default=0),
    }
    plugins = {"modules": {"type": "array", "items": {"type": "string"}}}
    mutation = _fields(MutationSpec, {"distribution": _choice(DISTRIBUTIONS)})
    sections = {
        "plugins": _table(plugins),
        "experiment": _table(head, ("name", "generations", "population")),
        "arena": _arena(),
        "population": _mix(),
        "matching": _table(matching),
        "selection": _table(selection),
        "mutation": _table(mutation),
        "reflection": _table(reflection),
        "training": _table(training),
        "control": _table(control),
    }
    return _document(
        "experiment", "A purity experiment file", _table(sections, ("experiment", "arena", "population"))
    )


def _generalise() -> dict:
    """`[training]`'s keys of learners that generalise (`training_keys`): the learner, the training
    regime, and the test regime as a table."""
    regime = {key: _number(0.0, 1.0, default=getattr(Regime, key)) for key in ("p_watch", *SHARES)}
    regime["observed"] = {"type": "boolean", "default": Regime.observed}
    keys = {"learner": _choice(LEARNER_CHOICES, default="policy")}
    keys |= {key: value for key, value in regime.items() if key != "p_watch"}
    keys["test"] = _table(regime)
    return keys


def profile() -> dict:
    """The schema of a profile file: one array of tables per kind of term."""
    sections: dict[str, Any] = {
        "profile": _table(
            {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"}}, ("name",)
        )
    }
    for kind in KINDS.values():
        term: dict[str, Any] = {}
        required = ["weight"]
        if not kind.fixed:
            term[kind.about] = _named(kind.names(), f"what the {kind.name} term is about")
            required.insert(0, kind.about)
        if kind.scoped:
            term["scope"] = _choice(SCOPES)
            required.append("scope")
        if kind.scoped:  # graded responsibility, on lineage-scoped terms only (profiles/__init__.py)
            term["responsibility"] = _number(
                0.0, 1.0, description="scope lineage: share of descendants' acts"
            )
            term["decay"] = _number(0.0, 1.0, description="scope lineage: factor per further generation")
        if kind.threshold:
            term["threshold"] = _number(0.0, 1.0)
            required.append("threshold")
        if kind.framed:  # a hard (inf) term is a penalty (profiles/__init__.py)
            term["framing"] = _choice(FRAMINGS, default="penalty")
        weight = _number(0.0, description="in fitness units")
        term["weight"] = (
            {"anyOf": [weight, {"const": "inf", "description": "a hard constraint"}]} if kind.hard else weight
        )
        if kind.process:
            term["endorsed"] = {"type": "boolean", "default": False}
        items = _table(term, tuple(required))
        if kind.framed and kind.hard:  # a reward is never hard
            reward = {"properties": {"framing": {"const": "reward"}}, "required": ["framing"]}
            items["if"], items["then"] = reward, {"properties": {"weight": weight}}
        sections[kind.name] = {"type": "array", "items": items}
    return _document("profile", "A purity profile file", _table(sections, ("profile",)))


def sweep() -> dict:
    """The schema of a sweep file."""
    from purity.tournament.sweep import MAX_RUNS, MAX_SEED

    head = {
        "name": {"type": "string", "minLength": 1, "description": "the sweep directory's name"},
        "experiment": {"type": "string", "description": "the experiment file, relative to this one"},
        "seeds": {
            "anyOf": [
                _number(1, MAX_RUNS, whole=True),
                {"type": "array", "minItems": 1, "items": _number(0, MAX_SEED, whole=True)},
            ],
            "default": 1,
        },
        "max_concurrent": _number(1, 100_000, whole=True),
        "split_above": _number(2, 10_000_000, whole=True, default=1024),
        "streams": _choice(("shared", "independent"), default="shared"),
    }
    grid = {
        "type": "object",
        "description": "dotted experiment keys (arena.steps, population.mix.0.share) → lists of values",
        "additionalProperties": {"type": "array", "minItems": 1},
    }
    return _document(
        "sweep",
        "A purity sweep file",
        _table({"sweep": _table(head, ("name", "experiment")), "grid": grid}, ("sweep",)),
    )


def _document(kind: str, title: str, body: dict) -> dict:
    return {
        "$schema": DIALECT,
        "$id": f"https://purity.invalid/schemas/{kind}.schema.json",
        "title": title,
    } | body


def text(kind: str) -> str:
    """The schema of `kind` ("experiment", "profile" or "sweep") as the JSON `schemas/` holds."""
    return json.dumps({"experiment": experiment, "profile": profile, "sweep": sweep}[kind](), indent=2) + "\n"
