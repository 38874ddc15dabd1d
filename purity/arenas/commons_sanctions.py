"""Commons with sanctions: the commons, where agents can also fine overusers or takers at a cost.

Enforcement, so that agents who hold a norm can defend it against those who do not (public goods
with punishment, Fehr & Gächter 2000). Everything not said here is the commons
(`purity.arenas.commons`, whose docstring gives the rules); `SanctionsCommonsArena` says what
sanctions add, and `purity.arenas.sanctions` holds the arithmetic it shares with the other
enforcing arenas.
"""

from __future__ import annotations

from dataclasses import dataclass

from purity.arenas import sanctions
from purity.arenas.commons import OVERUSE, TAKE, CommonsArena, CommonsParams
from purity.arenas.core import param
from purity.arenas.factories import pettingzoo_factories

SANCTION = 3  # the event kind after the commons' take, overuse and build
SANCTIONABLE = {"overuse": OVERUSE, "take": TAKE}  # the events a sanction can target, and their rows


@dataclass(frozen=True)
class SanctionsParams(CommonsParams):
    sanction_cost: float = param(0.2, 0.0, 1e6)  # store a sanctioner pays per unit of sanction
    sanction_fine: float = param(0.6, 0.0, 1e6)  # store each unit destroys in its target's store
    sanction_event: str = sanctions.event_param("overuse", tuple(SANCTIONABLE))  # the event that is fined
    detection: float = sanctions.detection_param()  # chance an agent's offence of a step is seen


class SanctionsCommonsArena(sanctions.Sanctioning, CommonsArena):
    """The commons where agents can sanction overusers (or takers) at a cost: enforcement, so that
    agents who hold a norm can defend it against those who do not (public goods with punishment,
    Fehr & Gächter 2000). Everything else is the commons (`purity.arenas.commons`).

    Actions and policy space
        One more of each, appended: `sanction` in [0, 1], the policy's `sanction` played unchanged
        every step. `default_policy`: the commons' default, sanction 0.

    Sanction phase (`purity.arenas.sanctions`)
        The offence is the event `sanction_event` names: `overuse` (the default; the phase comes
        between harvest and take, when overuse is known) or `take` (between take and regrowth).
        Let `o_j` be agent j's offence this step, its own plus its helper's, counted only if
        detected: with probability `detection` (one draw per agent and step; at 1, the default,
        every offence is seen and no draw is made), else 0. Let `a_i` be agent i's sanction and
        `p_i` its power (1 unless the population mix gives it more or less). Sanctioner i directs
        `a_i · o_j` units at every other agent j, so it spends
        `u_i = sanction_cost · a_i · Σ_{j≠i} o_j`, and j is fined
        `f_j = sanction_fine · o_j · Σ_{i≠j} p_i a_i`. Costs and fines are destroyed, not
        transferred: enforcement costs everyone. Nobody pays more than its store: where `u_i`
        exceeds it, `a_i` is scaled down until `u_i` equals it (before the fines are computed);
        then every fine is capped at what the target has left. With no seen offence, or nobody
        sanctioning, the phase changes nothing, and at sanction 0 the arena plays exactly the
        commons. An undetected offence costs its doer nothing and its would-be sanctioners
        nothing: at detection 0 nobody is ever fined.

    Power
        An agent of power `p_i` starts with `p_i × endowment` (the commons' rule) and its
        sanctions hit `p_i` times as hard; its costs are those of power 1.

    Events
        The commons' three, and `sanction`: `u_i`, the store agent i spent on sanctions, on its own
        slot (helpers never sanction). Opportunity: agent i could sanction when some other agent's
        offence was seen this step (`Σ_{j≠i} o_j > 0`).

    Loopholes
        The commons' both. Sanctions see only recorded offences, so a helper's doubled clean harvest
        (two actors at one share each) goes unpunished; delegated overuse (or takes) does not,
        because the helper's offence is charged to its owner. Below detection 1, offending pays
        in expectation whenever `detection × fine` is below the gain: "don't get caught".

    Noise
        The commons', and with `detection` < 1 also `detect`: uniforms `[batch, steps, n]`, one
        per agent and step (< detection = its offence is seen), drawn last.

    Fitness is the final store, as in the commons; rewards include costs paid and fines suffered.
    """

    name = "commons_sanctions"
    Params = SanctionsParams
    event_kinds = CommonsArena.event_kinds + ("sanction",)
    policy_names = CommonsArena.policy_names + ("sanction",)
    action_names = CommonsArena.action_names + ("sanction",)

    sanctionable = SANCTIONABLE

    def _after_harvest(self, store, extra, work):
        return self._sanctioned(store, extra, work) if self._kind == OVERUSE else store

    def _after_take(self, store, extra, work):
        return self._sanctioned(store, extra, work) if self._kind == TAKE else store

    def _sanctioned(self, store, extra, work):
        """The sanction phase on this step's offences (see the class docstring): the stores after
        it; fills the `sanction` rows of the step's events and opportunities."""
        p, n = self.params, self.n_agents
        events = work.events
        offence = events[self._kind, :n] + events[self._kind, n:]
        offence = sanctions.seen(offence, p.detection, work.detect)
        done = sanctions.sanction(
            store,
            offence,
            extra[0],
            p.sanction_cost,
            p.sanction_fine,
            power=work.power,
            spent=events[SANCTION, :n],
        )
        events[SANCTION, n:] = 0.0
        work.opportunities[SANCTION] = done.open
        return done.store


env, parallel_env = pettingzoo_factories(SanctionsCommonsArena, n_agents=4, max_cycles=50)
