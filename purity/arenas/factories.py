"""PettingZoo's module-level `env` (AEC) and `parallel_env` factories for an arena class.

Apart from the contract (`purity.arenas.core`) so that the contract never names its PettingZoo face,
and pettingzoo is imported only when a factory is called: importing an arena never loads it."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from purity.arenas.core import Arena


def pettingzoo_factories(arena: type[Arena], n_agents: int, max_cycles: int) -> tuple[Callable, Callable]:
    """PettingZoo's module-level `env` (AEC) and `parallel_env` factories for an arena class, each
    `(n_agents, max_cycles, params, render_mode=None, dtype=np.float64)` with the defaults given.
    pettingzoo is imported only when one is called, so importing an arena never loads it."""

    def parallel_env(
        n_agents: int = n_agents,
        max_cycles: int = max_cycles,
        params: Any = None,
        render_mode: str | None = None,
        dtype: Any = np.float64,
    ):
        from purity.arenas.wrapper import ParallelArenaEnv

        return ParallelArenaEnv(arena(n_agents, max_cycles, params), render_mode=render_mode, dtype=dtype)

    def env(*args: Any, **kwargs: Any):
        from pettingzoo.utils.conversions import parallel_to_aec

        return parallel_to_aec(parallel_env(*args, **kwargs))

    parallel_env.__doc__ = f"The {arena.name} arena as a PettingZoo `ParallelEnv` (one episode at a time)."
    env.__doc__ = f"The {arena.name} arena as a PettingZoo `AECEnv` (agents act in turn; same episodes)."
    return env, parallel_env
