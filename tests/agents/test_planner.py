"""The planner in the commons: constraints hold in self-play, and the delegation loophole is
found by a self-scoped keeper and closed by a lineage-scoped one."""

import numpy as np

from purity.agents.deciders import Capability, PlanGroup, _every_draw, candidate_policies, plan
from purity.agents.preferences import Term, features, utility
from purity.arenas.commons import CommonsArena
from purity.arenas.streams import GeneratorStreams
from purity.tournament import seeding

N, STEPS = 4, 30
TERMS = (
    Term("outcome", "own_wealth"),
    Term("constraint", "take", scope="self"),
    Term("constraint", "take", scope="lineage"),
)
TAKER = np.array([0.5, 0.0, 1.0, 0.0, 0.0])  # harvest, floor, take, build, helper_take
CAPABLE = Capability(candidates=96, rollouts=4)


def _play(arena, policies, seed=99, episodes=16):
    noise = arena.noise(np.random.default_rng(seed), episodes)
    return arena.rollout(np.repeat(policies[None], episodes, axis=0), noise)


def _plan_all(weights_row, start, capability=CAPABLE, seed=0):
    """Every member of the group has the same profile (self-play) and starts at `start`."""
    arena = CommonsArena(N, STEPS)
    group = PlanGroup(
        weights=np.repeat(np.asarray(weights_row, float)[None], N, axis=0),
        policies=np.repeat(start[None], N, axis=0),
        planners=tuple((slot, capability) for slot in range(N)),
        kin=np.eye(N),
    )
    chosen = plan(arena, TERMS, [group], [np.random.default_rng(seed)])[0]
    return arena, chosen


def test_a_heavy_take_weight_never_takes_in_self_play():
    arena, chosen = _plan_all([1.0, 100.0, 0.0], TAKER)
    trace = _play(arena, chosen)
    assert trace.own_events()[..., 0].sum() == 0.0
    assert (chosen[:, 2] == 0).all() or trace.own_events()[..., 0].max() == 0


def test_a_pure_planner_takes_when_taking_pays():
    arena, chosen = _plan_all([1.0, 0.0, 0.0], np.array([0.5, 0, 0, 0, 0.0]))
    trace = _play(arena, chosen)
    assert (trace.own_events()[..., 0] + trace.helper_events()[..., 0]).sum(axis=0).min() > 0


def test_self_scoped_keeper_finds_the_delegation_loophole_and_lineage_scope_closes_it():
    arena, self_keeper = _plan_all([1.0, 100.0, 0.0], TAKER)
    trace = _play(arena, self_keeper)
    own, helper = trace.own_events()[..., 0], trace.helper_events()[..., 0]
    assert own.sum() == 0.0
    assert (helper.sum(axis=0) > 0).all(), "each self-keeper should have its helper take for it"

    arena, lineage_keeper = _plan_all([1.0, 0.0, 100.0], TAKER)
    trace = _play(arena, lineage_keeper)
    assert trace.own_events()[..., 0].sum() == 0.0
    assert trace.helper_events()[..., 0].sum() == 0.0


def test_a_weak_planner_can_miss_the_loophole():
    """With one candidate (its current policy) a planner cannot move at all."""
    start = np.array([0.5, 0, 0, 0, 0.0])
    _, chosen = _plan_all([1.0, 100.0, 0.0], start, Capability(candidates=1, rollouts=1))
    assert np.array_equal(chosen, np.repeat(start[None], N, axis=0))


def test_hard_constraint_rules_out_every_option_with_the_event():
    terms = (Term("outcome", "own_wealth"), Term("constraint", "take", scope="self"))
    arena = CommonsArena(N, STEPS)
    group = PlanGroup(
        np.repeat(np.array([[1.0, np.inf]]), N, axis=0),
        np.repeat(TAKER[None], N, axis=0),
        ((0, CAPABLE),),
        np.eye(N),
    )
    chosen = plan(arena, terms, [group], [np.random.default_rng(1)])[0]
    trace = _play(arena, chosen)
    assert trace.own_events()[:, 0, 0].sum() == 0.0
    values = features(trace, terms)
    assert np.isfinite(utility(values, np.array([1.0, np.inf]))[:, 0]).all()


def test_planning_is_deterministic_for_a_seed():
    _, first = _plan_all([1.0, 3.0, 0.0], TAKER, Capability(16, 2), seed=5)
    _, again = _plan_all([1.0, 3.0, 0.0], TAKER, Capability(16, 2), seed=5)
    _, other = _plan_all([1.0, 3.0, 0.0], TAKER, Capability(16, 2), seed=6)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_candidates_start_with_the_current_policy_and_stay_in_the_unit_box():
    current = np.array([0.9, 0.1, 0.5, 0.0, 1.0])
    candidates = candidate_policies(current, 20, np.random.default_rng(0))
    assert candidates.shape == (20, 5)
    assert np.array_equal(candidates[0], current)
    assert candidates.min() >= 0 and candidates.max() <= 1


def test_candidates_are_the_current_policy_its_perturbations_then_uniform_draws_in_that_order():
    """Drawn in place for speed, the candidates must be the doubles the plain expressions give:
    a planner's choices, hence every table, depend on them bit for bit."""
    current = np.array([0.2, 0.9, 0.0])
    for count in (0, 1, 2, 3, 16, 17):
        rng = np.random.default_rng(5)
        local = count // 2
        nearby = current + 0.15 * rng.standard_normal((local, 3))
        uniform = rng.uniform(-0.25, 1.25, (max(count - 1 - local, 0), 3))
        want = np.concatenate([current[None], np.clip(nearby, 0, 1), np.clip(uniform, 0, 1)])[:count]
        got = candidate_policies(current, count, np.random.default_rng(5))
        assert got.tobytes() == want.tobytes()
    assert not np.array_equal(candidate_policies(current, 16, np.random.default_rng(6)), got)  # the control


def test_planners_drawing_together_draw_and_choose_as_each_groups_generator_would():
    """Groups of 0 to 3 planners with three capabilities (two with as many candidates and more
    or fewer rollouts), in any slots: from `Streams` the j-th
    planners of all groups draw together, yet each planner gets the candidates and rollout noise
    its group's generator gives it in slot order, so every choice is the same."""
    arena, rng = CommonsArena(N, 12), np.random.default_rng(4)
    small, large, longer = Capability(5, 2), Capability(16, 3, horizon=6), Capability(5, 4)
    layouts = [
        (),
        ((0, small),),
        ((1, large), (3, small)),
        ((0, longer), (1, small), (2, large)),
        ((2, large),),
    ]
    groups = [
        PlanGroup(rng.normal(1.0, 0.5, (N, len(TERMS))), rng.random((N, 5)), planners, np.eye(N))
        for planners in layouts
    ]
    keys = (3, np.arange(len(groups)), 1)
    want = _every_draw(arena, groups, seeding.generators(7, keys))
    chosen = plan(arena, TERMS, groups, seeding.generators(7, keys))
    for together in (GeneratorStreams(seeding.generators(7, keys)), _compiled(keys)):
        got = _every_draw(arena, groups, together)
        assert len(got) == len(want) == 7
        for (candidates, noise), (want_candidates, want_noise) in zip(got, want):
            assert candidates.tobytes() == want_candidates.tobytes()
            assert noise["regrowth"].tobytes() == want_noise["regrowth"].tobytes()
        fresh = (
            _compiled(keys)
            if not isinstance(together, GeneratorStreams)
            else GeneratorStreams(seeding.generators(7, keys))
        )
        again = plan(arena, TERMS, groups, fresh)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(again, chosen))
    swapped = list(groups)
    swapped[2] = PlanGroup(groups[2].weights, groups[2].policies, layouts[2][::-1], groups[2].kin)
    other = _every_draw(arena, swapped, seeding.generators(7, keys))
    assert other[1][0].tobytes() != want[1][0].tobytes()  # the control: slot order is draw order


def _compiled(keys):
    """The compiled streams, where a run would draw from them (numba, and numpy's C unfused)."""
    try:
        from purity.arenas import streams_compiled
    except ImportError:  # numba missing: the generators are the only streams
        return GeneratorStreams(seeding.generators(7, keys))
    if not streams_compiled.matches_numpy():
        return GeneratorStreams(seeding.generators(7, keys))
    return streams_compiled.CompiledStreams.seeded(seeding.states(7, keys))
