"""The `purity` command. Heavy imports (Ray, polars) happen only inside the commands that need
them, so `purity --help` and `purity validate` answer at once. Bad input is one line on stderr
and exit code 2, never a traceback.
"""

from __future__ import annotations

import errno
import os
import shlex
import sys
from pathlib import Path

from purity.tournament.arguments import parser
from purity.tournament.console import (
    CtrlC,
    announce,
    configure_logging,
    interrupted,
    log,
    reader_gone,
    storage_full,
)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


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
            from purity.inputs import InputError

            raise InputError("command line", "experiment", "an experiment file (or --resume RUN_DIR)")
        run_dir = _start(args, config.load(args.experiment, seed=args.seed, local=not address), address)
    _print_where(run_dir)
    return 0


def _start(args, experiment, address: str | None) -> Path:
    """Run `experiment` fresh under --out, as `purity run` and `purity train` both do."""
    from purity.tournament import runner

    args.target = announce(args, (args.out or Path("runs")) / experiment.name, address)
    out = args.out or Path("runs")
    return runner.run(experiment, out, args.workers, address, args.force, not args.quiet, finish=_report)


def _print_where(run_dir: Path) -> None:
    print(f"run directory: {run_dir}\nreport: {run_dir / 'report.html'}\n        {run_dir / 'report.md'}")


MAX_SEED = 2**63 - 1  # seeds are stored as 64-bit integers in the run's tables and manifest
MAX_WORKERS = 4096
MAX_REPEATS = 10_000_000  # invasions of the birth-death chain: seconds each million


def _common(args) -> None:
    """Check the options several commands share, as carefully as the keys of a file."""
    workers = getattr(args, "workers", None)
    if workers is not None and not 0 <= workers <= MAX_WORKERS:
        raise _bad("--workers", f"a number in [0, {MAX_WORKERS}]", workers)
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise _bad("--seed", f"a number in [0, {MAX_SEED}] (2**63 − 1)", seed)
    out = getattr(args, "out", None)
    if out is not None:
        _check_out(out)


def _check_out(out: Path, option: str = "--out") -> None:
    """--out (or `option`) names a folder purity can create runs in: not a file, a device or a
    place that cannot be written (checked before any work starts)."""
    if out.exists() and not out.is_dir():
        raise _bad(option, "a folder (this is a file or a device)", str(out))
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise _bad(option, f"a folder path ({existing} is not a folder)", str(out))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _bad(option, f"a folder that can be written ({existing} cannot)", str(out))


def _run_address(args) -> str | None:
    """Check the options `purity run`, `train` and `atlas` share; the Ray address to join."""
    _common(args)
    if args.workers == 0 and args.address:
        raise _bad("--workers", "no --workers 0 with --address (0 runs in this process)", 0)
    return args.address or os.environ.get("RAY_ADDRESS")


def _train(args) -> int:
    from purity.tournament import config, runner

    address = _run_address(args)
    experiment = config.load(args.experiment, seed=args.seed, local=not address).training_alone()
    run_dir = _start(args, experiment, address)
    _print_where(run_dir)
    if not runner.is_complete(run_dir):
        print(f"resume: purity run --resume {shlex.quote(str(run_dir))}")
    return 0


def _sweep(args) -> int:
    from purity.tournament.sweep import run_sweep

    if (args.sweep is None) == (args.resume is None):
        raise _bad("sweep", "either a sweep file or --resume SWEEP_DIR", None)
    if args.resume is not None and args.force:
        raise _bad("--force", "no --force with --resume (resuming keeps what is there)", True)
    _common(args)
    if args.max_concurrent is not None and not 1 <= args.max_concurrent <= 100_000:
        raise _bad("--max-concurrent", "a number in [1, 100000]", args.max_concurrent)
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


def _atlas(args) -> int:
    from purity.reports import atlas_page
    from purity.tournament import atlas

    address = _run_address(args)
    address = None if args.workers == 0 else address  # $RAY_ADDRESS yields to --workers 0
    _check_out(args.runs, "--runs")
    args.target = atlas.folder(args.runs, args.full)
    parts = atlas.run_atlas(
        args.runs,
        full=args.full,
        workers=args.workers,
        address=address,
        resume=args.resume,
        progress=not args.quiet,
    )
    command = "purity atlas" + (" --full" if args.full else "")
    md, html = atlas_page.build(
        [(p.key, p.title, p.sweep_dir, p.sweep_file) for p in parts],
        (args.out or Path("docs")) / "atlas.md",
        command,
    )
    print(f"atlas: {args.target}\npage: {html}\n      {md}")
    return 0


def _invade(args) -> int:
    import json

    from purity.tournament import config
    from purity.tournament.executor import executor
    from purity.tournament.invasion import RULES, describe, invade

    _common(args)
    for option, value, low, high in (
        ("--repeats", args.repeats, 1, MAX_REPEATS),
        ("--episodes", args.episodes, 1, 100_000),
        ("--engine-repeats", args.engine_repeats, 0, 100_000),
    ):
        if not low <= value <= high:
            raise _bad(option, f"a number in [{low}, {high}]", value)
    experiment = config.load(args.experiment, seed=args.seed)
    names = [entry.profile.name for entry in experiment.mix]
    for option, name in (("--resident", args.resident), ("--mutant", args.mutant)):
        if name not in names:
            raise _bad(option, "a profile of the experiment's mix (" + ", ".join(names) + ")", name)
    if experiment.selection.kind not in RULES:
        from purity.inputs import InputError

        raise InputError(
            args.experiment,
            "selection.kind",
            f"one of {', '.join(RULES)} for an invasion",
            experiment.selection.kind,
        )
    workers = args.workers if args.workers is not None else (None if args.address else 0)
    pool = executor(workers, args.address)
    try:
        result = invade(
            experiment, args.resident, args.mutant, args.repeats, pool, args.episodes, args.engine_repeats
        )
    finally:
        pool.close()
    print(json.dumps(result.as_dict(), indent=2) if args.format == "json" else describe(result, experiment))
    return 0


def _power(args) -> int:
    import dataclasses
    import json

    from purity.tournament import config
    from purity.tournament.power import EFFECTS, describe, power

    effects = tuple(args.effect) if args.effect else EFFECTS
    bad_effect = next((e for e in effects if not 0 < e <= 1), None)
    for option, ok, expected, value in (
        (
            "--effect",
            bad_effect is None and len(effects) <= 100,
            "numbers in (0, 1], at most 100",
            bad_effect,
        ),
        ("--alpha", 0 < args.alpha < 1, "a number in (0, 1)", args.alpha),
        ("--power", 0 < args.power < 1, "a number in (0, 1)", args.power),
        (
            "--replicates",
            100 <= args.replicates <= 1_000_000,
            "a number ≥ 100 and ≤ 1000000",
            args.replicates,
        ),
        (
            "--seed",
            args.seed is None or 0 <= args.seed <= MAX_SEED,
            f"a number in [0, {MAX_SEED}]",
            args.seed,
        ),
    ):
        if not ok:
            raise _bad(option, expected, value)
    if args.experiment.suffix == ".toml" and args.experiment.is_file():
        from purity.inputs import load_toml

        if "sweep" in load_toml(args.experiment):
            raise _bad(
                "EXPERIMENT", "an experiment file (for a sweep, its base experiment)", str(args.experiment)
            )
    experiment = config.load(args.experiment, seed=args.seed)
    result = power(experiment, effects, args.alpha, args.power, args.replicates)
    if args.format == "json":
        print(json.dumps(dataclasses.asdict(result), indent=2))
    elif not result.terms:
        print(f"{experiment.name}: no process terms, so nothing to test")
    else:
        print(describe(result))
    return 0


def validate(path: str | Path) -> str:
    """Check a profile, an experiment or a sweep file (every run's experiment included); return a
    one-line summary of what it is."""
    from purity.agents import profiles
    from purity.inputs import InputError, load_toml
    from purity.tournament import config

    data = load_toml(path)
    if "sweep" in data:
        import tempfile

        from purity.tournament import sweep

        loaded = sweep.load(path)
        with tempfile.TemporaryDirectory() as scratch:
            sweep.materialize(loaded, Path(scratch))
        keys = len({key for point in loaded.points for key, _ in point.settings})
        return f"sweep {loaded.name!r}: {len(loaded.points)} runs over {keys} keys, base {loaded.base.name}"
    if "experiment" in data:
        experiment = config.load(path)
        return f"experiment {experiment.name!r}: {len(experiment.mix)} profiles, {experiment.population} agents, {experiment.generations} generations in {experiment.arena.name}"
    if "profile" in data:
        profile = profiles.parse(data, path)
        return f"profile {profile.name!r}: {len(profile.terms)} terms"
    raise InputError(
        path, "", "a profile ([profile] table), an experiment ([experiment] table) or a sweep ([sweep] table)"
    )


def _report(path: Path, run_reports: bool = False):
    import purity.reports as reports

    return reports.report(path, "html", run_reports=run_reports)


def _bad(field: str, expected: str, got):
    from purity.inputs import InputError

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
    args = parser().parse_args(argv)
    configure_logging(args)
    args.target = None  # the run or sweep directory the command writes, once known (for messages)
    from purity.inputs import InputError

    try:
        from purity.reports.load import ReportError
    except ImportError:  # pragma: no cover - reports always ships with purity
        ReportError = InputError
    with CtrlC() as ctrl_c:
        try:
            if args.command == "run":
                return _run(args)
            if args.command == "train":
                return _train(args)
            if args.command == "invade":
                return _invade(args)
            if args.command == "power":
                return _power(args)
            if args.command == "sweep":
                return _sweep(args)
            if args.command == "atlas":
                return _atlas(args)
            if args.command == "report":
                if args.format == "json":
                    import purity.reports as reports
                    from purity.reports.export import dumps

                    print(dumps(reports.report(args.run_dir, "json")))
                else:
                    md, html = _report(args.run_dir, args.run_reports)
                    print(f"report: {html}\n        {md}")
                    if args.run_reports:
                        written = len(list(Path(args.run_dir).glob("runs/*/report.html")))
                        print(
                            f"run reports: {written}, as {Path(args.run_dir) / 'runs' / '<run>' / 'report.html'}"
                        )
            elif args.command == "schema":
                from purity.tournament import schema

                sys.stdout.write(schema.text(args.kind))
            elif args.command == "validate":
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
        except RecursionError:
            print("purity: error: input nested too deeply to read", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as error:
            if error.errno in _STORAGE_ERRORS:
                print(storage_full(args, error), file=sys.stderr)
                return EXIT_FAILED
            where = error.filename if error.filename is not None else args.target or "purity"
            print(
                f"purity: error: {where}: expected a place purity can read and write ({error.strerror})",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        except Exception:
            if not ctrl_c.pressed:
                raise
            # Ctrl-C, turned into its own error by a library it interrupted (`CtrlC`)
            log.debug("the error raised after Ctrl-C", exc_info=True)
            print(interrupted(args), file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
