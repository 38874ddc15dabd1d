"""The benchmark harness (bench/timing.py, bench/arena_speed.py) runs and interleaves as it says.
No timing is asserted: only which engines ran, how often, and in which order."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.arena_speed import PLAIN_LABEL, WORKLOADS, WRAPPER_LABEL, engines, table  # noqa: E402
from bench.timing import Engine, interleave  # noqa: E402


def test_rounds_interleave_the_engines_in_rotated_order():
    order: list[str] = []
    fakes = [Engine(name, 1, 10, lambda name=name: order.append(name)) for name in "abc"]
    timings = interleave(fakes, rounds=3, seconds=0.0)
    calls = [timing.calls for timing in timings]
    assert calls == [1, 1, 1]  # a free call: one per round
    measured = order[-9:]  # after calibration (warm-up and doubling runs)
    assert measured == list("abc" + "bca" + "cab")
    assert all(len(timing.wall) == len(timing.cpu) == 3 for timing in timings)


def test_every_arena_has_its_engines_and_each_call_plays_episodes(capsys):
    for name, make in WORKLOADS.items():
        arena = make()
        found = engines(arena, np.random.default_rng(0), batches=(1, 3))
        labels = [engine.label for engine in found]
        assert labels[:2] == [PLAIN_LABEL, WRAPPER_LABEL]
        assert [engine.batch for engine in found[2:4]] == [1, 3]
        for engine in found:
            assert engine.agent_steps == engine.batch * arena.n_agents * arena.steps
            engine.call()  # plays without error
        # no collections: in a test process holding the suite's objects each takes about a second
        rows = table(name, arena, interleave(found[:4], rounds=1, seconds=0.0, collect=False))["rows"]
        assert rows[0]["vs_plain_wall"] == 1.0 and all(row["wall_rate"] > 0 for row in rows)
    assert "| plain PettingZoo env | 1 |" in capsys.readouterr().out
