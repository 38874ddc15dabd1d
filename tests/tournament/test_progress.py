"""Progress off a terminal: a line every ~10% of the work, and one whenever it stayed quiet too
long (the quiet interval is set to 0 or to forever, so nothing depends on the clock)."""

from __future__ import annotations

import io

from purity.tournament.progress import Progress


def _bar(quiet: float) -> tuple[Progress, io.StringIO]:
    stream = io.StringIO()
    bar = Progress(100, "sweep", 4, stream=stream)
    bar.QUIET = quiet
    return bar, stream


def test_a_quiet_log_gets_a_line_with_generations_rate_and_eta():
    bar, stream = _bar(0.0)
    bar.advance(3)  # below the first 10% mark: printed only because it was quiet
    bar.tick()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all(
        "gen 3/100" in line and "ETA" in line and "agents/s" in line for line in lines
    )


def test_no_extra_lines_while_the_marks_come_often_enough():
    bar, stream = _bar(float("inf"))
    for _ in range(100):
        bar.advance(1)
        bar.tick()
    assert len(stream.getvalue().splitlines()) == 10  # every 10%, the last at 100/100
    bar.tick()  # done: nothing more to say
    assert len(stream.getvalue().splitlines()) == 10


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_what_comes_after_the_bar_is_said_on_a_terminal_only(monkeypatch, small_experiment, tmp_path):
    """A run's nulls and report follow its bar: a terminal is told, a log and --quiet are not."""
    from purity.tournament import config, runner

    for stream, show, said in (
        (_Terminal(), True, True),
        (io.StringIO(), True, False),
        (_Terminal(), False, False),
    ):
        monkeypatch.setattr("sys.stderr", stream)
        out = tmp_path / f"{type(stream).__name__}-{show}"
        runner.run(config.load(small_experiment), out, workers=0, progress=show, finish=lambda path: None)
        lines = [line for line in stream.getvalue().splitlines() if line and " ETA " not in line]
        expected = ["simulating the nulls", "writing the report"] if said else []
        assert lines == expected, (stream, show, lines)
