"""bench/run_share.py's floor: the recorded run draws what a plain run draws, the replay makes the
same draws, and every table the run writes outside its nulls is written again. No timing is
asserted."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.run_share import RECORD, STREAM, WRITE, _recorded, _Recording  # noqa: E402
from purity.tournament import generation, play, record, storage  # noqa: E402
from purity.tournament.config import load  # noqa: E402
from purity.tournament.runner import run  # noqa: E402


def _draws(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.standard_normal((3, 4)), rng.uniform(-0.25, 1.25, 5), rng.integers(0, 9, 7), rng.random(2)]


def test_a_recording_generator_draws_what_a_plain_one_does_and_its_log_replays_them():
    log: list = []
    recorded = _draws(_Recording(STREAM(7, 2, 3, "plan").bit_generator, log))
    plain = _draws(STREAM(7, 2, 3, "plan"))
    assert all(np.array_equal(a, b) for a, b in zip(recorded, plain))
    assert [name for name, _, _ in log] == ["standard_normal", "uniform", "integers", "random"]
    fresh = STREAM(7, 2, 3, "plan")
    replayed = [getattr(fresh, name)(*args, **kwargs) for name, args, kwargs in log]
    assert all(np.array_equal(a, b) for a, b in zip(replayed, plain))


def test_the_floor_run_records_the_runs_streams_and_tables_and_puts_the_run_back(tmp_path):
    experiment = dataclasses.replace(load(ROOT / "experiments" / "default.toml"), seeds=1, generations=2)
    floor = _recorded(experiment)
    assert play.stream is STREAM and generation.stream is STREAM and storage.write_parquet is WRITE
    run(experiment, tmp_path / "run", workers=0, progress=False)
    written = [
        p for p in (tmp_path / "run").rglob("*.parquet") if record.NULL not in p.relative_to(tmp_path).parts
    ]
    assert floor["files"] == len(written) == len(RECORD["tables"]) > 0
    keys = [key for key, _ in RECORD["streams"]]
    assert {purpose for *_, purpose in keys} >= {"match", "plan", "play", "select", "mutate"}
    assert {g for _, g, _, _ in keys} == {0, 1}  # the run's two generations
    assert floor["draw calls"] == sum(len(draws) for _, draws in RECORD["streams"]) > floor["generators"]
