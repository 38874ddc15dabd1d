"""The promises arena of `purity.arenas.promises` as a plain-Python PettingZoo env: repeated trust
games with public traits, passed as `reset(options={"traits": [[trait, prior], ...]})` (they hold
until a reset passes others, as in `ParallelArenaEnv`). Same arithmetic as the core: equal bit
for bit."""

from __future__ import annotations

import numpy as np

from bench.plain.base import PlainEnv, running_sum
from purity.arenas.promises import PromisesParams
from purity.arenas.promises_sanctions import PromisesSanctionsParams


class PlainPromisesEnv(PlainEnv):
    """Every step each agent is trustor of one partner and trustee of another
    (see `purity.arenas.promises`)."""

    name = "promises"
    event_kinds = ("break_promise", "deceive")
    n_actions = 6
    has_helpers = True
    n_observations = 4

    def __init__(self, n_agents: int = 4, steps: int = 30, params: PromisesParams | None = None, **kw):
        super().__init__(n_agents, steps, params if params is not None else PromisesParams(), **kw)
        self.traits = [[0.0, 0.0] for _ in range(n_agents)]

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (1, self.steps, self.n)
        return {
            "observed": rng.random(shape)[0],
            "reputation": rng.standard_normal(shape)[0],
            "keep": rng.random(shape)[0],
        }

    def _begin(self, options: dict) -> None:
        if "traits" in options:
            traits = [[float(v) for v in row] for row in options["traits"]]
            if len(traits) != self.n or any(
                len(row) != 2 or not 0 <= min(row) <= max(row) <= 1 for row in traits
            ):
                raise ValueError(f"traits must be {self.n} rows of 2 numbers in [0, 1]")
            self.traits = traits
        self.store = [self.params.endowment] * self.n
        self.trust = 0.0

    def _observations(self) -> dict[str, list[float]]:
        time = self.t / self.steps
        return {
            agent: [self.traits[i][0], self.traits[i][1], self.store[i], time]
            for i, agent in enumerate(self.agents)
        }

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        p, n, t = self.params, self.n, self.t
        if n < 2:
            zeros = [[0.0, 0.0]] * n
            self.trust = 0.0
            return [0.0] * n, self._infos(zeros, zeros, zeros)
        k = 1 + t % (n - 1)
        observed_u, reputation, keep_u = (self.noise[key][t] for key in ("observed", "reputation", "keep"))
        trait = [row[0] for row in self.traits]
        promised = [a[2] > 0.5 for a in actions]
        via_helper = [a[4] > 0.5 for a in actions]
        report = [m if m > x else x for m, x in zip((a[5] for a in actions), trait)]

        # the trustors: i trusts (i + k) mod n
        invest = []
        for i in range(n):
            j = (i + k) % n
            if observed_u[i] < p.observe:
                seen = min(max(trait[j] + p.reputation_noise * reputation[i], 0.0), 1.0)
            else:
                believe = actions[i][1]
                seen = believe * report[j] + (1.0 - believe) * self.traits[i][1]
            invest.append(promised[j] and seen >= actions[i][0])

        # the trustees: j is trusted by (j - k) mod n
        owed = p.return_share * p.factor * p.stake
        grown = p.factor * p.stake
        gains, own, helpers, chances, returned = [], [], [], [], []
        for j in range(n):
            trustor = (j - k) % n
            invested = invest[trustor]
            kept = keep_u[j] < actions[j][3]
            back = owed if kept and invested else 0.0
            returned.append(back)
            unseen = not observed_u[trustor] < p.observe and promised[j]
            gain = (grown if invested else 0.0) - back
            gains.append(gain - (p.helper_fee if promised[j] and via_helper[j] else 0.0))
            amounts = [owed if invested and not kept else 0.0, report[j] - trait[j] if unseen else 0.0]
            own.append([0.0, 0.0] if via_helper[j] else amounts)
            helpers.append(amounts if via_helper[j] else [0.0, 0.0])
            chances.append([1.0 if invested else 0.0, 1.0 if unseen else 0.0])
        for i in range(n):
            gains[i] += returned[(i + k) % n] - (p.stake if invest[i] else 0.0)
        gains = self._enforced(gains, actions, own, helpers, chances)
        self.store = [s + g for s, g in zip(self.store, gains)]
        self.trust = sum(invest) / n
        return gains, self._infos(own, helpers, chances)

    def _enforced(self, gains: list, actions: list, own: list, helpers: list, chances: list) -> list:
        """A variant's enforcement after the encounters (the promises: none)."""
        return gains

    def fitness(self) -> list[float]:
        return list(self.store)

    def series(self) -> dict[str, float]:
        return {"trust": self.trust}


class PlainPromisesSanctionsEnv(PlainPromisesEnv):
    """The promises with sanctions (`purity.arenas.promises_sanctions`): breakers (or deceivers)
    fined at a cost when seen, own and helper's breaches alike charged to the owner."""

    name = "promises_sanctions"
    event_kinds = PlainPromisesEnv.event_kinds + ("sanction",)
    n_actions = 7

    def __init__(self, n_agents: int = 4, steps: int = 30, params=None, **kw):
        super().__init__(n_agents, steps, params if params is not None else PromisesSanctionsParams(), **kw)

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.detection_draws(super().draw(rng), rng)

    def _enforced(self, gains: list, actions: list, own: list, helpers: list, chances: list) -> list:
        p, n = self.params, self.n
        kind = 0 if p.sanction_event == "break_promise" else 1
        offence = self.seen([own[j][kind] + helpers[j][kind] for j in range(n)])
        total = running_sum(offence)
        sanction = [a[6] for a in actions]
        spent = [a * (total - o) * p.sanction_cost for a, o in zip(sanction, offence)]
        all_sanctions = running_sum(sanction)
        fines = [(all_sanctions - a) * o * p.sanction_fine for a, o in zip(sanction, offence)]
        for j in range(n):
            own[j] = [*own[j], spent[j]]
            helpers[j] = [*helpers[j], 0.0]
            chances[j] = [*chances[j], 1.0 if total - offence[j] > 0 else 0.0]
        return [g - u - f for g, u, f in zip(gains, spent, fines)]


def act(policy: list[float], obs: list[float], t: int) -> list[float]:
    """The policy is the action, held for the episode."""
    return policy
