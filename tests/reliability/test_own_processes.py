"""`kill_own` signals a process only when the ownership check, asked after pinning it, holds."""

import subprocess
import sys

from own_processes import kill_own


def _child() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_kills_an_owned_process_and_spares_one_that_is_not():
    spared, killed = _child(), _child()
    try:
        assert not kill_own(spared.pid, lambda pid: False)
        assert spared.poll() is None  # still running: the check said it is not ours
        assert kill_own(killed.pid, lambda pid: pid == killed.pid)
        assert killed.wait(timeout=10) == -9
    finally:
        for process in (spared, killed):
            if process.poll() is None:
                process.kill()  # started by this test
            process.wait()
