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

Power
    Agents may be of unequal power `p_i` (`rollout(..., power=)`, from the population mix; 1 by
    default): agent i's store starts at `p_i × endowment`. Observation bounds assume power 1.

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

from purity.arenas import backend, sanctions
from purity.arenas.core import (
    Arena,
    Noise,
    State,
    StepResult,
    Trace,
    agent_major_trace,
    gather_noise,
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
    bulk_noise = True
    reads_rows = True
    event_kinds = ("take", "overuse", "build")
    series_names = ("commons",)
    policy_names = ("harvest", "floor", "take", "build", "helper_take")
    action_names = ("harvest", "take", "build", "helper_harvest", "helper_take")
    observation_names = ("stock", "store", "richest_other", "has_helper", "time")
    has_helpers = True
    powered = True
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
        # the compiled loop plays the commons' own rules only, not a variant's (`backend`)
        self._backend = backend.chosen() if type(self) is CommonsArena else "numpy"

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

    def plays_compiled(self) -> bool:
        return backend.plays_compiled(self._backend)

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

    def _first_max(self, x: np.ndarray, first: np.ndarray, work: Workspace) -> np.ndarray:
        """Max over agents of `x` [n, B]; writes into `first` the mask of the first agent holding
        it: a running "tied and none before", row by row (boolean passes; no matmul, no BLAS)."""
        best = x.max(axis=0)
        tied, seen = work.tied, work.seen
        np.equal(x, best, out=tied)
        np.copyto(seen, tied[0])
        first[0] = seen
        for i in range(1, x.shape[0]):
            np.greater(tied[i], seen, out=first[i])
            seen |= tied[i]
        return best

    def _richest_other(
        self, store: np.ndarray, work: Workspace | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For `store` [n, B] (n ≥ 2, stores ≥ 0): each agent's victim's store — the richest other
        agent's, ties to the lowest index — and the masks of the richest and of the runner-up
        (everyone's victim is the richest; the richest's is the runner-up). Selections are products
        with 0/1 masks, exact for finite stores and several times faster than masked copies."""
        work = Workspace(*store.shape) if work is None else work
        is_top, is_second, other, victim = work.is_top, work.is_second, work.other, work.victim
        top = self._first_max(store, is_top, work)
        np.logical_not(is_top, out=other)
        np.multiply(store, other, out=victim)
        victim -= is_top  # the richest counts as -1 when looking for the runner-up
        second = self._first_max(victim, is_second, work)
        np.multiply(other, top, out=victim)
        victim += np.multiply(is_top, second, out=work.scratch)
        return victim, is_top, is_second

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
        n, batch = start.shape
        work = Workspace(n, batch, len(self.event_kinds))
        work.power, work.detect = sanctions.agent_power(state.get("power")), sanctions.step_draws(noise_t)
        stock, store, helper, events, opportunities = self._advance(
            state["stock"].copy(),
            start.copy(),
            state["helper"].T.copy(),
            *(a[i] for i in range(5)),
            noise_t["regrowth"],
            a[5:],
            work,
        )
        new = {"stock": stock, "store": store.T, "helper": helper.T, "t": state["t"] + 1}
        if "power" in state:
            new["power"] = state["power"]
        result = StepResult(
            events=events.transpose(2, 1, 0),
            opportunities=opportunities.transpose(2, 1, 0),
            rewards=(store - start).T,
        )
        return new, result

    def rollout(
        self,
        policy: np.ndarray,
        noise: Noise,
        steps: int | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> Trace:
        """`Arena.rollout`, agent-major inside and without building observations it does not need
        (`act` reads only the stock share); the tests hold it equal to the generic loop. The state
        and every per-step array live in buffers allocated once (`Workspace`). Where numba
        imports (and `PURITY_BACKEND` is not numpy), one compiled loop plays it instead (equal
        power only), bit for bit the same; it computes the regrowth factors once per noise row
        where episodes share `rows` (`core.play`)."""
        steps = self.steps if steps is None else steps
        n, batch = self.n_agents, policy.shape[0]
        power = self.agent_power(power, batch)
        if power is None and self.plays_compiled():
            from purity.arenas import commons_compiled

            return commons_compiled.rollout(self, policy, noise, steps, rows=rows)
        if rows is not None:
            noise = gather_noise(noise, rows)
        state = self.reset(batch)
        stock, store, helper = state["stock"], state["store"].T.copy(), state["helper"].T.copy()
        if power is not None:
            store *= power.T
        columns = np.ascontiguousarray(policy.transpose(2, 1, 0))
        harvest, floor, take, build, helper_take = columns[:5]
        extra = columns[5:]  # a variant's further actions, played as they are (see `act`)
        eps = np.ascontiguousarray(noise["regrowth"][:, :steps].T)
        kinds = len(self.event_kinds)
        work = Workspace(n, batch, kinds)
        work.power, detect = sanctions.agent_power(power), sanctions.episode_draws(noise, steps)
        events = np.zeros((kinds, 2 * n, batch))
        opportunities = np.zeros((kinds, n, batch))
        series = np.empty((steps + 1, batch))
        series[0] = stock / self.capacity
        effort, above = work.effort, work.above
        for t in range(steps):
            np.greater(series[t], floor, out=above)
            np.multiply(harvest, above, out=effort)
            work.detect = None if detect is None else detect[t]
            stock, store, helper, ev, opp = self._advance(
                stock, store, helper, effort, take, build, effort, helper_take, eps[t], extra, work
            )
            events += ev
            opportunities += opp
            np.divide(stock, self.capacity, out=series[t + 1])
        return agent_major_trace(self, noise, store, events, opportunities, {"commons": series})

    def _advance(
        self, stock, store, helper, harvest, take, build, helper_harvest, helper_take, eps, extra, work
    ):
        """One step, agent-major, in place: actions and store/helper `[n, B]`, stock and eps `[B]`, a
        variant's further actions `extra` `[E, n, B]`. Overwrites stock, store and helper and the
        workspace's events `[K, 2n, B]` and opportunities `[K, n, B]`, and returns the five."""
        events, opportunities = work.events, work.opportunities
        self._build(store, helper, build, work)
        stock = self._harvest(stock, store, helper, harvest, helper_harvest, work)
        store = self._after_harvest(store, extra, work)
        if self.n_agents > 1:
            store = self._take(store, helper, take, helper_take, work)
        else:
            events[TAKE] = 0.0
            opportunities[TAKE] = 0.0
        store = self._after_take(store, extra, work)
        p = self.params
        shock = np.exp(p.noise * eps - 0.5 * p.noise * p.noise)
        growth = p.regrowth * stock
        growth *= 1.0 - stock / self.capacity
        growth *= shock
        stock += growth
        np.clip(stock, 0.0, self.capacity, out=stock)
        return stock, store, helper, events, opportunities

    def _build(self, store, helper, build, work) -> None:
        """Phase 1, in place: a new helper acts from this very step."""
        n, cost = self.n_agents, self.params.helper_cost
        can_build, built, paid = work.can_build, work.built, work.scratch
        np.equal(helper, 0, out=can_build)
        np.greater_equal(store, cost, out=built)
        can_build &= built
        np.greater(build, 0.5, out=built)
        built &= can_build
        helper += built
        np.multiply(built, cost, out=paid)
        store -= paid
        work.events[BUILD, :n] = built
        work.events[BUILD, n:] = 0.0
        work.opportunities[BUILD] = can_build

    def _harvest(self, stock, store, helper, harvest, helper_harvest, work) -> np.ndarray:
        """Phase 2, in place: actor requests `[2, n, B]` (the agents, then their helpers), scaled
        together when they exceed the stock; returns the stock left."""
        p, n, share = self.params, self.n_agents, self.share
        batch = stock.shape[0]
        overuse = work.events[OVERUSE]
        np.greater(stock, 0, out=work.opportunities[OVERUSE])
        got = work.got
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
            stock -= total
        store += got[0]
        store += got[1]
        np.subtract(got.reshape(2 * n, batch), share, out=overuse)
        np.maximum(overuse, 0.0, out=overuse)
        return stock

    def _take(self, store, helper, take, helper_take, work) -> np.ndarray:
        """Phase 3: every owner's victim is the richest other agent, the richest's the runner-up;
        requests on one victim beyond its store are scaled down together. Returns the stores."""
        p, n = self.params, self.n_agents
        batch = store.shape[1]
        victim, is_top, is_second = self._richest_other(store, work)
        np.greater(victim, 0, out=work.opportunities[TAKE])
        moved = work.events[TAKE].reshape(2, n, batch)
        np.multiply(take, p.take_rate, out=moved[0])
        np.multiply(helper_take, helper, out=moved[1])
        moved[1] *= p.take_rate
        moved *= victim
        owner, is_top_f, part = work.owner, work.is_top_f, work.scratch
        np.add(moved[0], moved[1], out=owner)
        np.copyto(is_top_f, is_top)
        from_second = sum_rows(np.multiply(owner, is_top_f, out=part))
        if self._take_may_exceed:
            scale = np.where(
                is_top,
                ratio_capped(victim, from_second),
                ratio_capped(victim, sum_rows(owner) - from_second),
            )
            moved *= scale
            np.add(moved[0], moved[1], out=owner)
            from_second = sum_rows(np.multiply(owner, is_top_f, out=part))
        from_top = sum_rows(owner) - from_second
        store += owner
        store -= np.multiply(is_top_f, from_top, out=part)
        np.copyto(is_top_f, is_second)
        store -= np.multiply(is_top_f, from_second, out=part)
        if self._take_may_exceed:
            np.maximum(store, 0.0, out=store)
        return store

    def _after_harvest(self, store, extra, work):
        """A variant's phase between harvest and take: the new store `[n, B]`; it fills the rows of
        its own event kinds in `work.events` and `work.opportunities` (the commons has none and
        changes nothing)."""
        return store

    def _after_take(self, store, extra, work):
        """A variant's phase between take and regrowth, as `_after_harvest` (the commons: none)."""
        return store

    def record(self, state: State) -> dict[str, np.ndarray]:
        return {"commons": state["stock"] / self.capacity}


class Workspace:
    """The buffers one step of the commons writes, allocated once per rollout: numpy temporaries of
    `[n, B]` and larger, allocated and freed every step, cost the kernel a page fault per page.
    It also carries what a variant's phases read beyond the actions: the agents' `power` `[n, B]`
    and the step's detection draws `detect` `[n, B]` (None: equal power, detection 1)."""

    power: np.ndarray | None = None
    detect: np.ndarray | None = None

    def __init__(self, n: int, batch: int, kinds: int = len(CommonsArena.event_kinds)):
        self.events = np.empty((kinds, 2 * n, batch))
        self.opportunities = np.empty((kinds, n, batch))
        self.got = np.empty((2, n, batch))
        self.owner, self.is_top_f, self.scratch, self.effort = (np.empty((n, batch)) for _ in range(4))
        self.victim = np.empty((n, batch))
        flags = (np.empty((n, batch), dtype=bool) for _ in range(6))
        self.can_build, self.built, self.tied, self.is_top, self.is_second, self.other = flags
        self.seen, self.above = np.empty(batch, dtype=bool), np.empty((n, batch), dtype=bool)


env, parallel_env = pettingzoo_factories(CommonsArena, n_agents=4, max_cycles=50)
