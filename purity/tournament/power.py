"""Power before spending compute: `purity power EXPERIMENT`.

From the experiment's drift null alone (`null.py`, no arena), for every process term: where one
run's end share falls without selection (the drift band, and how often the term dies out), and
how many seeds a verdict needs to detect an end share moved by a given effect from drift's, at
this N and number of generations, with the correction over the experiment's terms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from purity.agents.preferences import term_universe, with_scope_variants
from purity.statistics import ALPHA, POWER, required_replicates, seeds_needed, shift_for
from purity.tournament import null
from purity.tournament.config import Experiment

EFFECTS = (0.05, 0.1, 0.2, 0.3)
MAX_SEEDS = 200


@dataclass(frozen=True)
class TermPower:
    term: str
    label: str
    start: float  # carrier share at generation 0
    mean: float  # mean end share under drift
    low: float  # 95% band of one run's end share under drift
    high: float
    extinct: float  # share of drift runs in which nobody carries the term at the end
    declines: tuple[int | None, ...]  # seeds to detect a mean end share lower by each effect
    spreads: tuple[int | None, ...]  # … higher (None: more than MAX_SEEDS; 0: no share moves that far)


@dataclass(frozen=True)
class Power:
    name: str
    population: int
    generations: int
    rule: str
    replicates: int
    seconds: float
    alpha: float
    power: float
    effects: tuple[float, ...]
    terms: tuple[TermPower, ...]
    reflects: bool = False  # reflection moves terms too: the drift null leaves that out
    tests: int = 0  # the largest corrected family of a report: forces × terms (`null.verdict_tests`)
    fixed: int = 0  # the experiment's `null_replicates` (0: sized as the runner sizes them)

    def null_replicates(self, seeds: int) -> int:
        """Drift replicates a report over `seeds` seeds needs: enough for Holm over its largest
        family (the forces × terms of "moved most by"), so neither family is refused."""
        return required_replicates(max(self.tests, len(self.terms)), seeds, self.alpha)


def _labels(experiment: Experiment) -> dict[str, str]:
    terms = term_universe([entry.profile for entry in experiment.mix])
    return {term.key: term.label for term in with_scope_variants(terms)}


def power(
    experiment: Experiment,
    effects: tuple[float, ...] = EFFECTS,
    alpha: float = ALPHA,
    target: float = POWER,
    replicates: int = 4000,
) -> Power:
    """The drift band and the seeds needed per term and effect, from `replicates` drift replicates."""
    began = time.perf_counter()
    spec = null.spec(experiment)
    draws = null.simulate(spec, replicates, experiment.seed)
    seconds = time.perf_counter() - began
    labels, tests = _labels(experiment), len(spec.keys)
    family = null.verdict_tests(experiment, tests)

    def recorded(seeds: int) -> int:  # the replicates a run over `seeds` seeds records
        return experiment.null_replicates or null.replicates_for(family, seeds)  # as the runner sizes them

    rows = []
    for t, key in enumerate(spec.keys):
        end = draws.end[:, t]
        low, high = np.quantile(end, [0.025, 0.975])

        def need(effect: float, end=end) -> int | None:
            if shift_for(end, effect) is None:
                return 0
            return seeds_needed(
                end, effect, tests, alpha, target, MAX_SEEDS, experiment.seed, replicates=recorded
            )

        rows.append(
            TermPower(
                term=key,
                label=labels.get(key, key),
                start=float(draws.start[0, t]),
                mean=float(end.mean()),
                low=float(low),
                high=float(high),
                extinct=float(np.mean(end == 0)),
                declines=tuple(need(-e) for e in effects),
                spreads=tuple(need(e) for e in effects),
            )
        )
    return Power(
        experiment.name,
        experiment.population,
        experiment.generations,
        experiment.selection.kind,
        replicates,
        seconds,
        alpha,
        target,
        tuple(effects),
        tuple(rows),
        bool(experiment.reflection.modes),
        family,
        experiment.null_replicates,
    )


def _seeds(k: int | None) -> str:
    return f">{MAX_SEEDS}" if k is None else "–" if k == 0 else str(k)


def describe(result: Power) -> str:
    """The table `purity power` prints."""
    head = (
        f"{result.name}: N = {result.population}, {result.generations} generations, {result.rule}; "
        f"{result.replicates} drift replicates in {result.seconds:.1f} s\n"
        f"seeds needed to detect a mean end share lower/higher than drift's by each effect, with power "
        f"{result.power:g} at α = {result.alpha:g} (Holm over {len(result.terms)} terms; "
        "–: no share can move that far)\n"
    )
    width = max([len(t.label) for t in result.terms] + [4])
    cols = "  ".join(f"{e:>9g}" for e in result.effects)
    lines = [f"{'term':<{width}}  start  drift mean  95% drift band  extinct   effect {cols}"]
    for t in result.terms:
        need = "  ".join(f"{_seeds(d) + '/' + _seeds(s):>9}" for d, s in zip(t.declines, t.spreads))
        lines.append(
            f"{t.label:<{width}}  {t.start:5.3f}  {t.mean:10.3f}  [{t.low:.3f}, {t.high:.3f}]  "
            f"{t.extinct:7.3f}  seeds  {need}"
        )
    per_seed = result.null_replicates(1)
    family = max(result.tests, len(result.terms))
    tail = (
        f"\na report over K seeds needs at least K × {per_seed} drift replicates "
        f"(2/(1 + M) must reach α/{family}, its largest family of tests, with M disjoint K-seed means)"
    )
    if result.fixed:
        most = result.fixed // required_replicates(len(result.terms), 1, result.alpha)
        tail += (
            f"\nthis experiment fixes null_replicates = {result.fixed}: its end shares can be tested "
            f"over at most {most} seeds (>{MAX_SEEDS} above may mean beyond that)"
        )
    if result.reflects:
        tail += (
            "\nthis experiment reflects: its agents also change what they carry without selection, "
            "which the drift null leaves out; its verdicts need the mechanism null (full runs, see "
            "docs/inference.md)"
        )
    return head + "\n".join(lines) + tail
