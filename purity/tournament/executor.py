"""Where tasks run: in this process (`--workers 0`) or on Ray (a private local instance by
default, an existing cluster with `--address`). Results always come back in submission order.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import purity
from purity import plugins
from purity.inputs import InputError

HINT = (
    "a running Ray cluster's head address HOST:PORT (start one with `ray start --head --port=6379`; "
    "Ray 2.60 needs the same RAY_AUTH_MODE and token on both sides, see docs/cluster.md)"
)
PROBE_SECONDS = 5.0
# the HTTP/2 client preface and an empty SETTINGS frame: what a gRPC client sends first
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


class InProcess:
    workers = 1

    def map(self, fn: Callable, shared: Any, items: Sequence[Any]) -> list[Any]:
        return [fn(shared, item) for item in items]

    def close(self) -> None:
        pass


class RayExecutor:
    """Ray tasks, one per batch of groups; `shared` is put in the object store once per map."""

    def __init__(self, workers: int | None, address: str | None):
        import ray

        self.ray = ray
        address = address or os.environ.get("RAY_ADDRESS")
        # Workers import the experiment's plug-ins before their first task (plugins.py).
        extra = plugins.runtime_env()
        if address:
            # Workers on other nodes get the code from here, the whole `purity` package so that
            # they import it by the same names; nothing but the declared dependencies is assumed
            # installed there.
            modules = [str(Path(purity.__file__).parent), *extra.pop("py_modules", [])]
            _probe(address)
            try:
                ray.init(
                    address=address,
                    runtime_env={"py_modules": modules, **extra},
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise InputError("--address", "address", HINT, f"{address} ({_first_line(error)})") from None
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
            remote = self._remote.setdefault(
                fn, self.ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(fn)
            )
        ref = self._ref(shared)
        return self.ray.get([remote.remote(ref, item) for item in items])

    def close(self) -> None:
        self.ray.shutdown()


def _probe(address: str) -> None:
    """Fail within PROBE_SECONDS, with a hint, when no gRPC server (a Ray head's GCS or Ray
    Client server) answers at `address`: `ray.init` would retry for minutes, printing warnings,
    whether nothing listens there or something else does (a web server, ssh).

    A gRPC server answers the HTTP/2 client preface with a SETTINGS frame (RFC 9113 §3.4): its
    9-byte header has type 4. With Ray's TLS on, the preface would be refused; only the
    connection is tried then."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not port.isdigit():
        return
    began = time.monotonic()
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=PROBE_SECONDS) as peer:
            if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
                return
            peer.settimeout(max(0.5, PROBE_SECONDS - (time.monotonic() - began)))
            peer.sendall(HTTP2_PREFACE)
            head = b""
            while len(head) < 9 and (chunk := peer.recv(9 - len(head))):
                head += chunk
    except OSError as error:
        raise InputError("--address", "address", HINT, f"{address} ({error.strerror or error})") from None
    if len(head) < 9 or head[3] != 4:
        raise InputError("--address", "address", HINT, f"{address} (something answers there, not Ray)")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def executor(workers: int | None, address: str | None):
    """`workers == 0` runs in-process; otherwise Ray (local with `workers` CPUs, or a cluster)."""
    if workers == 0:
        return InProcess()
    return RayExecutor(workers, address)
