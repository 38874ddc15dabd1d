"""The `purity` command as a user meets it: exit codes, one-line errors, nothing half-written."""

import subprocess
import sys
from pathlib import Path

import pytest

PURITY = [sys.executable, "-m", "purity"]
ROOT = Path(__file__).resolve().parents[2]


def purity(*args, cwd=None):
    return subprocess.run(
        [*PURITY, *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def assert_one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", [[], ["run"], ["report"], ["validate"], ["profiles"]])
def test_help_is_complete(command):
    done = purity(*command, "--help")
    assert done.returncode == 0
    assert "usage: purity" in done.stdout
    if command == ["run"]:
        for option in ("--out", "--workers", "--address", "--seed", "--force"):
            assert option in done.stdout


def test_profiles_lists_the_library_one_line_each():
    done = purity("profiles")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(lines) >= 8
    assert any(line.startswith("lineage-keeper ") for line in lines)


def test_validate_accepts_the_shipped_files(capsys, monkeypatch):
    """In this process (the command itself is run as a user runs it in the tests around)."""
    from purity.tournament.cli import main

    monkeypatch.chdir(ROOT)
    for path in sorted((ROOT / "experiments").glob("*.toml")) + sorted(
        (ROOT / "purity" / "agents" / "profiles").glob("*.toml")
    ):
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err
        assert "valid" in capsys.readouterr().out


def test_validate_and_help_stay_light():
    """No Ray, polars or numba import before a run starts: that is what keeps these commands instant
    (an experiment's arena is built to check it, and numba is imported only at its first rollout)."""
    code = (
        "import sys; from purity.tournament.cli import main; main(['validate', 'experiments/default.toml']); "
        "heavy = [m for m in ('ray', 'polars', 'pettingzoo', 'numba') if m in sys.modules]; assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("[profile\nname=", ["valid TOML"]),
        (
            '[profile]\nname = "x"\n[[constraint]]\nevent = "steal"\nscope = "self"\nweight = 1.0\n',
            ["constraint[0].event", "expected one of"],
        ),
        (
            '[profile]\nname = "x"\n[[outcome]]\nmeasure = "own_wealth"\nweight = -2.0\n',
            ["outcome[0].weight", "got -2.0"],
        ),
        (
            '[profile]\nname = "x"\n[[outcome]]\nmeasure = "own_wealth"\nweight = nan\n',
            ["outcome[0].weight", "finite"],
        ),
    ],
)
def test_validate_rejects_bad_files_with_one_line(tmp_path, text, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert_one_line_error(purity("validate", path), str(path), *fragments)


def test_validate_missing_file(tmp_path):
    assert_one_line_error(purity("validate", tmp_path / "nope.toml"), "nope.toml", "an existing file")


def test_bad_experiment_writes_nothing(tmp_path, write_experiment):
    path = write_experiment(("share = 0.5", "share = 0.6"))
    out = tmp_path / "runs"
    assert_one_line_error(
        purity("run", path, "--out", out, "--workers", "0"), "population.mix.share", "sum to 1"
    )
    assert not out.exists()


def test_bad_command_line_values(small_experiment, tmp_path):
    assert_one_line_error(purity("run", small_experiment, "--workers", "-1", "--out", tmp_path), "--workers")


def test_run_then_existing_directory_then_report(small_experiment, tmp_path):
    out = tmp_path / "runs"
    done = purity("run", small_experiment, "--out", out, "--workers", "0")
    assert done.returncode == 0, done.stderr
    assert f"report: {out / 'small' / 'report.html'}" in done.stdout
    assert "gen 4/4" in done.stderr  # the progress bar reached the end
    assert (out / "small" / "report.md").is_file()

    again = purity("run", small_experiment, "--out", out, "--workers", "0")
    assert_one_line_error(again, str(out / "small"), "--force")

    (out / "small" / "report.md").unlink()
    rebuilt = purity("report", out / "small")
    assert rebuilt.returncode == 0 and (out / "small" / "report.md").is_file()


def test_report_of_a_folder_that_is_not_a_run(tmp_path):
    done = purity("report", tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(tmp_path) in done.stderr


def test_workers_zero_runs_in_process_even_with_a_cluster_address(small_experiment, tmp_path):
    from purity.tournament.executor import InProcess, executor

    assert isinstance(executor(0, "10.0.0.1:6379"), InProcess)
    done = purity("run", small_experiment, "--workers", "0", "--address", "127.0.0.1:1", "--out", tmp_path)
    assert_one_line_error(done, "--workers")
    assert not (tmp_path / "small").exists()


def test_report_json_and_sweep_report(small_experiment, tmp_path):
    import json

    out = tmp_path / "runs"
    assert purity("run", small_experiment, "--out", out, "--workers", "0", "--quiet").returncode == 0
    done = purity("report", out / "small", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert json.dumps(data)  # plain JSON types only
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'[sweep]\nname = "s"\nexperiment = "{small_experiment}"\nseeds = 2\n[grid]\n"selection.intensity" = [0.0, 0.3]\n'
    )
    swept = purity("sweep", sweep, "--out", tmp_path / "sweeps", "--workers", "0", "--quiet")
    assert swept.returncode == 0, swept.stderr
    assert "runs: 4 complete, 0 failed" in swept.stdout
    assert (tmp_path / "sweeps" / "s" / "report.html").is_file() and (
        tmp_path / "sweeps" / "s" / "report.md"
    ).is_file()
    again = purity("report", tmp_path / "sweeps" / "s", "--run-reports")
    assert again.returncode == 0, again.stderr
    each = tmp_path / "sweeps" / "s" / "runs" / "<run>" / "report.html"
    assert again.stdout.splitlines()[-1] == f"run reports: 4, as {each}", again.stdout
