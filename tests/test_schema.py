"""JSON Schemas of experiment, profile and sweep files: current with the code, valid schemas,
the keys `purity validate` knows, and files the schema accepts are files purity accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from purity.agents import profiles
from purity.agents.preferences import KINDS
from purity.arenas import names as arena_names
from purity.inputs import InputError, Table
from purity.tournament import config, schema, sweep
from purity.tournament.storage import toml_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    path
    for path in [
        *ROOT.glob("experiments/*.toml"),
        *ROOT.glob("examples/*/*.toml"),
        *profiles.library().values(),
    ]
)
UNKNOWN = "zz_not_a_key"


def validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / f"schemas/{kind}.schema.json").read_text()))


def kind_of(data: dict) -> str:
    return "sweep" if "sweep" in data else "profile" if "profile" in data else "experiment"


@pytest.mark.parametrize("kind", schema.FILES)
def test_the_committed_schemas_are_current_and_valid(kind):
    """`schemas/` holds what `purity schema` prints (regenerate: `purity schema KIND > schemas/KIND.schema.json`)."""
    assert (ROOT / f"schemas/{kind}.schema.json").read_text() == schema.text(kind)
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.text(kind)))
    done = subprocess.run(
        [sys.executable, "-m", "purity", "schema", kind], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == schema.text(kind), done.stderr


@pytest.mark.parametrize(
    "path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)) if ROOT in p.parents else p.name
)
def test_every_shipped_file_is_schema_valid(path):
    data = tomllib.loads(path.read_text())
    errors = [error.message for error in validator(kind_of(data)).iter_errors(data)]
    assert not errors, errors


def test_a_schema_valid_sample_is_accepted_and_a_schema_invalid_one_refused(tmp_path):
    sample = {
        "experiment": {"name": "sample", "generations": 2, "population": 8, "seeds": 2},
        "arena": {"name": "matrix", "group_size": 2, "episodes": 2, "steps": 5},
        "population": {
            "mix": [
                {"profile": "allc", "share": 0.25, "decider": "fixed"},
                {
                    "profile": "consequentialist",
                    "share": 0.75,
                    "capability": {"candidates": 2, "rollouts": 1},
                },
            ]
        },
        "selection": {"kind": "moran", "intensity": 0.5, "rule": "exponential"},
        "mutation": {"rate": 0.1, "distribution": "gaussian"},
        "reflection": {"enabled": True, "self_modify": True, "rule": "hedonistic"},
        "control": {"null": ["drift"], "null_replicates": 10},
    }
    assert not list(validator("experiment").iter_errors(sample))
    good = tmp_path / "good.toml"
    good.write_text(toml_text(sample))
    done = subprocess.run(
        [sys.executable, "-m", "purity", "validate", good], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "valid experiment 'sample'" in done.stdout, done.stderr
    for section, key, value in [
        ("selection", "kind", "tournament"),
        ("arena", "steps", 0),
        ("mutation", "rate", 2.0),
        ("arena", UNKNOWN, 1),
    ]:
        bad = json.loads(json.dumps(sample))
        bad[section][key] = value
        assert list(validator("experiment").iter_errors(bad)), (section, key)
        (tmp_path / "bad.toml").write_text(toml_text(bad))
        done = subprocess.run(
            [sys.executable, "-m", "purity", "validate", tmp_path / "bad.toml"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and f"{section}.{key}" in done.stderr, done.stderr


def known(load, *args) -> set[str]:
    """The keys a reader knows where an unknown key was put, from its one-line error."""
    with pytest.raises(InputError) as caught:
        load(*args)
    message = str(caught.value)
    assert UNKNOWN in message, message
    return set(re.search(r"known here: ([^)]*)\)", message).group(1).split(", ")) - {"none"}


def properties(node: dict) -> set[str]:
    return set(node["properties"])


def experiment_probe(
    tmp_path: Path, section: str, extra: dict | None = None, base: str = "experiments/default.toml"
) -> set[str]:
    data = tomllib.loads((ROOT / base).read_text())
    data.setdefault(section, {}).update(extra or {})
    data[section][UNKNOWN] = 1
    path = tmp_path / "probe.toml"
    path.write_text(toml_text(data))
    return known(config.load, path)


SECTIONS = ("experiment", "selection", "mutation", "reflection", "training", "control", "plugins")


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_lists_the_keys_the_reader_knows(tmp_path, section):
    known_keys = experiment_probe(tmp_path, section)
    if section == "training":  # the keys of learners that generalise are read only for them
        known_keys |= experiment_probe(tmp_path, section, base="experiments/generalisation/base.toml")
    assert properties(schema.experiment()["properties"][section]) == known_keys


def test_population_matching_and_the_top_level_list_the_keys_the_reader_knows(tmp_path, trained):
    document = schema.experiment()
    mix = document["properties"]["population"]["properties"]["mix"]["items"]
    data = tomllib.loads((ROOT / "experiments/default.toml").read_text())
    data["population"]["mix"][0][UNKNOWN] = 1
    (tmp_path / "mix.toml").write_text(toml_text(data))
    entries = known(config.load, tmp_path / "mix.toml")
    focal = ROOT / "examples/pettingzoo/rps_focal.toml"  # the keys of focal entries, both kinds
    for source in (
        {"policy_fn": f"{focal.parent}/move_table.py:act"},
        {"policy_fn": None, "trained": str(trained), "agent": 1},
    ):
        data = tomllib.loads(focal.read_text())
        data["plugins"]["modules"] = [str(focal.parent / "move_table.py")]
        data["population"]["mix"][1] |= source | {UNKNOWN: 1}
        data["population"]["mix"][1] = {
            k: v for k, v in data["population"]["mix"][1].items() if v is not None
        }
        (tmp_path / "focal.toml").write_text(toml_text(data))
        entries |= known(config.load, tmp_path / "focal.toml")
    assert properties(mix) == entries
    matching = set()
    for kind in ("well_mixed", "assortative", "graph"):
        extra = {"kind": kind} | ({"generator": "cycle_graph", "args": {"n": 16}} if kind == "graph" else {})
        matching |= experiment_probe(tmp_path, "matching", extra)
    assert properties(document["properties"]["matching"]) == matching
    data = tomllib.loads((ROOT / "experiments/default.toml").read_text()) | {UNKNOWN: 1}
    (tmp_path / "top.toml").write_text(toml_text(data))
    assert properties(document) == known(config.load, tmp_path / "top.toml")


@pytest.mark.parametrize("arena", arena_names())
def test_each_arena_lists_its_parameters(arena):
    branch = next(
        b["then"]
        for b in schema.experiment()["properties"]["arena"]["allOf"]
        if b["if"]["properties"]["name"].get("const") == arena
    )
    table = Table({"name": arena, UNKNOWN: 1}, "probe.toml", "arena")
    assert properties(branch) == known(config._arena, table, Path("probe.toml"))


def test_profiles_and_sweeps_list_the_keys_the_readers_know(tmp_path):
    document = schema.profile()
    library = [path.read_text() for path in profiles.library().values()]
    for kind in KINDS:
        probe = next(data for data in map(tomllib.loads, library) if kind in data)
        probe[kind][0][UNKNOWN] = 1
        known_keys = known(profiles.parse, probe, "probe.toml")
        if KINDS[kind].scoped:  # graded responsibility is read on lineage-scoped terms only
            probe[kind][0] |= {"scope": "lineage", "responsibility": 1.0}
            known_keys |= known(profiles.parse, probe, "probe.toml")
        assert properties(document["properties"][kind]["items"]) == known_keys
    probe = {"profile": {"name": "p", UNKNOWN: 1}}
    assert properties(document["properties"]["profile"]) == known(profiles.parse, probe, "probe.toml")
    head = tomllib.loads((ROOT / "experiments/sweep-oversight.toml").read_text())
    head["sweep"] |= {"experiment": str(ROOT / "experiments" / head["sweep"]["experiment"]), UNKNOWN: 1}
    (tmp_path / "sweep.toml").write_text(toml_text(head))
    assert properties(schema.sweep()["properties"]["sweep"]) == known(sweep.load, tmp_path / "sweep.toml")
