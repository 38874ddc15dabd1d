"""The profile library and the errors bad profile files get."""

import pytest

from purity.agents.profiles import library, load, parse
from purity.inputs import InputError

REQUIRED = {
    "consequentialist",
    "self-keeper",
    "lineage-keeper",
    "world-keeper",
    "absolutist",
    "steward",
    "integrity",
    "universalizer",
}


def test_library_has_every_required_kind_of_agent():
    profiles = {name: load(path) for name, path in library().items()}
    assert REQUIRED <= set(profiles)
    kinds = {name: {(t.kind, t.scope, t.endorsed) for t in p.terms} for name, p in profiles.items()}
    assert kinds["consequentialist"] == {("outcome", None, False)}
    assert ("constraint", "self", False) in kinds["self-keeper"]
    assert ("constraint", "lineage", False) in kinds["lineage-keeper"]
    assert ("constraint", "world", False) in kinds["world-keeper"]
    assert float("inf") in profiles["absolutist"].weights
    assert any(t.kind == "standing" for t in profiles["steward"].terms)
    assert ("constraint", "self", True) in kinds["integrity"]
    assert any(t.kind == "universalization" for t in profiles["universalizer"].terms)


@pytest.mark.parametrize("path", list(library().values()), ids=lambda p: p.stem)
def test_each_library_file_says_who_it_models(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# Models ") and first.endswith(".")
    assert load(path).name == path.stem


GOOD = """
[profile]
name = "x"
[[outcome]]
measure = "own_wealth"
weight = 1.0
[[constraint]]
event = "take"
scope = "self"
weight = 2.0
"""


@pytest.mark.parametrize(
    "text, field, expected",
    [
        (GOOD.replace('event = "take"', 'event = "steal"'), "constraint[0].event", "one of 'take'"),
        (
            GOOD.replace('scope = "self"', 'scope = "mine"'),
            "constraint[0].scope",
            "one of 'self', 'lineage', 'world'",
        ),
        (GOOD.replace("weight = 2.0", "weight = -1.0"), "constraint[0].weight", "a number in [0.0"),
        (GOOD.replace("weight = 2.0", "weight = nan"), "constraint[0].weight", "a finite number"),
        (GOOD.replace("weight = 2.0", 'weight = "lots"'), "constraint[0].weight", 'a number or "inf"'),
        (GOOD.replace("weight = 1.0", 'weight = "inf"'), "outcome[0].weight", "a number"),
        (GOOD.replace('measure = "own_wealth"', 'measure = "happiness"'), "outcome[0].measure", "one of"),
        (GOOD.replace('name = "x"', 'name = "x"\ncolour = "red"'), "profile.colour", "a known key"),
        (GOOD.replace("[profile]", "[profil]"), "profile", "this required field (this table has 'profil'"),
        (GOOD.replace("weight = 2.0", "wieght = 2.0"), "constraint[0].weight", "has 'wieght': misspelled?"),
        (GOOD.replace("weight = 2.0", "heft = 2.0"), "constraint[0].weight", "this required field"),
        (
            GOOD + '[[constraint]]\nevent = "take"\nscope = "self"\nweight = 1.0\n',
            "constraint[1]",
            "no second constraint",
        ),
        ('[profile]\nname = "x"\n', "", "at least one term"),
        (GOOD.replace('name = "x"', "name = 3"), "profile.name", "a non-empty string"),
    ],
)
def test_bad_profiles_name_file_field_and_expectation(tmp_path, text, field, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load(path)
    error = caught.value
    assert error.file == str(path)
    assert error.field == field
    assert expected in error.expected
    assert str(error).startswith(f"{path}: ")


def test_malformed_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[profile\nname = 'x'")
    with pytest.raises(InputError, match="valid TOML"):
        load(path)


def test_inf_weight_is_a_hard_constraint():
    profile = parse(
        {"profile": {"name": "h"}, "constraint": [{"event": "take", "scope": "world", "weight": "inf"}]},
        "mem.toml",
    )
    assert profile.weights == (float("inf"),)


def test_dump_is_read_back_as_the_same_profile():
    """Every kind of term, with scopes, thresholds, hard weights and endorsement, survives a
    round trip through the data `dump` writes (what a run captures for `--resume`)."""
    from purity.agents.preferences import KINDS
    from purity.agents.profiles import dump

    profiles = [load(path) for path in library().values()]
    assert {term.kind for p in profiles for term in p.terms} == set(KINDS)
    for profile in profiles:
        again = parse(dump(profile), profile.source)
        assert again == profile
        assert [t.key for t in again.terms] == [t.key for t in profile.terms]
