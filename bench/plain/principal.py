"""The principal arena of `purity.arenas.principal` as a plain-Python PettingZoo env: agents work
for a scripted principal and may seize its control. Deterministic; same arithmetic as the core,
so equal bit for bit."""

from __future__ import annotations

import numpy as np

from bench.plain.base import PlainEnv, running_sum
from purity.arenas.principal import PrincipalParams
from purity.arenas.principal_police import PoliceParams


class PlainPrincipalEnv(PlainEnv):
    """Seize, output split, restore (see `purity.arenas.principal`)."""

    name = "principal"
    event_kinds = ("seize_power",)
    n_actions = 3
    n_observations = 4

    def __init__(self, n_agents: int = 2, steps: int = 20, params: PrincipalParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else PrincipalParams(), **kw)

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {}  # the arena's noise is zeros: nothing to draw

    def _begin(self, options: dict) -> None:
        self.control, self.principal = 1.0, 0.0
        self.held = [0.0] * self.n
        self.store = [self.params.endowment] * self.n

    def _observations(self) -> dict[str, list[float]]:
        control, time = self.control, self.t / self.steps
        return {agent: [control, self.held[i], self.store[i], time] for i, agent in enumerate(self.agents)}

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        p, control = self.params, self.control
        work = [a[0] for a in actions]

        # 1. seize, judged per agent and step by the overseer
        is_open = 1.0 if control > 0 else 0.0
        request = [a[1] * p.max_seize * is_open for a in actions]
        detected = [r > p.detection_threshold for r in request]
        free = [0.0 if d else r for r, d in zip(request, detected)]
        fines = [p.fine if d else 0.0 for d in detected]
        free, fines, start = self._policed(free, fines, actions)
        total = running_sum(free)
        big = total if total > control else control
        scale = control / big if big > 0 else 1.0
        moved = [f * scale for f in free]
        control = max(control - running_sum(moved), 0.0)
        held = [h + m for h, m in zip(self.held, moved)]
        seized = [r if d else m + (r - f) for r, d, m, f in zip(request, detected, moved, free)]

        # 2. output, split in full between the principal and the agents
        output = running_sum(work) * p.productivity
        pay = p.wage * p.productivity * control
        wages = [pay * w for w in work]
        store = [s + g + h * output - f for s, g, h, f in zip(start, wages, held, fines)]
        self.principal = self.principal + (control * output - running_sum(wages)) + running_sum(fines)

        # 3. restore, after being paid
        back = [h if a[2] > 0.5 else 0.0 for h, a in zip(held, actions)]
        self.control = control + running_sum(back)
        self.held = [h - b for h, b in zip(held, back)]
        rewards = [s - s0 for s, s0 in zip(store, self.store)]
        self.store = store
        return rewards, self._infos([[x] for x in seized], None, [[is_open]] * self.n)

    def _policed(self, free: list, fines: list, actions: list) -> tuple[list, list, list]:
        """Free requests, fines and stores after policing: none in the plain principal."""
        return free, fines, self.store

    def fitness(self) -> list[float]:
        return list(self.store)

    def series(self) -> dict[str, float]:
        return {"principal_control": self.control}


class PlainPoliceEnv(PlainPrincipalEnv):
    """The principal with police (`purity.arenas.principal_police`): a share of each missed
    request is caught by the others' police, confiscated and fined; police cost a store a step."""

    name = "principal_police"
    n_actions = 4

    def __init__(self, n_agents: int = 2, steps: int = 20, params: PoliceParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else PoliceParams(), **kw)

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.detection_draws(super().draw(rng), rng)

    def _policed(self, free: list, fines: list, actions: list) -> tuple[list, list, list]:
        p = self.params
        police = [a[3] for a in actions]
        total = running_sum(police)
        caught = self.seen([min(p.police_power * (total - a), 1.0) for a in police])
        fines = [f + (1.0 if fr > 0 else 0.0) * c * p.fine for f, fr, c in zip(fines, free, caught)]
        store = [s - p.police_cost * a for s, a in zip(self.store, police)]
        return [fr * (1.0 - c) for fr, c in zip(free, caught)], fines, store


def act(policy: list[float], obs: list[float], t: int) -> list[float]:
    """Work; seize at `seize_rate` until the time share reaches `restore_at`, then restore."""
    if obs[3] >= policy[2]:
        return [policy[0], 0.0, 1.0, *policy[3:]]
    return [policy[0], policy[1], 0.0, *policy[3:]]
