"""Experiment files: what is accepted, and one clear error for each kind of mistake."""

import pytest

from purity.inputs import InputError
from purity.tournament.cli import validate
from purity.tournament.config import load
from purity.tournament.experiment_data import dump


def test_small_experiment_resolves_with_defaults(small_experiment):
    experiment = load(small_experiment)
    assert experiment.population == 16 and experiment.arena.steps == 12
    assert [e.profile.name for e in experiment.mix] == ["consequentialist", "lineage-keeper", "universalizer"]
    assert experiment.mix[2].decider == "fixed" and experiment.mix[2].policy[0] == 0.4
    assert experiment.mix[0].decider == "planner" and experiment.mix[0].capability.candidates == 6
    assert experiment.arena.params.regrowth == 0.4  # the arena's documented default
    resolved = dump(experiment)
    assert resolved["mutation"]["sigma"] == 0.2 and resolved["mutation"]["rate"] == 0.5
    # no [training]: the outcome reward, and the commons' violation kinds (building is none)
    assert resolved["training"] == {
        "reward": "outcome",
        "penalty": 1.0,
        "learning_rate": 0.5,
        "exploration": 0.02,
        "violations": ["take", "overuse"],
    }
    assert load(small_experiment, seed=11).seed == 11
    assert experiment.drift_twin().selection.intensity == 0.0
    assert "experiment 'small'" in validate(small_experiment)
    assert resolved["reflection"] == {
        "enabled": False,
        "rule": "realistic",
        "self_modify": False,
        "successors": "inherit",
        "every": 1,
        "cost": 0.0,
        "weaken": 0.5,
        "strengthen": 2.0,
        "rescope": True,
        "outcomes": True,
        "successor": "built",
        "responsibility": 0.0,
        "reference": 0,
    }


def test_reflection_section_reads_every_setting(write_experiment):
    path = write_experiment(
        (
            "[control]",
            '[reflection]\nenabled = true\nrule = "hedonistic"\nself_modify = true\nsuccessors = "design"\nevery = 3\ncost = 0.25\nstrengthen = 1.5\n[control]',
        )
    )
    reflection = load(path).reflection
    assert reflection.modes == ("self_modify", "design") and reflection.rule == "hedonistic"
    assert [reflection.due(g) for g in range(7)] == [True, False, False, True, False, False, True]
    assert (reflection.cost, reflection.weaken, reflection.strengthen) == (0.25, 0.5, 1.5)
    assert load(path).drift_twin().reflection == reflection


def test_profile_by_path_relative_to_the_experiment(write_experiment, tmp_path):
    (tmp_path / "mine.toml").write_text(
        '[profile]\nname = "mine"\n[[outcome]]\nmeasure = "own_wealth"\nweight = 2.0\n'
    )
    path = write_experiment(('profile = "lineage-keeper"', 'profile = "mine.toml"'))
    assert load(path).mix[1].profile.name == "mine"


def test_arena_parameters_are_checked_against_the_arena(write_experiment):
    path = write_experiment(("steps = 12", "steps = 12\nregrowth = 0.7"))
    assert load(path).arena.params.regrowth == 0.7


@pytest.mark.parametrize(
    "replacement, field, expected",
    [
        (('name = "commons"', 'name = "casino"'), "arena.name", "one of 'commons'"),
        (("steps = 12", "steps = 12\nregrow = 0.7"), "arena.regrow", "a known key"),
        (("steps = 12", "steps = 12\nregrowth = -1.0"), "arena.regrowth", "a number in"),
        (("steps = 12", 'steps = "many"'), "arena.steps", "a whole number"),
        (
            ('profile = "lineage-keeper"', 'profile = "nobody"'),
            "population.mix[1].profile",
            "a library profile",
        ),
        (
            ('profile = "lineage-keeper"', 'profile = "missing.toml"'),
            "population.mix[1].profile",
            "an existing profile file (",
        ),
        (
            ('decider = "fixed"', 'decider = "oracle"'),
            "population.mix[2].decider",
            "one of 'planner', 'fixed', 'learner'",
        ),
        (("share = 0.25\ndecider", "share = 0.3\ndecider"), "population.mix.share", "shares that sum to 1"),
        (("share = 0.5", "share = nan"), "population.mix[0].share", "a finite number"),
        (("population = 16", "population = 18"), "experiment.population", "a multiple of arena.group_size"),
        (("generations = 4", "generations = 0"), "experiment.generations", "a whole number in [1,"),
        (('kind = "moran"', 'kind = "tournament"'), "selection.kind", "one of 'moran'"),
        (("intensity = 0.2", "intensity = -0.2"), "selection.intensity", "a number in"),
        (
            ("[control]", "[reflection]\nenabled = true\n[control]"),
            "reflection",
            'self_modify = true or successors = "design"',
        ),
        (
            ("[control]", '[reflection]\nenabled = true\nrule = "wise"\n[control]'),
            "reflection.rule",
            "one of 'realistic', 'hedonistic', 'ignorant'",
        ),
        (
            ("[control]", '[reflection]\nsuccessors = "clone"\n[control]'),
            "reflection.successors",
            "one of 'inherit', 'design'",
        ),
        (("[control]", "[reflection]\nevery = 0\n[control]"), "reflection.every", "a whole number in [1,"),
        (("[control]", "[reflection]\ncost = -1\n[control]"), "reflection.cost", "a number in [0.0,"),
        (
            ("[control]", "[reflection]\nweaken = 1.5\n[control]"),
            "reflection.weaken",
            "a number in [0.0, 1.0]",
        ),
        (
            ("[control]", "[reflection]\nself_modify = 1\n[control]"),
            "reflection.self_modify",
            "true or false",
        ),
        (
            ("[control]", '[reflection]\nsuccesors = "design"\n[control]'),
            "reflection.succesors",
            "a known key",
        ),
        (("neutral_drift = true", "neutral_drift = true\nbogus = 1"), "control.bogus", "a known key"),
        (
            ("neutral_drift = true", 'neutral_drift = true\nnull = ["drift", "mechanism"]'),
            "control.null",
            "a list of distinct strings from 'drift', 'shuffle'",
        ),
        (
            ("neutral_drift = true", "neutral_drift = true\nnull_replicates = -5"),
            "control.null_replicates",
            "a whole number in [0,",
        ),
        (
            (
                'candidates = 6, rollouts = 2 }\n\n[[population.mix]]\nprofile = "lineage',
                'candidates = 0, rollouts = 2 }\n\n[[population.mix]]\nprofile = "lineage',
            ),
            "population.mix[0].capability.candidates",
            "a whole number in [1,",
        ),
        (
            ("policy = { harvest = 0.4 }", "policy = { harvest = 1.4 }"),
            "population.mix[2].policy.harvest",
            "a number in [0.0, 1.0]",
        ),
        (
            ("policy = { harvest = 0.4 }", "policy = { greed = 0.4 }"),
            "population.mix[2].policy.greed",
            "a known key",
        ),
        (('name = "small"', 'name = "../escape"'), "experiment.name", "letters, digits"),
        (("[experiment]", "[experiment]\nextra = 1"), "experiment.extra", "a known key"),
        (
            ("[control]", '[training]\nreward = "approval"\n[control]'),
            "training.reward",
            "one of 'outcome', 'detected', 'full', 'internal'",
        ),
        (("[control]", "[training]\npenalty = -1.0\n[control]"), "training.penalty", "a number in"),
        (
            ("[control]", "[training]\nexploration = 0.7\n[control]"),
            "training.exploration",
            "a number in [0.0, 0.5]",
        ),
        (
            ("[control]", '[training]\nviolations = ["take", "lie"]\n[control]'),
            "training.violations",
            "a list of distinct strings from 'take', 'overuse', 'build'",
        ),
        (
            ("[control]", '[training]\nviolations = "take"\n[control]'),
            "training.violations",
            "a list of distinct strings",
        ),
        (("[control]", "[training]\nsteps = 3\n[control]"), "training.steps", "a known key"),
    ],
)
def test_bad_experiments_name_file_field_and_expectation(write_experiment, replacement, field, expected):
    path = write_experiment(replacement)
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.file == str(path)
    assert caught.value.field == field
    assert expected in caught.value.expected


def test_validate_tells_profiles_from_experiments(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text('[profile]\nname = "p"\n[[outcome]]\nmeasure = "own_wealth"\nweight = 1.0\n')
    assert validate(profile).startswith("profile 'p'")
    other = tmp_path / "other.toml"
    other.write_text("x = 1\n")
    with pytest.raises(InputError, match="a profile"):
        validate(other)


def test_validate_checks_every_run_of_a_sweep(small_experiment, tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(
        f'[sweep]\nname = "s"\nexperiment = "{small_experiment.name}"\nseeds = 2\n\n[grid]\n"reflection.rule" = ["realistic", "ignorant"]\n'
    )
    assert validate(sweep) == "sweep 's': 4 runs over 1 keys, base small.toml"
    sweep.write_text(sweep.read_text().replace('"ignorant"', '"wise"'))
    with pytest.raises(InputError, match="reflection.rule"):
        validate(sweep)


def test_standing_property_needs_a_series_the_arena_records(write_experiment, tmp_path):
    (tmp_path / "loyal.toml").write_text(
        '[profile]\nname = "loyal"\n[[standing]]\nproperty = "principal_in_control"\nthreshold = 0.5\nweight = 1.0\n'
    )
    path = write_experiment(('profile = "lineage-keeper"', 'profile = "loyal.toml"'))
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.field == "population.mix[1].profile"
    assert "'principal_control'" in caught.value.expected and "commons" in caught.value.expected


def test_an_unknown_parameter_lists_every_known_one(write_experiment):
    with pytest.raises(InputError) as caught:
        load(write_experiment(("steps = 12", "steps = 12\nregrow = 0.7")))
    for known in ("regrowth", "take_rate", "helper_cost", "noise"):
        assert known in caught.value.expected


def test_experiment_files_take_their_names_from_the_registries(write_experiment, monkeypatch):
    """A rule registered where it is implemented is accepted by an experiment file, with no
    other edit: config has no list of its own."""
    from purity.tournament import matching, mutation, selection

    monkeypatch.setitem(selection.RULES, "toy", selection.RULES["none"])
    monkeypatch.setitem(selection.FITNESS_RULES, "toy", selection.FITNESS_RULES["linear"])
    monkeypatch.setitem(matching.MATCHINGS, "toy", matching.MATCHINGS["well_mixed"])
    monkeypatch.setitem(mutation.DISTRIBUTIONS, "toy", mutation.DISTRIBUTIONS["gaussian"])
    path = write_experiment(
        ('kind = "moran"', 'kind = "toy"\nrule = "toy"'),
        ("[mutation]", '[matching]\nkind = "toy"\n[mutation]\ndistribution = "toy"'),
    )
    experiment = load(path)
    assert (experiment.selection.kind, experiment.selection.rule) == ("toy", "toy")
    assert (experiment.matching.kind, experiment.mutation.distribution) == ("toy", "toy")
    monkeypatch.delitem(selection.RULES, "toy")
    with pytest.raises(InputError, match="selection.kind"):
        load(path)


def test_an_unknown_successor_identity_is_refused(tmp_path):
    """One message naming the file, the field and the choices."""
    from pathlib import Path

    base = (Path(__file__).parents[2] / "experiments" / "successors-base.toml").read_text()
    file = tmp_path / "e.toml"
    file.write_text(base.replace('successors = "design"', 'successors = "design"\nsuccessor = "heir"'))
    with pytest.raises(InputError, match="reflection.successor.*'built', 'self'"):
        load(file)
    file.write_text(base.replace('successors = "design"', 'successors = "design"\nresponsibility = 1.5'))
    with pytest.raises(InputError, match="responsibility"):
        load(file)
