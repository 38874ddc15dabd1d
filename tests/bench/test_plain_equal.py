"""The plain-Python PettingZoo envs in bench/plain play exactly the arenas' rules: driven with the
same actions and the same random draws as the batched core, they give the same observations,
rewards, events, opportunities, detections, standing series and final fitness, step after step,
over several seeds and parameter sets. That is what makes them a fair baseline for the timings.

Exact equality everywhere but the commons' regrowth shock, which the plain env computes with
`math.exp` and the core with numpy's exp (they differ in the last bit for about one argument in
twenty): there the tolerance is a relative and absolute 1e-9 (the last bit of a shock grows to
a relative 2e-12 over 50 steps at noise 0.5), and with numpy's exp patched into
the plain env the commons is equal bit for bit too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import bench.plain.commons as plain_commons  # noqa: E402
from bench.plain import PLAIN  # noqa: E402
from purity.arenas import arena_class  # noqa: E402
from purity.arenas.commons import CommonsParams  # noqa: E402
from purity.arenas.commons_sanctions import SanctionsParams  # noqa: E402
from purity.arenas.core import Arena  # noqa: E402
from purity.arenas.matrix import MatrixParams  # noqa: E402
from purity.arenas.oversight import OversightParams  # noqa: E402
from purity.arenas.principal import PrincipalParams  # noqa: E402
from purity.arenas.principal_police import PoliceParams  # noqa: E402
from purity.arenas.promises import PromisesParams  # noqa: E402
from purity.arenas.promises_sanctions import PromisesSanctionsParams  # noqa: E402
from purity.arenas.wrapper import ParallelArenaEnv  # noqa: E402

STEPS, BATCH, SEEDS = 60, 5, (0, 1, 2)
TOLERANCE = 1e-9  # the commons only: math.exp against numpy's exp, grown over the steps


@dataclass(frozen=True)
class Case:
    arena: str
    n: int
    params: Any = None
    exact: bool = True

    def make_arena(self, steps: int = STEPS) -> Arena:
        return arena_class(self.arena)(self.n, steps, self.params)

    def make_plain(self, steps: int = STEPS):
        return PLAIN[self.arena].env(self.n, steps, self.params)


CASES = {
    "commons": Case("commons", 4, exact=False),
    "commons-squeezed": Case("commons", 3, CommonsParams(max_harvest=6.0, noise=0.5), exact=False),
    "commons-takes-scaled": Case("commons", 7, CommonsParams(take_rate=0.4, helper_cost=0.5), exact=False),
    "commons-alone": Case("commons", 1, exact=False),
    "sanctions": Case("commons_sanctions", 4, exact=False),
    "sanctions-unaffordable": Case(
        "commons_sanctions",
        4,
        SanctionsParams(sanction_cost=3.0, sanction_fine=2.0, max_harvest=4.0),
        exact=False,
    ),
    "sanctions-take-missable": Case(
        "commons_sanctions",
        4,
        SanctionsParams(sanction_event="take", detection=0.6, take_rate=0.3),
        exact=False,
    ),
    "sanctions-overuse-missable": Case("commons_sanctions", 3, SanctionsParams(detection=0.4), exact=False),
    "matrix": Case("matrix", 2),
    "matrix-continuous": Case("matrix", 2, MatrixParams(mode="continuous")),
    "matrix-snowdrift": Case("matrix", 2, MatrixParams(mode="continuous", formula="snowdrift")),
    "principal": Case("principal", 4),
    "principal-pair": Case("principal", 2, PrincipalParams(max_seize=0.6, detection_threshold=0.3)),
    "principal-police": Case("principal_police", 4, PoliceParams(police_power=0.43, police_cost=0.13)),
    "principal-police-missable": Case("principal_police", 4, PoliceParams(police_power=0.6, detection=0.5)),
    "promises": Case("promises", 4),
    "promises-sanctions": Case("promises_sanctions", 4, PromisesSanctionsParams(detection=0.6, observe=0.7)),
    "promises-sanctions-deceive": Case(
        "promises_sanctions", 3, PromisesSanctionsParams(sanction_event="deceive", detection=0.5, observe=0.3)
    ),
    "promises-noisy": Case("promises", 3, PromisesParams(reputation_noise=0.4, observe=0.3)),
    "promises-alone": Case("promises", 1),
    "oversight": Case("oversight", 3),
    "oversight-peers": Case(
        "oversight", 4, OversightParams(peer_detection=0.3, detection=0.7, evade_cost=1.0)
    ),
    "oversight-alone": Case("oversight", 1),
}


def core_episodes(case: Case, seed: int) -> tuple[dict, dict]:
    """Drive the core over `STEPS` steps of `BATCH` episodes with random actions and traits;
    returns its outputs (arrays `[T, B, n, ...]`) and the inputs that made them."""
    arena = case.make_arena()
    rng = np.random.default_rng(seed)
    noise = arena.noise(rng, BATCH)
    actions = rng.random((STEPS, BATCH, arena.n_agents, len(arena.action_names)))
    for column, name in enumerate(arena.action_names):
        if name.endswith("harvest"):  # from sparing to greedy episodes: stocks that last and that collapse
            actions[..., column] *= np.linspace(0.1, 0.8, BATCH)[:, None]
    traits = None
    if arena.trait_names:
        traits = rng.random((BATCH, arena.n_agents, len(arena.trait_names)))
    state = arena.begin(BATCH, noise, traits)
    out: dict[str, list] = {key: [] for key in ("obs", "rewards", "events", "opportunities", "detected")}
    out["series"] = []
    out["obs"].append(arena.observe(state))
    for t in range(STEPS):
        state, result = arena.step(state, actions[t], {key: value[:, t] for key, value in noise.items()})
        out["obs"].append(arena.observe(state))
        out["rewards"].append(result.rewards)
        out["events"].append(result.events)
        out["opportunities"].append(result.opportunities)
        own = result.events[:, : arena.n_agents]  # infos carry what was seen of the agents' own acts
        out["detected"].append(
            result.detected[:, : arena.n_agents] if result.detected is not None else 0 * own
        )
        out["series"].append({name: value.copy() for name, value in arena.record(state).items()})
    arrays = {key: np.array(value) for key, value in out.items() if key != "series"}
    arrays["series"] = {name: np.array([s[name] for s in out["series"]]) for name in arena.series_names}
    arrays["fitness"] = arena.fitness(state)
    return arrays, {"noise": noise, "actions": actions, "traits": traits}


def plain_episodes(case: Case, inputs: dict) -> dict:
    """The same episodes, one plain env each, read back into the core's layout."""
    per_batch = []
    for b in range(BATCH):
        env = case.make_plain()
        options: dict[str, Any] = {"noise": {key: value[b] for key, value in inputs["noise"].items()}}
        if inputs["traits"] is not None:
            options["traits"] = inputs["traits"][b]
        obs, infos = env.reset(options=options)
        assert env.agents == env.possible_agents
        episode = {key: [] for key in ("obs", "rewards", "events", "opportunities", "detected", "series")}
        episode["obs"].append([obs[a] for a in env.possible_agents])
        for t in range(STEPS):
            step = {a: inputs["actions"][t, b, i].tolist() for i, a in enumerate(env.possible_agents)}
            obs, rewards, terminations, truncations, infos = env.step(step)
            assert not any(terminations.values()) and all(truncations.values()) == (t == STEPS - 1)
            record_step(env, episode, obs, rewards, infos)
        assert env.agents == [] and env.step({}) == ({}, {}, {}, {}, {})
        episode["fitness"] = env.fitness()
        per_batch.append(episode)
    arrays = {
        key: np.array([e[key] for e in per_batch]).swapaxes(0, 1)  # [T, B, ...], as the core's
        for key in episode
        if key not in ("series", "fitness")
    }
    arrays["fitness"] = np.array([e["fitness"] for e in per_batch])
    names = per_batch[0]["series"][0].keys()
    arrays["series"] = {
        name: np.array([[s[name] for s in e["series"]] for e in per_batch]).T for name in names
    }
    return arrays


def record_step(env, episode: dict, obs: dict, rewards: dict, infos: dict) -> None:
    """One step's outputs in the core's per-actor layout (agents, then their helpers)."""
    agents, kinds = env.possible_agents, env.event_kinds
    episode["obs"].append([obs[a] for a in agents])
    episode["rewards"].append([rewards[a] for a in agents])
    own = [[infos[a]["events"][k] for k in kinds] for a in agents]
    helpers = [[infos[a]["helper_events"][k] for k in kinds] for a in agents]
    episode["events"].append(own + helpers if env.has_helpers else own)
    episode["opportunities"].append([[infos[a]["opportunities"][k] for k in kinds] for a in agents])
    if env.has_oversight:
        detected = [[infos[a]["detected"][k] for k in kinds] for a in agents]
        assert all(infos[a]["watched"] == env.watched for a in agents)
    else:
        detected = [[0.0] * len(kinds) for _ in agents]
    episode["detected"].append(detected)
    episode["series"].append(env.series())


def assert_same(core: dict, plain: dict, exact: bool) -> None:
    def check(a, b, what):
        if exact:
            np.testing.assert_array_equal(b, a, err_msg=what)
        else:
            np.testing.assert_allclose(b, a, rtol=TOLERANCE, atol=TOLERANCE, err_msg=what)

    for key in ("obs", "rewards", "events", "opportunities", "detected", "fitness"):
        assert core[key].shape == plain[key].shape, key
        check(core[key], plain[key], key)
    assert core["series"].keys() == plain["series"].keys()
    for name in core["series"]:
        check(core["series"][name], plain["series"][name], name)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", CASES)
def test_the_plain_env_plays_the_cores_rules(name, seed):
    case = CASES[name]
    core, inputs = core_episodes(case, seed)
    plain = plain_episodes(case, inputs)
    assert_same(core, plain, case.exact)
    if case.n > 1:  # the random actions exercised the rules: every kind of event happened
        assert (core["events"] != 0).any(axis=(0, 1, 2)).all()


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if not case.exact])
def test_the_commons_is_equal_bit_for_bit_with_numpys_exp(name, monkeypatch):
    monkeypatch.setattr(plain_commons, "exp", lambda x: float(np.exp(x)))
    case = CASES[name]
    core, inputs = core_episodes(case, seed=3)
    assert_same(core, plain_episodes(case, inputs), exact=True)


def test_without_numpys_exp_the_commons_differs_in_the_last_bits():
    """The tolerance is needed where numpy's exp rounds differently from libm's (its AVX-512 loop),
    and is no wider than the exp's last bit lets errors grow. On a CPU where the two agree the
    plain env equals the core bit for bit, and that is checked instead."""
    case = CASES["commons"]
    core, inputs = core_episodes(case, seed=0)
    plain = plain_episodes(case, inputs)
    x = np.random.default_rng(0).uniform(-5.0, 5.0, 100_000)
    libm_exp = np.array([plain_commons.exp(v) for v in x])
    assert np.array_equal(core["obs"], plain["obs"]) == np.array_equal(np.exp(x), libm_exp)
    np.testing.assert_allclose(plain["obs"], core["obs"], rtol=1e-14, atol=1e-13)


def play_policies(case: Case, policy: np.ndarray, noise: dict, traits, steps: int) -> dict:
    """Each episode's policy played through the plain env with the plain `act`, the way the
    benchmark plays it; returns fitness, summed events and opportunities, and the series."""
    act = PLAIN[case.arena].act
    fitness, events, opportunities, series = [], [], [], []
    for b in range(policy.shape[0]):
        env = case.make_plain(steps)
        options: dict[str, Any] = {"noise": {key: value[b] for key, value in noise.items()}}
        if traits is not None:
            options["traits"] = traits[b]
        obs, _ = env.reset(options=options)
        rows = policy[b].tolist()
        total_events = np.zeros((2 * case.n, len(env.event_kinds)))
        total_opportunities = np.zeros((case.n, len(env.event_kinds)))
        values = [env.series()]
        t = 0
        while env.agents:
            obs, _, _, _, infos = env.step(
                {a: act(rows[i], obs[a], t) for i, a in enumerate(env.possible_agents)}
            )
            for i, a in enumerate(env.possible_agents):
                total_events[i] += list(infos[a]["events"].values())
                total_events[case.n + i] += list(infos[a]["helper_events"].values())
                total_opportunities[i] += list(infos[a]["opportunities"].values())
            values.append(env.series())
            t += 1
        fitness.append(env.fitness())
        events.append(total_events)
        opportunities.append(total_opportunities)
        series.append(values)
    return {
        "fitness": np.array(fitness),
        "events": np.array(events),
        "opportunities": np.array(opportunities),
        "series": {name: np.array([[v[name] for v in s] for s in series]) for name in series[0][0]},
    }


@pytest.mark.parametrize("name", CASES)
def test_playing_policies_through_the_plain_env_gives_the_cores_rollout(name):
    """The two sides of every timing compute the same thing: episodes played from episode
    policies by `Arena.rollout` at B episodes, and one by one through the plain env."""
    case = CASES[name]
    arena = case.make_arena(steps=40)
    rng = np.random.default_rng(7)
    policy = rng.random((BATCH * 2, case.n, len(arena.policy_names)))
    noise = arena.noise(rng, BATCH * 2)
    traits = rng.random((BATCH * 2, case.n, len(arena.trait_names))) if arena.trait_names else None
    trace = arena.rollout(policy, noise, traits=traits)
    plain = play_policies(case, policy, noise, traits, steps=40)
    events = (
        trace.events if arena.has_helpers else np.concatenate([trace.events, np.zeros_like(trace.events)], 1)
    )
    check: Callable = np.testing.assert_array_equal
    if not case.exact:

        def check(a, b, err_msg):
            np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE, err_msg=err_msg)

    check(plain["fitness"], trace.fitness, err_msg="fitness")
    check(plain["events"], events, err_msg="events")
    check(plain["opportunities"], trace.opportunities, err_msg="opportunities")
    assert plain["series"].keys() == trace.series.keys()
    for key in trace.series:
        check(plain["series"][key], trace.series[key], err_msg=key)


@pytest.mark.parametrize(
    "name", ["commons", "sanctions", "matrix", "principal", "principal-police", "promises", "oversight"]
)
def test_a_seed_replays_the_wrapper_episode_of_that_seed(name):
    """The plain env's own draws are laid out as the arena's `noise(rng, 1)`: `reset(seed=s)`
    plays the episode `ParallelArenaEnv` plays for seed s (and the next reset continues alike)."""
    case = CASES[name]
    wrapper, plain = ParallelArenaEnv(case.make_arena(25)), case.make_plain(25)
    rng = np.random.default_rng(5)
    for seed in (4, None):
        obs_w, _ = wrapper.reset(seed=seed)
        obs_p, _ = plain.reset(seed=seed)
        while wrapper.agents:
            for a in wrapper.agents:
                np.testing.assert_allclose(obs_p[a], obs_w[a], rtol=0 if case.exact else TOLERANCE, atol=0)
            actions = {a: rng.random(len(case.make_arena().action_names)) for a in wrapper.agents}
            obs_w, rew_w = wrapper.step(actions)[:2]
            obs_p, rew_p = plain.step({a: v.tolist() for a, v in actions.items()})[:2]
            assert rew_p.keys() == rew_w.keys()
        assert plain.agents == []


@pytest.mark.parametrize("name", list(PLAIN))
def test_pettingzoo_api_and_seed_tests(name):
    make = PLAIN[name].env
    parallel_api_test(make(), num_cycles=60)
    parallel_seed_test(lambda: make(), num_cycles=30)
