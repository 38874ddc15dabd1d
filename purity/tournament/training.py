"""Training alone (`purity train`): the experiment's learners learn with selection off.

The experiment runs as it is written except that nobody is born or dies (selection `keep`), so
every generation is one training iteration of the same agents and the agents table's `policy:*`
columns are each learner's learning curve. No births means no mutation and no drift twin. The
run directory is an ordinary run's (`purity report` and `purity run --resume` work on it), named
`<experiment>-train` so it sits beside the tournament run of the same experiment.
"""

from __future__ import annotations

import dataclasses

from purity.inputs import InputError
from purity.tournament.config import Experiment, Selection


def training_alone(experiment: Experiment) -> Experiment:
    """The experiment as a pure training run; its mix must hold at least one learner."""
    if not experiment.learns:
        raise InputError(
            experiment.source,
            "population.mix.decider",
            'at least one entry with decider = "learner" (purity train trains learners)',
        )
    return dataclasses.replace(
        experiment,
        name=f"{experiment.name}-train",
        selection=Selection(kind="keep", intensity=0.0),
        neutral_drift=False,
        stop_at_fixation=False,
    )
