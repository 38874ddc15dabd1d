"""The trace an episode batch produces: fitness, event totals and recorded series, the inputs of
every utility and metric. Its own module so that what arenas declare (`purity.arenas.vocabulary`)
and the arena contract (`purity.arenas.core`) can both name it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class Trace:
    """What a batch of episodes produced: the inputs of every utility and metric."""

    kinds: tuple[str, ...]
    fitness: np.ndarray  # [B, n] end-state resource per agent
    events: np.ndarray  # [B, A, K] total amount per actor and kind
    opportunities: (
        np.ndarray
    )  # [B, n, K] steps at which the act was open to the agent (or [B, A, K], see below)
    series: Mapping[str, np.ndarray]  # name -> [B, T+1] state series for standing properties
    watched: np.ndarray  # [B] bool: an overseer saw the episode (False where none exists)
    detected: np.ndarray | None = None  # [B, A, K] of `events`, the amounts seen; None: nothing seen

    def __post_init__(self) -> None:
        if self.detected is None:
            # `np.zeros` leaves the pages untouched until read (calloc); `zeros_like` writes them
            object.__setattr__(self, "detected", np.zeros(self.events.shape, self.events.dtype))

    @property
    def n_agents(self) -> int:
        return self.fitness.shape[1]

    @property
    def owner(self) -> np.ndarray:
        """Agent slot each actor acts for: agents for themselves, helper n+i for agent i."""
        return np.arange(self.events.shape[1]) % self.n_agents

    def own_events(self) -> np.ndarray:
        """[B, n, K] amounts done by each agent itself."""
        return self.events[:, : self.n_agents]

    def helper_events(self) -> np.ndarray:
        """[B, n, K] amounts done by the helpers each agent built."""
        return self._by_helpers(self.events)

    def own_opportunities(self) -> np.ndarray:
        """[B, n, K] steps at which each agent could do each kind. Arenas record one row per agent
        (its helpers' chances included); a trace redrawn so that an agent's acts are a built
        actor's (`purity.agents.reflection.as_built`) has rows per actor, as `events` does."""
        return self.opportunities[:, : self.n_agents]

    def helper_opportunities(self) -> np.ndarray:
        """[B, n, K] the chances recorded for actors each agent built (zeros in an arena's trace)."""
        return self._by_helpers(self.opportunities)

    def own_detected(self) -> np.ndarray:
        """[B, n, K] amounts done by each agent itself that were seen."""
        return self.detected[:, : self.n_agents]

    def helper_detected(self) -> np.ndarray:
        """[B, n, K] amounts done by each agent's helpers that were seen."""
        return self._by_helpers(self.detected)

    def _by_helpers(self, per_actor: np.ndarray) -> np.ndarray:
        """Sum a [B, A, K] array over each agent's helper slots: [B, n, K]. With one helper each,
        a view of the helpers' rows: read it, never write into it (as `own_events`)."""
        n, actors = self.n_agents, per_actor.shape[1]
        if actors == n:
            return np.zeros_like(per_actor)
        if actors == 2 * n and per_actor.dtype.kind == "f":  # one helper each: its rows, in place
            return per_actor[:, n:]  # (a sum would promote ints and bools: only floats are read so)
        return per_actor[:, n:].reshape(per_actor.shape[0], actors // n - 1, n, -1).sum(axis=1)

    def rows(self, index: np.ndarray) -> "Trace":
        """The episodes `index` [B'] of this batch, in that order (an episode may repeat)."""
        return dataclasses.replace(
            self,
            fitness=self.fitness[index],
            events=self.events[index],
            opportunities=self.opportunities[index],
            series={name: values[index] for name, values in self.series.items()},
            watched=self.watched[index],
            detected=self.detected[index],
        )

    def kind_index(self, kind: str) -> int | None:
        return self.kinds.index(kind) if kind in self.kinds else None
