"""Public traits reach the games: a run and an invasion analysis in the promises arena show each
agent's profile to its partners, so whether keepers out-earn consequentialists turns on `observe`."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from purity.tournament.config import load
from purity.tournament.invasion import payoff_table
from purity.tournament.runner import run

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiments" / "promises.toml"


def _experiment(tmp_path, observe: float, generations: int = 3, *more: tuple[str, str]):
    """The promises experiment, small: one seed of 16 agents, half consequentialists, half
    promise-keepers."""
    text = EXPERIMENT.read_text()
    for old, new in (
        *more,
        ("seeds = 18", "seeds = 1"),
        ("generations = 60", f"generations = {generations}"),
        ("population = 64", "population = 16"),
        ("observe = 1.0", f"observe = {observe}"),
        ("share = 0.34375", "share = 0.5"),
        ("share = 0.328125\ndecider", "share = 0.5\ndecider"),
        ('profile = "word-keeper"\nshare = 0.328125', 'profile = "word-keeper"\nshare = 0.0'),
        ("neutral_drift = true", "neutral_drift = false"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"promises-{observe}.toml"
    path.write_text(text)
    return load(path)


def test_shipped_experiment_is_valid_with_a_drift_control():
    experiment = load(EXPERIMENT)
    assert experiment.arena.name == "promises" and experiment.neutral_drift
    assert {entry.profile.name for entry in experiment.mix} == {
        "consequentialist",
        "promise-keeper",
        "word-keeper",
    }


def test_in_a_run_keepers_out_earn_consequentialists_only_where_profiles_are_seen(tmp_path):
    """Generation 0 plans against the default (trusting) policies; from generation 1 on, partners
    have learnt whom to trust — by the trait they see (observe 1) or not at all (observe 0)."""
    gaps = {}
    for observe in (1.0, 0.0):
        run_dir = run(_experiment(tmp_path, observe), tmp_path / f"out-{observe}", workers=0, progress=False)
        agents = pl.read_parquet(run_dir / "agents" / "**" / "*.parquet").filter(pl.col("generation") >= 1)
        mean = dict(agents.group_by("profile").agg(pl.col("payoff").mean()).iter_rows())
        gaps[observe] = mean["promise-keeper"] - mean["consequentialist"]
    assert gaps[1.0] > 5.0, gaps
    assert gaps[0.0] < 0.0, gaps


def test_a_run_shows_every_group_the_population_mean_trait(tmp_path, monkeypatch):
    """Type-pure groups (assortative matching, σ = 1): four keepers (trait 3/4) in some groups,
    four consequentialists (0) in the others. Every rollout, planned or played, shows each agent
    its own trait and the population's mean, 3/4 × 8/16 = 3/8 — never its group's (3/4 or 0),
    nor that of the groups one task plays."""
    from purity.arenas.promises import PromisesArena

    seen = []
    original = PromisesArena.rollout

    def recording(self, policy, noise, steps=None, traits=None):
        seen.append(np.asarray(traits).copy())
        return original(self, policy, noise, steps, traits)

    monkeypatch.setattr(PromisesArena, "rollout", recording)
    monkeypatch.setattr(
        "purity.tournament.generation.TASKS_PER_WORKER", 4
    )  # a task per group: no task holds the population
    experiment = _experiment(tmp_path, 0.0, 1, ('kind = "well_mixed"', 'kind = "assortative"\nsigma = 1.0'))
    run(experiment, tmp_path / "out", workers=0, progress=False)
    shown = np.concatenate([t.reshape(-1, 4, 2) for t in seen])
    assert len(seen) > 1 and (shown[..., 1] == 0.375).all()
    assert ((shown[..., 0] == 0.75).all(axis=1)).any() and ((shown[..., 0] == 0.0).all(axis=1)).any()


FIXED = 'decider = "fixed"\npolicy = {{ trust_threshold = 0.5, keep = {keep} }}'
PLANNER = 'decider = "planner"\ncapability = { candidates = 32, rollouts = 2 }'


@pytest.mark.parametrize("observe", [1.0, 0.0])
def test_invasion_payoffs_show_the_mutants_trait(tmp_path, observe):
    """One promise-keeper (keeps, trait 3/4) among three consequentialists (break, trait 0); all
    trust what they see at 0.5 or more; 12 steps, each meets each other 4 times per role.

    Seen: the keeper is trusted by all three and keeps (+2 each time: 24) and trusts nobody; a
    consequentialist gains +1 trusting the keeper, 4 times: 4 — whatever the population.

    Unseen: the prior is the population's mean trait, 3/4 × i/16 with i keepers among the 16, not
    the group's (3/16 in every group of one keeper). Below 0.5 (i ≤ 10) nobody trusts: 0 for all.
    From i = 11 (33/64) everyone trusts every promise: the keeper gets +2 × 3 as trustee and
    +1 −1 −1 as trustor per 3 steps, 12 in all; a consequentialist +4 × 3 and +1 −1 −1: 44."""
    experiment = _experiment(
        tmp_path,
        observe,
        1,
        (PLANNER, FIXED.format(keep=0.0)),
        (PLANNER, FIXED.format(keep=1.0)),
        ("reputation_noise = 0.1", "reputation_noise = 0.0"),
    )
    assert [entry.decider for entry in experiment.mix[:2]] == ["fixed", "fixed"]
    pay_m, pay_r = payoff_table(experiment, 0, 1, episodes=4)  # resident consequentialist, mutant keeper
    assert pay_m.shape == pay_r.shape == (17, 5)
    if observe == 1.0:
        assert (pay_m[1:, 1] == 24.0).all() and (pay_r[1:, 1] == 4.0).all()
    else:
        assert (pay_m[1:11, 1] == 0.0).all() and (pay_r[1:11, 1] == 0.0).all()
        assert (pay_m[11:, 1] == 12.0).all() and (pay_r[11:, 1] == 44.0).all()


@pytest.mark.parametrize(
    "replacement, field, expected",
    [
        (("observe = 1.0", "observe = 1.5"), "arena.observe", "a number in [0.0, 1.0]"),
        (("observe = 1.0", 'observe = "often"'), "arena.observe", "a number"),
        (("reputation_noise = 0.1", "reputation_noise = -0.1"), "arena.reputation_noise", "a number in"),
        (("observe = 1.0", "observe = 1.0\nobservability = 0.5"), "arena.observability", "a known key"),
    ],
)
def test_bad_promises_settings_name_file_field_and_expectation(tmp_path, replacement, field, expected):
    from purity.inputs import InputError

    path = tmp_path / "bad.toml"
    path.write_text(EXPERIMENT.read_text().replace(*replacement))
    with pytest.raises(InputError) as caught:
        load(path)
    assert (caught.value.file, caught.value.field) == (str(path), field)
    assert expected in caught.value.expected


def test_reflection_is_given_the_traits_its_group_played_with(tmp_path, monkeypatch):
    """Every reflecting agent gets its group's traits as played — each member's own, computed from
    its weights, and the population's mean 3/4 × 8/16 = 3/8 — so its simulated futures show them."""
    import purity.tournament.reflection_step as reflection_step
    from purity.agents.preferences import traits
    from purity.agents.reflection import scored_with_reference

    given = []

    def recording(arena, terms, agents, rule, mode, rngs, responsibility=0.0, reference=None):
        given.extend(
            (agent.traits, traits(agent.weights, terms, ("keeps_promises",))[:, 0]) for agent in agents
        )
        return scored_with_reference(arena, terms, agents, rule, mode, rngs, responsibility, reference)

    monkeypatch.setattr(reflection_step, "scored_with_reference", recording)
    reflect = '[reflection]\nenabled = true\nself_modify = false\nsuccessors = "design"\nrule = "realistic"\n\n[control]'
    run(_experiment(tmp_path, 1.0, 1, ("[control]", reflect)), tmp_path / "out", workers=0, progress=False)
    assert given
    for shown, own in given:
        assert shown.shape == (4, 2) and (shown[:, 1] == 0.375).all()
        assert np.array_equal(shown[:, 0], own)
