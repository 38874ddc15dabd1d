"""How a sweep uses the machine: whether Ray pays at all, and how small runs are packed into tasks.

Ray pays only when the work it spreads saves more than it costs to start. Left to choose (no
`--workers`, no `--address`), a sweep runs its first run in this process, times it, and scales that
time by `weight` to the runs left. Ray's wall time is then about `RAY_START + left / (W × E)` against
`left` in this process (W idle CPUs, E the parallel efficiency measured on them), so Ray starts
only when `left × (1 − 1 / (W × E)) > RAY_START`: never on one CPU or a busy machine, and on two
idle ones only for more than about 18 s of work left (BENCHMARKS.md, "Sweeps"). The runs' tables
are the same either way.

Small runs travel to Ray in packs, so a sweep of many tiny runs does not pay a task's round trip
and scheduling per run; a pack is a few runs, so the workers still share the work out evenly.
"""

from __future__ import annotations

import os
import time
from typing import Callable

RAY_START = 6.0  # s: a private local Ray's start and stop on 2 cores (measured 3.5–18 s, quiet 5–6)
EFFICIENCY = 0.75  # parallel efficiency of a sweep on 2 local workers, Ray's processes included
PACKS_PER_WORKER = 4  # enough packs that a worker finishing one finds the next waiting
MAX_PACK = 8  # runs in one task at most: a pack's files travel back in one result


def weight(experiment) -> int:
    """A run's work in agent-steps played (planning and reflection scale it alike across one sweep's
    runs unless the grid changes them; the estimate is only as good as that)."""
    arena = experiment.arena
    copies = experiment.seeds * (2 if experiment.neutral_drift else 1)
    return max(1, copies * experiment.population * experiment.generations * arena.episodes * arena.steps)


def ray_pays(seconds_left: float, cpus: int, load: float = 1.0) -> bool:
    """Whether `seconds_left` of in-process work ends sooner on Ray, start-up included (module
    docstring). Ray can only spread work over idle CPUs: with the machine's load `load` (this
    sweep's own process counting 1; `Elsewhere`), W = `cpus − load + 1`, between 1 and `cpus`. A busy
    machine therefore keeps the sweep in this process, where Ray's own processes would only add
    to the queue (BENCHMARKS.md: 2 workers took 1.4× the in-process time under load 30–45)."""
    usable = min(float(cpus), max(1.0, cpus - load + 1.0))
    return seconds_left * (1.0 - 1.0 / (usable * EFFICIENCY)) > RAY_START


def machine_busy() -> float | None:
    """CPU seconds every process of the machine has used since boot (/proc/stat's busy jiffies), or
    None where there is no /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":  # user nice system idle iowait irq softirq steal
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def reading() -> tuple[float | None, float, float]:
    """(the machine's busy CPU seconds, this process's CPU seconds, wall seconds), now."""
    return machine_busy(), time.process_time(), time.perf_counter()


class Elsewhere:
    """The load of the machine's other processes while this one works (from its creation to
    `load()`): the machine's busy CPU seconds over the interval less this process's own, per
    second of wall time, plus one for this process — in the load average's units, as `ray_pays`
    takes it. The 1-minute load average itself still holds the last minute's jobs (a sweep just
    finished keeps it near 2 on two CPUs), so a sweep measures its first run instead; where there
    is no /proc/stat, the load average it is."""

    def __init__(self, read: Callable[[], tuple[float | None, float, float]] = reading):
        self._read = read
        self._start = read()

    def load(self) -> float:
        (busy0, own0, wall0), (busy, own, wall) = self._start, self._read()
        if busy is None or busy0 is None or wall <= wall0:
            return os.getloadavg()[0]
        return max(0.0, (busy - busy0) - (own - own0)) / (wall - wall0) + 1.0


def pack_size(runs: int, workers: int) -> int:
    """Runs per task for `runs` small runs over `workers` workers: 1 until there are more runs than
    `PACKS_PER_WORKER` tasks per worker, at most `MAX_PACK`."""
    return max(1, min(MAX_PACK, runs // (PACKS_PER_WORKER * max(workers, 1))))


def packs(items: list, workers: int) -> list[list]:
    """`items` cut into consecutive packs of `pack_size` (the last may be smaller)."""
    size = pack_size(len(items), workers)
    return [items[i : i + size] for i in range(0, len(items), size)]
