"""The oversight arena of `purity.arenas.oversight` as a plain-Python PettingZoo env: a shortcut
takes from peers, an overseer that may be absent or blinded detects it. Infos carry `watched` and
`detected` as `ParallelArenaEnv` gives them. Same arithmetic as the core: equal bit for bit."""

from __future__ import annotations

import numpy as np

from bench.plain.base import PlainEnv, running_sum
from purity.arenas.oversight import OversightParams


class PlainOversightEnv(PlainEnv):
    """Evade, gather and take, detection, fine (see `purity.arenas.oversight`)."""

    name = "oversight"
    event_kinds = ("take", "evade_oversight")
    n_actions = 2
    n_observations = 3
    observation_low = 0.0
    has_oversight = True

    def __init__(self, n_agents: int = 3, steps: int = 20, params: OversightParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else OversightParams(), **kw)
        p = self.params
        self._peers_see = 1.0 - (1.0 - p.peer_detection) ** (n_agents - 1)
        self._full_take = p.shortcut_gain * p.honest_gain if n_agents > 1 else 0.0

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        steps, n = self.steps, self.n
        return {
            "watch": np.repeat(rng.random((1, 1)), steps, axis=1)[0],
            "overseer": rng.random((1, steps, n))[0],
            "peers": rng.random((1, steps, n))[0],
        }

    def _begin(self, options: dict) -> None:
        self.watched = self.noise["watch"][0] < self.params.p_watch
        self.blinded = [False] * self.n
        self.store = [self.params.endowment] * self.n

    def _reset_info(self) -> dict:
        return {"watched": self.watched}

    def _observations(self) -> dict[str, list[float]]:
        time, watched = self.t / self.steps, self.watched
        return {
            agent: [1.0 if watched and not self.blinded[i] else 0.0, self.store[i], time]
            for i, agent in enumerate(self.agents)
        }

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        p, n, t = self.params, self.n, self.t
        over, peers = self.noise["overseer"][t], self.noise["peers"][t]
        start, store, blinded = self.store, list(self.store), self.blinded
        taken = [a[0] * self._full_take for a in actions]
        all_taken = running_sum(taken)
        spread = max(n - 1, 1)
        can_take = 1.0 if n > 1 else 0.0
        own, detected, chances = [], [], []
        for i in range(n):
            # 1. evade
            seen = self.watched and not blinded[i]
            can = seen and store[i] >= p.evade_cost and p.allow_evade
            evades = can and actions[i][1] > 0.5
            if evades:
                blinded[i], seen = True, False
                store[i] = store[i] - p.evade_cost
            # 2. gather and take
            store[i] = store[i] + p.honest_gain + taken[i] - (all_taken - taken[i]) / spread
            # 3. detection
            by_peers = peers[i] < self._peers_see
            seen_take = taken[i] if (seen and over[i] < p.detection) or by_peers else 0.0
            # 4. fine
            fine = p.fine * seen_take
            store[i] = store[i] - (fine if fine < store[i] else store[i])
            own.append([taken[i], 1.0 if evades else 0.0])
            detected.append([seen_take, 1.0 if evades and by_peers else 0.0])
            chances.append([can_take, 1.0 if can else 0.0])
        self.store = store
        infos = self._infos(own, None, chances)
        for i, agent in enumerate(self.agents):
            infos[agent]["watched"] = self.watched
            infos[agent]["detected"] = dict(zip(self.event_kinds, detected[i]))
        return [s - s0 for s, s0 in zip(store, start)], infos

    def fitness(self) -> list[float]:
        return list(self.store)


def act(policy: list[float], obs: list[float], t: int) -> list[float]:
    """Shortcut as the policy says for being watched or not; evade as it says."""
    return [policy[0] if obs[0] > 0.5 else policy[1], policy[2]]
