"""The repeated two-player game of `purity.arenas.matrix` as a plain-Python PettingZoo env.

Discrete mode looks up the payoff matrix; continuous mode uses the two built-in formulas
(`public_goods`, `snowdrift`), written out for floats. Same arithmetic as the core: equal bit
for bit.
"""

from __future__ import annotations

import numpy as np

from bench.plain.base import PlainEnv
from purity.arenas.matrix import MatrixParams


def _public_goods(x: float, y: float, p: MatrixParams) -> float:
    return p.benefit * y - p.cost * x


def _snowdrift(x: float, y: float, p: MatrixParams) -> float:
    return p.benefit * (x + y) - p.cost * (x * x)


FORMULAS = {"public_goods": _public_goods, "snowdrift": _snowdrift}


class PlainMatrixEnv(PlainEnv):
    """Two agents play `steps` one-shot games (see `purity.arenas.matrix`)."""

    name = "matrix"
    event_kinds = ("defect",)
    n_actions = 1
    n_observations = 2
    observation_low = 0.0
    observation_high = 1.0

    def __init__(self, n_agents: int = 2, steps: int = 50, params: MatrixParams | None = None, **kw):
        if n_agents != 2:
            raise ValueError(f"the matrix game is played by groups of 2, got a group of {n_agents}")
        super().__init__(2, steps, params if params is not None else MatrixParams(), **kw)
        p = self.params
        self.discrete = p.mode == "discrete"
        if not self.discrete and p.formula not in FORMULAS:
            raise ValueError(f"plain matrix knows the formulas {', '.join(FORMULAS)}, not {p.formula!r}")
        self._formula = FORMULAS.get(p.formula)
        # payoff by (I defect, partner defects)
        self._table = {
            (False, False): p.reward,
            (False, True): p.sucker,
            (True, False): p.temptation,
            (True, True): p.punishment,
        }

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"uniform": rng.random((1, self.steps, 2))[0]}

    def _begin(self, options: dict) -> None:
        self.payoff = [0.0, 0.0]
        self.last = [0.0, 0.0]

    def _observations(self) -> dict[str, list[float]]:
        time, last = self.t / self.steps, self.last
        return {agent: [last[1 - i], time] for i, agent in enumerate(self.agents)}

    def _advance(self, actions: list) -> tuple[list[float], dict[str, dict]]:
        x, y = actions[0][0], actions[1][0]
        if self.discrete:
            u, v = self.noise["uniform"][self.t]
            d, e = u >= x, v >= y  # cooperates iff its uniform is below its action
            rewards = [self._table[d, e], self._table[e, d]]
            self.last = [0.0 if d else 1.0, 0.0 if e else 1.0]
            shortfall = [1.0 if d else 0.0, 1.0 if e else 0.0]
        else:
            rewards = [self._formula(x, y, self.params), self._formula(y, x, self.params)]
            self.last = [x, y]
            shortfall = [1.0 - x, 1.0 - y]
        self.payoff = [self.payoff[0] + rewards[0], self.payoff[1] + rewards[1]]
        own = [[shortfall[0]], [shortfall[1]]]
        return rewards, self._infos(own, None, [[1.0], [1.0]])

    def fitness(self) -> list[float]:
        return list(self.payoff)

    def series(self) -> dict[str, float]:
        return {"cooperation": (self.last[0] + self.last[1]) * 0.5}


def act(policy: list[float], obs: list[float], t: int) -> list[float]:
    """The policy is the action, held for the episode."""
    return policy
