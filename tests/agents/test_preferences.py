"""Utility of a trace: scopes, standing properties, hard constraints, process share."""

import math

import numpy as np
import pytest

from purity.agents.preferences import (
    Term,
    features,
    process_share,
    register_trait,
    scoped_events,
    term_universe,
    traits,
    utility,
)
from purity.agents.profiles import library, load
from purity.arenas.core import Trace

KINDS = ("take", "overuse", "build")


def _trace() -> Trace:
    """Two episodes, three agents with helpers: actor 3 is agent 0's helper."""
    events = np.zeros((2, 6, 3))
    events[0, 0, 0] = 2.0  # agent 0 takes 2 itself
    events[0, 3, 0] = 5.0  # agent 0's helper takes 5
    events[0, 1, 0] = 1.0  # agent 1 takes 1
    events[1, 2, 1] = 4.0  # agent 2 overuses in episode 1
    commons = np.array([[0.8, 0.5, 0.2, 0.1], [0.8, 0.7, 0.6, 0.5]])
    return Trace(
        kinds=KINDS,
        fitness=np.array([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]]),
        events=events,
        opportunities=np.ones((2, 3, 3)),
        series={"commons": commons},
        watched=np.zeros(2, dtype=bool),
    )


def test_scopes_count_exactly_whose_acts_they_cover():
    trace = _trace()
    kin = np.eye(3)[None]
    assert scoped_events(trace, "take", "self", kin)[0].tolist() == [2.0, 1.0, 0.0]
    assert scoped_events(trace, "take", "lineage", kin)[0].tolist() == [7.0, 1.0, 0.0]
    assert scoped_events(trace, "take", "world", kin)[0].tolist() == [8.0, 8.0, 8.0]
    # agent 1 descends from agent 0: agent 0's lineage scope covers agent 1's take too
    kin_desc = np.eye(3)[None].copy()
    kin_desc[0, 0, 1] = 1
    assert scoped_events(trace, "take", "lineage", kin_desc)[0].tolist() == [8.0, 1.0, 0.0]
    # a kind the arena never emits costs nothing
    assert scoped_events(trace, "deceive", "world", kin).sum() == 0


def test_standing_term_counts_steps_the_property_fails():
    trace = _trace()
    term = Term("standing", "commons_above", threshold=0.3)
    values = features(trace, (term,))
    # episode 0 after-step series 0.5, 0.2, 0.1 -> two violations; episode 1 none
    assert values[..., 0].tolist() == [[-2, -2, -2], [0, 0, 0]]


def test_utility_is_weighted_sum_and_hard_terms_forbid():
    trace = _trace()
    terms = (
        Term("outcome", "own_wealth"),
        Term("constraint", "take", scope="self"),
        Term("outcome", "lineage_wealth"),
    )
    kin = np.eye(3)[None].copy()
    kin[0, 1, 2] = 1
    values = features(trace, terms, kin)
    assert values[0, 1, 2] == 50.0  # agent 1 + its descendant agent 2
    weights = np.array([1.0, 3.0, 0.0])
    assert utility(values, weights)[0].tolist() == [10 - 6, 20 - 3, 30]
    hard = np.array([1.0, math.inf, 0.0])
    got = utility(values, hard)
    assert got[0, 0] == -math.inf and got[0, 1] == -math.inf and got[0, 2] == 30.0
    assert got[1].tolist() == [1.0, 2.0, 3.0]


def test_universalization_uses_the_all_alike_fitness():
    trace = _trace()
    term = Term("universalization", "own_wealth")
    alike = np.array([[5.0, 6.0, 7.0], [0.0, 0.0, 1.0]])
    assert np.array_equal(features(trace, (term,), universal_fitness=alike)[..., 0], alike)
    with pytest.raises(ValueError):
        features(trace, (term,))


def test_process_share():
    process = np.array([False, True, True])
    weights = np.array([[1.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, 1.0, math.inf]])
    assert process_share(weights, process).tolist() == [0.75, 0.0, 0.0, 1.0]


def test_library_profiles_lay_out_over_a_term_universe():
    profiles = [load(path) for path in library().values()]
    universe = term_universe(profiles)
    assert len(set(universe)) == len(universe)
    for profile in profiles:
        row = profile.weight_row(universe)
        assert np.count_nonzero(row) == len(profile.terms)
        assert sorted(row[row != 0].tolist()) == sorted(profile.weights)


def test_keeps_promises_trait_is_read_from_the_weights_of_every_scope(monkeypatch):
    """w / (1 + w) of the total weight on break_promise constraints: 0, 1/2, (2+1)/(1+3) = 3/4, 1."""
    terms = (
        Term("outcome", "own_wealth"),
        Term("constraint", "break_promise", scope="self"),
        Term("constraint", "break_promise", scope="world"),
        Term("constraint", "take", scope="self"),
    )
    weights = np.array(
        [[1.0, 0.0, 0.0, 9.0], [1.0, 1.0, 0.0, 0.0], [5.0, 2.0, 1.0, 0.0], [1.0, math.inf, 0.0, 0.0]]
    )
    assert traits(weights, terms, ("keeps_promises",))[:, 0].tolist() == [0.0, 0.5, 0.75, 1.0]
    assert traits(weights[None], terms, ("keeps_promises", "keeps_promises")).shape == (1, 4, 2)
    assert traits(weights, terms, ()).shape == (4, 0)
    with pytest.raises(KeyError, match="no public trait registered as 'honest'"):
        traits(weights, terms, ("honest",))
    with pytest.raises(KeyError, match="'honest@population'"):
        traits(weights, terms, ("honest@population",))
    import purity.agents.preferences as preferences

    monkeypatch.setattr(preferences, "TRAITS", dict(preferences.TRAITS))  # registers into a copy
    register_trait("outcome_share", lambda w, t: w[..., 0] / w.sum(axis=-1))
    assert traits(weights[:1], terms, ("outcome_share",))[0, 0] == 0.1
    assert (
        traits(weights[:1], terms, ("outcome_share@population",), population=weights[:2])[0, 0]
        == (0.1 + 0.5) / 2
    )


def test_a_population_trait_is_the_population_mean_for_everyone():
    """`keeps_promises@population`: the mean trait over the population passed (or over the rows
    given), the same for every row — whatever the group the rows come from."""
    terms = (Term("outcome", "own_wealth"), Term("constraint", "break_promise", scope="lineage"))
    population = np.array([[1.0, 3.0]] * 2 + [[1.0, 0.0]] * 6)  # 2 keepers (3/4), 6 consequentialists (0)
    keepers = population[:2]
    shown = traits(keepers, terms, ("keeps_promises", "keeps_promises@population"), population=population)
    np.testing.assert_array_equal(shown, [[0.75, 0.1875], [0.75, 0.1875]])  # 2 × 3/4 / 8
    groups = np.stack(
        [population[[0, 2]], population[[2, 3]]]
    )  # [G, n, T]: a mixed pair, a pair of consequentialists
    shown = traits(groups, terms, ("keeps_promises@population",), population=population)
    assert shown.shape == (2, 2, 1) and (shown == 0.1875).all()
    np.testing.assert_array_equal(
        traits(keepers, terms, ("keeps_promises@population",)), [[0.75], [0.75]]
    )  # no population: the rows
    np.testing.assert_array_equal(
        traits(groups, terms, ("keeps_promises@population",)), np.full((2, 2, 1), 0.1875)
    )


def test_one_agent_per_episode_is_the_whole_arrays_entry_bit_for_bit(monkeypatch):
    """`features(..., focal)` is what planners and reflection score: it computes only agent
    focal[b]'s values, and must be the same numbers as the whole array's, for every kind of term,
    scope and framing, with helpers and kin at several distances, and for a measure registered
    later (given all of kin, not the focal rows)."""
    from purity.agents import preferences

    monkeypatch.setitem(
        preferences.MEASURES.registered,
        "kin_diagonal",
        lambda trace, kin: trace.fitness * kin.diagonal(axis1=1, axis2=2),
    )
    rng = np.random.default_rng(3)
    trace = Trace(
        kinds=KINDS,
        fitness=rng.normal(size=(6, 3)),
        events=rng.random((6, 6, 3)) * (rng.random((6, 6, 3)) < 0.5),
        opportunities=rng.random((6, 6, 3)),  # rows per actor: helpers' chances count too
        series={"commons": rng.random((6, 4))},
        watched=np.zeros(6, dtype=bool),
    )
    kin = np.broadcast_to(np.eye(3), (6, 3, 3)).copy()
    kin[:, 0, 1], kin[:, 1, 2], kin[:, 0, 2] = 1.0, 1.0, 0.5  # 1 a child of 0; 2 a child of 1
    kin[::2] *= rng.random((3, 3, 3)) < 0.7  # some episodes see less of the lineage
    kin[:, [0, 1, 2], [0, 1, 2]] = rng.uniform(0.5, 1.0, (6, 3))  # read as is by `kin_diagonal`
    terms = (
        *(
            Term("outcome", name)
            for name in ("own_wealth", "lineage_wealth", "total_welfare", "kin_diagonal")
        ),
        *(
            Term("constraint", event, scope=scope, reward=reward)
            for event in ("take", "deceive")
            for scope in ("self", "lineage", "world")
            for reward in (False, True)
        ),
        Term("constraint", "take", scope="lineage", responsibility=0.5, decay=0.5),
        Term("constraint", "take", scope="lineage", responsibility=0.3, reward=True),
        Term("standing", "commons_above", threshold=0.4),
        Term("standing", "commons_above", threshold=0.4, reward=True),
        Term("universalization", "own_wealth"),
    )
    alike = rng.normal(size=(6, 3))
    focal = np.array([0, 1, 2, 2, 1, 0])
    whole = features(trace, terms, kin, alike)
    one = features(trace, terms, kin, alike, focal)
    assert one.shape == (6, len(terms))
    assert one.tobytes() == whole[np.arange(6), focal].tobytes()
    # the default kin (each agent its own lineage) and a shared [1, n, n] kin take the same path
    for shared in (None, kin[:1]):
        assert (
            features(trace, terms, shared, alike, focal).tobytes()
            == features(trace, terms, shared, alike)[np.arange(6), focal].tobytes()
        )
    # and the lineage terms do read the kin: the control, without descent, differs
    assert not np.array_equal(one, features(trace, terms, None, alike, focal))


def test_one_agent_per_episode_also_for_measures_of_one_row_and_kin_in_any_memory_order(monkeypatch):
    """A registered measure may give [1, n] (it reads only the default kin); a kin array may be a
    transposed view, whose sums over 8 or more agents would add in another order."""
    from purity.agents import preferences

    monkeypatch.setitem(
        preferences.MEASURES.registered, "lineage_size", lambda trace, kin: (kin > 0).sum(-1) * 1.0
    )
    rng = np.random.default_rng(0)
    batch, n = 32, 8
    trace = Trace(
        kinds=("take",),
        fitness=rng.normal(size=(batch, n)) * 1e3,
        events=rng.random((batch, n, 1)),
        opportunities=np.ones((batch, n, 1)),
        series={},
        watched=np.zeros(batch, dtype=bool),
    )
    focal, rows = rng.integers(0, n, batch), np.arange(batch)
    terms = (
        Term("outcome", "lineage_wealth"),
        Term("constraint", "take", scope="lineage"),
        Term("outcome", "lineage_size"),
    )
    for kin in (None, (rng.random((batch, n, n)) < 0.6).transpose(0, 2, 1) * 1.0):
        whole = features(trace, terms, kin)
        assert features(trace, terms, kin, None, focal).tobytes() == whole[rows, focal].tobytes()


def test_helpers_acts_are_the_sum_over_each_agents_helpers_whatever_the_dtype():
    """One helper each is read in place for floats; any other case sums, as before (ints and
    bools promoted by the sum, so that own + helper adds amounts)."""
    for actors, dtype in ((4, float), (4, np.int32), (4, bool), (6, float)):
        per_actor = (np.arange(2 * actors * 2).reshape(2, actors, 2) % 3).astype(dtype)
        trace = Trace(
            ("take", "build"), np.zeros((2, 2)), per_actor, np.ones((2, 2, 2)), {}, np.zeros(2, bool)
        )
        want = per_actor[:, 2:].reshape(2, actors // 2 - 1, 2, 2).sum(axis=1)
        got = trace.helper_events()
        assert got.dtype == want.dtype and np.array_equal(got, want)
