"""Real reports in a real browser: a single run, a replicates set and a sweep, made with the CLI.

Each page is opened in headless Chromium driven over the DevTools protocol (through
`--remote-debugging-pipe`: no websocket library, no port). The test checks that every section id
is there and every in-page link resolves, that relative links point at files that exist, that the
page logs no console error, throws nothing and fetches nothing but itself (the HTML is
self-contained), that charts are laid out and the page does not overflow sideways — and it writes a
full-page screenshot, report.png, next to each report.html.

Chromium is the Debian package `chromium` (`make test` tries to install it when it runs as root);
without it the test skips.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import purity.reports as reports

CHROMIUM = os.environ.get("PURITY_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).absolute().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SHOT_HEIGHT = 12000

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
    reason=f"headless Chromium not found at {CHROMIUM}: install the Debian package `chromium` "
    "(`make test` tries when run as root) or set PURITY_CHROMIUM",
)

TINY = """
[experiment]
name = "{name}"
seed = 5
generations = 8
population = 12
survival_threshold = 0.1
seeds = {seeds}

[arena]
name = "matrix"
episodes = 1
group_size = 2
steps = 1

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 0.0 }}

[[population.mix]]
profile = "cooperator"
share = 0.5
decider = "fixed"
policy = {{ cooperate = 1.0 }}

[selection]
kind = "moran"
intensity = 0.5

[mutation]
rate = 0.3

[control]
neutral_drift = true
"""

SWEEP = """
[sweep]
name = "tiny-sweep"
experiment = "tiny.toml"
seeds = 2

[grid]
"selection.intensity" = [0.0, 1.0]
"selection.kind" = ["moran", "wright_fisher"]
"""


def purity(*args: str | Path, cwd: Path) -> None:
    """Run the CLI in a subprocess, on the code under test (not whatever else is installed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [
        sys.executable,
        "-c",
        "import sys; from purity.tournament.cli import main; sys.exit(main())",
        *map(str, args),
    ]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"purity {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"


def shipped(name: str, root: Path, *replacements: tuple[str, str]) -> str:
    """A shipped experiment made small: its text with `replacements`, written into `root`."""
    text = (ROOT / "experiments" / name).read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    (root / name).write_text(text)
    return name


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """report.html of a single run, a replicates set (2 seeds), a sweep (2 × 2 grid × 2 seeds),
    learners trained alone (2 seeds) and a run whose agents reflect."""
    root = tmp_path_factory.mktemp("browser")
    training = shipped(
        "oversight-training.toml", root, ("generations = 40", "generations = 6"), ("seeds = 3", "seeds = 2")
    )
    reflecting = shipped(
        "successors-base.toml",
        root,
        ("generations = 30", "generations = 4"),
        ("population = 64", "population = 16"),
    )
    purity("train", training, "--out", "runs", "--workers", "0", "--quiet", cwd=root)
    purity("run", reflecting, "--out", "runs", "--workers", "0", "--quiet", cwd=root)
    (root / "tiny.toml").write_text(textwrap.dedent(TINY).format(name="tiny", seeds=1))
    (root / "tiny-reps.toml").write_text(textwrap.dedent(TINY).format(name="tiny-reps", seeds=2))
    (root / "sweep.toml").write_text(textwrap.dedent(SWEEP))
    purity("run", "tiny.toml", "--out", "runs", "--workers", "0", "--quiet", cwd=root)
    purity("run", "tiny-reps.toml", "--out", "runs", "--workers", "0", "--quiet", cwd=root)
    purity("sweep", "sweep.toml", "--out", "sweeps", "--workers", "0", "--quiet", cwd=root)
    run, reps, sweep = root / "runs" / "tiny", root / "runs" / "tiny-reps", root / "sweeps" / "tiny-sweep"
    reports.report(run)  # `purity run` wrote them already; rebuild with the entry point under test
    reports.report(reps)
    reports.write_sweep_report(sweep, run_reports=True)
    return {
        "run": run / "report.html",
        "replicates": reps / "report.html",
        "sweep": sweep / "report.html",
        "training": root / "runs" / "oversight-training-train" / "report.html",
        "reflection": root / "runs" / "successors-base" / "report.html",
    }


# ---------------------------------------------------------------------------------------------
# a minimal DevTools-protocol client over --remote-debugging-pipe (fd 3: commands, fd 4: replies)


class Browser:
    def __init__(self, profile: Path, timeout: float = 20.0) -> None:
        self.timeout = timeout
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # move the pipe ends to fds 3 and 4, wherever they were
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3, inheritable=True)
            os.dup2(b, 4, inheritable=True)

        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "--window-size=1200,900",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            pass_fds=(3, 4, to_chrome_r, from_chrome_w),
            preexec_fn=child_fds,  # noqa: PLW1509 - only dup2 / fcntl syscalls
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def recv(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._r], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        sent = self.send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self.recv(deadline)
            if msg.get("id") == sent:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            self.events.append(self.recv(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def browser():
    profile = Path(tempfile.mkdtemp(prefix="purity-chromium-"))
    b = Browser(profile)
    try:
        yield b
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


PROBE = """JSON.stringify({
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  navs: [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href')),
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  svgs: [...document.querySelectorAll('svg')].map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
  title: document.title,
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  height: document.documentElement.scrollHeight,
})"""


def open_page(browser: Browser, page: Path) -> dict[str, Any]:
    """Load `page` in a fresh tab; return what the probe sees, the problems logged, the requests made."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=session)
    start = len(browser.events)
    browser.call("Page.navigate", {"url": page.as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired", session)
    probe = json.loads(
        browser.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=session)[
            "result"
        ]["value"]
    )
    height = min(int(probe["height"]), MAX_SHOT_HEIGHT)
    shot = browser.call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": int(probe["innerWidth"]), "height": height, "scale": 1},
        },
        session=session,
    )
    png = base64.b64decode(shot["data"])
    (page.parent / "report.png").write_bytes(png)
    events = [e for e in browser.events[start:] if e.get("sessionId") == session]
    browser.call("Target.closeTarget", {"targetId": target})
    problems = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            problems.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    requests = [
        e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"
    ]
    return {"probe": probe, "problems": problems, "requests": requests, "png": png}


def section_ids(kind: str) -> list[str]:
    if kind == "sweep":
        from purity.reports.sweep_page import SECTIONS
    else:
        from purity.reports.sections import SECTIONS
    return [i for i, _ in SECTIONS] + (["training"] if kind == "training" else [])


@pytest.mark.parametrize("kind", ["run", "replicates", "sweep", "training", "reflection"])
def test_report_renders_cleanly_in_chromium(pages, browser, kind):
    page = pages[kind]
    seen = open_page(browser, page)
    probe = seen["probe"]
    assert seen["problems"] == [], f"{page}: the browser logged problems"
    assert seen["requests"] == [page.as_uri()], "the page fetched something besides itself"
    missing = [i for i in section_ids(kind) if i not in probe["ids"]]
    assert missing == [], f"sections missing from {page}"
    assert len(probe["ids"]) == len(set(probe["ids"])), "duplicate ids"
    assert probe["navs"] and all(h.startswith("#") and h[1:] in probe["ids"] for h in probe["navs"])
    for href in probe["links"]:
        if href.startswith("#"):
            assert href[1:] in probe["ids"], href
        else:
            assert "://" not in href and (page.parent / href).is_file(), href
    assert probe["svgs"] and all(w > 100 and h > 30 for w, h in probe["svgs"]), "a chart has no size"
    assert probe["scrollWidth"] <= probe["innerWidth"], "the page overflows sideways"
    assert seen["png"].startswith(PNG_MAGIC) and len(seen["png"]) > 10_000
    assert (page.parent / "report.png").read_bytes() == seen["png"]


def test_sweep_page_has_one_chart_per_key_and_links_every_run(pages, browser):
    seen = open_page(browser, pages["sweep"])
    probe = seen["probe"]
    assert {"key-selection-intensity", "key-selection-kind"} <= set(probe["ids"])
    run_links = sorted({h for h in probe["links"] if h.startswith("runs/")})
    assert run_links == [f"runs/run-{i:04d}/report.html" for i in range(1, 9)]


def test_training_and_reflection_pages_draw_their_own_charts(pages, browser):
    """The learning curves and the designs chart are drawn (titles are SVG text), and the nav
    links the training section."""
    training = open_page(browser, pages["training"])["probe"]
    assert "#training" in training["navs"]
    text = pages["training"].read_text()
    assert all(
        t in text
        for t in ("Violations watched and unwatched", "Share of violations detected", "Reward and fitness")
    )
    assert "Designs that drop or weaken a term their designer carried" in pages["reflection"].read_text()
