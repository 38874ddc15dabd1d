"""Invasion analysis: can a single mutant of profile B take over a resident population of A?

Each type plays the policy its decider picks when the mutant is rare (a planner plans once in a
group of residents), so the process is a birth–death chain in the number i of mutants:

1. a payoff table π_M(i, k), π_R(i, k) for groups holding k mutants in a population holding i,
   from batched arena rollouts. Groups differ only by k unless the arena reads a trait of the
   whole population (`<trait>@population`, e.g. the promises arena's prior for a partner it cannot
   see): that one is the trait's mean over i mutants and N − i residents, so the table is played
   once per distinct value, and every state i of the chain reads its own row;
2. expected payoffs in a population with i mutants: well-mixed groups of size n are drawn without
   replacement, so the others in a focal agent's group are hypergeometric (for pairs this is
   exactly the all-pairs payoff of Nowak et al. 2004, f_i = (a(i−1) + b(N−i))/(N−1));
3. fitness by the experiment's selection intensity and rule, then the transition probabilities of
   the experiment's update rule (Moran birth–death or death–birth, Wright–Fisher);
4. R independent repeats of the chain from one mutant to absorption, simulated in lockstep, in
   chunks that are Ray tasks; and, for the Moran rules, the chain's exact fixation probability
   ρ = 1 / (1 + Σ_k Π_{j≤k} T⁻(j)/T⁺(j)) beside the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import comb

import numpy as np

from purity.agents.deciders import PlanGroup, plan
from purity.agents.preferences import term_universe, traits
from purity.arenas import core
from purity.tournament.config import Experiment
from purity.tournament.invasion_engine import EngineEstimate, chain_assumptions, engine_estimate, wilson
from purity.tournament.play import stream
from purity.tournament.selection import fitness_from_payoff

CHUNK = 256  # repeats per task: streams are keyed by chunk, so results ignore the worker count
RULES = ("moran", "moran_db", "wright_fisher")


@dataclass(frozen=True)
class Chain:
    """The birth–death chain of one invasion: everything a repeat needs."""

    population: int
    rule: str
    up: np.ndarray  # [N+1] T⁺(i): probability that the mutant count rises
    down: np.ndarray  # [N+1] T⁻(i)
    mutant_share: np.ndarray  # [N+1] Wright–Fisher: chance a child has a mutant parent


@dataclass(frozen=True)
class Invasion:
    resident: str
    mutant: str
    population: int
    repeats: int
    fixations: int
    estimate: float
    low: float  # Wilson 95% interval
    high: float
    neutral: float
    exact: float | None
    mean_steps: float  # mean events (Moran) or generations (Wright–Fisher) to absorption
    payoff_mutant: list[float]  # π_M(1, k), k = 1..n mutants in a group, the mutant being rare
    payoff_resident: list[float]  # π_R(1, k), k = 0..n−1
    idealised: tuple[str, ...] = ()  # the chain's assumptions the experiment does not meet
    engine: EngineEstimate | None = None  # repeats of the real engine, when asked for

    @property
    def verdict(self) -> str:
        """From the chain's exact value where the chain is the experiment's process; from the
        engine's interval where the chain is only idealised and the engine was run; else from the
        chain's Wilson interval."""
        if self.idealised and self.engine is not None and self.engine.decided:
            return _against(self.engine.low, self.engine.high, self.neutral)
        if self.exact is not None:
            if math.isclose(self.exact, self.neutral, rel_tol=1e-9, abs_tol=1e-15):
                return "neutral"
            return "favoured" if self.exact > self.neutral else "disfavoured"
        return _against(self.low, self.high, self.neutral)

    @property
    def basis(self) -> str:
        """What the verdict rests on, in words."""
        if self.idealised and self.engine is not None and self.engine.decided:
            return f"the engine's interval {'contains' if self.verdict == 'neutral' else 'excludes'} 1/N"
        if self.exact is not None:
            return "the chain's exact value against 1/N" + (" (idealised)" if self.idealised else "")
        return f"the interval {'excludes' if self.verdict != 'neutral' else 'contains'} 1/N"

    def as_dict(self) -> dict:
        out = {**self.__dict__, "verdict": self.verdict, "idealised": list(self.idealised)}
        out["engine"] = None if self.engine is None else {**self.engine.__dict__}
        return out


def _against(low: float, high: float, neutral: float) -> str:
    if low > neutral:
        return "favoured"
    if high < neutral:
        return "disfavoured"
    return "neutral"


def _policies(experiment: Experiment, arena, resident: int, mutant: int) -> np.ndarray:
    """[2, P]: the policy of the resident and of the mutant when the mutant is rare."""
    mix = experiment.mix
    terms = term_universe([entry.profile for entry in mix])
    rows = {e: mix[e].profile.weight_row(terms) for e in (resident, mutant)}
    n = experiment.arena.group_size
    chosen = []
    for index, entry in enumerate((resident, mutant)):
        if mix[entry].decider != "planner":
            chosen.append(np.asarray(mix[entry].policy))
            continue
        weights = np.repeat(rows[resident][None], n, axis=0)
        weights[0] = rows[entry]
        policies = np.repeat(np.asarray(mix[resident].policy, float)[None], n, axis=0)
        policies[0] = mix[entry].policy
        shown = traits(
            weights,
            terms,
            arena.trait_names,
            population=_population(rows[resident], rows[mutant], experiment.population, 1),
        )
        power = np.full(n, mix[resident].power)
        power[0] = mix[entry].power
        unequal = None if (power == 1).all() else power
        group = PlanGroup(weights, policies, ((0, mix[entry].capability),), np.eye(n), shown, unequal)
        chosen.append(plan(arena, terms, [group], [stream(experiment.seed, 0, index, "plan")])[0][0])
    return np.stack(chosen)


def _population(resident: np.ndarray, mutant: np.ndarray, size: int, mutants: int) -> np.ndarray:
    """[N, T] the weights of a population of `size` holding `mutants` mutants."""
    return np.stack([mutant] * mutants + [resident] * (size - mutants))


def payoff_table(
    experiment: Experiment, resident: int, mutant: int, episodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """π_M[i, k] (k mutants, k ≥ 1) and π_R[i, k] (k < n): mean episode payoffs in a group of n
    when i of the N agents of the population are mutants, `[N+1, n+1]` each.

    The rows differ only where the arena reads a trait of the population (`<trait>@population`):
    each distinct set of traits is played once, all in one batch on the same noise, so an arena
    without such traits plays n + 1 groups, as if the table had no i."""
    arena = experiment.arena.build()
    n, big_n = arena.n_agents, experiment.population
    policy = _policies(experiment, arena, resident, mutant)
    mix = experiment.mix
    terms = term_universe([entry.profile for entry in mix])
    rows = np.stack([mix[e].profile.weight_row(terms) for e in (resident, mutant)])
    distinct: dict[bytes, int] = {}
    shown_by_state, which = [], np.zeros(big_n + 1, dtype=int)
    for i in range(big_n + 1):  # [2, F]: the resident's and the mutant's traits in state i
        shown = traits(rows, terms, arena.trait_names, population=_population(rows[0], rows[1], big_n, i))
        which[i] = distinct.setdefault(shown.tobytes(), len(distinct))
        if which[i] == len(shown_by_state):
            shown_by_state.append(shown)
    states = len(shown_by_state)
    is_mutant = np.arange(n)[None, :] < np.arange(n + 1)[:, None]  # [n+1, n]: row k has k mutants
    policies = np.tile(np.repeat(policy[is_mutant.astype(int)], episodes, axis=0), (states, 1, 1))
    shown = np.concatenate([np.repeat(s[is_mutant.astype(int)], episodes, axis=0) for s in shown_by_state])
    noise = arena.noise(stream(experiment.seed, 0, 0, "play"), episodes)
    noise = {
        key: np.tile(value, (states * (n + 1),) + (1,) * (value.ndim - 1)) for key, value in noise.items()
    }
    power = np.array([mix[resident].power, mix[mutant].power])
    power = (
        None
        if (power == 1).all()
        else np.tile(np.repeat(power[is_mutant.astype(int)], episodes, axis=0), (states, 1))
    )
    rolled = core.play(arena, policies, noise, traits=shown, power=power)
    fitness = rolled.fitness.reshape(states, n + 1, episodes, n).mean(axis=2)
    with np.errstate(invalid="ignore"):
        pay_m = np.where(is_mutant, fitness, 0).sum(axis=2) / np.maximum(is_mutant.sum(axis=1), 1)
        pay_r = np.where(~is_mutant, fitness, 0).sum(axis=2) / np.maximum((~is_mutant).sum(axis=1), 1)
    return pay_m[which], pay_r[which]


def chain(experiment: Experiment, pay_m: np.ndarray, pay_r: np.ndarray) -> Chain:
    """Transition probabilities of the mutant count under the experiment's update rule; the
    payoff tables are `[N+1, n+1]` (state i reads row i) or `[n+1]` (the same in every state)."""
    big_n, n = experiment.population, pay_m.shape[-1] - 1
    pay_m, pay_r = (np.broadcast_to(pay, (big_n + 1, n + 1)) for pay in (pay_m, pay_r))
    rule = experiment.selection.kind
    if rule not in RULES:
        raise ValueError(f"invasion needs [selection] kind in {RULES}, not {rule!r}")
    i = np.arange(big_n + 1)

    def expected(pay: np.ndarray, own_mutant: bool) -> np.ndarray:
        """Mean payoff of a focal agent when i of N are mutants (hypergeometric partners)."""
        out = np.zeros(big_n + 1)
        for count in range(big_n + 1):
            mutants_left = count - 1 if own_mutant else count
            others = big_n - 1
            if mutants_left < 0 or mutants_left > others:
                continue
            weights = [comb(mutants_left, j) * comb(others - mutants_left, n - 1 - j) for j in range(n)]
            total = sum(weights)
            k = np.arange(n) + (1 if own_mutant else 0)  # mutants in the focal agent's group
            out[count] = sum(w * pay[count, kk] for w, kk in zip(weights, k)) / total
        return out

    f_m, f_r = _fitness(expected(pay_m, True), expected(pay_r, False), experiment)
    mass_m, mass_r = i * f_m, (big_n - i) * f_r
    total = mass_m + mass_r
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, mass_m / total, i / big_n)
        if rule == "moran":  # birth ∝ fitness among all, death uniform among all
            up, down = share * (big_n - i) / big_n, (1 - share) * i / big_n
        elif rule == "moran_db":  # death uniform, birth ∝ fitness among the others
            up = (
                (big_n - i) / big_n * np.where(mass_m + mass_r - f_r > 0, mass_m / (mass_m + mass_r - f_r), 0)
            )
            down = i / big_n * np.where(mass_m + mass_r - f_m > 0, mass_r / (mass_m + mass_r - f_m), 0)
        else:
            up = down = np.zeros(big_n + 1)
    up[[0, big_n]] = down[[0, big_n]] = 0.0
    return Chain(big_n, rule, np.nan_to_num(up), np.nan_to_num(down), np.nan_to_num(share))


def _fitness(pay_m: np.ndarray, pay_r: np.ndarray, experiment: Experiment) -> tuple[np.ndarray, np.ndarray]:
    """Fitness of a mutant and of a resident in every state where that type exists.

    Both types go through one call, so an exponential rule divides them by one constant: only
    ratios between types matter, and normalising each type by its own maximum would change them.
    """
    big_n = len(pay_m) - 1
    valid_m, valid_r = np.arange(big_n + 1) >= 1, np.arange(big_n + 1) < big_n
    fitness = fitness_from_payoff(
        np.concatenate([pay_m[valid_m], pay_r[valid_r]]),
        experiment.selection.intensity,
        experiment.selection.rule,
    )
    f_m, f_r = np.zeros(big_n + 1), np.zeros(big_n + 1)
    f_m[valid_m], f_r[valid_r] = fitness[:big_n], fitness[big_n:]
    return f_m, f_r


def exact_fixation(c: Chain) -> float | None:
    """ρ from one mutant for the Moran chains (Nowak et al. 2004); None for Wright–Fisher."""
    if c.rule == "wright_fisher":
        return None
    with np.errstate(divide="ignore", over="ignore"):  # a state the mutant cannot leave upward: ρ = 0
        ratios = c.down[1 : c.population] / c.up[1 : c.population]
        return float(1.0 / (1.0 + np.cumprod(ratios).sum()))


def simulate(c: Chain, seed: int, chunk: int, repeats: int) -> tuple[int, int]:
    """(fixations, total steps) of `repeats` chains from one mutant, run in lockstep.

    Moran chains skip the steps where nothing changes: a move is up with probability
    T⁺/(T⁺ + T⁻), and the number of idle events before it is geometric, so step counts are
    those of the real process.
    """
    rng = stream(seed, 0, chunk, "select")
    state = np.ones(repeats, dtype=np.int64)
    steps = np.zeros(repeats, dtype=np.int64)
    live = np.ones(repeats, dtype=bool)
    while live.any():
        i = state[live]
        if c.rule == "wright_fisher":
            state[live] = rng.binomial(c.population, c.mutant_share[i])
            steps[live] += 1
        else:
            move = c.up[i] + c.down[i]
            steps[live] += rng.geometric(move)
            state[live] = i + np.where(rng.random(len(i)) * move < c.up[i], 1, -1)
        live = (state > 0) & (state < c.population)
    return int((state == c.population).sum()), int(steps.sum())


def _simulate_task(shared: tuple[Chain, int], item: tuple[int, int]) -> tuple[int, int]:
    c, seed = shared
    chunk, repeats = item
    return simulate(c, seed, chunk, repeats)


def invade(
    experiment: Experiment,
    resident: str,
    mutant: str,
    repeats: int,
    pool,
    episodes: int = 256,
    engine_repeats: int = 0,
) -> Invasion:
    """The chain's estimate and exact value, and with `engine_repeats` > 0 as many invasions run
    by the engine itself (`invasion_engine`), whose interval decides where the chain is idealised."""
    names = [entry.profile.name for entry in experiment.mix]
    a, b = names.index(resident), names.index(mutant)
    pay_m, pay_r = payoff_table(experiment, a, b, episodes)
    c = chain(experiment, pay_m, pay_r)
    chunks = [(k, min(CHUNK, repeats - k * CHUNK)) for k in range(math.ceil(repeats / CHUNK))]
    results = pool.map(_simulate_task, (c, experiment.seed), chunks)
    fixations = sum(r[0] for r in results)
    steps = sum(r[1] for r in results)
    low, high = wilson(fixations, repeats)
    return Invasion(
        resident=resident,
        mutant=mutant,
        population=experiment.population,
        repeats=repeats,
        fixations=fixations,
        estimate=fixations / repeats,
        low=low,
        high=high,
        neutral=1 / experiment.population,
        exact=exact_fixation(c),
        mean_steps=steps / repeats,
        payoff_mutant=pay_m[1, 1:].tolist(),
        payoff_resident=pay_r[1, :-1].tolist(),
        idealised=chain_assumptions(experiment, a, b, _frequency_dependent(pay_m, pay_r)),
        engine=engine_estimate(experiment, a, b, engine_repeats, pool) if engine_repeats > 0 else None,
    )


def _frequency_dependent(pay_m: np.ndarray, pay_r: np.ndarray) -> bool:
    """Whether either type's payoff depends on the mutants in its group or the population."""
    mutant, resident = pay_m[1:, 1:], pay_r[:-1, :-1]
    return bool(
        np.ptp(mutant) > 1e-12 * max(1.0, np.abs(mutant).max())
        or np.ptp(resident) > 1e-12 * max(1.0, np.abs(resident).max())
    )


def describe(result: Invasion, experiment: Experiment) -> str:
    """The text `purity invade` prints: the chain's estimate and exact value (labelled idealised
    where its assumptions do not hold), the engine's estimate beside them, and the verdict."""
    exact = "–" if result.exact is None else f"{result.exact:.4g}"
    if result.idealised:
        exact += " (idealised: " + "; ".join(result.idealised) + ")"
    lines = [
        f"{result.mutant} invading {result.resident} (N = {result.population}, {experiment.selection.kind}, w = {experiment.selection.intensity})",
        f"  fixation probability {result.estimate:.4f}  95% interval [{result.low:.4f}, {result.high:.4f}]  ({result.fixations}/{result.repeats}, the chain simulated)",
    ]
    engine = result.engine
    if engine is not None:
        undecided = engine.repeats - engine.decided
        lines.append(
            f"  engine estimate      {engine.estimate:.4f}  95% interval [{engine.low:.4f}, {engine.high:.4f}]  "
            f"({engine.fixations}/{engine.decided} runs of the engine, {undecided} undecided after {engine.generations} generations)"
        )
    lines += [
        f"  neutral 1/N          {result.neutral:.4f}",
        f"  exact (chain)        {exact}",
        f"  verdict              {result.verdict} ({result.basis})",
    ]
    return "\n".join(lines)
