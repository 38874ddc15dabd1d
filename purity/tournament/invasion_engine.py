"""Invasions run by the engine itself, beside the birth–death chain of `invasion`.

The chain is exact for its own assumptions: a well-mixed population in which every agent earns the
expected payoff of its type against a hypergeometric group, with each type's policy fixed when the
mutant is rare, and (Moran) fitness recomputed after every birth. The engine plays one realised
group per agent (`play = "groups"`), on a graph or assortatively, planners replan every
generation, and a Moran generation's N births all use the fitness of that generation's play. `engine_estimate` runs the experiment as it
is, starting from one mutant among N − 1 residents with mutation off, until one profile holds
every slot, and counts how often the mutant's does.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from purity.tournament import record
from purity.tournament.config import Experiment
from purity.tournament.mutation import MutationSpec

ENGINE_SEED_OFFSET = 7_919  # engine repeats use seeds seed + offset + k, apart from the chain's
_SCRATCH = Path("/dev/shm")  # memory-backed where there is one: each repeat writes a whole run


@dataclass(frozen=True)
class EngineEstimate:
    """Invasions run by the engine itself: its matching, play and deciders, mutation off."""

    repeats: int
    fixations: int  # the mutant's profile took every slot
    losses: int  # the resident's did
    generations: int  # the cap: a repeat still mixed then is undecided
    low: float  # Wilson 95% interval of fixations / decided
    high: float

    @property
    def decided(self) -> int:
        return self.fixations + self.losses

    @property
    def estimate(self) -> float:
        return self.fixations / self.decided if self.decided else math.nan


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def chain_assumptions(
    experiment: Experiment, resident: int, mutant: int, frequency_dependent: bool = True
) -> tuple[str, ...]:
    """The chain's assumptions this experiment breaks, in words (empty: the chain is its process).
    `frequency_dependent`: whether a type's payoff depends on how many mutants there are."""
    matching, reasons = experiment.matching, []
    if experiment.selection.kind in ("moran", "moran_db") and frequency_dependent:
        reasons.append(
            "the chain recomputes fitness after every birth, the engine once per generation of N births"
        )
    if matching.kind == "graph":
        reasons.append("the chain is well mixed, the engine plays and replaces on a graph")
    if matching.kind == "assortative":
        reasons.append(f"the chain is well mixed, the engine matches assortatively (σ = {matching.sigma:g})")
    if matching.play == "groups" and experiment.arena.group_size < experiment.population:
        reasons.append(
            "the chain pays every agent its type's expected payoff, the engine the payoff of its one group"
        )
    if any(experiment.mix[e].decider != "fixed" for e in (resident, mutant)):
        reasons.append(
            "the chain fixes each type's policy when the mutant is rare, the engine's deciders change it"
        )
    if experiment.reflection.modes:
        reasons.append("agents reflect and change during the invasion")
    return tuple(reasons)


def invasion_experiment(experiment: Experiment, resident: int, mutant: int, generations: int) -> Experiment:
    """One mutant (slot 0) among N − 1 residents, mutation off, stopping at fixation."""
    n = experiment.population
    mix = (
        dataclasses.replace(experiment.mix[mutant], share=1 / n),
        dataclasses.replace(experiment.mix[resident], share=(n - 1) / n),
    )
    return dataclasses.replace(
        experiment,
        name="invasion",
        mix=mix,
        mutation=MutationSpec(rate=0.0),
        stop_at_fixation=True,
        generations=generations,
        neutral_drift=False,
        nulls=(),  # an invasion trial counts fixations; it needs no null
        seeds=1,
    )


def _winner(run_dir: Path) -> int | None:
    """0 if the mutant's profile holds every slot at the end, 1 if the resident's, None if mixed."""
    manifest = json.loads((run_dir / record.MANIFEST).read_text(encoding="utf-8"))
    if "stopped" not in manifest:
        return None
    last = manifest["stopped"]["generation"]
    entries = pl.read_parquet(run_dir / "agents" / f"gen={last}" / "part-0.parquet", columns=["entry"])[
        "entry"
    ]
    return int(entries[0])


def engine_estimate(
    experiment: Experiment, resident: int, mutant: int, repeats: int, pool, generations: int | None = None
) -> EngineEstimate:
    """`repeats` invasions run by the engine (in `pool`), each from its own seed, each to fixation
    or `generations` (default max(200, 20 N)). Every run is written to a scratch folder and read
    back as a report would, then deleted."""
    from purity.tournament import runner  # the runner imports this package's siblings

    cap = generations or max(200, 20 * experiment.population)
    base = invasion_experiment(experiment, resident, mutant, cap)
    outcome = {0: 0, 1: 0}
    with tempfile.TemporaryDirectory(
        prefix="purity-invade-", dir=_SCRATCH if _SCRATCH.is_dir() else None
    ) as scratch:
        for k in range(repeats):
            trial = dataclasses.replace(
                base, seed=experiment.seed + ENGINE_SEED_OFFSET + k, name=f"invasion-{k}"
            )
            run_dir = runner.run(trial, Path(scratch), pool=pool, progress=False)
            winner = _winner(run_dir)
            shutil.rmtree(run_dir)
            if winner is not None:
                outcome[winner] += 1
    decided = outcome[0] + outcome[1]
    low, high = wilson(outcome[0], decided) if decided else (math.nan, math.nan)
    return EngineEstimate(repeats, outcome[0], outcome[1], cap, low, high)
