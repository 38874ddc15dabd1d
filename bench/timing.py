"""Interleaved timing: every engine runs one measured unit per round, in turn (A, B, C, A, B, C, …,
the order rotated each round), so that a change of load on a shared machine hits all of them
alike; each unit records wall time (`time.perf_counter`) and CPU time of the whole process, all
its threads (`time.process_time`). Figures are medians over rounds."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Engine:
    """One way of playing episodes: `call()` plays `agent_steps` agent-steps (B episodes)."""

    label: str
    batch: int
    agent_steps: int
    call: Callable[[], object]


@dataclass
class Timing:
    """An engine's `calls` calls per round, and each round's wall and CPU seconds."""

    engine: Engine
    calls: int
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def rates(self, clock: str) -> list[float]:
        """Agent-steps per second of each round, by `clock` ("wall" or "cpu")."""
        work = self.engine.agent_steps * self.calls
        return [work / seconds for seconds in getattr(self, clock)]

    def rate(self, clock: str) -> float:
        return statistics.median(self.rates(clock))

    def seconds_per_call(self) -> float:
        return statistics.median(self.wall) / self.calls

    def spread(self) -> float:
        """(max − min) / median of the wall rates: how much the rounds disagreed."""
        rates = self.rates("wall")
        return (max(rates) - min(rates)) / statistics.median(rates)


def calibrate(engine: Engine, seconds: float) -> int:
    """Calls that take about `seconds` (after one warm-up call)."""
    engine.call()
    calls, took = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            engine.call()
        took = time.perf_counter() - start
        if took >= seconds / 4 or calls >= 1 << 20:
            return max(1, round(calls * seconds / took)) if took > 0 else calls
        calls *= 2


def interleave(engines: list[Engine], rounds: int, seconds: float, collect: bool = True) -> list[Timing]:
    """Time every engine for `rounds` rounds of about `seconds` each, interleaved; with `collect`,
    a full garbage collection before each, so no engine pays for another's garbage."""
    timings = [Timing(engine, calibrate(engine, seconds)) for engine in engines]
    for r in range(rounds):
        k = r % len(timings)
        for timing in timings[k:] + timings[:k]:
            if collect:
                gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(timing.calls):
                timing.engine.call()
            timing.cpu.append(time.process_time() - cpu)
            timing.wall.append(time.perf_counter() - wall)
    return timings


def machine() -> str:
    """CPU model, cores and Python, for the header of every figure."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())
