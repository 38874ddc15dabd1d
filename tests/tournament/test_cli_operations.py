"""The `purity` command in daily use: --version, the log's level, a reader that closes the pipe,
and messages that name the real run directory."""

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

from purity.tournament.cli import main
from purity.tournament.console import EXIT_BROKEN_PIPE

PURITY = [sys.executable, "-m", "purity"]
ROOT = Path(__file__).resolve().parents[2]


def purity(*args, cwd=None):
    return subprocess.run(
        [*PURITY, *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def test_version_is_the_installed_distributions():
    done = purity("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"purity {version('purity-tournaments')}"


def test_verbose_logs_where_the_run_goes_and_quiet_prints_nothing(small_experiment, tmp_path):
    out = tmp_path / "runs"
    loud = purity("run", small_experiment, "--out", out, "--workers", "0", "--verbose")
    assert loud.returncode == 0, loud.stderr
    assert f"purity: INFO: run directory {out / 'small'}; computing in this process" in loud.stderr
    assert "gen 4/4" in loud.stderr  # the progress bar is not a log: it stays
    quiet = purity("run", small_experiment, "--out", out, "--workers", "0", "--quiet", "--force")
    assert quiet.returncode == 0 and quiet.stderr == ""
    plain = purity("run", small_experiment, "--out", out, "--workers", "0", "--force")
    assert "INFO" not in plain.stderr and "gen 4/4" in plain.stderr


def test_verbose_and_quiet_together_is_a_usage_error():
    done = purity("profiles", "--verbose", "--quiet")
    assert done.returncode == 2 and "not allowed with" in done.stderr


def test_logging_leaves_one_handler_however_often_main_runs(capsys):
    import logging

    for _ in range(3):
        assert main(["profiles", "--verbose"]) == 0
    ours = [h for h in logging.getLogger("purity").handlers if getattr(h, "_purity_cli", False)]
    assert len(ours) == 1


def _closed_reader(*args) -> subprocess.CompletedProcess:
    """Run purity with its stdout a pipe whose reader is already gone (`… | head` after head quit)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [*PURITY, *map(str, args)], stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=300
        )
    finally:
        os.close(write)
    return done


def test_a_closed_pipe_ends_quietly(small_experiment, tmp_path):
    for args in (("profiles",), ("validate", small_experiment)):
        done = _closed_reader(*args)
        assert (done.returncode, done.stderr) == (EXIT_BROKEN_PIPE, ""), args
    out = tmp_path / "runs"
    assert purity("run", small_experiment, "--out", out, "--workers", "0", "--quiet").returncode == 0
    done = _closed_reader("report", out / "small", "--format", "json")
    assert (done.returncode, done.stderr) == (EXIT_BROKEN_PIPE, "")


def test_head_of_a_json_report_in_a_shell(small_experiment, tmp_path):
    """The real thing: `purity report … --format json | head -n 3` in bash with pipefail."""
    out = tmp_path / "runs"
    assert purity("run", small_experiment, "--out", out, "--workers", "0", "--quiet").returncode == 0
    command = f"{shlex.join(PURITY)} report {shlex.quote(str(out / 'small'))} --format json | head -n 3"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "{"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


LONG = """
[experiment]
name = "long"
seed = 3
generations = 400
population = 16

[arena]
name = "commons"
episodes = 2
group_size = 4
steps = 12

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = { harvest = 0.6 }

[[population.mix]]
profile = "self-keeper"
share = 0.5
decider = "fixed"
policy = { harvest = 0.3 }
"""


def _ctrl_c_once(command: list[str], cwd: Path, when: Path) -> str:
    """Start `purity <command>` (this test's own process), press Ctrl-C once `when` exists, and
    return what it printed on stderr after it ended with exit code 130."""
    child = subprocess.Popen(
        [*PURITY, *command], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not when.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, f"no {when} written"
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    return err


def test_ctrl_c_names_the_run_directory_to_resume(tmp_path):
    experiment = tmp_path / "long.toml"
    experiment.write_text(textwrap.dedent(LONG))
    out = tmp_path / "my runs"
    command = ["run", str(experiment), "--out", str(out), "--workers", "0", "--quiet"]
    err = _ctrl_c_once(command, ROOT, out / "long" / "agents" / "gen=2")
    again = f"purity run --resume {shlex.quote(str(out / 'long'))}"
    assert err.strip() == f"purity: interrupted; completed generations are on disk ({again} continues)"
    assert "RUN_DIR" not in err
    # interrupted, not failed (an error ends as failed: test_runner)
    assert json.loads((out / "long" / "manifest.json").read_text())["status"] == "interrupted"


def test_ctrl_c_stops_an_in_process_sweep_and_starts_no_further_run(tmp_path):
    """The runs of an in-process sweep go on in its threads, which Ctrl-C does not reach: after
    the key no run starts, and those going stop at their next generation. (Before, the key
    waited for a run to end, and the runs going then ran to their end: 3 completed here.) The
    first two run side by side and end together."""
    (tmp_path / "long.toml").write_text(
        textwrap.dedent(LONG).replace("generations = 400", "generations = 40")
    )
    seeds = list(range(1, 9))
    (tmp_path / "sweep.toml").write_text(
        f'[sweep]\nname = "stops"\nexperiment = "long.toml"\nseeds = {seeds}\n'
    )
    out = tmp_path / "sweeps"
    command = ["sweep", "sweep.toml", "--out", str(out), "--workers", "0", "--quiet"]
    err = _ctrl_c_once(command, tmp_path, out / "stops" / "runs" / "run-0001" / "manifest.json")
    assert err.strip().startswith("purity: interrupted"), err
    runs = json.loads((out / "stops" / "sweep.json").read_text())["runs"]
    complete = sorted(name for name, run in runs.items() if run["status"] == "complete")
    assert "run-0001" in complete and len(complete) <= 2, runs
    assert all(runs[f"run-{k:04d}"]["status"] == "pending" for k in range(3, 9)), runs


def test_ctrl_c_that_a_library_turns_into_its_own_error_still_ends_as_interrupted(
    small_experiment, tmp_path, monkeypatch, capsys
):
    """A KeyboardInterrupt raised inside polars' callbacks came out as a TypeError (seen once in
    the suite): the command must still say "interrupted" and exit 130. The same error without
    Ctrl-C is a bug and is raised as it is."""
    import pytest

    from purity.tournament import tables

    def swallowed(*args, **kwargs):
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # the key, pressed in a callback
        except KeyboardInterrupt:
            pass  # what the library does with it
        raise TypeError("'<unprintable str object>' is not a Polars data type")

    monkeypatch.setattr(tables, "agents", swallowed)
    argv = ["run", str(small_experiment), "--out", str(tmp_path), "--workers", "0", "--quiet"]
    # as in a `purity` process: an earlier test in this worker (or its start) may have set another
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert main(argv) == 130
        assert capsys.readouterr().err.startswith("purity: interrupted")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
        assert json.loads((tmp_path / "small" / "manifest.json").read_text())["status"] == "interrupted"

        def plain(*args, **kwargs):
            raise TypeError("a bug")

        monkeypatch.setattr(tables, "agents", plain)
        with pytest.raises(TypeError, match="a bug"):  # the control: no Ctrl-C, no disguise
            main([*argv, "--force"])
        assert json.loads((tmp_path / "small" / "manifest.json").read_text())["status"] == "failed"
    finally:
        signal.signal(signal.SIGINT, previous)


TRAIN = """
[experiment]
name = "watch"
seed = 5
generations = 3
population = 8

[arena]
name = "oversight"
episodes = 4
group_size = 4
steps = 10

[[population.mix]]
profile = "self-keeper"
share = 0.5
decider = "learner"
policy = { shortcut_watched = 0.5, shortcut_unwatched = 0.5 }

[[population.mix]]
profile = "consequentialist"
share = 0.5
decider = "fixed"
policy = { shortcut_watched = 1.0, shortcut_unwatched = 1.0 }

[training]
reward = "detected"
penalty = 2.0
"""


def test_train_prints_no_resume_line_after_a_complete_run(tmp_path):
    experiment = tmp_path / "watch.toml"
    experiment.write_text(textwrap.dedent(TRAIN))
    done = purity("train", experiment, "--out", tmp_path, "--workers", "0", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"run directory: {tmp_path / 'watch-train'}"
    assert not any(line.startswith("resume:") for line in done.stdout.splitlines()), done.stdout
