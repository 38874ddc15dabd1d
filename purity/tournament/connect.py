"""Check a Ray cluster address before `ray.init` joins it, so that a wrong address or a missing
or wrong auth token is one line within seconds instead of Ray's retries.

Against a head that uses token authentication, a driver without the token gets a warning a
second for about 20 s and then an error (Ray 2.60); with `RAY_AUTH_MODE=token` and no token at
all, Ray's client aborts the process. So the check asks the head's GCS for its cluster id from a
child process, whose output is captured and which can abort alone: the same client `ray.init`
uses, with the same environment, answered in well under a second by a reachable head.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from purity.inputs import InputError

HINT = (
    "a running Ray cluster's head address HOST:PORT (start one with `ray start --head --port=6379`; "
    "Ray 2.60 needs the same RAY_AUTH_MODE and token on both sides, see docs/cluster.md)"
)
AUTH_HINT = (
    "a Ray cluster this process holds the token of (its head uses token authentication: set "
    "RAY_AUTH_MODE=token here and make the head's token available, in RAY_AUTH_TOKEN or "
    "~/.ray/auth_token; see docs/cluster.md)"
)
PROBE_SECONDS = 5.0  # for the port to accept a connection and answer like a gRPC server
# the HTTP/2 client preface and an empty SETTINGS frame: what a gRPC client sends first
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
ANSWER_SECONDS = 10.0  # for the child to import Ray and hear from the head
_ASK = """
import sys
try:
    from ray._raylet import GcsClient
except Exception as error:
    print("unknown", type(error).__name__)
    raise SystemExit(0)
try:
    GcsClient(address=sys.argv[1])
except Exception as error:
    line = (str(error).strip().splitlines() or [""])[0]
    print("auth" if type(error).__name__ == "AuthenticationError" else "error", line[:200])
else:
    print("ok")
"""


def check(address: str) -> None:
    """Raise a one-line InputError when nothing listens at `address` or its head refuses us."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or address.startswith("ray://") or not port.isdigit():
        return
    _probe(host or "127.0.0.1", int(port), address)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _ASK, address],
            capture_output=True,
            text=True,
            timeout=ANSWER_SECONDS,
            env=os.environ.copy(),
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            "--address", "address", HINT, f"{address} (no answer from a Ray head within {ANSWER_SECONDS:g} s)"
        ) from None
    answer, _, detail = done.stdout.strip().partition(" ")
    if answer in ("ok", "unknown"):  # "unknown": this Ray has no such client; ray.init decides
        return
    if answer == "auth" or "has_token" in done.stderr:
        raise InputError("--address", "address", AUTH_HINT, f"{address} ({detail or 'no token found here'})")
    raise InputError("--address", "address", HINT, f"{address} ({detail or f'exit code {done.returncode}'})")


def _probe(host: str, port: int, address: str) -> None:
    """Fail within PROBE_SECONDS when no gRPC server (a Ray head's GCS) answers there: something
    else listening (a web server, ssh) would otherwise hold the child's client until its timeout.

    A gRPC server answers the HTTP/2 client preface with a SETTINGS frame (RFC 9113 §3.4): its
    9-byte header has type 4. With Ray's TLS on, the preface would be refused; only the
    connection is tried then."""
    began = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS) as peer:
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
