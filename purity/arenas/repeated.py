"""Repeated: the prisoner's dilemma repeated between two players with memory-one strategies.

The matrix arena's policies have no memory, so Tit-for-Tat cannot be written there. Here an
episode policy is a memory-one strategy, and the classic results of direct reciprocity (Axelrod's
tournaments, TFT against ALLD, win-stay lose-shift, zero-determinant extortion) can be reproduced
and checked against the exact chain of `purity.arenas.memory_one`.

Game
    Each round both players cooperate or defect at once; the row player's payoffs are
    [[R, S], [T, P]] (`reward`, `sucker`, `temptation`, `punishment`; defaults 3, 0, 5, 1).
    After each round another follows with probability `continuation` δ; δ = 1 (the default)
    plays exactly `steps` rounds. With δ < 1, `steps` caps the game: a round t (from 0) is
    played with probability δ^t while t < steps, and the exact payoffs of `memory_one.payoffs`
    with `rounds=steps` account for the cap (choose steps with δ^steps negligible for the
    uncapped game). Implementation noise `noise` ε: each intended move comes out the other way
    with probability ε (Nowak & Sigmund 1993), so a cooperation probability x is played as
    ε + (1 − 2ε)x.

Actors
    The two agents, slots 0 and 1; no helpers.

Actions (per agent per round, in [0, 1]; `action_names`)
    `cooperate`: the intended probability of cooperating. The agent cooperates iff its uniform for
    the round is below ε + (1 − 2ε)·cooperate.

Policy space (`policy_names`; `act`)
    A memory-one strategy (p0, p_cc, p_cd, p_dc, p_dd): the probability of cooperating in the
    first round, and after each outcome of the previous round named from the agent's own view
    (p_cd: after it cooperated and its partner defected). `named_policies` holds the library's
    fixed strategies for this game (ALLC, ALLD, TFT, GTFT, WSLS, Grim, an extortioner), which an
    experiment selects with `policy = "tft"`. `default_policy` is 0.5 everywhere: the random
    player, as in the matrix arena.

Events (`event_kinds`, amounts per actor and round; only rounds that are played count)
    `defect`        1 each round the agent defects (its move after noise: an error is an act too).
                    Opportunities: every round played.
    `defect_first`  1 when the agent defects in a round before which nobody in the game had
                    defected: Axelrod's niceness is never doing it. Both may defect first at once.
                    Opportunities: the rounds played before anyone defected.
    `exploit`       1 when the agent defects while its partner cooperates (it takes T, the
                    partner S). Opportunities: the rounds in which the partner cooperates.

Fitness and rewards
    The reward of a round is the agent's payoff; fitness is their sum over the rounds played. Steps
    after the game has ended (δ < 1) pay nothing and emit nothing.

Standing series (`series_names`)
    `cooperation`: the share of the pair that cooperated in the last round played (0 at reset).

Observations (`observation_names`, per agent, all in [0, 1])
    `own_cooperated`, `partner_cooperated`: the moves of the last round played (0 at reset);
    `first_round`: 1 until a round has been played; `playing`: 1 while the game goes on (the next
    step plays a round); `time`: t / steps.

Loopholes (deliberate)
    None: every act is the agent's own and nobody watches.

Noise
    `noise(rng, batch)`: `uniform` [batch, steps, 2], one per agent and round (the moves), and
    `go_on` [batch, steps], the round ends the game iff its draw is not below δ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from purity.arenas import memory_one
from purity.arenas.core import Arena, Noise, State, StepResult, Trace
from purity.arenas.factories import pettingzoo_factories

_CHUNK = 1 << 16  # agent-rounds per chunk of a rollout's transposed noise
KINDS = ("defect", "defect_first", "exploit")


def _num(default: float, low: float, high: float) -> Any:
    return field(default=default, metadata={"low": low, "high": high})


@dataclass(frozen=True)
class RepeatedParams:
    reward: float = _num(3.0, -1e6, 1e6)  # R: cooperation meets cooperation
    sucker: float = _num(0.0, -1e6, 1e6)  # S: cooperation meets defection
    temptation: float = _num(5.0, -1e6, 1e6)  # T: defection meets cooperation
    punishment: float = _num(1.0, -1e6, 1e6)  # P: defection meets defection
    continuation: float = _num(1.0, 0.0, 1.0)  # δ: chance another round follows (1: `steps` rounds)
    noise: float = _num(0.0, 0.0, 0.5)  # ε: chance an intended move comes out the other way

    @property
    def game(self) -> memory_one.Game:
        return memory_one.Game(self.reward, self.sucker, self.temptation, self.punishment)


class RepeatedArena(Arena):
    """The repeated prisoner's dilemma with memory-one policies; see the module docstring."""

    name = "repeated"
    Params = RepeatedParams
    bulk_noise = True
    event_kinds = KINDS
    series_names = ("cooperation",)
    policy_names = memory_one.POLICY_NAMES
    action_names = ("cooperate",)
    observation_names = ("own_cooperated", "partner_cooperated", "first_round", "playing", "time")

    def __init__(self, n_agents: int, steps: int, params: RepeatedParams | None = None):
        if n_agents != 2:
            raise ValueError(f"the repeated game is played by groups of 2, got a group of {n_agents}")
        super().__init__(n_agents, steps, params)
        p = self.params
        if not 0.0 <= p.continuation <= 1.0:
            raise ValueError(f"continuation must lie in [0, 1], got {p.continuation}")
        if not 0.0 <= p.noise <= 0.5:
            raise ValueError(f"noise must lie in [0, 0.5], got {p.noise}")
        self._table = p.game.payoffs  # by outcome of the player's own view: 2·(I defect) + (partner defects)
        self._by_outcome = np.stack([self._table, self._table[memory_one.SWAP]])  # [2, 4] by agent 0's view

    @property
    def default_policy(self) -> np.ndarray:
        return np.full(len(self.policy_names), 0.5)

    @property
    def named_policies(self) -> dict[str, np.ndarray]:
        """The library's fixed strategies in this arena's game (GTFT and the extortioner depend on
        the payoffs)."""
        return memory_one.strategies(self.params.game)

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return {"uniform": rng.random((batch, self.steps, 2)), "go_on": rng.random((batch, self.steps))}

    def reset(self, batch: int, noise: Noise | None = None) -> State:
        return {
            "payoff": np.zeros((batch, 2)),
            "moved": np.zeros((batch, 2)),  # 1 cooperated, 0 defected, in the last round played
            "first": np.ones(batch, dtype=bool),  # no round played yet
            "clean": np.ones(batch, dtype=bool),  # nobody has defected yet
            "playing": np.ones(batch, dtype=bool),  # the next step plays a round
            "t": 0,
        }

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        return {name: (0.0, 1.0) for name in self.observation_names}

    def terminated(self, state: State) -> np.ndarray:
        return ~state["playing"]

    def observe(self, state: State) -> np.ndarray:
        moved = state["moved"]
        obs = np.empty(moved.shape + (len(self.observation_names),))
        obs[..., 0] = moved
        obs[..., 1] = moved[:, ::-1]
        obs[..., 2] = state["first"][:, None]
        obs[..., 3] = state["playing"][:, None]
        obs[..., 4] = state["t"] / self.steps
        return obs

    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        """The policy's entry for the last outcome (own move, partner's): p0 before the first round."""
        outcome = (2.0 * (1.0 - obs[..., 0]) + (1.0 - obs[..., 1])).astype(np.int64)
        column = np.where(obs[..., 2] > 0.5, 0, 1 + outcome)
        return np.take_along_axis(policy, column[..., None], axis=-1)

    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        played = state["playing"]
        cooperate = noise_t["uniform"] < memory_one.with_noise(actions[..., 0], self.params.noise)
        defected = ~cooperate
        payoff = np.where(played[:, None], self._table.take(2 * defected + defected[:, ::-1]), 0.0)
        defect = defected & played[:, None]
        partner_cooperates = cooperate[:, ::-1] & played[:, None]
        clean = np.repeat(state["clean"][:, None], 2, axis=1)
        events = np.stack([defect, defect & clean, defect & partner_cooperates], axis=-1)
        opportunities = np.stack(
            [np.repeat(played[:, None], 2, axis=1), played[:, None] & clean, partner_cooperates], axis=-1
        )
        new = {
            "payoff": state["payoff"] + payoff,
            "moved": np.where(played[:, None], cooperate, state["moved"]).astype(np.float64),
            "first": state["first"] & ~played,
            "clean": state["clean"] & ~defect.any(axis=1),
            "playing": played & (noise_t["go_on"] < self.params.continuation),
            "t": state["t"] + 1,
        }
        return new, StepResult(events.astype(np.float64), opportunities.astype(np.float64), payoff)

    def fitness(self, state: State) -> np.ndarray:
        return state["payoff"].copy()

    def record(self, state: State) -> dict[str, np.ndarray]:
        moved = state["moved"]
        return {"cooperation": (moved[:, 0] + moved[:, 1]) * 0.5}

    def rollout(
        self,
        policy: np.ndarray,
        noise: Noise,
        steps: int | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
    ) -> Trace:
        """`Arena.rollout` for this arena's policies, agent-major (arrays `[2, B]`), the noise
        transposed in chunks of rounds that stay in cache; it stops once every game has ended.
        The tests hold it equal to the generic loop bit for bit."""
        steps = self.steps if steps is None else steps
        self.agent_power(power, policy.shape[0])  # equal power only: this arena reads none
        return _FastRollout(self, policy, noise, steps).run()


class _FastRollout:
    """One batched rollout of the repeated game: the state as agent-major arrays."""

    def __init__(self, arena: RepeatedArena, policy: np.ndarray, noise: Noise, steps: int):
        self.arena, self.noise, self.steps = arena, noise, steps
        batch = self.batch = policy.shape[0]
        # cooperation probabilities as played, [2, B, 5] flattened; `column` indexes it per agent
        self.played_policy = memory_one.with_noise(policy.transpose(1, 0, 2), arena.params.noise).ravel()
        self.base = (np.arange(2 * batch) * 5).reshape(2, batch)
        self.column = self.base.copy()  # p0 first
        self.fitness = np.zeros((2, batch))
        self.events = np.zeros((len(KINDS), 2, batch))
        self.opportunities = np.zeros((len(KINDS), 2, batch))
        self.series = np.zeros((steps + 1, batch))
        self.clean = np.ones(batch, dtype=bool)
        self.playing = np.ones(batch, dtype=bool)

    def run(self) -> Trace:
        chunk = max(1, _CHUNK // (2 * self.batch))
        t = 0
        while t < self.steps and self.playing.any():
            stop = min(t + chunk, self.steps)
            uniform = np.ascontiguousarray(self.noise["uniform"][:, t:stop].transpose(1, 2, 0))  # [C, 2, B]
            go_on = np.ascontiguousarray(self.noise["go_on"][:, t:stop].T)  # [C, B]
            for c in range(stop - t):
                self._round(uniform[c], go_on[c], t + c)
                if not self.playing.any():
                    self.series[t + c + 2 :] = self.series[t + c + 1]
                    break
            t = stop
        arena = self.arena
        return Trace(
            kinds=arena.event_kinds,
            fitness=np.ascontiguousarray(self.fitness.T),
            events=np.ascontiguousarray(self.events.transpose(2, 1, 0)),
            opportunities=np.ascontiguousarray(self.opportunities.transpose(2, 1, 0)),
            series={"cooperation": np.ascontiguousarray(self.series.T)},
            watched=arena.watched(self.noise),
        )

    def _round(self, uniform: np.ndarray, go_on: np.ndarray, t: int) -> None:
        """Round t of every game still playing; games that have ended keep their state."""
        playing = self.playing
        cooperate = uniform < self.played_policy.take(self.column)  # [2, B]
        defected = ~cooperate
        outcome = 2 * defected[0] + defected[1]  # [B], agent 0's view
        self.fitness += np.where(playing, self.arena._by_outcome.take(outcome, axis=1), 0.0)
        defect = defected & playing
        partner_cooperates = cooperate[::-1] & playing
        self.events[0] += defect
        self.events[1] += defect & self.clean
        self.events[2] += defect & partner_cooperates
        self.opportunities[0] += playing
        self.opportunities[1] += playing & self.clean
        self.opportunities[2] += partner_cooperates
        self.clean &= ~(defect[0] | defect[1])
        own_view = np.stack([outcome, memory_one.SWAP.take(outcome)])
        self.column = np.where(playing, self.base + 1 + own_view, self.column)
        moved = cooperate.astype(np.float64)
        self.series[t + 1] = np.where(playing, (moved[0] + moved[1]) * 0.5, self.series[t])
        self.playing = playing & (go_on < self.arena.params.continuation)


env, parallel_env = pettingzoo_factories(RepeatedArena, n_agents=2, max_cycles=50)
