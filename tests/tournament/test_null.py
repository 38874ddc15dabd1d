"""The null simulation: known answers of neutral drift, and the same process as the engine's."""

from __future__ import annotations

import dataclasses
import json
import math

import networkx as nx
import numpy as np
import polars as pl
import pytest

from purity.tournament import config, null, population, selection
from purity.tournament.batch_selection import moran_events, parents_of_generation
from purity.tournament.config import Selection
from purity.tournament.matching import Structure
from purity.tournament.mutation import MutationSpec, TermSpace

NO_MUTATION = MutationSpec(rate=0.0)


def two_types(n: int, carriers: int, rule: str, generations: int, structure=None, **extra) -> null.NullSpec:
    """N agents, the first `carriers` of them carrying the one process term (weight 1)."""
    weights = (np.arange(n) < carriers).astype(float)[:, None]
    return null.NullSpec(
        rule=rule,
        population=n,
        generations=generations,
        entry=(np.arange(n) >= carriers).astype(np.int64),
        weights=weights,
        keys=("constraint:take:self",),
        threshold=0.5,
        mutation=extra.pop("mutation", NO_MUTATION),
        space=TermSpace(("constraint:take:self",), np.array([True]), np.array([1.0]), ((),)),
        structure=structure,
        lock_in=extra.pop("lock_in", 0.9),
        stop_at_fixation=extra.pop("stop_at_fixation", False),
    )


def within(estimate: float, expected: float, se: float, k: float = 4.0) -> bool:
    return abs(estimate - expected) <= k * se


# ---------------------------------------------------------------- known answers of drift


@pytest.mark.parametrize("rule", ["moran", "moran_db", "wright_fisher"])
def test_neutral_fixation_probability_is_the_start_share(rule: str) -> None:
    """Under neutral drift the carriers' share is a martingale: they take over with probability
    equal to their starting share (here 3 of 10)."""
    draws = null.simulate(two_types(10, 3, rule, 120), 2000, seed=1)
    assert ((draws.end == 0) | (draws.end == 1)).mean() > 0.995  # absorbed
    fixed = float((draws.end == 1).mean())
    assert within(fixed, 0.3, math.sqrt(0.3 * 0.7 / 2000)), fixed


@pytest.mark.parametrize("rule", ["moran", "moran_db"])
def test_neutral_fixation_on_a_regular_graph(rule: str) -> None:
    """On a cycle the neutral count is still a martingale (every edge is used both ways alike)."""
    ring = Structure.from_graph(nx.cycle_graph(8))
    draws = null.simulate(two_types(8, 2, rule, 300, ring), 2000, seed=2)
    assert ((draws.end == 0) | (draws.end == 1)).mean() > 0.995
    fixed = float((draws.end == 1).mean())
    assert within(fixed, 0.25, math.sqrt(0.25 * 0.75 / 2000)), fixed


@pytest.mark.parametrize(
    ("rule", "decay"),
    [
        ("wright_fisher", lambda n: 1 - 1 / n),  # Wright (1931)
        ("moran", lambda n: (1 - 2 / n**2) ** n),  # N birth–death events per generation
        ("moran_db", lambda n: (1 - 2 / (n * (n - 1))) ** n),  # the dead never replace themselves
    ],
)
def test_heterozygosity_decays_geometrically(rule, decay) -> None:
    """E[2x(1 − x)] after t generations is H0 · decay^t exactly, for each rule's own decay."""
    n, reps = 20, 6000
    draws = null.simulate(two_types(n, 10, rule, 16), reps, seed=3)
    h = 2 * draws.curve[..., 0] * (1 - draws.curve[..., 0])  # [G, R]
    for t in (1, 5, 15):
        expected = 0.5 * decay(n) ** t
        assert within(float(h[t].mean()), expected, float(h[t].std()) / math.sqrt(reps)), (t, h[t].mean())


def test_replicator_drift_keeps_type_counts() -> None:
    """At equal fitness the replicator rule has no drift in type shares: they never move."""
    draws = null.simulate(two_types(16, 6, "replicator", 20), 200, seed=4)
    np.testing.assert_array_equal(draws.end, np.full((200, 1), 6 / 16))
    np.testing.assert_array_equal(draws.selection, 0.0)


def test_keep_changes_nobody() -> None:
    draws = null.simulate(two_types(8, 3, "keep", 5), 10, seed=0)
    np.testing.assert_array_equal(draws.end, 3 / 8)


def test_the_curve_keeps_the_band_of_means_over_as_many_seeds() -> None:
    """One seed: the band of means is the band of runs. Eight seeds: each generation's band is the
    2.5–97.5% quantiles of the means of disjoint groups of eight replicates (as the verdict's
    K-seed means are formed), narrower than single runs' once drift has spread them."""
    draws = null.simulate(two_types(20, 5, "moran", 12), 1600, seed=7)
    one = draws.curve_frame(1)
    assert one["mean_low"].to_list() == one["low"].to_list()
    assert one["mean_high"].to_list() == one["high"].to_list()
    last = draws.curve.shape[0] - 1
    eight = draws.curve_frame(8).filter(pl.col("generation") == last)
    # the curve's own float32: numpy versions round its sums and interpolations differently along
    # other axes, so equal to within float32's resolution
    means = draws.curve[last, :, 0].reshape(200, 8).mean(axis=1)
    assert eight["mean_low"][0] == pytest.approx(np.quantile(means, 0.025), rel=1e-6, abs=0)
    assert eight["mean_high"][0] == pytest.approx(np.quantile(means, 0.975), rel=1e-6, abs=0)
    assert eight["high"][0] - eight["low"][0] > 2 * (eight["mean_high"][0] - eight["mean_low"][0])
    assert draws.curve_frame(2000)["mean_low"].is_nan().all()  # fewer replicates than seeds: no band


# ---------------------------------------------------------------- the Price parts and lock-in


def test_price_parts_add_up_and_selection_is_centred() -> None:
    """start + selection + mutation = end for every replicate; under drift selection has mean 0."""
    spec = two_types(32, 8, "moran", 30, mutation=MutationSpec(rate=0.3, sigma=1.0))
    draws = null.simulate(spec, 2000, seed=5)
    np.testing.assert_allclose(draws.start + draws.selection + draws.mutation, draws.end, atol=1e-12)
    assert within(float(draws.selection.mean()), 0.0, float(draws.selection.std()) / math.sqrt(2000))
    assert (draws.mutation < 0).mean() > 0.5  # large log-normal steps carry weights below 0.5


def test_lock_in_generation_and_stop_at_fixation() -> None:
    """With lock-in at 0 every replicate locks in at generation 0; stopped replicates record the
    generation they fixed in, and keep their share afterwards."""
    draws = null.simulate(two_types(6, 3, "moran", 200, lock_in=0.0, stop_at_fixation=True), 300, seed=6)
    np.testing.assert_array_equal(draws.lock_in, 0)
    assert (draws.generations < 200).all()
    assert set(np.unique(draws.end)) <= {0.0, 1.0}
    last = draws.curve[-1, :, 0]
    np.testing.assert_array_equal(last, draws.end[:, 0])


def test_same_seed_same_draws_and_chunks_are_stable() -> None:
    spec = two_types(10, 5, "moran", 8, mutation=MutationSpec(rate=0.5))
    a = null.simulate(spec, 50, seed=9)
    b = null.simulate(spec, 50, seed=9)
    np.testing.assert_array_equal(a.end, b.end)
    longer = null.simulate(spec, null.CHUNK + 5, seed=9)
    first = null.simulate(spec, null.CHUNK, seed=9)
    np.testing.assert_array_equal(longer.end[: null.CHUNK], first.end)


# ---------------------------------------------------------------- the same process as the engine


def _nearest_ancestor(births: list[tuple[int, int]], before: set[int], child_ids: np.ndarray) -> list[int]:
    parent_of = {child: parent for parent, child in births}
    out = []
    for agent in child_ids.tolist():
        while agent not in before:
            agent = parent_of[agent]
        out.append(agent)
    return out


@pytest.mark.parametrize("kind", ["moran", "moran_db"])
@pytest.mark.parametrize("graph", [False, True])
def test_moran_replay_matches_the_engine(kind: str, graph: bool) -> None:
    """Replaying the engine's own Moran events gives exactly the population `reproduce` gives:
    every slot's founder and its nearest ancestor in the generation before."""
    n = 9
    structure = Structure.from_graph(nx.cycle_graph(n)) if graph else None
    rng = np.random.default_rng(11)
    founding = np.eye(3)[np.arange(n) % 3]
    pop = population.Population(
        ids=np.arange(n),
        entry=np.arange(n) % 3,
        weights=founding,
        policies=np.zeros((n, 1)),
        origin=np.zeros(n, dtype=np.int64),
        parent=np.full(n, -1),
        founder=np.arange(n),
        mutation=np.full(n, "", dtype=object),
        next_id=n,
    )
    space = TermSpace(("a", "b", "c"), np.ones(3, bool), np.ones(3), ((), (), ()))
    fitness = rng.random(n) + 0.1
    child, births = population.reproduce(
        pop, fitness, Selection(kind, 0.5), NO_MUTATION, space, np.random.default_rng(5), rng, structure
    )
    sampler = selection.moran_birth_death if kind == "moran" else selection.moran_death_birth
    events = sampler(fitness, np.random.default_rng(5), n, structure)
    spec = dataclasses.replace(two_types(n, 3, kind, 2), weights=founding, keys=("a", "b", "c"))
    state = null._State(
        weights=founding[None].copy(), ints=np.stack([pop.entry, pop.founder, np.zeros(n, int)], -1)[None]
    )
    null._moran_step(spec, state, rng, events.parent_slot[None], events.dead_slot[None])
    np.testing.assert_array_equal(state.ints[0, :, 1], child.founder)
    np.testing.assert_array_equal(state.ints[0, :, 2], _nearest_ancestor(births, set(range(n)), child.ids))
    np.testing.assert_array_equal(state.weights[0], child.weights)


def _tv(a: np.ndarray, b: np.ndarray, size: int) -> float:
    pa = np.bincount(a, minlength=size) / a.size
    pb = np.bincount(b, minlength=size) / b.size
    return 0.5 * float(np.abs(pa - pb).sum())


@pytest.mark.parametrize("kind", ["moran", "moran_db"])
@pytest.mark.parametrize("graph", [False, True])
def test_weighted_moran_events_follow_the_engine_in_distribution(kind: str, graph: bool) -> None:
    """With skewed fitness (one slot at 0), how many of the next generation descend from slot 0
    has the same distribution from the batched sampler as from the engine's."""
    n, reps = 6, 20000
    structure = Structure.from_graph(nx.star_graph(n - 1)) if graph else None
    fitness = np.array([3.0, 1.0, 0.0, 0.5, 1.0, 2.0])
    rng = np.random.default_rng(12)
    parent, dead = moran_events(reps, n, rng, kind == "moran_db", structure, np.tile(fitness, (reps, 1)))
    batch = _descendants_of_zero(parent, dead)
    sampler = selection.moran_birth_death if kind == "moran" else selection.moran_death_birth
    engine_events = [sampler(fitness, rng, n, structure) for _ in range(reps)]
    engine = _descendants_of_zero(
        np.stack([e.parent_slot for e in engine_events]), np.stack([e.dead_slot for e in engine_events])
    )
    assert _tv(batch, engine, n + 1) < 0.025


def _descendants_of_zero(parent: np.ndarray, dead: np.ndarray) -> np.ndarray:
    reps, n = parent.shape
    origin = np.tile(np.arange(n), (reps, 1))
    rows = np.arange(reps)
    for k in range(n):
        origin[rows, dead[:, k]] = origin[rows, parent[:, k]]
    return (origin == 0).sum(axis=1)


def test_weighted_wright_fisher_parents_are_proportional_to_fitness() -> None:
    fitness = np.array([[0.0, 1.0, 3.0, 0.0], [2.0, 2.0, 0.0, 4.0]])
    parents = parents_of_generation(
        "wright_fisher", 10000, 4, np.random.default_rng(3), None, np.repeat(fitness, 5000, 0)
    )
    for row, f in enumerate(fitness):
        counts = np.bincount(parents[row * 5000 : (row + 1) * 5000].ravel(), minlength=4) / 20000
        np.testing.assert_allclose(counts, f / f.sum(), atol=0.015)
        assert (counts[f == 0] == 0).all()


def test_neutral_replicator_parents_share_their_child_slot_type() -> None:
    entry = np.random.default_rng(0).integers(0, 3, size=(50, 12))
    parents = parents_of_generation("replicator", 50, 12, np.random.default_rng(1), entry)
    np.testing.assert_array_equal(np.take_along_axis(entry, parents, axis=1), entry)


# ---------------------------------------------------------------- from an experiment, into files


def test_spec_of_the_default_experiment() -> None:
    spec = null.spec(config.load("experiments/default.toml"))
    assert spec.keys == ("constraint:take:self", "constraint:take:lineage", "standing:commons_above:0.3")
    assert spec.population == 128 and spec.rule == "moran" and spec.structure is None
    np.testing.assert_array_equal((spec.weights > 0).mean(axis=0), [0.25, 0.25, 0.25])


def test_shuffle_null_needs_fitness_and_constant_fitness_is_drift() -> None:
    spec = two_types(10, 3, "moran", 120)
    with pytest.raises(ValueError, match="fitness"):
        null.simulate(spec, 10, seed=0, kind="shuffle")
    draws = null.simulate(spec, 2000, seed=1, kind="shuffle", fitness=np.ones((2, 120, 10)))
    assert within(float((draws.end == 1).mean()), 0.3, math.sqrt(0.3 * 0.7 / 2000))


def test_record_nulls_writes_what_the_reports_read(tmp_path, small_experiment) -> None:
    import purity.reports as reports
    from purity.reports import nulls
    from purity.tournament import runner

    experiment = config.load(small_experiment)
    run_dir = runner.run(experiment, tmp_path / "runs", workers=0, progress=False)
    seconds = null.record_nulls(run_dir, experiment, replicates=300)
    assert set(seconds) == {"drift", "shuffle"}
    for kind in ("drift", "shuffle"):
        figures = nulls.load_null(run_dir, kind)
        assert figures.height == 300 * 2 and figures["replicate"].n_unique() == 300
        terms = json.loads((run_dir / "manifest.json").read_text())["terms"]
        assert set(figures["term"]) == {t["key"] for t in terms if t["process"]}
        start = nulls.run_figures(reports.load(run_dir)).sort("term")
        assert figures.group_by("term").agg(pl.col("start").unique()).sort("term")["start"].to_list() == [
            [x] for x in start["start"]
        ]
        curve = nulls.load_null_curve(run_dir, kind).filter(pl.col("generation") == 0).sort("term")
        assert curve["low"].to_list() == curve["high"].to_list() == start["start"].to_list()
    assert nulls.null_info(run_dir)["drift"]["replicates"] == 300


def test_nulls_cut_off_midway_are_all_simulated_again_on_resume(
    tmp_path, small_experiment, monkeypatch
) -> None:
    """null.json, which a resume reads to know the nulls are done, is written once every kind is:
    a run stopped while it simulated its second null resumes into both, not into the first alone."""
    import shutil

    from purity.tournament import record, runner

    experiment = config.load(small_experiment)
    run_dir = runner.run(experiment, tmp_path / "runs", workers=0, progress=False)
    shutil.rmtree(run_dir / "null")
    real = null.simulate

    def cut_at_shuffle(spec, replicates, seed, kind="drift", fitness=None):
        if kind == "shuffle":
            raise KeyboardInterrupt("stopped before null generation 0")
        return real(spec, replicates, seed, kind, fitness)

    monkeypatch.setattr(null, "simulate", cut_at_shuffle)
    with pytest.raises(KeyboardInterrupt):
        null.record_nulls(run_dir, experiment, replicates=200)
    assert (run_dir / record.null_table("drift")).is_file()
    assert not (run_dir / record.NULL_MANIFEST).is_file()  # so the run is not done
    monkeypatch.setattr(null, "simulate", real)
    runner.resume(run_dir, workers=0, progress=False)
    assert set(json.loads((run_dir / record.NULL_MANIFEST).read_text())) == {"drift", "shuffle"}


def test_mechanism_null_keeps_reflection_and_drops_selection(write_experiment) -> None:
    plain = config.load(write_experiment())
    assert null.mechanism_null(plain, 20) is None
    reflecting = config.load(
        write_experiment(("[control]", "[reflection]\nenabled = true\nself_modify = true\n\n[control]"))
    )
    twin = null.mechanism_null(reflecting, 20)
    assert twin.selection.intensity == 0 and twin.reflection == reflecting.reflection
    assert twin.seeds == 20 and twin.seed != reflecting.seed and not twin.neutral_drift


def test_shares_are_exactly_what_a_report_computes() -> None:
    """End shares are carriers / N in float64, so a run's share and the null's tie exactly."""
    draws = null.simulate(two_types(20, 7, "moran", 6), 200, seed=8)
    counts = np.round(draws.end * 20)
    np.testing.assert_array_equal(draws.end, counts / 20)
    assert draws.end.dtype == np.float64 and draws.start[0, 0] == 7 / 20


# ---------------------------------------------------------------- invaders after lock-in


def _invaded(rule: str, n: int, generations: int, rate: float, lock_in: float = 0.0) -> null.NullSpec:
    spec = two_types(
        n, n, rule, generations, lock_in=lock_in, mutation=MutationSpec(rate=0.0, invader_rate=rate)
    )
    return dataclasses.replace(spec, invader=(1, np.zeros(1)))


def test_invaders_replace_the_births_after_lock_in() -> None:
    """Everyone carries the term, and every birth after lock-in (at generation 0) comes out an
    invader that does not. Wright–Fisher: all are births, so nobody carries it after one step.
    Moran birth–death: the slots nobody died in keep it, (1 − 1/N)^N of them in expectation. The
    invaders' arrival is transmission (the mutation part), never selection."""
    wf = null.simulate(_invaded("wright_fisher", 10, 2, 1.0), 200, seed=1)
    np.testing.assert_array_equal(wf.end, 0.0)
    moran = null.simulate(_invaded("moran", 10, 2, 1.0), 4000, seed=2)
    kept = (1 - 1 / 10) ** 10
    assert within(float(moran.end.mean()), kept, float(moran.end.std()) / math.sqrt(4000))
    np.testing.assert_array_equal(moran.selection, 0.0)  # everyone carries: no covariance
    np.testing.assert_allclose(moran.start + moran.mutation, moran.end, atol=1e-12)


def test_no_invaders_before_lock_in_or_at_rate_zero() -> None:
    never = null.simulate(_invaded("moran", 10, 5, 1.0, lock_in=1.0), 100, seed=3)
    np.testing.assert_array_equal(never.end, 1.0)
    off = null.simulate(_invaded("moran", 10, 5, 0.0), 100, seed=3)
    np.testing.assert_array_equal(off.end, 1.0)


def test_death_birth_on_a_graph_with_no_fit_neighbour_draws_a_neighbour() -> None:
    """Every candidate at fitness 0: rejection never accepts, and the parent is drawn uniformly
    among the dead slot's neighbours on the graph (it raised AttributeError before 2026-12-06)."""
    n, reps = 8, 50
    structure = Structure.from_graph(nx.cycle_graph(n))
    parent, dead = moran_events(reps, n, np.random.default_rng(3), True, structure, np.zeros((reps, n)))
    assert (((parent - dead) % n == 1) | ((dead - parent) % n == 1)).all()
    assert set(np.unique((parent - dead) % n)) == {1, n - 1}
