"""The hostile-input corpus (`hostile.py`), run in this process through `purity`'s own `main`:
every case ends with exit code 2 and one message naming the file or option, never a traceback,
never a hang (an alarm stops a case after 30 s), and stays within 1 GiB resident (this process
and the processes it waited for, `footprint.py`) and 30 s. The whole corpus runs in the slow
suite; every fifth case in the default one."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import pytest
from footprint import LIMIT_SECONDS, Footprint
from hostile import BASE, all_static, copy_run, set_manifest

from purity.tournament.arguments import parser
from purity.tournament.cli import main

CASES = all_static()
LIMIT = int(LIMIT_SECONDS)
VERBOSE = ("purity: INFO: ", "purity: DEBUG: ")


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer within {LIMIT} s")


def _purity(argv: list[str], capsys, case: str) -> tuple[int, str]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(LIMIT)
    try:
        with Footprint(case) as footprint:
            try:
                code = main(argv)
            except SystemExit as exit:  # argparse's own usage errors
                code = exit.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    footprint.check()
    return code, capsys.readouterr().err


def _check(code: int, err: str, expect: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, err
    # --verbose adds progress lines (`purity: INFO: …`); the error is still one line of its own
    lines = [line for line in err.strip().splitlines() if line.strip() and not line.startswith(VERBOSE)]
    if lines and lines[0].startswith("usage:"):  # argparse: usage, then one error line
        assert lines[-1].startswith("purity") and "error:" in lines[-1], err
        return
    assert len(lines) == 1 and lines[0].startswith("purity: error: "), err
    assert expect in lines[0], (expect, lines[0])


def _params(cases):
    return [
        pytest.param(name, build, expect, id=name, marks=() if k % 5 == 0 else pytest.mark.slow)
        for k, (name, build, expect) in enumerate(cases)
    ]


def test_the_corpus_has_at_least_250_distinct_cases():
    assert len(CASES) + len(DAMAGED) >= 250


def test_the_corpus_tries_every_subcommand_and_every_option(tmp_path):
    """Each subcommand's every option (any of its spellings) appears in some case's command line."""
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    lines = []
    for k, (_, build, _) in enumerate(CASES):
        (tmp_path / str(k)).mkdir()
        lines.append(build(tmp_path / str(k)))
    untried = [
        f"{command} {action.option_strings[-1]}"
        for command, sub in commands.items()
        for action in sub._actions
        if action.option_strings
        and action.option_strings[-1] != "--help"
        and not any(line[:1] == [command] and set(action.option_strings) & set(line) for line in lines)
    ]
    untried += [command for command in commands if not any(line[:1] == [command] for line in lines)]
    assert not untried, untried


@pytest.mark.parametrize(("name", "build", "expect"), _params(CASES))
def test_hostile_input_is_refused_with_one_line(tmp_path, capsys, name, build, expect):
    code, err = _purity(build(tmp_path), capsys, name)
    _check(code, err, expect)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A small complete run, made once, that each damaged-run case copies and breaks."""
    scratch = tmp_path_factory.mktemp("finished")
    experiment = scratch / "exp.toml"
    experiment.write_text(BASE)
    assert main(["run", str(experiment), "--out", str(scratch / "runs"), "--workers", "0", "--quiet"]) == 0
    return scratch / "runs" / "base"


def _rm(relative: str):
    def damage(run: Path) -> None:
        import shutil

        target = run / relative
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    return damage


def _parts(run: Path, table: str, generation: int) -> list[Path]:
    return sorted((run / table / f"gen={generation}").glob("*.parquet"))


def _duplicate(run: Path) -> None:
    part = _parts(run, "agents", 1)[0]
    (part.parent / ("copy-" + part.name)).write_bytes(part.read_bytes())


def _truncate(table: str, generation: int):
    def damage(run: Path) -> None:
        part = _parts(run, table, generation)[0]
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])

    return damage


def _write(relative: str, content: bytes):
    return lambda run: (run / relative).write_bytes(content)


def _cut(run: Path) -> None:
    """As a run killed after 2 of its 3 generations would look."""
    set_manifest(run, status="running", generations_done=2, finished=None)


def _and(*damages):
    def damage(run: Path) -> None:
        for one in damages:
            one(run)

    return damage


REPORT_DAMAGE = [
    ("agents folder gone", _rm("agents"), "agents"),
    ("a generation missing", _rm("agents/gen=1"), "missing"),
    ("a generation duplicated", _duplicate, "more than once"),
    ("the last generation missing", _rm("agents/gen=2"), "generations"),
    ("manifest counts more generations", lambda run: set_manifest(run, generations_done=7), "7 generations"),
    ("a truncated agents part", _truncate("agents", 1), "parquet"),
    ("a truncated episodes part", _truncate("episodes", 0), "parquet"),
    ("a garbage agents part", lambda run: _parts(run, "agents", 0)[0].write_bytes(b"garbage"), "parquet"),
    ("manifest garbage", _write("manifest.json", b"\x00garbage"), "manifest.json"),
    ("manifest a list", _write("manifest.json", b"[]"), "manifest.json"),
    ("manifest nested 500 deep", _write("manifest.json", b"[" * 500 + b"]" * 500), "manifest.json"),
    ("manifest gone", _rm("manifest.json"), "manifest.json"),
    ("manifest without terms", lambda run: set_manifest(run, terms=None), "terms"),
    ("manifest profiles a list", lambda run: set_manifest(run, profiles=[1]), "profiles"),
]
RESUME_DAMAGE = [
    ("a truncated agents part", _and(_cut, _truncate("agents", 1)), "agents"),
    (
        "a garbage lineage part",
        _and(_cut, lambda run: _parts(run, "lineage", 2)[0].write_bytes(b"x")),
        "lineage",
    ),
    ("the agents of the last generation gone", _and(_cut, _rm("agents/gen=1")), "agents"),
    ("experiment copy gone", _and(_cut, _rm("experiment.toml")), "--resume"),
    ("experiment copy garbage", _and(_cut, _write("experiment.toml", b"\xff\xfe")), "experiment.toml"),
    (
        "experiment copy /dev/zero",
        _and(_cut, _rm("experiment.toml"), lambda run: (run / "experiment.toml").symlink_to("/dev/zero")),
        "experiment.toml",
    ),
    ("manifest garbage", _write("manifest.json", b"{"), "manifest.json"),
    ("manifest a list", _write("manifest.json", b"[]"), "manifest.json"),
    (
        "manifest generations_done a string",
        lambda run: set_manifest(run, status="running", generations_done="2"),
        "generations_done",
    ),
    (
        "manifest generations_done negative",
        lambda run: set_manifest(run, status="running", generations_done=-4),
        "generations_done",
    ),
    (
        "manifest generations_done huge",
        lambda run: set_manifest(run, status="running", generations_done=10**12),
        "generations_done",
    ),
    (
        "manifest experiment changed",
        lambda run: set_manifest(run, status="running", generations_done=1, experiment={}),
        "experiment",
    ),
]
DAMAGED = [("report", *case) for case in REPORT_DAMAGE] + [("resume", *case) for case in RESUME_DAMAGE]


@pytest.mark.parametrize(
    ("command", "name", "damage", "expect"),
    [
        pytest.param(
            command,
            name,
            damage,
            expect,
            id=f"{command}: {name}",
            marks=() if k % 5 == 0 else pytest.mark.slow,
        )
        for k, (command, name, damage, expect) in enumerate(DAMAGED)
    ],
)
def test_a_damaged_run_is_refused_with_one_line(
    tmp_path, capsys, finished_run, command, name, damage, expect
):
    run = copy_run(finished_run, tmp_path)
    damage(run)
    argv = (
        ["report", str(run)]
        if command == "report"
        else ["run", "--resume", str(run), "--workers", "0", "--quiet"]
    )
    code, err = _purity(argv, capsys, f"{command}: {name}")
    _check(code, err, expect)
