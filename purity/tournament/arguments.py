"""The grammar of the `purity` command: every subcommand and option with its help text.

Apart from `purity.tournament.cli`, which carries the commands out, so that each file reads as
one thing: what can be typed here, what happens there."""

from __future__ import annotations

import argparse
from pathlib import Path

from purity import __version__
from purity.tournament.console import logging_options


def parser() -> argparse.ArgumentParser:
    """Every command and option of `purity`, with its help text."""
    top = argparse.ArgumentParser(
        prog="purity",
        description="Run multi-agent tournaments that test whether non-consequentialist preferences survive.",
        epilog="Run `purity COMMAND --help` for each command's options.",
    )
    top.add_argument("--version", action="version", version=f"purity {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run an experiment and write its report",
        description="Run an experiment file: generations of match, play, select and record, then write report.md and report.html into the run directory.",
    )
    run.add_argument(
        "experiment", type=Path, nargs="?", help="experiment TOML file (see experiments/); not with --resume"
    )
    _run_options(run)
    run.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue a run directory that was cut off from its last complete generation, with the experiment it captured when it started (the tables end up those of an uninterrupted run)",
    )

    train = commands.add_parser(
        "train",
        help="train an experiment's learners alone, with a learning curve",
        description="Run an experiment's learners with selection off (no births, no deaths: every generation is one training iteration), write the run directory OUT/<name>-train with its report (learning curves: violations watched and unwatched, share detected, reward, fitness).",
    )
    train.add_argument(
        "experiment", type=Path, help="experiment TOML file with at least one learner in its mix"
    )
    _run_options(train)

    report = commands.add_parser(
        "report",
        help="write the report of a run, a seed-replicate set or a sweep",
        description="Rebuild the survival report of a run, a seed-replicate set or a sweep from its files alone: report.md and a self-contained report.html in that directory, or JSON on standard output.",
    )
    report.add_argument(
        "run_dir",
        type=Path,
        metavar="PATH",
        help="a run directory (`purity run`) or a sweep directory (`purity sweep`)",
    )
    report.add_argument(
        "--format",
        choices=("html", "json"),
        default="html",
        help="html (default: writes report.md and report.html) or json (printed)",
    )
    report.add_argument(
        "--run-reports", action="store_true", help="for a sweep: also write every run's own report"
    )

    validate = commands.add_parser(
        "validate",
        help="check a profile, experiment or sweep file without running it",
        description="Check a profile, experiment or sweep TOML file (a sweep: every run's experiment): names, types, ranges and shares. Exit 0 if valid, 2 with one message if not.",
    )
    validate.add_argument("file", type=Path, help="profile, experiment or sweep TOML file")

    _schema_parser(commands)
    _sweep_parser(commands)
    _atlas_parser(commands)
    _invade_parser(commands)
    _power_options(commands)

    commands.add_parser(
        "profiles",
        help="list the profile library, one line each",
        description="List the profiles that ship with purity; refer to them by name in [[population.mix]].",
    )
    for command in commands.choices.values():
        logging_options(command)
    return top


def _schema_parser(commands) -> None:
    """`purity schema`."""
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of experiment, profile or sweep files (for TOML editors)",
        description="Print the JSON Schema (draft 2020-12) of a kind of file, built from the code that reads it; schemas/ in the repository holds the same three.",
    )
    schema.add_argument("kind", choices=("experiment", "profile", "sweep"), help="which kind of file")


def _sweep_parser(commands) -> None:
    """`purity sweep`."""
    sweep = commands.add_parser(
        "sweep",
        help="run a grid of experiments × seeds under one sweep directory",
        description="Expand a sweep file's [grid] over experiment keys × seeds into runs, run them concurrently (each also spread over Ray workers), and write sweep.parquet: one row per run with its settings and status, and the sweep report.",
    )
    sweep.add_argument(
        "sweep",
        type=Path,
        nargs="?",
        help="sweep TOML file ([sweep] name, experiment, seeds; [grid] key = [values])",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        default=Path("sweeps"),
        help="parent folder of sweep directories (default: sweeps)",
    )
    sweep.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes; 0 runs in this process (default: this process, or one per CPU once the first run shows Ray pays)",
    )
    sweep.add_argument(
        "--address",
        default=None,
        help="join an existing Ray cluster at HOST:PORT (default: $RAY_ADDRESS, else a private local instance)",
    )
    sweep.add_argument(
        "--max-concurrent",
        type=int,
        default=None,
        help="runs in flight at once (default: [sweep] max_concurrent, else twice the cluster's CPU count)",
    )
    sweep.add_argument(
        "--force", action="store_true", help="replace an existing sweep directory of the same name"
    )
    sweep.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="SWEEP_DIR",
        help="finish the unfinished runs of an existing sweep directory",
    )


def _atlas_parser(commands) -> None:
    """`purity atlas`."""
    atlas = commands.add_parser(
        "atlas",
        help="run the atlas's sweeps (experiments/atlas/) and write docs/atlas.md",
        description="Run the four sweeps of experiments/atlas/ (external competition, its singleton case, internal competition, training) under RUNS/atlas (RUNS/atlas-full with --full), continuing any that exist, then write the atlas page: atlas.md and atlas.html in docs/ or in --out.",
    )
    atlas.add_argument(
        "--out", type=Path, default=None, help="folder of the page atlas.md and atlas.html (default: docs)"
    )
    atlas.add_argument(
        "--runs",
        type=Path,
        default=Path("sweeps"),
        help="parent folder of the atlas's sweeps (default: sweeps)",
    )
    atlas.add_argument(
        "--full",
        action="store_true",
        help="full size: every run's seeds ×4 and generations ×2, and a base's explicit null replicates ×4 (for a cluster: --address)",
    )
    atlas.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes; 0 runs in this process (default: this process, or one per CPU once the first run shows Ray pays)",
    )
    atlas.add_argument(
        "--address",
        default=None,
        help="join an existing Ray cluster at HOST:PORT (default: $RAY_ADDRESS, else a private local instance)",
    )
    atlas.add_argument(
        "--resume", action="store_true", help="continue an interrupted atlas (a rerun continues it too)"
    )


def _invade_parser(commands) -> None:
    """`purity invade`."""
    invade = commands.add_parser(
        "invade",
        help="fixation probability of one mutant in a resident population",
        description="Put a single mutant of profile MUTANT into a population of RESIDENT (both from the experiment's mix) and repeat the invasion; report the fixation probability with a 95% interval against the neutral 1/N, and the exact value of the birth-death chain where it exists.",
    )
    invade.add_argument(
        "experiment",
        type=Path,
        help="experiment TOML file: arena, population size, selection rule and intensity",
    )
    invade.add_argument(
        "--resident", required=True, help="profile name of the residents (from the experiment's mix)"
    )
    invade.add_argument(
        "--mutant", required=True, help="profile name of the mutant (from the experiment's mix)"
    )
    invade.add_argument("--repeats", type=int, default=1000, help="independent invasions (default 1000)")
    invade.add_argument(
        "--episodes",
        type=int,
        default=256,
        help="episodes per group composition in the payoff table (default 256)",
    )
    invade.add_argument(
        "--engine-repeats",
        type=int,
        default=100,
        help="invasions run by the engine itself (its matching, play and deciders; mutation off), printed beside the chain (default 100; 0: none)",
    )
    invade.add_argument("--seed", type=int, default=None, help="root seed, overriding [experiment] seed")
    invade.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes for the repeats; 0 runs in this process (default: in this process, or the cluster given by --address)",
    )
    invade.add_argument("--address", default=None, help="join an existing Ray cluster at HOST:PORT")
    invade.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")


def _power_options(commands) -> None:
    """`purity power EXPERIMENT`: drift bands and the seeds an effect needs, before running."""
    power = commands.add_parser(
        "power",
        help="drift bands and the seeds an effect needs, before running",
        description="Simulate the experiment's neutral-drift null (no arena, seconds) and print, per process term, the 95% band of one run's end share under drift, how often the term dies out, and how many seeds a verdict needs to detect a mean end share moved by each effect at this N and number of generations.",
    )
    power.add_argument("experiment", type=Path, help="experiment TOML file")
    power.add_argument(
        "--effect",
        type=float,
        action="append",
        default=None,
        help="a move of the mean end share to detect, in (0, 1]; repeat for several (default 0.05, 0.1, 0.2, 0.3)",
    )
    power.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate (default 0.05)")
    power.add_argument("--power", type=float, default=0.8, help="chance to detect the effect (default 0.8)")
    power.add_argument("--replicates", type=int, default=4000, help="drift replicates (default 4000)")
    power.add_argument("--seed", type=int, default=None, help="root seed, overriding [experiment] seed")
    power.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")


def _run_options(command: argparse.ArgumentParser) -> None:
    """The options `purity run` and `purity train` share."""
    command.add_argument(
        "--out",
        type=Path,
        default=None,
        help="parent folder of run directories (default: runs); the run goes to OUT/<experiment name>",
    )
    command.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes; 0 runs in this process, even if RAY_ADDRESS is set (default: one per CPU on a private local Ray instance)",
    )
    command.add_argument(
        "--address",
        default=None,
        help="join an existing Ray cluster at HOST:PORT (default: $RAY_ADDRESS, else a private local instance)",
    )
    command.add_argument("--seed", type=int, default=None, help="root seed, overriding [experiment] seed")
    command.add_argument(
        "--force", action="store_true", help="replace an existing run directory of the same name"
    )
