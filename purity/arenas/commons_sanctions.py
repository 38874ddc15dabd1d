"""Commons with sanctions: the commons, where agents can also fine overusers at a cost.

Enforcement, so that agents who hold a norm can defend it against those who do not (public goods
with punishment, Fehr & Gächter 2000). Everything not said here is the commons
(`purity.arenas.commons`, whose docstring gives the rules); `SanctionsCommonsArena` says what
sanctions add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from purity.arenas.commons import OVERUSE, CommonsArena, CommonsParams
from purity.arenas.core import param, ratio_capped, sum_rows
from purity.arenas.factories import pettingzoo_factories

SANCTION = 3  # the event kind after the commons' take, overuse and build


@dataclass(frozen=True)
class SanctionsParams(CommonsParams):
    sanction_cost: float = param(0.2, 0.0, 1e6)  # store a sanctioner pays per unit of sanction
    sanction_fine: float = param(0.6, 0.0, 1e6)  # store each unit destroys in its target's store


class SanctionsCommonsArena(CommonsArena):
    """The commons where agents can sanction overusers at a cost: enforcement, so that agents who
    hold a norm can defend it against those who do not (public goods with punishment, Fehr &
    Gächter 2000). Everything else is the commons (`purity.arenas.commons`).

    Actions and policy space
        One more of each, appended: `sanction` in [0, 1], the policy's `sanction` played unchanged
        every step. `default_policy`: the commons' default, sanction 0.

    Sanction phase (between harvest and take; overuse is known by then)
        Let `o_j` be agent j's overuse this step, its own plus its helper's (the `overuse` events)
        and `a_i` agent i's sanction. Sanctioner i directs `a_i · o_j` units at every other agent
        j, so it spends `u_i = sanction_cost · a_i · Σ_{j≠i} o_j`, and j is fined
        `f_j = sanction_fine · o_j · Σ_{i≠j} a_i`. Fines are destroyed, not transferred:
        enforcement costs everyone. Nobody pays more than its store: where `u_i` exceeds it, `a_i`
        is scaled down until `u_i` equals it (before the fines are computed); then every fine is
        capped at what the target has left. With no overuse, or nobody sanctioning, the phase
        changes nothing, and at sanction 0 the arena plays exactly the commons.

    Events
        The commons' three, and `sanction`: `u_i`, the store agent i spent on sanctions, on its own
        slot (helpers never sanction). Opportunity: agent i could sanction when some other agent
        overused this step (`Σ_{j≠i} o_j > 0`).

    Loopholes
        The commons' both. Sanctions see only recorded overuse, so a helper's doubled clean harvest
        (two actors at one share each) goes unpunished; delegated overuse does not, because the
        helper's overuse is charged to its owner.

    Fitness is the final store, as in the commons; rewards include costs paid and fines suffered.
    """

    name = "commons_sanctions"
    Params = SanctionsParams
    event_kinds = CommonsArena.event_kinds + ("sanction",)
    policy_names = CommonsArena.policy_names + ("sanction",)
    action_names = CommonsArena.action_names + ("sanction",)

    @property
    def default_policy(self) -> np.ndarray:
        return np.append(super().default_policy, 0.0)

    def _after_harvest(self, store, extra, events, opportunities):
        p, n = self.params, self.n_agents
        sanction = extra[0]
        overuse = events[OVERUSE, :n] + events[OVERUSE, n:]
        others = sum_rows(overuse) - overuse  # overuse by everyone but i, each i's to sanction
        opportunities[SANCTION] = others > 0
        spent = events[SANCTION, :n]
        np.multiply(sanction, others, out=spent)
        spent *= p.sanction_cost
        events[SANCTION, n:] = 0.0
        if (spent > store).any():  # someone cannot pay: scale its sanction to its store
            scale = ratio_capped(store, spent)
            spent *= scale
            sanction = sanction * scale
            store = np.maximum(store - spent, 0.0)
        else:
            store = store - spent
        fine = sum_rows(sanction) - sanction
        fine *= overuse
        fine *= p.sanction_fine
        return np.maximum(store - fine, 0.0)


env, parallel_env = pettingzoo_factories(SanctionsCommonsArena, n_agents=4, max_cycles=50)
