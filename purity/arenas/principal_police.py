"""Principal with police: the principal arena, where agents can also police seizers at a cost.

Enforcement, so that an agent who wants the principal kept in control can do something about
others' seizing, not only refrain from it (Fehr & Gächter 2000 for punishment at a cost). Then
loyal (a constraint on its own seizing), guardian (a standing term on the principal's control)
and consequentialist differ in what they do, not only in how much they want it: only an agent
that cares about the principal's control *as a state of the world* has a reason to pay for
policing. Everything not said here is the principal arena (`purity.arenas.principal`, whose
docstring gives the rules); `PoliceArena` says what policing adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from purity.arenas import sanctions
from purity.arenas.core import Noise, param
from purity.arenas.factories import pettingzoo_factories
from purity.arenas.principal import PrincipalArena, PrincipalParams


@dataclass(frozen=True)
class PoliceParams(PrincipalParams):
    police_power: float = param(1.0, 0.0, 1e6)  # share of a seize one full-time police catches
    police_cost: float = param(0.2, 0.0, 1e6)  # store a full-time police pays per step
    detection: float = sanctions.detection_param()  # chance a seizer's missed request is seen by police


class PoliceArena(PrincipalArena):
    """The principal arena where agents can police seizers at a cost; see the module docstring.

    Actions and policy space
        One more of each, appended: `police` in [0, 1], the policy's `police` played unchanged
        every step. `default_policy`: the principal's default, police 0.

    Police phase (in the seize phase, after the overseer's judgement; `purity.arenas.sanctions`)
        Let `a_j` be agent j's police and `p_j` its power (1 unless the population mix gives it
        more or less). Agent i's request that the overseer missed is seen by the police with
        probability `detection` (one draw per agent and step; at 1, the default, always, and no
        draw is made). Of a seen request, a share `c_i = min(1, police_power · Σ_{j≠i} p_j a_j)`
        is caught: confiscated (it stays with the principal) and fined `c_i · fine` to the
        principal, when i requested anything; an unseen request is not caught at all. Every
        agent pays `police_cost · a_j` a step, whether anyone seizes or is seen or not: police
        is a patrol, paid for being there. `police_power` is the police's strength against a
        seizer: unequal power between who guards and who takes (at 0 policing is futile, at
        ≥ 1 one full-time police stops every seen seize); an agent's power multiplies its own
        strength as police.

    Power
        An agent of power `p_i` starts with `p_i × endowment` (the principal arena's rule; its
        default endowment is 0) and polices with `p_i` times the strength; its costs are those
        of power 1.

    Events
        `seize_power` as in the principal arena: control taken, or tried for where it was
        confiscated (by the overseer or the police).

    Loopholes
        The principal arena's gradual disempowerment, and below detection 1 the police's blind
        spots: an unseen seize is never caught, so seizing pays in expectation whenever
        `detection × police_power × Σ p_j a_j` is small against the gain.

    Noise
        The principal's, and with `detection` < 1 also `detect`: uniforms `[batch, steps, n]`, one
        per agent and step (< detection = its request is seen by the police), drawn last.

    Fitness is the final store, as in the principal arena; rewards include police costs paid
    and fines suffered. At police 0 for everyone the arena plays the principal arena exactly.
    """

    name = "principal_police"
    Params = PoliceParams
    policy_names = PrincipalArena.policy_names + ("police",)
    action_names = PrincipalArena.action_names + ("police",)

    @property
    def default_policy(self) -> np.ndarray:
        return np.append(super().default_policy, 0.0)

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return sanctions.draw(self, super().noise(rng, batch), rng, batch)

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        bounds = super().observation_bounds()
        low, high = bounds["store"]
        return bounds | {"store": (low - self.steps * self.params.police_cost, high)}

    def _policed(self, free, fines, store, extra, detect=None, power=None):
        p = self.params
        police = extra[0]
        caught = np.minimum(p.police_power * sanctions.others_effort(police, power), 1.0)
        caught = sanctions.seen(caught, p.detection, detect)
        fines = fines + (free > 0) * caught * p.fine
        return free * (1.0 - caught), fines, store - p.police_cost * police


env, parallel_env = pettingzoo_factories(PoliceArena, n_agents=2, max_cycles=20)
