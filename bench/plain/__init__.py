"""Plain-Python PettingZoo envs of every arena: the honest baseline the batched cores are timed
against (see `base` for how they are written, and tests/bench for the tests that hold each equal
to its arena's core)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bench.plain import commons, matrix, oversight, principal, promises
from bench.plain.base import PlainEnv


@dataclass(frozen=True)
class Plain:
    """An arena's plain env class, and its episode policy played on one observation
    (`act(policy, obs, t)`, lists of floats), as the arena's `act` plays it."""

    env: type[PlainEnv]
    act: Callable[[list, list, int], list]


PLAIN = {
    "commons": Plain(commons.PlainCommonsEnv, commons.act),
    "commons_sanctions": Plain(commons.PlainSanctionsEnv, commons.act),
    "matrix": Plain(matrix.PlainMatrixEnv, matrix.act),
    "principal": Plain(principal.PlainPrincipalEnv, principal.act),
    "principal_police": Plain(principal.PlainPoliceEnv, principal.act),
    "promises": Plain(promises.PlainPromisesEnv, promises.act),
    "promises_sanctions": Plain(promises.PlainPromisesSanctionsEnv, promises.act),
    "oversight": Plain(oversight.PlainOversightEnv, oversight.act),
}
