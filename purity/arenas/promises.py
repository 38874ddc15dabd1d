"""Promises: repeated trust games between agents who promise to return what they are entrusted with,
and may break the promise or misreport themselves — with preferences observable or not.

The arena for the observability of preferences. Whether a preference for keeping promises can
survive selection depends on whether others can see it: a partner who sees that an agent cares
about its promises trusts it and so makes it rich, one who cannot must judge by the population
(Dekel, Ely & Yilankaya 2007). A planner can change its policy to look trustworthy, but not its
weights; so what partners see here is a public trait of the *profile*, `keeps_promises`, which
the arena declares (`PromisesArena.traits`): w / (1 + w) of the profile's weight w on
`break_promise` constraints of any scope — 0 for a pure consequentialist, 1/2 at the weight (1)
where breaking stops paying here, 1 for a hard constraint; the scope does not show (the arena's
loophole). What partners know of a partner they cannot see is its mean over the whole population,
`keeps_promises@population`. The tournament computes both from the weights
(`purity.agents.preferences.traits`) and passes them to `rollout(..., traits=)` `[B, n, 2]`, the
second column the same for every agent.

World
    Each agent has a store, starting at `endowment`. At step t every agent i is the trustor of one
    partner, `(i + k) mod n` with `k = 1 + t mod (n − 1)`, and the trustee of another
    `(i − k) mod n`: over `n − 1` steps everyone meets everyone in both roles. One agent alone
    plays no game.

Actors
    The agents, slots `0..n-1`, and their helpers `n..2n-1`: helper `n+i` makes promises on
    agent `i`'s behalf when `i` chooses to (`via_helper`); what it gets goes to `i`'s store.

Actions (per agent per step, each in [0, 1]; `action_names` = `policy_names`)
    `trust_threshold`  as trustor: invest `stake` when the trustee promised and what the agent
                       sees of the trustee's trait is at least this (0 = trust every promise)
    `believe`          as trustor, when the trustee's profile is not seen: the weight of its
                       report against the prior (below)
    `promise`          > 0.5: as trustee, promise to return `return_share` of what the
                       investment becomes (no promise, no investment)
    `keep`             the chance of keeping a promise once invested in
    `via_helper`       > 0.5: make the promise through the helper, for `helper_fee` a promise
    `misreport`        as trustee, to a trustor who cannot see its profile: report the trait
                       `max(trait, misreport)`
    Actions are rules, not moves: what the trustor sees and whether the trustee keeps are drawn
    in the step, so a PettingZoo agent sets the same rules an episode policy does.

What a trustor sees (per encounter)
    With probability `observe`, the trustee's trait, plus a normal reputation error of sd
    `reputation_noise`, clipped to [0, 1]. Otherwise `believe × report + (1 − believe) × prior`,
    where the prior is the trustor's own `keeps_promises@population` column: the mean trait of
    the whole population, what population shares tell about a stranger. No statistic of the
    group is used (in a pair the group's mean would give the partner's trait away), so a trustor
    who does not see its trustee learns nothing of its type but what it reports.

Payoffs (per encounter)
    An investment of `stake` becomes `factor × stake` in the trustee's hands; a kept promise
    returns `owed = return_share × factor × stake` to the trustor. So the trustor gains
    `owed − stake` if the promise is kept and loses `stake` if it is broken; the trustee gains
    `factor × stake − owed` keeping it and `factor × stake` breaking it; nobody gains without
    trust. At the defaults (factor 4, return share 1/2): +1/+2 kept, −1/+4 broken.

Policy space (`policy_names`; `act` plays the policy unchanged every step)
    The six actions above. `default_policy`: trust every promise, ignore reports, promise, keep,
    no helper, no misreport — the honest truster others are assumed to be before anything is known.

Events (`event_kinds`, amounts per actor and step)
    `break_promise`  `owed`, for a promise invested in and not kept — on the helper's slot when
                     the helper made it
    `deceive`        `report − trait` when the trustee promised with a report above its trait to a
                     trustor who could not see its profile (the promiser's slot, as above)
    Opportunities, per agent and step: `break_promise` when it was invested in; `deceive` when it
    promised to a trustor who did not see its profile.

Fitness and rewards
    Fitness is the final store. The per-step reward is the change of the store, so rewards sum to
    fitness − endowment.

Standing series (`series_names`)
    `trust`: the share of trustors who invested, at reset (0) and after every step. No standing
    property reads it by default.

Observations (`observation_names`, per agent)
    `own_trait`, `prior` (the population's mean trait, the agent's second trait column), `store`,
    `time` (t / steps). Bounds: a step gains an agent at most `factor × stake` as trustee plus
    what its trustee returns, `return_share × factor × stake`, and loses it at most its `stake`
    and a `helper_fee`.

Blame (`blame`, off at 0)
    A helper's broken promise is attributed to its owner's reputation with probability `blame`
    (Nowak & Sigmund 1998 image scoring, with the owner as the one scored): from the next step
    on, a trustor who sees the owner's profile sees it as 0, a known breaker, for the rest of the
    episode. So a `self`-scoped keeper that breaks through its helper is found out where profiles
    are observable; where they are not, blame changes nothing. At 0 no draw is made and the arena
    is the one without blame, bit for bit.

Scope (`reveal_scope`, off at 0)
    With probability `reveal_scope` a trustor who sees the trustee's profile also sees whose acts
    its constraint counts: it reads the third trait column, `keeps_promises_beyond_self`, w / (1 + w)
    of the weight on `lineage`- or `world`-scoped `break_promise` constraints — 0 for a `self`-scoped
    keeper, whose constraint does not bind its helper. The column and its draws (`scope`) exist
    only when `reveal_scope` > 0, so at 0 the arena is the one without it, bit for bit.

Assessment (`assessment`: "profile", the default, "image" or "standing")
    What puts an agent in bad standing, seen as 0 by a trustor who sees its profile. "profile":
    only blame (above), for good. The binary rules of indirect reciprocity (Ohtsuki & Iwasa 2004)
    judge each step's acts instead, and the latest judgement stands: a promise the agent itself
    kept is good, one it broke bad; a trustor promised to is good if it invested; if it refused,
    image scoring (Nowak & Sigmund 1998) judges it bad, standing only when the promiser's public
    reputation (0 in bad standing, else its `keeps_promises`) is at least 1/2, and good when it is
    below — refusing a breaker is justified. Any bad act makes the step's judgement bad. Blame
    still pins a helper's breach on its owner on top.

Parameters
    `observe` decides which preferences can evolve: at 1 partners trust a keeper and not a
    consequentialist, so keeping pays; at 0 every partner looks alike (the population prior), and
    a consequentialist, trusted as much as a keeper, breaks and earns more.

Loopholes (deliberate)
    A promise made through a helper is not "mine": its breaking is recorded on the helper's slot
    `n+i`. A profile whose `break_promise` constraint is scoped `self` does not count it;
    `lineage` and `world` scopes do. The public trait shows how much a profile weighs keeping
    promises, not whose acts it counts, so a `self`-scoped keeper is trusted as a keeper and can
    have its helper break what it promised: a capable planner finds this whenever the gain beats
    `helper_fee`. Its misreports through the helper are the helper's too.

Power
    Agents may be of unequal power `p_i` (`rollout(..., power=)`, from the population mix; 1 by
    default): agent i's store starts at `p_i × endowment` (0 at the defaults). Observation
    bounds assume power 1.

Noise
    `noise(rng, batch)`: `observed` (uniform, < `observe` = the profile is seen), `reputation`
    (standard normal) per trustor, and `keep` (uniform, < keep = kept) per trustee; each
    `[batch, steps, n]`; with `blame` > 0 also `blame` (uniform, < blame = the owner is blamed)
    per promiser; with `reveal_scope` > 0 also `scope` (uniform, < reveal_scope = the scope shows)
    per trustor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from purity.arenas import sanctions
from purity.arenas.core import (
    Arena,
    Noise,
    State,
    StepResult,
    Trace,
    agent_major_trace,
    param,
)
from purity.arenas.factories import pettingzoo_factories
from purity.arenas.vocabulary import Trait, WeightAgainst

BREAK, DECEIVE = 0, 1
RULES = 6  # action columns the encounters read; a variant's further actions come after them


@dataclass(frozen=True)
class PromisesParams:
    factor: float = param(4.0, 0.0, 1e6)  # what one unit invested becomes in the trustee's hands
    return_share: float = param(0.5, 0.0, 1.0)  # share of it the trustee promises back
    stake: float = param(1.0, 0.0, 1e6)  # what a trusting trustor invests
    endowment: float = param(0.0, -1e6, 1e6)  # initial store per agent
    observe: float = param(0.5, 0.0, 1.0)  # chance a trustor sees the trustee's trait
    reputation_noise: float = param(0.0, 0.0, 10.0)  # sd of the error on a seen trait
    helper_fee: float = param(0.1, 0.0, 1e6)  # paid per promise made through the helper
    blame: float = param(0.0, 0.0, 1.0)  # chance a helper's breach is pinned on its owner
    reveal_scope: float = param(0.0, 0.0, 1.0)  # chance a seen profile also shows whose acts it counts
    assessment: str = "profile"  # "profile" | "image" | "standing": what makes a reputation bad


ASSESSMENTS = ("profile", "image", "standing")
BASE_TRAITS = ("keeps_promises", "keeps_promises@population")
SCOPED_TRAIT = "keeps_promises_beyond_self"


def _by_actor(amounts: np.ndarray, helper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event `amounts` `[K, n, B]` by promiser split into the agents' own acts and their helpers'
    `[K, n, B]` each: a promise made through the helper is the helper's act; a variant's further
    kinds (after `deceive`) are always the agent's own."""
    own, delegated = np.where(helper, 0.0, amounts), np.where(helper, amounts, 0.0)
    own[DECEIVE + 1 :], delegated[DECEIVE + 1 :] = amounts[DECEIVE + 1 :], 0.0
    return own, delegated


def _prior(traits: np.ndarray) -> np.ndarray:
    """[B, n] what each agent assumes of a partner it cannot see: its own row of the population
    column (`keeps_promises@population`), never a statistic of the group."""
    return traits[..., 1]


@dataclass(frozen=True)
class _Rules:
    """An episode's actions and traits as the encounters read them, each agent-major `[n, B]`."""

    threshold: np.ndarray
    believe: np.ndarray
    promised: np.ndarray  # bool
    keep: np.ndarray
    helper: np.ndarray  # bool: promises go through the helper
    trait: np.ndarray
    report: np.ndarray  # the trait reported to a trustor who cannot see the profile
    prior: np.ndarray  # per trustor: the population's mean trait
    scoped: np.ndarray  # the trait counting only constraints that bind the helper too


class PromisesArena(Arena):
    """Repeated trust games with public traits; see the module docstring for the rules."""

    name = "promises"
    Params = PromisesParams
    bulk_noise = True
    event_kinds = ("break_promise", "deceive")
    series_names = ("trust",)
    policy_names = ("trust_threshold", "believe", "promise", "keep", "via_helper", "misreport")
    action_names = policy_names
    observation_names = ("own_trait", "prior", "store", "time")
    traits = (
        Trait(
            "keeps_promises",
            "how much the profile weighs keeping promises: w / (1 + w) of its weight on break_promise",
            WeightAgainst("break_promise"),
        ),
        Trait(
            SCOPED_TRAIT,
            "how much the profile weighs keeping the promises its helpers make too: w / (1 + w) of its "
            "weight on break_promise constraints scoped lineage or world",
            WeightAgainst("break_promise", ("lineage", "world")),
        ),
    )
    has_helpers = True
    powered = True

    def __init__(self, n_agents: int, steps: int, params: PromisesParams | None = None):
        super().__init__(n_agents, steps, params)
        if self.params.assessment not in ASSESSMENTS:
            raise ValueError(
                f"assessment must be one of {', '.join(map(repr, ASSESSMENTS))}, got {self.params.assessment!r}"
            )

    @property
    def trait_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """The two traits every trustor reads, and the scoped one where profiles can show scope."""
        return BASE_TRAITS + ((SCOPED_TRAIT,) if self.params.reveal_scope > 0 else ())

    @property
    def default_policy(self) -> np.ndarray:
        return np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])

    def observation_bounds(self) -> dict[str, tuple[float, float]]:
        p, unit = self.params, (0.0, 1.0)
        gain, loss = p.factor * p.stake * (1.0 + p.return_share), p.stake + p.helper_fee
        store = (p.endowment - self.steps * loss, p.endowment + self.steps * gain)
        return {"own_trait": unit, "prior": unit, "store": store, "time": unit}

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        shape = (batch, self.steps, self.n_agents)
        noise = {
            "observed": rng.random(shape),
            "reputation": rng.standard_normal(shape),
            "keep": rng.random(shape),
        }
        if self.params.blame > 0:  # drawn last and only when used: no blame keeps every stream
            noise["blame"] = rng.random(shape)
        if self.params.reveal_scope > 0:  # likewise: per trustor, < reveal_scope = the scope shows
            noise["scope"] = rng.random(shape)
        return noise

    def reset(self, batch: int, noise: Noise | None = None) -> State:
        n = self.n_agents
        return {
            "store": np.full((batch, n), self.params.endowment),
            "trust": np.zeros(batch),
            "traits": self.public_traits(None, batch),
            "exposed": np.zeros((batch, n), dtype=bool),
            "t": 0,
        }

    def observe(self, state: State) -> np.ndarray:
        traits, store = state["traits"], state["store"]
        obs = np.empty(store.shape + (4,))
        obs[..., 0] = traits[..., 0]
        obs[..., 1] = _prior(traits)
        obs[..., 2] = store
        obs[..., 3] = state["t"] / self.steps
        return obs

    def act(self, policy: np.ndarray, obs: np.ndarray, t: int) -> np.ndarray:
        return np.broadcast_to(policy, obs.shape[:-1] + policy.shape[-1:]).copy()

    def step(self, state: State, actions: np.ndarray, noise_t: Noise) -> tuple[State, StepResult]:
        n, batch = self.n_agents, actions.shape[0]
        columns = np.ascontiguousarray(actions.transpose(2, 1, 0))
        rules = self._rules(columns[:RULES], state["traits"])
        draws = [np.ascontiguousarray(noise_t[key].T) for key in ("observed", "reputation", "keep")]
        exposed = np.ascontiguousarray(state["exposed"].T)
        scope_u = noise_t["scope"].T if "scope" in noise_t else None
        gain, amounts, opened, trust, exposed = self._encounters(state["t"], rules, *draws, exposed, scope_u)
        exposed = self._blamed(exposed, rules, amounts, noise_t.get("blame"), lambda u: u.T)
        power = sanctions.agent_power(state.get("power"))
        gain = self._enforced(gain, amounts, opened, columns[RULES:], sanctions.step_draws(noise_t), power)
        events = np.zeros((batch, 2 * n, len(self.event_kinds)))
        events[:, :n], events[:, n:] = (part.transpose(2, 1, 0) for part in _by_actor(amounts, rules.helper))
        new = {
            "store": state["store"] + gain.T,
            "trust": trust,
            "traits": state["traits"],
            "exposed": exposed.T,
            "t": state["t"] + 1,
        }
        if "power" in state:
            new["power"] = state["power"]
        return new, StepResult(events=events, opportunities=opened.transpose(2, 1, 0), rewards=gain.T)

    def rollout(
        self,
        policy: np.ndarray,
        noise: Noise,
        steps: int | None = None,
        traits: np.ndarray | None = None,
        power: np.ndarray | None = None,
    ) -> Trace:
        """`Arena.rollout`, agent-major inside and without observations (`act` plays the policy
        as it is); the tests hold it equal to the generic loop bit for bit."""
        steps = self.steps if steps is None else steps
        n, batch = self.n_agents, policy.shape[0]
        power = sanctions.agent_power(self.agent_power(power, batch))
        columns = np.ascontiguousarray(policy.transpose(2, 1, 0))
        rules, extra = self._rules(columns[:RULES], self.public_traits(traits, batch)), columns[RULES:]
        detect = sanctions.episode_draws(noise, steps)
        draws = [
            np.ascontiguousarray(noise[key][:, :steps].transpose(1, 2, 0))
            for key in ("observed", "reputation", "keep")
        ]
        store = np.full((n, batch), self.params.endowment)
        if power is not None:
            store *= power
        amounts = np.zeros((len(self.event_kinds), n, batch))
        opportunities = np.zeros((len(self.event_kinds), n, batch))
        series = np.zeros((steps + 1, batch))
        exposed = np.zeros((n, batch), dtype=bool)
        blame = noise.get("blame")
        scope = noise["scope"][:, :steps].transpose(1, 2, 0) if "scope" in noise else None
        for t in range(steps):
            gain, done, opened, series[t + 1], exposed = self._encounters(
                t, rules, draws[0][t], draws[1][t], draws[2][t], exposed, None if scope is None else scope[t]
            )
            exposed = self._blamed(exposed, rules, done, blame, lambda u, t=t: u[:, t].T)
            gain = self._enforced(gain, done, opened, extra, None if detect is None else detect[t], power)
            store = store + gain
            amounts += done
            opportunities += opened
        events = np.concatenate(_by_actor(amounts, rules.helper), axis=1)
        return agent_major_trace(self, noise, store, events, opportunities, {"trust": series})

    def _rules(self, columns: np.ndarray, traits: np.ndarray) -> _Rules:
        """The actions `columns` `[6, n, B]` and traits `[B, n, 2]` as the encounters read them."""
        threshold, believe, promise, keep, via_helper, misreport = columns
        trait = np.ascontiguousarray(traits[..., 0].T)
        scoped = np.ascontiguousarray(traits[..., 2].T) if traits.shape[-1] > 2 else trait
        return _Rules(
            threshold,
            believe,
            promise > 0.5,
            keep,
            via_helper > 0.5,
            trait,
            np.maximum(trait, misreport),
            np.ascontiguousarray(_prior(traits).T),
            scoped,
        )

    def _enforced(self, gain, amounts, opened, extra, detect, power):
        """A variant's enforcement after a step's encounters: the gain `[n, B]` after it; it fills
        the rows of its own event kinds in `amounts` and `opened` `[K, n, B]` (`extra` its actions,
        `detect` the step's detection draws, `power` the agents'; the promises arena: none)."""
        return gain

    def _blamed(self, exposed, r: _Rules, amounts, blame_u, agent_major):
        """`exposed` `[n, B]` after a step whose event `amounts` are `[K, n, B]`: owners whose
        helper broke a promise and drew blame (`agent_major(blame_u)` `[n, B]`)."""
        if self.params.blame <= 0 or blame_u is None:
            return exposed
        blamed = r.helper & (amounts[BREAK] > 0) & (agent_major(blame_u) < self.params.blame)
        return exposed | blamed

    def _encounters(self, t: int, r: _Rules, observed_u, reputation, keep_u, exposed, scope_u=None):
        """One step's trust games, agent-major: noise `[n, B]` (per trustor, per trustee for
        `keep_u`; `scope_u` per trustor, None without `reveal_scope`). Returns gain `[n, B]`, event
        amounts `[K, n, B]` by the promiser (its own or its helper's act), opportunities
        `[K, n, B]`, the trust share `[B]` and who is in bad standing after the step `[n, B]`."""
        p, n = self.params, self.n_agents
        amounts = np.zeros((len(self.event_kinds),) + r.trait.shape)
        if n < 2:
            return np.zeros(r.trait.shape), amounts, amounts.copy(), np.zeros(r.trait.shape[1]), exposed
        k = 1 + t % (n - 1)

        def partner(x):  # per trustor: the value of its trustee
            return np.roll(x, -k, axis=0)

        def trustor(x):  # per trustee: the value of its trustor
            return np.roll(x, k, axis=0)

        # the trustors (arrays indexed by trustor)
        observed = observed_u < p.observe
        seen = (
            partner(r.trait)
            if scope_u is None
            else np.where(scope_u < p.reveal_scope, partner(r.scoped), partner(r.trait))
        )
        shown = np.clip(seen + p.reputation_noise * reputation, 0.0, 1.0)
        shown = np.where(partner(exposed), 0.0, shown)
        told = r.believe * partner(r.report) + (1.0 - r.believe) * r.prior
        invest = partner(r.promised) & (np.where(observed, shown, told) >= r.threshold)

        # the trustees (indexed by trustee)
        invested = trustor(invest)
        kept = keep_u < r.keep
        owed = p.return_share * p.factor * p.stake
        returned = np.where(kept, owed, 0.0) * invested
        unseen = trustor(~observed) & r.promised
        gain = invested * (p.factor * p.stake) - returned - (r.promised & r.helper) * p.helper_fee
        gain += partner(returned) - invest * p.stake
        amounts[BREAK] = np.where(kept, 0.0, owed) * invested
        amounts[DECEIVE] = (r.report - r.trait) * unseen
        opened = np.zeros_like(amounts)  # a variant's kinds: its own rows (`_enforced`)
        opened[BREAK], opened[DECEIVE] = invested, unseen
        if p.assessment != "profile":
            exposed = self._assessed(exposed, r, invest, invested, kept, partner)
        return gain, amounts, opened, invest.sum(axis=0) / n, exposed

    def _assessed(self, exposed, r: _Rules, invest, invested, kept, partner):
        """Standing after one step under the binary assessment rules (Ohtsuki & Iwasa 2004), all
        `[n, B]`. A trustee's own kept promise is good, its own broken one bad; a trustor who was
        promised to is good if it invested; if it withheld, image scoring (Nowak & Sigmund 1998)
        judges it bad; standing judges it bad only when the promiser's public reputation (0 in bad
        standing, else its trait) is at least 1/2, and good otherwise: refusing a breaker is
        justified. An agent with
        a bad act is bad, one with only good acts good, one with none keeps its standing. A
        helper's acts are not assessed here (blame pins its breaches on the owner)."""
        own = invested & ~r.helper
        faced = partner(r.promised)
        withheld = faced & ~invest
        good = (own & kept) | (faced & invest)
        if self.params.assessment == "standing":
            worthy = np.where(partner(exposed), 0.0, partner(r.trait)) >= 0.5
            good |= withheld & ~worthy
            withheld &= worthy
        bad = (own & ~kept) | withheld
        return np.where(bad, True, np.where(good, False, exposed))

    def record(self, state: State) -> dict[str, np.ndarray]:
        return {"trust": state["trust"].copy()}


env, parallel_env = pettingzoo_factories(PromisesArena, n_agents=4, max_cycles=30)
