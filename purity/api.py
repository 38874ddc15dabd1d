"""The notebook API: run an experiment and read run directories from Python.

`purity.run` is `purity run` without the shell: it runs in this process by default (a notebook
rarely wants a Ray instance for a small run), writes the same run directory and report, and
returns the loaded result. `purity.load` reads any directory a command wrote. Everything heavy is
imported when called, so `import purity` stays instant.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purity.reports.load import Replicates, Run
    from purity.reports.sweep_load import Sweep
    from purity.tournament.config import Experiment

__all__ = ["load", "run"]


def run(
    experiment: str | Path | Experiment,
    *,
    out: str | Path = "runs",
    workers: int | None = 0,
    address: str | None = None,
    seed: int | None = None,
    force: bool = False,
    progress: bool = False,
    report: bool = True,
) -> Run | Replicates:
    """Run an experiment (a file, or an `Experiment` from `purity.tournament.config.load`) into
    `out/<name>` and return it loaded: a `Run`, or `Replicates` for `[experiment] seeds = K > 1`.

    workers=0 (the default) computes in this process; workers=N starts a private local Ray
    instance with N CPUs, workers=None one CPU each; `address` joins a Ray cluster (workers is then
    ignored). `seed` overrides the experiment's seed; `force` replaces an existing run directory;
    `progress` draws the progress bar on stderr; `report` writes report.md and report.html as
    `purity run` does. Bad input raises `purity.inputs.InputError` naming the file and field.
    """
    from purity.tournament import config, runner

    if isinstance(experiment, str | Path):
        experiment = config.load(experiment, seed=seed)
    elif seed is not None:
        experiment = dataclasses.replace(experiment, seed=seed)
    if address is not None:
        workers = None
    run_dir = runner.run(
        experiment,
        Path(out),
        workers=workers,
        address=address,
        force=force,
        progress=progress,
        finish=_write_report if report else None,
    )
    return load(run_dir)


def _write_report(run_dir: Path) -> None:
    import purity.reports as reports

    reports.report(run_dir, "html")


def load(path: str | Path) -> Run | Replicates | Sweep:
    """Read the run, seed-replicates or sweep directory at `path` (whichever it holds).

    A `Run` has the manifest and the polars frames `agents`, `episodes`, `lineage` (and `drift`,
    the neutral-drift twin); `purity.reports.metrics` turns it into tidy tables and `purity.plot`
    into figures. Raises `purity.reports.ReportError` naming the file for anything else.
    """
    from purity.reports import load_any

    return load_any(path)
