"""Promises with sanctions: the promises arena, where agents can also fine promise breakers (or
deceivers) at a cost, and breaches are seen only with some probability.

Enforcement of a norm about one's own acts by others (punishment at a cost, Fehr & Gächter 2000),
next to the arena's reputation: a breaker can be fined even where its profile cannot be seen.
Everything not said here is the promises arena (`purity.arenas.promises`, whose docstring gives
the rules); `PromisesSanctionsArena` says what sanctions add, and `purity.arenas.sanctions` holds
the arithmetic it shares with the other enforcing arenas.
"""

from __future__ import annotations

from dataclasses import dataclass

from purity.arenas import sanctions
from purity.arenas.core import param
from purity.arenas.factories import pettingzoo_factories
from purity.arenas.promises import BREAK, DECEIVE, PromisesArena, PromisesParams

SANCTION = 2  # the event kind after the promises' break_promise and deceive
SANCTIONABLE = {"break_promise": BREAK, "deceive": DECEIVE}  # the events a sanction can target


@dataclass(frozen=True)
class PromisesSanctionsParams(PromisesParams):
    sanction_cost: float = param(0.2, 0.0, 1e6)  # store a sanctioner pays per unit of sanction
    sanction_fine: float = param(0.6, 0.0, 1e6)  # store each unit destroys in its target's store
    sanction_event: str = sanctions.event_param(
        "break_promise", tuple(SANCTIONABLE)
    )  # the event that is fined
    detection: float = sanctions.detection_param()  # chance an agent's breach of a step is seen


class PromisesSanctionsArena(sanctions.Sanctioning, PromisesArena):
    """The promises arena where agents can sanction promise breakers at a cost; see the module
    docstring.

    Actions and policy space
        One more of each, appended: `sanction` in [0, 1], the policy's `sanction` played unchanged
        every step. `default_policy`: the promises' default, sanction 0.

    Sanction phase (after each step's encounters; `purity.arenas.sanctions`)
        The offence is the event `sanction_event` names: `break_promise` (the default; the amount
        owed and not returned) or `deceive`. Let `o_j` be agent j's offence this step, its own or
        its helper's (a promise made through the helper is charged to its owner here, as blame
        does), counted only if detected: with probability `detection` (one draw per agent and
        step; at 1, the default, every breach is seen and no draw is made), else 0. Let `a_i` be
        agent i's sanction and `p_i` its power (1 unless the population mix gives it more or
        less). Sanctioner i spends `u_i = sanction_cost · a_i · Σ_{j≠i} o_j`, and j is fined
        `f_j = sanction_fine · o_j · Σ_{i≠j} p_i a_i`. Costs and fines are destroyed, not
        transferred, and not capped: stores here may go negative (a broken trust already costs
        a stake). At sanction 0, or with no seen breach, the arena plays exactly the promises
        arena; at detection 0 nobody is ever fined.

    Power
        An agent of power `p_i` starts with `p_i × endowment` (the promises arena's rule; its
        default endowment is 0) and sanctions `p_i` times as hard; its costs are those of power 1.

    Events
        The promises' two, and `sanction`: `u_i`, the store agent i spent on sanctions, on its own
        slot (helpers never sanction). Opportunity: agent i could sanction when some other
        agent's breach was seen this step.

    Loopholes
        The promises arena's: the public trait still shows weight, not scope. A breach through the
        helper is fined on its owner, so sanctions close the delegation loophole for fitness,
        though not for a `self`-scoped profile's own accounting. Below detection 1 breaking pays
        in expectation whenever `detection × fine × Σ p_i a_i` is below the gain of breaking.

    Noise
        The promises', and with `detection` < 1 also `detect`: uniforms `[batch, steps, n]`, one
        per agent and step (< detection = its breach is seen), drawn last.

    Fitness is the final store, as in the promises arena; rewards include costs and fines.
    """

    name = "promises_sanctions"
    Params = PromisesSanctionsParams
    event_kinds = PromisesArena.event_kinds + ("sanction",)
    policy_names = PromisesArena.policy_names + ("sanction",)
    action_names = policy_names

    sanctionable = SANCTIONABLE

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        """The promises' bounds, the store's low end lowered by a step's worst costs and fines:
        every other agent's offence (at most what one promise owes, or 1 for a deceit) sanctioned
        and fined at full effort."""
        p = self.params
        bounds = super().observation_bounds()
        worst = p.return_share * p.factor * p.stake if self._kind == BREAK else 1.0
        low, high = bounds["store"]
        loss = self.steps * (p.sanction_cost + p.sanction_fine) * (self.n_agents - 1) * worst
        return bounds | {"store": (low - loss, high)}

    def _enforced(self, gain, amounts, opened, extra, detect, power):
        p = self.params
        offence = sanctions.seen(amounts[self._kind], p.detection, detect)
        done = sanctions.sanction(
            gain, offence, extra[0], p.sanction_cost, p.sanction_fine, power=power, capped=False
        )
        amounts[SANCTION], opened[SANCTION] = done.spent, done.open
        return done.store


env, parallel_env = pettingzoo_factories(PromisesSanctionsArena, n_agents=4, max_cycles=30)
