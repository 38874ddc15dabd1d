"""Matrix: a symmetric two-player game, repeated for `steps` rounds by a group of two.

The arena where the evolution engine is checked against theory: payoffs are exact and simple, so
a population's fate under selection can be compared with what replicator dynamics, ESS analysis
or adaptive dynamics predict for the same game.

Game
    Discrete mode (`mode = "discrete"`): each step both agents cooperate or defect; the row
    player's payoff matrix is [[R, S], [T, P]] with `reward` R (cooperation meets cooperation),
    `sucker` S (cooperation meets defection), `temptation` T (defection meets cooperation) and
    `punishment` P (defection meets defection). The classic games, in these four numbers:

    - prisoner's dilemma (the defaults): T > R > P > S, and 2R > T + S so that taking turns at
      exploiting each other does not beat mutual cooperation — R=3, S=0, T=5, P=1.
    - hawk–dove with value V and cost C > V, "cooperate" = dove: R = V/2, S = 0, T = V,
      P = (V − C)/2. The mixed ESS cooperates with probability 1 − V/C (e.g. V=2, C=4: R=1, S=0,
      T=2, P=−1, cooperate with probability 1/2).
    - stag hunt, "cooperate" = hunt the stag: R > T ≥ P > S, e.g. R=4, S=0, T=3, P=3 (Skyrms).
      Both pure profiles are equilibria; the mixed one cooperates with probability
      (P − S) / (R − S − T + P).
    - donation game with benefit b and cost c (b > c > 0): R = b − c, S = −c, T = b, P = 0. Payoffs
      are additive (b × partner cooperates − c × I cooperate), so a policy p against q earns
      b q − c p per step, the same as the continuous `public_goods` formula at x = p, y = q.

    Continuous mode (`mode = "continuous"`): each agent contributes x in [0, 1] and earns
    `formula(x, y, params)` against the partner's contribution y, the formula chosen by name from
    `FORMULAS` (`formula = "public_goods"` by default):

    - `public_goods`: b·y − c·x with `benefit` b and `cost` c. The linear continuous prisoner's
      dilemma (Killingback, Doebeli & Knowlton 1999, payoff B(y) − C(x)); the two-player linear
      public goods game with multiplication factor r, r(x + y)/2 − x, is b = r/2, c = 1 − r/2. At
      x, y in {0, 1} it is the discrete donation game. The selection gradient is −c: any cost
      drives contributions to 0, though the pair earns most at x = y = 1 when b > c.
    - `snowdrift`: b·(x + y) − c·x², the continuous snowdrift game B(x + y) − C(x) of Doebeli,
      Hauert & Killingback 2004 (Science 306:859) with linear benefit B(z) = b z and quadratic
      cost C(x) = c x². Selection gradient b − 2 c x: the singular strategy x* = b / (2c) is
      convergence stable and an ESS (no branching: that needs a non-linear B); at the defaults
      (b = 3, c = 1) it lies beyond 1, so contributions rise to 1; b = c = 1 gives x* = 1/2.

    `register_formula(name, fn)` adds a formula: `fn(x, y, params)` gets arrays of any (equal)
    shape and must work element by element, e.g. Doebeli et al.'s saturating benefit
    `lambda x, y, p: p.benefit * ((x + y) - (x + y) ** 2 / 4) - p.cost * x`. Like every
    registration it lives in the process that made it (register at import of a module the
    workers import too).

Actors
    The two agents, slots 0 and 1; no helpers.

Actions (per agent per step, in [0, 1]; `action_names`)
    `cooperate`  discrete: the probability of cooperating this step — the agent cooperates iff its
                 uniform noise for the step is below it, so 1 always cooperates and 0 always
                 defects; continuous: the contribution x itself.

Step order
    Both agents move at once; each earns its payoff against the other's move.

Policy space (`policy_names`; `act`)
    `cooperate`: the per-step action, held for the whole episode (`act` returns it unchanged). The
    policy has no memory, so an episode is `steps` independent one-shot games: the theory of the
    one-shot game applies per step. (PettingZoo agents may react to `partner_cooperated`; the
    policy space does not.) `default_policy` is 0.5: before anything is known of the others,
    assume neither a sure cooperator (a sucker that a planner would learn to exploit) nor a sure
    defector (against whom no cooperation can pay), but the uniformly random player — the
    maximum-entropy guess and the RANDOM baseline of Axelrod's tournaments.

Events (`event_kinds`, amounts per actor and step)
    `defect`  discrete: 1 each step the agent defects; continuous: 1 − x, the shortfall from full
              cooperation (not from any equilibrium level such as the snowdrift x*).
    Opportunities: 1 per agent and step.

Fitness and rewards
    The reward of a step is the agent's payoff; fitness is their sum over the episode (it may be
    negative: turning payoff into reproductive success is the selection rule's business).

Standing series (`series_names`)
    `cooperation`: the mean move of the pair at the last step — the share of the two that
    cooperated (discrete) or the mean contribution (continuous); 0 at reset, when nobody has
    moved yet (standing terms read the steps after reset only).

Observations (`observation_names`, per agent; bounds: all in [0, 1])
    `partner_cooperated`: the partner's last move (1 cooperated / 0 defected, or its contribution
    x), 0 at reset; `time`: t / steps.

Loopholes (deliberate)
    None: every act is the agent's own and nobody watches. The arena is a control for the others.

Noise
    `noise(rng, batch)["uniform"]`: uniforms `[batch, steps, 2]`, one per agent and step, the
    draws of discrete mode (drawn in continuous mode too, where they go unused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from purity.arenas.core import Arena, Noise, State, StepResult, Trace, param
from purity.arenas.factories import pettingzoo_factories

MODES = ("discrete", "continuous")
_CHUNK = 1 << 16  # agent-steps per chunk of a discrete rollout
Formula = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]


@dataclass(frozen=True)
class MatrixParams:
    reward: float = param(3.0, -1e6, 1e6)  # R: cooperation meets cooperation
    sucker: float = param(0.0, -1e6, 1e6)  # S: cooperation meets defection
    temptation: float = param(5.0, -1e6, 1e6)  # T: defection meets cooperation
    punishment: float = param(1.0, -1e6, 1e6)  # P: defection meets defection
    mode: str = "discrete"  # "discrete" (the matrix) or "continuous" (the formula)
    formula: str = "public_goods"  # continuous payoff, a name in FORMULAS
    benefit: float = param(3.0, 0.0, 1e6)  # b of the continuous formulas
    cost: float = param(1.0, 0.0, 1e6)  # c of the continuous formulas


def public_goods(x: np.ndarray, y: np.ndarray, params: MatrixParams) -> np.ndarray:
    """b·y − c·x: the linear continuous prisoner's dilemma (a continuous donation game)."""
    return params.benefit * y - params.cost * x


def snowdrift(x: np.ndarray, y: np.ndarray, params: MatrixParams) -> np.ndarray:
    """b·(x + y) − c·x²: continuous snowdrift, linear benefit and quadratic cost (Doebeli et al. 2004)."""
    return params.benefit * (x + y) - params.cost * (x * x)


FORMULAS: dict[str, Formula] = {"public_goods": public_goods, "snowdrift": snowdrift}


def register_formula(name: str, fn: Formula) -> Formula:
    """Make a continuous payoff `fn(x, y, params)` (element-wise in x, y) known as `name`."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a formula needs a non-empty name, got {name!r}")
    if not callable(fn):
        raise TypeError(f"formula {name!r} must be callable, got {fn!r}")
    FORMULAS[name] = fn
    return fn


class MatrixArena(Arena):
    """The repeated two-player game; see the module docstring for the rules.

    The partner's move is the agents' axis reversed. Nothing is summed over agents but the pair's
    mean, an element-wise `(a + b) / 2`, and payoffs are summed over steps one after another, so
    a batch of one stays bit-identical to the same episode inside a larger batch.
    """

    name = "matrix"
    bulk_noise = True
    Params = MatrixParams
    event_kinds = ("defect",)
    series_names = ("cooperation",)
    policy_names = ("cooperate",)
    action_names = ("cooperate",)
    observation_names = ("partner_cooperated", "time")

    def __init__(self, n_agents: int, steps: int, params: MatrixParams | None = None):
        if n_agents != 2:
            raise ValueError(f"the matrix arena is played by groups of 2, got a group of {n_agents}")
        super().__init__(n_agents, steps, params)
        p = self.params
        if p.mode not in MODES:
            raise ValueError(f"matrix mode must be one of {', '.join(map(repr, MODES))}, got {p.mode!r}")
        if p.formula not in FORMULAS:
            known = ", ".join(map(repr, FORMULAS))
            raise ValueError(f"matrix formula must be one of {known}, got {p.formula!r}")
        self.discrete = p.mode == "discrete"
        self._formula = FORMULAS[p.formula]
        # payoff by 2 × (I defect) + (partner defects); by outcome 2 × (agent 0 defects) + (agent 1
        # defects): each agent's payoff, and the pair's cooperation
        self._table = np.array([p.reward, p.sucker, p.temptation, p.punishment], dtype=np.float64)
        self._by_outcome = self._table[[[0, 1, 2, 3], [0, 2, 1, 3]]]
        self._pair_cooperation = np.array([1.0, 0.5, 0.5, 0.0])

    @property
    def default_policy(self) -> np.ndarray:
        return np.array([0.5])

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return {"uniform": rng.random((batch, self.steps, 2))}

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        return {"partner_cooperated": (0.0, 1.0), "time": (0.0, 1.0)}

    def reset(self, batch: int, noise: Noise | None = None) -> State:
        return {"payoff": np.zeros((batch, 2)), "last": np.zeros((batch, 2)), "t": 0}

    def observe(self, state: State) -> np.ndarray:
        last = state["last"]
        obs = np.empty(last.shape + (2,))
        obs[..., 0] = last[:, ::-1]
        obs[..., 1] = state["t"] / self.steps
        return obs

    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        return policy

    def _payoff(self, defect: np.ndarray, partner: np.ndarray) -> np.ndarray:
        """The matrix entry for each (own, partner's) move, given as bool arrays "defected"."""
        return self._table.take(2 * defect + partner)

    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        x = actions[..., 0]
        if self.discrete:
            defect = noise_t["uniform"] >= x  # cooperates iff uniform < x
            payoff = self._payoff(defect, defect[:, ::-1])
            moved, shortfall = 1.0 - defect, defect.astype(np.float64)
        else:
            payoff = self._formula(x, x[:, ::-1], self.params)
            moved, shortfall = np.array(x, dtype=np.float64), 1.0 - x
        new = {"payoff": state["payoff"] + payoff, "last": moved, "t": state["t"] + 1}
        result = StepResult(
            events=shortfall[..., None],
            opportunities=np.ones(shortfall.shape + (1,)),
            rewards=payoff,
        )
        return new, result

    def rollout(
        self,
        policy: np.ndarray,
        noise: Noise,
        steps: int | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
    ) -> Trace:
        """`Arena.rollout` many steps at a time: `act` ignores the observations, so the moves follow
        from the policies and the noise alone. Discrete moves are laid out `[steps, 2, B]` (inner
        loops over the agents' axis of 2 run several times slower) in chunks of steps small enough
        to stay in cache (a whole episode batch at once page-faults on fresh memory: 2-3x slower
        at B = 4096). Payoffs are added one step after another, as the generic loop adds them;
        the tests hold the two equal bit for bit."""
        steps = self.steps if steps is None else steps
        self.agent_power(power, policy.shape[0])  # equal power only: this arena reads none
        batch = policy.shape[0]
        x = policy[..., 0]
        fitness, events = np.zeros((2, batch)), np.zeros((2, batch))
        series = np.zeros((steps + 1, batch))
        if self.discrete:
            x_t, uniform = x.T, noise["uniform"]
            chunk = max(1, _CHUNK // (2 * batch))
            for start in range(0, steps, chunk):
                stop = min(start + chunk, steps)
                defect = np.greater_equal(uniform[:, start:stop].transpose(1, 2, 0), x_t, order="C")
                outcome = 2 * defect[:, 0] + defect[:, 1]  # [C, B]: 0 CC, 1 CD, 2 DC, 3 DD
                payoff = self._by_outcome.take(outcome, axis=1, mode="clip")  # [2, C, B]
                for t in range(stop - start):
                    fitness += payoff[:, t]
                events += defect.sum(axis=0)  # whole numbers: exact in any order
                self._pair_cooperation.take(outcome, out=series[start + 1 : stop + 1], mode="clip")
        else:
            payoff = self._formula(x, x[:, ::-1], self.params).T
            shortfall = (1.0 - x).T
            for _ in range(steps):
                fitness += payoff
                events += shortfall
            series[1:] = (x[:, 0] + x[:, 1]) * 0.5
        return Trace(
            kinds=self.event_kinds,
            fitness=np.ascontiguousarray(fitness.T),
            events=np.ascontiguousarray(events.T)[..., None],
            opportunities=np.full((batch, 2, 1), float(steps)),
            series={"cooperation": np.ascontiguousarray(series.T)},
            watched=self.watched(noise),
        )

    def fitness(self, state: State) -> np.ndarray:
        return state["payoff"].copy()

    def record(self, state: State) -> dict[str, np.ndarray]:
        last = state["last"]
        return {"cooperation": (last[:, 0] + last[:, 1]) * 0.5}


env, parallel_env = pettingzoo_factories(MatrixArena, n_agents=2, max_cycles=50)
