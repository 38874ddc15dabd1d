"""bench/scoring_parts.py times each fast part against its plain alternative only after holding the
two equal: the engines it builds must compute the same numbers (no timing is asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.scoring_parts import GROUPS, _engines, same_draws  # noqa: E402


def test_each_fast_part_computes_what_its_plain_alternative_computes():
    engines = _engines()
    focal, whole, built, plain, drawn, drawn_plain = (engine.call() for engine in engines)
    assert focal.shape == whole.shape and focal.tobytes() == whole.tobytes()
    assert np.isfinite(focal).all() and (focal != 0).any(axis=0).all()  # every term has a value somewhere
    assert len(built) == len(plain) == GROUPS
    assert [a.bit_generator.state for a in built] == [b.bit_generator.state for b in plain]
    assert len({str(a.bit_generator.state) for a in built}) == GROUPS  # the control: the groups differ
    assert same_draws(drawn, drawn_plain)  # the same generation (the second call of each)
    assert len(drawn[0]) == GROUPS * 4 and drawn[1]["regrowth"].shape == (GROUPS * 4, 50)
    assert not same_draws(drawn, engines[4].call())  # the control: the next generation draws anew
