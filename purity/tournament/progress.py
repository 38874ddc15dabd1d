"""A progress bar for long work: generations done, agents per second and time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def say(text: str, enabled: bool = True, stream: TextIO | None = None) -> None:
    """One line of what comes next, on a terminal only: after the bar reaches its end, the nulls
    and the report take seconds more, which read like a hang without it. Logs are left as they
    are (they get a line at least every `Progress.QUIET` seconds of a run's own work)."""
    stream = stream or sys.stderr
    if enabled and stream.isatty():
        stream.write(text + "\n")
        stream.flush()


class Progress:
    """Redraws one line on a terminal; elsewhere (CI, logs) prints a line every ~10% of the work
    and, while work goes on, at least every `QUIET` seconds (see `tick`)."""

    QUIET = 10.0

    def __init__(
        self,
        total: int,
        label: str,
        unit_per_step: int,
        stream: TextIO | None = None,
        enabled: bool = True,
        unit: str = "agents",
    ):
        self.total, self.label, self.unit_per_step, self.unit = total, label, unit_per_step, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0
        self._every = max(1, total // 10)
        self._printed = self.start

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.done * self.unit_per_step / elapsed if elapsed > 0 else 0.0
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        width = 24
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (width - filled)
        return (
            f"{self.label} [{bar}] gen {self.done}/{self.total}  {rate:,.0f} {self.unit}/s  ETA {_clock(eta)}"
        )

    def finish(self) -> None:
        """End early (e.g. at fixation): the bar shows where it stopped."""
        if self.enabled:
            self.stream.write("\n" if self.tty else self.line() + " (stopped early)\n")
            self.stream.flush()

    def advance(self, steps: int = 1) -> None:
        if steps <= 0:
            return
        before = self.done
        self.done += steps
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.line())
            if self.done >= self.total:
                self.stream.write("\n")
        elif self.done // self._every > before // self._every or self.done >= self.total:
            self._print()
        else:
            self.tick()
        self.stream.flush()

    def tick(self) -> None:
        """Off a terminal, print the line if none was printed for `QUIET` seconds: a log that
        stays silent for minutes reads like a hung process."""
        if self.enabled and not self.tty and self.done < self.total:
            if time.perf_counter() - self._printed >= self.QUIET:
                self._print()

    def _print(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()
        self._printed = time.perf_counter()
