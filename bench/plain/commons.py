"""The commons (and the commons with sanctions) as a plain-Python PettingZoo env: the rules of
`purity.arenas.commons`, one episode at a time, in Python floats.

Every sum and product is taken in the order the batched core takes it, so the only difference
is the regrowth shock's `exp`: `math.exp` here, numpy's own (vectorised) exp in the core, which
differ in the last bit for about one argument in twenty. The tests hold the env equal to the core
within a relative 1e-12, and bit for bit when this module's `exp` is numpy's.
"""

from __future__ import annotations

from math import exp

import numpy as np

from bench.plain.base import PlainEnv, first_max, running_sum
from purity.arenas.commons import CommonsParams
from purity.arenas.commons_sanctions import SanctionsParams


def _ratio_capped(num: float, den: float) -> float:
    """min(1, num / den), 1 where both are 0 (the core's `_ratio_capped`)."""
    big = den if den > num else num
    return num / big if big > 0 else 1.0


class PlainCommonsEnv(PlainEnv):
    """Agents harvest a shared stock into private stores, take from the richest other agent, and
    may build a helper that does both for them (see `purity.arenas.commons`)."""

    name = "commons"
    event_kinds = ("take", "overuse", "build")
    n_actions = 5
    has_helpers = True
    n_observations = 5
    observation_low = 0.0

    def __init__(self, n_agents: int = 4, steps: int = 50, params: CommonsParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else CommonsParams(), **kw)
        p = self.params
        self.capacity = n_agents * p.capacity_per_agent
        self.share = p.regrowth * self.capacity / (4 * n_agents)
        self._take_may_exceed = 2 * (n_agents - 1) * p.take_rate > 1
        self._half_variance = 0.5 * p.noise * p.noise

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"regrowth": rng.standard_normal((1, self.steps))[0]}

    def _begin(self, options: dict) -> None:
        p = self.params
        self.stock = p.initial_stock * self.capacity
        self.store = [p.endowment] * self.n
        self.helper = [0.0] * self.n

    def _observations(self) -> dict[str, list[float]]:
        cpa, store, n = self.params.capacity_per_agent, self.store, self.n
        stock, time = self.stock / self.capacity, self.t / self.steps
        if n > 1:
            top = first_max(store)
            second = first_max([-1.0 if j == top else s for j, s in enumerate(store)])
            richest = [store[second] if i == top else store[top] for i in range(n)]
        else:
            richest = [0.0]
        return {
            agent: [stock, store[i] / cpa, richest[i] / cpa, self.helper[i], time]
            for i, agent in enumerate(self.agents)
        }

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        p, n, share = self.params, self.n, self.share
        start = self.store
        store, helper = list(start), self.helper
        zeros = [0.0] * n

        # 1. build
        built, can_build = list(zeros), list(zeros)
        for i in range(n):
            if helper[i] == 0.0 and store[i] >= p.helper_cost:
                can_build[i] = 1.0
                if actions[i][2] > 0.5:
                    built[i] = helper[i] = 1.0
                    store[i] = store[i] - p.helper_cost

        # 2. harvest: actors are the agents, then their helpers
        stock = self.stock
        can_overuse = 1.0 if stock > 0 else 0.0
        got = [a[0] * p.max_harvest * share for a in actions]
        got += [a[3] * h * p.max_harvest * share for a, h in zip(actions, helper)]
        total = running_sum(got)
        if total > stock:
            scale = _ratio_capped(stock, total)
            got = [g * scale for g in got]
            stock = 0.0
        else:
            stock = stock - total
        for i in range(n):
            store[i] = store[i] + got[i] + got[n + i]
        overuse = [g - share if g > share else 0.0 for g in got]
        store, sanctions = self._after_harvest(store, actions, overuse)

        # 3. take: every owner's victim is the richest other agent, the richest's the runner-up
        moved, can_take = self._take(store, actions, helper) if n > 1 else ([0.0] * 2 * n, zeros)
        store, sanctions = self._after_take(store, actions, moved, sanctions)

        # 4. regrowth
        shock = exp(p.noise * self.noise["regrowth"][self.t] - self._half_variance)
        growth = p.regrowth * stock
        growth *= 1.0 - stock / self.capacity
        growth *= shock
        self.stock = min(max(stock + growth, 0.0), self.capacity)
        self.store = store

        own = [[moved[i], overuse[i], built[i]] for i in range(n)]
        helpers = [[moved[n + i], overuse[n + i], 0.0] for i in range(n)]
        chances = [[can_take[i], can_overuse, can_build[i]] for i in range(n)]
        if sanctions is not None:
            spent, can_sanction = sanctions
            for i in range(n):
                own[i].append(spent[i])
                helpers[i].append(0.0)
                chances[i].append(can_sanction[i])
        rewards = [s - s0 for s, s0 in zip(store, start)]
        return rewards, self._infos(own, helpers, chances)

    def _take(self, store: list, actions: list, helper: list) -> tuple[list[float], list[float]]:
        """Phase 3 on `store` (changed in place): amounts moved by each actor, and who could take."""
        p, n = self.params, self.n
        top = first_max(store)
        second = first_max([-1.0 if j == top else s for j, s in enumerate(store)])
        victim = [store[second] if i == top else store[top] for i in range(n)]
        can_take = [1.0 if v > 0 else 0.0 for v in victim]
        moved = [a[1] * p.take_rate * v for a, v in zip(actions, victim)]
        moved += [a[4] * h * p.take_rate * v for a, h, v in zip(actions, helper, victim)]
        owner = [moved[i] + moved[n + i] for i in range(n)]
        if self._take_may_exceed:
            from_second = owner[top]
            top_owner = _ratio_capped(store[second], from_second)  # the richest takes from the second
            others = _ratio_capped(store[top], running_sum(owner) - from_second)
            moved = [m * (top_owner if j % n == top else others) for j, m in enumerate(moved)]
            owner = [moved[i] + moved[n + i] for i in range(n)]
        from_second = owner[top]
        from_top = running_sum(owner) - from_second
        for i in range(n):
            store[i] = store[i] + owner[i]
        store[top] -= from_top
        store[second] -= from_second
        if self._take_may_exceed:
            store[:] = [s if s > 0.0 else 0.0 for s in store]
        return moved, can_take

    def _after_harvest(self, store: list, actions: list, overuse: list) -> tuple[list, tuple | None]:
        """A variant's phase between harvest and take: the new stores, and what it records."""
        return store, None

    def _after_take(self, store: list, actions: list, moved: list, done) -> tuple[list, tuple | None]:
        """A variant's phase between take and regrowth, as `_after_harvest` (`done`: what that recorded)."""
        return store, done

    def fitness(self) -> list[float]:
        return list(self.store)

    def series(self) -> dict[str, float]:
        return {"commons": self.stock / self.capacity}


class PlainSanctionsEnv(PlainCommonsEnv):
    """The commons where agents fine overusers at a cost (see `SanctionsCommonsArena`)."""

    name = "commons_sanctions"
    event_kinds = PlainCommonsEnv.event_kinds + ("sanction",)
    n_actions = 6

    def __init__(self, n_agents: int = 4, steps: int = 50, params: SanctionsParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else SanctionsParams(), **kw)

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.detection_draws(super().draw(rng), rng)

    def _after_harvest(self, store: list, actions: list, overuse: list) -> tuple[list, tuple | None]:
        if self.params.sanction_event != "overuse":
            return store, None
        return self._sanctioned(store, actions, overuse)

    def _after_take(self, store: list, actions: list, moved: list, done) -> tuple[list, tuple | None]:
        if self.params.sanction_event != "take":
            return store, done
        return self._sanctioned(store, actions, moved)

    def _sanctioned(self, store: list, actions: list, by_actor: list) -> tuple[list, tuple]:
        """The sanction phase on the offences `by_actor` (agents, then helpers)."""
        p, n = self.params, self.n
        sanction = [a[5] for a in actions]
        by_owner = self.seen([by_actor[i] + by_actor[n + i] for i in range(n)])
        total = running_sum(by_owner)
        others = [total - o for o in by_owner]
        can_sanction = [1.0 if o > 0 else 0.0 for o in others]
        spent = [s * o * p.sanction_cost for s, o in zip(sanction, others)]
        if any(u > s for u, s in zip(spent, store)):  # someone cannot pay: scale its sanction
            scale = [_ratio_capped(s, u) for s, u in zip(store, spent)]
            spent = [u * k for u, k in zip(spent, scale)]
            sanction = [a * k for a, k in zip(sanction, scale)]
            store = [max(s - u, 0.0) for s, u in zip(store, spent)]
        else:
            store = [s - u for s, u in zip(store, spent)]
        all_sanctions = running_sum(sanction)
        fines = [(all_sanctions - a) * o * p.sanction_fine for a, o in zip(sanction, by_owner)]
        return [max(s - f, 0.0) for s, f in zip(store, fines)], (spent, can_sanction)


def act(policy: list[float], obs: list[float], t: int) -> list[float]:
    """An episode policy (`CommonsArena.policy_names`) played on one observation, as `act`:
    harvest (agent and helper) only while the stock share is above the floor."""
    harvest = policy[0] if obs[0] > policy[1] else 0.0
    return [harvest, policy[2], policy[3], harvest, policy[4], *policy[5:]]
