"""What the `purity` command tells its user besides its results: the level of the `purity` log
(--verbose, --quiet), where a run goes, how to pick up a command that was cut off (with the real
directory, never a placeholder), and a quiet end when the reader of its output goes away.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from purity.tournament import stop

EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE
log = logging.getLogger("purity")


def logging_options(parser: argparse.ArgumentParser) -> None:
    """Every command takes --verbose and --quiet: the level of the log on stderr."""
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "-v", "--verbose", action="store_true", help="log what purity does, step by step (debug level)"
    )
    level.add_argument("-q", "--quiet", action="store_true", help="no progress bar, and log errors only")


def configure_logging(args) -> None:
    """One handler on the `purity` logger, at the level the options chose; the progress bar is
    separate (it is not a log). Called once per `main`, so repeated calls in one process (tests)
    leave one handler writing to the current stderr."""
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    for handler in list(log.handlers):
        if getattr(handler, "_purity_cli", False):
            log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("purity: %(levelname)s: %(message)s"))
    handler._purity_cli = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def announce(args, target: Path, address: str | None) -> Path:
    """Log where a run goes and where it computes; return the run directory."""
    where = (
        "in this process"
        if args.workers == 0
        else f"on the Ray cluster at {address}"
        if address
        else f"on a private local Ray instance ({args.workers or os.cpu_count()} CPUs)"
    )
    log.info("run directory %s; computing %s", target, where)
    return target


def reader_gone() -> int:
    """`purity report … | head`: the reader closed the pipe. Stop quietly, as command-line tools
    do, with stdout pointed at /dev/null so the flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (captured in a test): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def _again(args) -> str | None:
    """The command that picks up a cut-off command where it stopped, naming the real directory;
    None when there is none (nothing resumable was written, or the command writes no run)."""
    target = getattr(args, "target", None)
    if args.command == "report":
        return f"purity report {shlex.quote(str(args.run_dir))}"
    if target is None:
        return None
    marker, command = ("sweep.json", "sweep") if args.command == "sweep" else ("manifest.json", "run")
    if not (Path(target) / marker).is_file():
        return None
    return f"purity {command} --resume {shlex.quote(str(target))}"


class CtrlC:
    """Ctrl-C, remembered while a command runs. Python raises KeyboardInterrupt wherever the main
    thread is; inside a callback from compiled code (polars builds a frame's column types
    through Python) the library may swallow it and raise an error of its own (seen: a TypeError
    naming an "unprintable" data type). The command then still ends as interrupted, with exit
    code 130, not with that error, whose traceback `--verbose` logs (a library that swallowed
    the key and went on would have the next error, whatever it is, end so too). Only the
    default handler is replaced, only in the main thread, and it is put back on exit."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        self.pressed = True
        stop.STOP.set()  # runs stop at their next generation, even where a library ate the key
        signal.default_int_handler(signum, frame)

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if self.pressed:
            stop.STOP.clear()


def interrupted(args) -> str:
    """The line for Ctrl-C: how to continue, when something resumable is on disk."""
    again = None if args.command == "report" else _again(args)
    if again is not None:
        return f"purity: interrupted; completed generations are on disk ({again} continues)"
    if args.command != "report" and getattr(args, "target", None) is not None:
        return f"purity: interrupted before {args.target} held a complete generation; nothing to resume"
    return "purity: interrupted"


def storage_full(args, error: OSError) -> str:
    """The line for a full (or read-only, or failing) disk: what was kept and how to go on."""
    where = f" writing {error.filename}" if error.filename else ""
    again = _again(args)
    if again is None:
        return f"purity: error: {error.strerror}{where}"
    if args.command == "report":
        return f"purity: error: {error.strerror}{where}; free space, then {again}"
    return f"purity: error: {error.strerror}{where}; every complete generation is on disk: free space, then {again}"
