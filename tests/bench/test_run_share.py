"""bench/run_share.py's floor: a recording generator draws what a plain one draws, the replay of a
run's log leaves every generator as the run left it, and the run's tables (not its nulls') are
written again. No timing is asserted."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.run_share import DEFAULT_RNG, RECORD, STREAM, STREAMS, TOGETHER, WRITE, _recorded, _Recording  # noqa: E402
from purity.tournament import generation, invasion, play, reflection_step, storage  # noqa: E402
from purity.tournament.config import load  # noqa: E402


def _draws(rng: np.random.Generator) -> list[np.ndarray]:
    return [
        rng.standard_normal((3, 4)),
        rng.uniform(-0.25, 1.25, 5),
        rng.integers(0, 9, 7),
        rng.choice(10, 4, replace=False),  # calls another method inside: logged once
        rng.random(2),
    ]


def test_a_recording_generator_draws_what_a_plain_one_does_and_its_log_replays_them():
    log: list = []
    recording = _Recording(STREAM(7, 2, 3, "plan").bit_generator, log)
    recorded, plain = _draws(recording), _draws(STREAM(7, 2, 3, "plan"))
    assert all(np.array_equal(a, b) for a, b in zip(recorded, plain))
    assert [name for name, _, _ in log] == ["standard_normal", "uniform", "integers", "choice", "random"]
    fresh = STREAM(7, 2, 3, "plan")
    replayed = [getattr(fresh, name)(*args, **kwargs) for name, args, kwargs in log]
    assert all(np.array_equal(a, b) for a, b in zip(replayed, plain))
    assert fresh.bit_generator.state == recording.bit_generator.state


def test_the_floor_run_replays_every_draw_of_the_run_and_writes_its_tables_both_ways():
    experiment = dataclasses.replace(load(ROOT / "experiments" / "default.toml"), seeds=1, generations=2)
    floor = _recorded(experiment)
    assert all(module.stream is STREAM for module in (play, generation, invasion))  # restored
    assert all(module.streams is STREAMS for module in (play, reflection_step))
    assert play.together is TOGETHER
    assert storage.write_parquet is WRITE
    assert np.random.default_rng is DEFAULT_RNG
    assert floor["complete"] and floor["elsewhere"] == 0  # every generator ends as the run left it
    # the run and its drift twin: agents and episodes of generations 0 and 1, lineage of 1; not the nulls
    assert (floor["files"], floor["tables"]) == (10, 6)
    keys = [key for key, _, _ in RECORD["streams"]]
    assert {purpose for *_, purpose in keys} >= {"match", "plan", "play", "select", "mutate"}
    assert {g for _, g, _, _ in keys} == {0, 1}  # the run's two generations
    together = [key for key, _, rng in RECORD["streams"] if not isinstance(rng, np.random.Generator)]
    assert {purpose for *_, purpose in together} == {"plan", "play"}  # the commons draws them together
    assert floor["generators"] > len(keys)  # a `Streams` counts every stream it holds
    assert floor["draw calls"] > len(together)
