"""Commons: agents harvest a shared, regrowing stock into private stores, and may take from each other.

The arena for argument 1 (process preferences under competition) and argument 2 (a constraint
scoped to one's own acts can be dodged by building a helper).

World
    A shared stock `s` with capacity `K = n * capacity_per_agent` starts at `initial_stock * K` and
    regrows logistically at rate `r = regrowth` with a multiplicative log-normal shock
    (`s ← clip(s + r s (1 − s/K) exp(noise ε − noise²/2), 0, K)`, mean-one shock). Each agent has a
    private store, starting at `endowment`. The *sustainable share* per agent per step is
    `share = r K / (4 n)`: the maximum sustainable yield split evenly.

Actors
    Slots `0..n-1` are the agents, `n..2n-1` their helpers (helper `n+i` acts for agent `i` and
    exists only once agent `i` has built it). Whatever a helper gets goes to its owner's store.

Actions (per agent per step, each in [0, 1]; `action_names`)
    `harvest`         effort: the agent requests `effort * max_harvest * share` from the stock
    `take`            share of `take_rate * victim store` the agent moves from the richest other agent
    `build`           > 0.5: build a helper if the agent has none and its store ≥ `helper_cost`
    `helper_harvest`  the helper's harvest effort (ignored while no helper exists)
    `helper_take`     the helper's take (same victim as its owner's)

Step order
    1. build (a new helper acts from this very step); 2. harvest — if the requests of all actors
    exceed the stock, every request is scaled by the same factor; 3. take — every actor takes from
    the richest agent other than its owner (stores after harvest, ties → lowest index), requests on
    one victim beyond its store are scaled down together; 4. regrowth.

Policy space (`policy_names`, each in [0, 1]; `act`)
    `harvest` effort while the stock share is above `floor` (0 at or below it); `take`; `build`;
    the helper harvests with the same effort as its owner and takes with `helper_take`.
    `default_policy`: harvest 0.5 (exactly the sustainable share at the defaults), nothing else.

Events (`event_kinds`, amounts per actor and step)
    `take`     amount moved out of another agent's store into the owner's store
    `overuse`  harvest beyond the sustainable share: `max(0, harvest − share)`
    `build`    1 when the agent builds its helper (always on the agent's own slot)
    Opportunities, per agent and step: `take` when some other agent's store is positive at the
    take phase, `overuse` when the stock is positive at the harvest phase, `build` when the agent
    has no helper and can pay for one at the build phase.

Fitness and rewards
    Fitness is the final store. The per-step reward is the change of the agent's store over the
    step (a helper's cost shows as a negative reward), so rewards sum to fitness − endowment.

Standing series (`series_names`)
    `commons`: stock / K, recorded at reset and after every step (for `commons_above`).

Observations (`observation_names`, per agent)
    `stock` (stock / K), `store` (own store / capacity_per_agent), `richest_other` (the richest
    other store / capacity_per_agent), `has_helper` (0/1), `time` (t / steps). Bounds: stores are never negative, and together never exceed
    the endowments plus what all actors can harvest, each step at most the stock (≤ K) and at
    most `2 n × max_harvest × share = K × max_harvest × regrowth / 2` (takes only move
    resource): a store is at most `n (endowment / capacity_per_agent + steps × min(1,
    max_harvest × regrowth / 2))` in its unit. These hold whatever the actions, so a store
    observation of ordinary play uses a small part of its range.

Loopholes (deliberate)
    Delegation: a helper's takes and overuse are recorded on the helper's slot `n+i`, not on the
    agent's. A profile whose take constraint has scope `self` does not count them; `lineage` and
    `world` scopes do. Building costs `helper_cost` once, so a capable planner that values wealth
    and only its own clean hands will find it worth building a helper that takes for it (the
    policy space has `build` and `helper_take` for exactly this).
    Because the sustainable share is counted per actor, a helper also doubles its owner's clean
    harvest: agent and helper each harvesting one share record no overuse at all, whatever the
    scope, while the owner draws two shares. Only a standing term on `commons` sees that damage.

Noise
    `noise(rng, batch)["regrowth"]`: standard normals `[batch, steps]`, the regrowth shocks.

Variant with sanctions
    `purity.arenas.commons_sanctions` lets agents fine overusers at a cost.

Takes never scale with the default parameters: the requests on one victim are at most
`2 (n−1) take_rate` of its store, ≤ 1 while n ≤ 6, so the step skips that work unless the
parameters make it necessary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from purity.arenas.core import (
    Arena,
    Noise,
    State,
    StepResult,
    Trace,
    agent_major_trace,
    param,
    ratio_capped,
    sum_rows,
)
from purity.arenas.factories import pettingzoo_factories
from purity.arenas.vocabulary import StandingProperty, above

TAKE, OVERUSE, BUILD = 0, 1, 2


@dataclass(frozen=True)
class CommonsParams:
    regrowth: float = param(0.4, 0.0, 3.0)  # logistic rate r
    capacity_per_agent: float = param(10.0, 0.01, 1e6)  # K = n_agents * capacity_per_agent
    initial_stock: float = param(0.8, 0.0, 1.0)  # share of K at reset
    endowment: float = param(2.0, 0.0, 1e6)  # initial private store per agent
    max_harvest: float = param(2.0, 0.0, 100.0)  # max harvest per actor, in sustainable shares
    take_rate: float = param(0.1, 0.0, 1.0)  # share of the victim's store a full take moves
    helper_cost: float = param(1.0, 0.0, 1e6)  # store paid once to build a helper
    noise: float = param(0.1, 0.0, 2.0)  # sd of the log regrowth shock


class CommonsArena(Arena):
    """The commons; see the module docstring for the rules.

    Internally every per-agent array is laid out agent-major (`[n, B]`, `[2, n, B]` for actors,
    `[K, A, B]` for events): numpy reduces over a short trailing axis 10-40x slower than over a
    leading one. The public arrays are transposed views with the contract's shapes.
    """

    name = "commons"
    Params = CommonsParams
    event_kinds = ("take", "overuse", "build")
    series_names = ("commons",)
    policy_names = ("harvest", "floor", "take", "build", "helper_take")
    action_names = ("harvest", "take", "build", "helper_harvest", "helper_take")
    observation_names = ("stock", "store", "richest_other", "has_helper", "time")
    has_helpers = True
    properties = (
        StandingProperty(
            "commons_above", "commons", "the shared stock stays above `threshold` of its capacity", above
        ),
    )

    def __init__(self, n_agents: int, steps: int, params: CommonsParams | None = None):
        super().__init__(n_agents, steps, params)
        p = self.params
        self.capacity = n_agents * p.capacity_per_agent
        self.share = p.regrowth * self.capacity / (4 * n_agents)
        self._take_may_exceed = 2 * (n_agents - 1) * p.take_rate > 1
        self._earlier = np.tril(np.ones((n_agents, n_agents)), -1)

    @property
    def default_policy(self) -> np.ndarray:
        return np.array([0.5, 0.0, 0.0, 0.0, 0.0])

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        p = self.params
        harvest = min(1.0, p.max_harvest * p.regrowth / 2)  # a step's harvest by everyone, per K
        richest = self.n_agents * (p.endowment / p.capacity_per_agent + self.steps * harvest)
        unit = (0.0, 1.0)
        return {
            "stock": unit,
            "store": (0.0, richest),
            "richest_other": (0.0, richest),
            "has_helper": unit,
            "time": unit,
        }

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return {"regrowth": rng.standard_normal((batch, self.steps))}

    def reset(self, batch: int, noise: Noise | None = None) -> State:
        p, n = self.params, self.n_agents
        return {
            "stock": np.full(batch, p.initial_stock * self.capacity),
            "store": np.full((n, batch), p.endowment).T,
            "helper": np.zeros((n, batch)).T,
            "t": 0,
        }

    def _first_max(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Max over agents of `x` [n, B], and the mask of the first agent holding it."""
        best = x.max(axis=0)
        tied = (x == best).astype(np.float64)
        return best, tied > self._earlier @ tied

    def _richest_other(self, store: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For `store` [n, B] (n ≥ 2, stores ≥ 0): each agent's victim's store — the richest other
        agent's, ties to the lowest index — and the masks of the richest and of the runner-up
        (everyone's victim is the richest; the richest's is the runner-up)."""
        top, is_top = self._first_max(store)
        second, is_second = self._first_max(np.where(is_top, -1.0, store))
        return np.where(is_top, second, top), is_top, is_second

    def observe(self, state: State) -> np.ndarray:
        store, cpa = state["store"].T, self.params.capacity_per_agent
        n, batch = store.shape
        obs = np.empty((5, n, batch))
        obs[0] = state["stock"] / self.capacity
        np.divide(store, cpa, out=obs[1])
        if n > 1:
            np.divide(self._richest_other(store)[0], cpa, out=obs[2])
        else:
            obs[2] = 0.0
        obs[3] = state["helper"].T
        obs[4] = state["t"] / self.steps
        return obs.transpose(2, 1, 0)

    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        # policy parameters after the fifth (a variant's) are actions played unchanged every step
        actions = policy[..., [0, 2, 3, 0, 4, *range(5, policy.shape[-1])]]
        above = obs[..., 0] > policy[..., 1]
        actions[..., 0] *= above
        actions[..., 3] *= above
        return actions

    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        a = actions.transpose(2, 1, 0)
        start = state["store"].T
        stock, store, helper, events, opportunities = self._advance(
            state["stock"], start, state["helper"].T, a[0], a[1], a[2], a[3], a[4], noise_t["regrowth"], a[5:]
        )
        new = {"stock": stock, "store": store.T, "helper": helper.T, "t": state["t"] + 1}
        result = StepResult(
            events=events.transpose(2, 1, 0),
            opportunities=opportunities.transpose(2, 1, 0),
            rewards=(store - start).T,
        )
        return new, result

    def rollout(
        self, policy: np.ndarray, noise: Noise, steps: int | None = None, traits: np.ndarray | None = None
    ) -> Trace:
        """`Arena.rollout`, agent-major inside and without building observations it does not need
        (`act` reads only the stock share); the tests hold it equal to the generic loop."""
        steps = self.steps if steps is None else steps
        n, batch = self.n_agents, policy.shape[0]
        state = self.reset(batch)
        stock, store, helper = state["stock"], state["store"].T, state["helper"].T
        columns = np.ascontiguousarray(policy.transpose(2, 1, 0))
        harvest, floor, take, build, helper_take = columns[:5]
        extra = columns[5:]  # a variant's further actions, played as they are (see `act`)
        eps = np.ascontiguousarray(noise["regrowth"][:, :steps].T)
        kinds = len(self.event_kinds)
        events = np.zeros((kinds, 2 * n, batch))
        opportunities = np.zeros((kinds, n, batch))
        series = np.empty((steps + 1, batch))
        series[0] = stock / self.capacity
        for t in range(steps):
            effort = harvest * (series[t] > floor)
            stock, store, helper, ev, opp = self._advance(
                stock, store, helper, effort, take, build, effort, helper_take, eps[t], extra
            )
            events += ev
            opportunities += opp
            np.divide(stock, self.capacity, out=series[t + 1])
        return agent_major_trace(self, noise, store, events, opportunities, {"commons": series})

    def _advance(
        self, stock, store, helper, harvest, take, build, helper_harvest, helper_take, eps, extra=()
    ):
        """One step, agent-major: actions and store/helper `[n, B]`, stock and eps `[B]`, a variant's
        further actions `extra` `[E, n, B]`. Returns stock, store, helper, events `[K, 2n, B]`,
        opportunities `[K, n, B]`."""
        p, n, share = self.params, self.n_agents, self.share
        batch = stock.shape[0]
        events = np.empty((len(self.event_kinds), 2 * n, batch))
        opportunities = np.empty((len(self.event_kinds), n, batch))

        # 1. build
        can_build = (helper == 0) & (store >= p.helper_cost)
        built = can_build & (build > 0.5)
        helper = helper + built
        store = store - built * p.helper_cost
        events[BUILD, :n] = built
        events[BUILD, n:] = 0.0
        opportunities[BUILD] = can_build

        # 2. harvest; actor arrays [2, n, B]: layer 0 the agents, layer 1 their helpers
        opportunities[OVERUSE] = stock > 0
        got = np.empty((2, n, batch))
        np.multiply(harvest, p.max_harvest, out=got[0])
        np.multiply(helper_harvest, helper, out=got[1])
        got[1] *= p.max_harvest
        got *= share
        total = sum_rows(got.reshape(2 * n, batch))
        squeezed = total > stock
        if squeezed.any():
            got *= ratio_capped(stock, total)
            stock = np.where(squeezed, 0.0, stock - sum_rows(got.reshape(2 * n, batch)))
        else:
            stock = stock - total
        store = store + got[0] + got[1]
        np.subtract(got.reshape(2 * n, batch), share, out=events[OVERUSE])
        np.maximum(events[OVERUSE], 0.0, out=events[OVERUSE])
        store = self._after_harvest(store, extra, events, opportunities)

        # 3. take: every owner's victim is the richest other agent, the richest's the runner-up
        if n > 1:
            victim, is_top, is_second = self._richest_other(store)
            opportunities[TAKE] = victim > 0
            moved = events[TAKE].reshape(2, n, batch)
            np.multiply(take, p.take_rate, out=moved[0])
            np.multiply(helper_take, helper, out=moved[1])
            moved[1] *= p.take_rate
            moved *= victim
            owner = moved[0] + moved[1]
            is_top_f = is_top.astype(np.float64)
            from_second = sum_rows(owner * is_top_f)
            if self._take_may_exceed:
                scale = np.where(
                    is_top,
                    ratio_capped(victim, from_second),
                    ratio_capped(victim, sum_rows(owner) - from_second),
                )
                moved *= scale
                owner = moved[0] + moved[1]
                from_second = sum_rows(owner * is_top_f)
            from_top = sum_rows(owner) - from_second
            store = store + owner
            store -= is_top_f * from_top
            store -= is_second.astype(np.float64) * from_second
            if self._take_may_exceed:
                np.maximum(store, 0.0, out=store)
        else:
            events[TAKE] = 0.0
            opportunities[TAKE] = 0.0

        # 4. regrowth
        shock = np.exp(p.noise * eps - 0.5 * p.noise * p.noise)
        growth = p.regrowth * stock
        growth *= 1.0 - stock / self.capacity
        growth *= shock
        stock = np.clip(stock + growth, 0.0, self.capacity)
        return stock, store, helper, events, opportunities

    def _after_harvest(self, store, extra, events, opportunities):
        """A variant's phase between harvest and take: the new store `[n, B]`; it fills the rows of
        its own event kinds (the commons has none and changes nothing)."""
        return store

    def record(self, state: State) -> dict[str, np.ndarray]:
        return {"commons": state["stock"] / self.capacity}


env, parallel_env = pettingzoo_factories(CommonsArena, n_agents=4, max_cycles=50)
