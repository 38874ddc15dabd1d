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
PROBE_SECONDS = 5.0  # for the port to accept a connection
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
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=PROBE_SECONDS).close()
    except OSError as error:
        raise InputError("--address", "address", HINT, f"{address} ({error.strerror or error})") from None
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
