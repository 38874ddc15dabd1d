"""The `purity` command. Heavy imports (Ray, polars) happen only inside the commands that need
them, so `purity --help` and `purity validate` answer at once. Bad input is one line on stderr
and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
from pathlib import Path

from purity import __version__
from purity.tournament.console import (
    announce,
    configure_logging,
    interrupted,
    log,
    logging_options,
    reader_gone,
    storage_full,
)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purity",
        description="Run multi-agent tournaments that test whether non-consequentialist preferences survive.",
        epilog="Run `purity COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"purity {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    sweep = commands.add_parser(
        "sweep",
        help="run a grid of experiments × seeds under one sweep directory",
        description="Expand a sweep file's [grid] over experiment keys × seeds into runs, run them concurrently (each also spread over Ray workers), and write sweep.parquet: one row per run with its settings, status and summary figures.",
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
        help="Ray worker processes; 0 runs in this process (default: one per CPU)",
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

    invade = commands.add_parser(
        "invade",
        help="fixation probability of one mutant in a resident population",
        description="Put a single mutant of profile MUTANT into a population of RESIDENT (both from the experiment's mix) and repeat the invasion; report the fixation probability with a 95%% interval against the neutral 1/N, and the exact value of the birth-death chain where it exists.",
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
    invade.add_argument("--seed", type=int, default=None, help="root seed, overriding [experiment] seed")
    invade.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes for the repeats; 0 runs in this process (default: in this process, or the cluster given by --address)",
    )
    invade.add_argument("--address", default=None, help="join an existing Ray cluster at HOST:PORT")
    invade.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")

    commands.add_parser(
        "profiles",
        help="list the profile library, one line each",
        description="List the profiles that ship with purity; refer to them by name in [[population.mix]].",
    )
    for command in commands.choices.values():
        logging_options(command)
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    """The options `purity run` and `purity train` share."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="parent folder of run directories (default: runs); the run goes to OUT/<experiment name>",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray worker processes; 0 runs in this process, even if RAY_ADDRESS is set (default: one per CPU on a private local Ray instance)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="join an existing Ray cluster at HOST:PORT (default: $RAY_ADDRESS, else a private local instance)",
    )
    parser.add_argument("--seed", type=int, default=None, help="root seed, overriding [experiment] seed")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing run directory of the same name"
    )


def _run(args) -> int:
    from purity.tournament import config, runner

    address = _run_address(args)
    if args.resume is not None:
        given = [
            name
            for name, value in (
                ("an experiment file", args.experiment),
                ("--out", args.out),
                ("--seed", args.seed),
                ("--force", args.force or None),
            )
            if value is not None
        ]
        if given:
            raise _bad(
                "--resume",
                "a run directory alone (its experiment, seed and place come from the run)",
                f"{given[0]} too",
            )
        args.target = args.resume
        if runner.is_complete(args.resume):
            md, html = (args.resume / "report.md", args.resume / "report.html")
            if not (md.is_file() and html.is_file()):
                md, html = _report(args.resume)
            print(
                f"run directory: {args.resume} is already complete; nothing to resume\nreport: {html}\n        {md}"
            )
            return 0
        announce(args, args.resume, address)
        run_dir = runner.resume(args.resume, args.workers, address, not args.quiet, finish=_report)
    else:
        if args.experiment is None:
            from purity.arenas.inputs import InputError

            raise InputError("command line", "experiment", "an experiment file (or --resume RUN_DIR)")
        experiment = config.load(args.experiment, seed=args.seed)
        args.target = announce(args, (args.out or Path("runs")) / experiment.name, address)
        run_dir = runner.run(
            experiment,
            args.out or Path("runs"),
            args.workers,
            address,
            args.force,
            not args.quiet,
            finish=_report,
        )
    md, html = run_dir / "report.md", run_dir / "report.html"
    print(f"run directory: {run_dir}\nreport: {html}\n        {md}")
    return 0


def _run_address(args) -> str | None:
    """Check the options `purity run` and `purity train` share; the Ray address to join."""
    if args.workers is not None and args.workers < 0:
        raise _bad("--workers", "a number ≥ 0", args.workers)
    if args.seed is not None and args.seed < 0:
        raise _bad("--seed", "a number ≥ 0", args.seed)
    if args.workers == 0 and args.address:
        raise _bad("--workers", "no --workers 0 with --address (0 runs in this process)", 0)
    return args.address or os.environ.get("RAY_ADDRESS")


def _train(args) -> int:
    from purity.tournament import config, runner
    from purity.tournament.training import training_alone

    address = _run_address(args)
    experiment = training_alone(config.load(args.experiment, seed=args.seed))
    args.target = announce(args, (args.out or Path("runs")) / experiment.name, address)
    run_dir = runner.run(
        experiment,
        args.out or Path("runs"),
        args.workers,
        address,
        args.force,
        not args.quiet,
        finish=_report,
    )
    print(f"run directory: {run_dir}\nreport: {run_dir / 'report.html'}\n        {run_dir / 'report.md'}")
    if not runner.is_complete(run_dir):
        print(f"resume: purity run --resume {shlex.quote(str(run_dir))}")
    return 0


def _sweep(args) -> int:
    from purity.tournament.sweep import run_sweep

    if (args.sweep is None) == (args.resume is None):
        raise _bad("sweep", "either a sweep file or --resume SWEEP_DIR", None)
    if args.resume is not None and args.force:
        raise _bad("--force", "no --force with --resume (resuming keeps what is there)", True)
    if args.workers is not None and args.workers < 0:
        raise _bad("--workers", "a number ≥ 0", args.workers)
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise _bad("--max-concurrent", "a number ≥ 1", args.max_concurrent)
    address = None if args.workers == 0 else args.address or os.environ.get("RAY_ADDRESS")
    target = args.resume if args.resume is not None else args.out
    if args.resume is not None:
        args.target = args.resume
    else:
        from purity.tournament.sweep import load

        args.target = args.out / load(args.sweep).name
    log.info("sweep directory %s", args.target)
    sweep_dir = run_sweep(
        args.sweep,
        target,
        args.workers,
        address,
        args.max_concurrent,
        args.force,
        not args.quiet,
        resume=args.resume is not None,
    )
    import json

    runs = json.loads((sweep_dir / "sweep.json").read_text())["runs"]
    failed = [name for name, record in runs.items() if record["status"] != "complete"]
    md, html = _report(sweep_dir)
    print(
        f"sweep directory: {sweep_dir}\nsweep table: {sweep_dir / 'sweep.parquet'}\nreport: {html}\n        {md}\nruns: {len(runs) - len(failed)} complete, {len(failed)} failed"
    )
    for name in failed:
        print(f"  {name}: {runs[name]['error']}")
    return 1 if failed else 0


def _invade(args) -> int:
    import json

    from purity.tournament import config
    from purity.tournament.executor import executor
    from purity.tournament.invasion import RULES, invade

    if args.repeats < 1:
        raise _bad("--repeats", "a number ≥ 1", args.repeats)
    if args.episodes < 1:
        raise _bad("--episodes", "a number ≥ 1", args.episodes)
    experiment = config.load(args.experiment, seed=args.seed)
    names = [entry.profile.name for entry in experiment.mix]
    for option, name in (("--resident", args.resident), ("--mutant", args.mutant)):
        if name not in names:
            raise _bad(option, "a profile of the experiment's mix (" + ", ".join(names) + ")", name)
    if experiment.selection.kind not in RULES or experiment.matching.kind != "well_mixed":
        from purity.arenas.inputs import InputError

        raise InputError(
            args.experiment,
            "selection.kind",
            f"one of {', '.join(RULES)} with well-mixed matching for an invasion",
            experiment.selection.kind,
        )
    workers = args.workers if args.workers is not None else (None if args.address else 0)
    pool = executor(workers, args.address)
    try:
        result = invade(experiment, args.resident, args.mutant, args.repeats, pool, args.episodes)
    finally:
        pool.close()
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    exact = "–" if result.exact is None else f"{result.exact:.4g}"
    basis = (
        "the chain's exact value against 1/N"
        if result.exact is not None
        else f"the interval {'excludes' if result.verdict != 'neutral' else 'contains'} 1/N"
    )
    print(
        f"{result.mutant} invading {result.resident} (N = {result.population}, {experiment.selection.kind}, w = {experiment.selection.intensity})\n"
        f"  fixation probability {result.estimate:.4f}  95% interval [{result.low:.4f}, {result.high:.4f}]  ({result.fixations}/{result.repeats})\n"
        f"  neutral 1/N          {result.neutral:.4f}\n"
        f"  exact (chain)        {exact}\n"
        f"  verdict              {result.verdict} ({basis})"
    )
    return 0


def _report(path: Path, run_reports: bool = False):
    import purity.reports as reports

    return reports.report(path, "html", run_reports=run_reports)


def _bad(field: str, expected: str, got):
    from purity.arenas.inputs import InputError

    return InputError("command line", field, expected, got)


def main(argv: list[str] | None = None) -> int:
    """The `purity` command; returns its exit code."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that went away shows here when the output was short
        return code
    except BrokenPipeError:
        return reader_gone()


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args)
    args.target = None  # the run or sweep directory the command writes, once known (for messages)
    from purity.arenas.inputs import InputError

    try:
        from purity.reports.load import ReportError
    except ImportError:  # pragma: no cover - reports always ships with purity
        ReportError = InputError
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "train":
            return _train(args)
        if args.command == "invade":
            return _invade(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "report":
            if args.format == "json":
                import purity.reports as reports
                from purity.reports.export import dumps

                print(dumps(reports.report(args.run_dir, "json")))
            else:
                md, html = _report(args.run_dir, args.run_reports)
                print(f"report: {html}\n        {md}")
        elif args.command == "validate":
            from purity.tournament.config import validate

            print(f"{args.file}: valid {validate(args.file)}")
        elif args.command == "profiles":
            from purity.agents import profiles

            for name, path in profiles.library().items():
                profile = profiles.load(path)
                print(f"{name:<18} {profile.description}")
        return 0
    except (InputError, ReportError) as error:
        print(f"purity: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(interrupted(args), file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # main's: the reader of stdout went away
    except OSError as error:
        if error.errno not in _STORAGE_ERRORS:
            raise
        print(storage_full(args, error), file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
