"""Where tasks run: in this process (`--workers 0`) or on Ray (a private local instance by
default, an existing cluster with `--address`). Results always come back in submission order.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import purity
from purity import plugins
from purity.inputs import InputError
from purity.tournament import connect, heap


class InProcess:
    workers = 1

    def __init__(self) -> None:
        heap.keep_freed_memory()

    def map(self, fn: Callable, shared: Any, items: Sequence[Any]) -> list[Any]:
        return [fn(shared, item) for item in items]

    def close(self) -> None:
        pass


class RayExecutor:
    """Ray tasks, one per batch of groups; `shared` is put in the object store once per map."""

    def __init__(self, workers: int | None, address: str | None):
        import ray

        self.ray = ray
        heap.keep_freed_memory()  # the driver builds and writes the tables
        address = address or os.environ.get("RAY_ADDRESS")
        # Workers import the experiment's plug-ins before their first task (plugins.py).
        extra = plugins.runtime_env()
        if address:
            # Workers on other nodes get the code from here, the whole `purity` package so that
            # they import it by the same names; nothing but the declared dependencies is assumed
            # installed there.
            modules = [str(Path(purity.__file__).parent), *extra.pop("py_modules", [])]
            connect.check(address)  # a wrong address or token: one line within seconds
            try:
                ray.init(
                    address=address,
                    runtime_env={"py_modules": modules, **extra},
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise InputError(
                    "--address", "address", connect.HINT, f"{address} ({_first_line(error)})"
                ) from None
        else:
            ray.init(
                address="local",
                num_cpus=workers or os.cpu_count(),
                include_dashboard=False,
                runtime_env=extra or None,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self._remote: dict[Callable, Any] = {}
        self._refs: dict[int, tuple[Any, Any]] = {}  # id(shared) -> (shared, its object ref)
        self._lock = threading.Lock()  # runs of a sweep map from several threads at once

    def _ref(self, shared: Any) -> Any:
        with self._lock:
            known = self._refs.get(id(shared))
            if known is None or known[0] is not shared:
                if len(self._refs) > 64:  # forget finished runs' setups
                    self._refs.clear()
                known = self._refs[id(shared)] = (shared, self.ray.put(shared))
            return known[1]

    def map(self, fn: Callable, shared: Any, items: Sequence[Any]) -> list[Any]:
        with self._lock:
            # SPREAD: a generation's tasks go to different nodes of a cluster, not one busy node.
            remote = self._remote.get(fn)
            if remote is None:
                task = heap.in_worker(fn)
                remote = self._remote[fn] = self.ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(task)
        ref = self._ref(shared)
        try:
            return self.ray.get([remote.remote(ref, item) for item in items])
        except self.ray.exceptions.RayTaskError as error:
            # bad input found only on a worker (a focal policy's action outside its space): the
            # same one line as in-process, not the worker's traceback
            if isinstance(error.cause, InputError):
                raise error.cause from None
            raise

    def close(self) -> None:
        self.ray.shutdown()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def executor(workers: int | None, address: str | None):
    """`workers == 0` runs in-process; otherwise Ray (local with `workers` CPUs, or a cluster)."""
    if workers == 0:
        return InProcess()
    return RayExecutor(workers, address)
