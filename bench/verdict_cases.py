"""Experiments whose verdict is known, for the false- and true-positive checks of verdicts.

- `neutral`: a consequentialist and a decoy that behave identically (the decoy also carries a
  constraint on `deceive`, an event neither the commons nor the principal arena emits), half
  each, at the shipped selection intensity. Any verdict other than "indistinguishable from drift"
  (or its extinct/fixed variants) is a false positive.
- `loyal`: loyal workers (a constraint on seizing power) against consequentialists in the
  principal arena, half each: loyal should be called "declined beyond drift".

Used by tests/tournament/test_verdicts.py (slow) and bench/verdicts.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import polars as pl

import purity.reports as reports
from purity.reports import inference, nulls
from purity.tournament import config, null, runner

DECOY = """
[profile]
name = "decoy"
description = "A consequentialist with a constraint on deceiving, which this arena never offers."

[[outcome]]
measure = "own_wealth"
weight = 1.0

[[constraint]]
event = "deceive"
scope = "self"
weight = 3.0
"""

ARENAS = {
    "commons": """
[arena]
name = "commons"
episodes = 4
group_size = 4
steps = 50
""",
    "principal": """
[arena]
name = "principal"
episodes = 2
group_size = 4
steps = 20
detection_threshold = 0.1
max_seize = 0.3
""",
}

EXPERIMENT = """
[experiment]
name = "{name}"
seed = {seed}
seeds = {seeds}
generations = {generations}
population = {population}
survival_threshold = 0.1
{arena}
[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = {{ candidates = {candidates}, rollouts = {rollouts} }}

[[population.mix]]
profile = "{other}"
share = 0.5
capability = {{ candidates = {candidates}, rollouts = {rollouts} }}

[selection]
kind = "moran"
intensity = {intensity}

[mutation]
rate = 0.1
sigma = 0.2
"""

# The shipped settings of each arena's experiment (experiments/default.toml, principal.toml).
SHIPPED = {
    "commons": dict(generations=60, population=128, candidates=16, rollouts=4, intensity=0.05),
    "principal": dict(generations=60, population=64, candidates=32, rollouts=1, intensity=0.05),
}


def write(folder: Path, kind: str, arena: str, seeds: int, seed: int, **changes) -> Path:
    """An experiment file (`kind` neutral or loyal) in `folder`, with the decoy profile beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "decoy.toml").write_text(textwrap.dedent(DECOY))
    settings = {**SHIPPED[arena], **changes}
    text = EXPERIMENT.format(
        name=f"{kind}-{arena}-{seed}",
        seed=seed,
        seeds=seeds,
        arena=ARENAS[arena],
        other="decoy.toml" if kind == "neutral" else "loyal",
        **settings,
    )
    path = folder / f"{kind}-{arena}-{seed}.toml"
    path.write_text(text)
    return path


def run(path: Path, out: Path, tests: int = 1, replicates: int | None = None) -> Path:
    """Run the experiment in this process and write its cheap nulls; the run directory."""
    experiment = config.load(path)
    run_dir = runner.run(experiment, out, workers=0, progress=False, force=True)
    null.record_nulls(run_dir, experiment, tests=tests, replicates=replicates)
    return run_dir


def seed_verdicts(run_dir: Path, experiment_path: Path, kind: str, replicates: int = 2000) -> pl.DataFrame:
    """Each seed's own verdict (one seed against its null): the drift null is the set's; the
    shuffle null is simulated from that seed's own realised fitness."""
    experiment = config.load(experiment_path)
    spec = null.spec(experiment)
    drift = nulls.load_null(run_dir, "drift")
    rows = []
    for seed_dir in null.run_dirs(run_dir):
        observed = nulls.run_figures(reports.load(seed_dir))
        if kind == "drift":
            reference = drift
        else:
            fitness = null.recorded_fitness([seed_dir])
            reference = null.simulate(spec, replicates, experiment.seed, "shuffle", fitness).figures()
        rows.append(inference.verdicts(observed, reference).with_columns(run=pl.lit(seed_dir.name)))
    return pl.concat(rows)


def pooled_verdict(run_dir: Path, kind: str) -> pl.DataFrame:
    """The verdict over all seeds of the set against the set's null of `kind`."""
    observed = nulls.seed_figures(reports.load_replicates(run_dir).runs)
    return inference.verdicts(observed, nulls.load_null(run_dir, kind))


CLAIMS = (inference.SPREAD, inference.DECLINED)
