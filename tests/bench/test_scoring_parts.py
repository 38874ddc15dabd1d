"""bench/scoring_parts.py times each fast part against its plain alternative only after holding the
two equal: the engines it builds must compute the same numbers (no timing is asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.scoring_parts import GROUPS, _engines  # noqa: E402


def test_each_fast_part_computes_what_its_plain_alternative_computes():
    focal, whole, built, plain = (engine.call() for engine in _engines())
    assert focal.shape == whole.shape and focal.tobytes() == whole.tobytes()
    assert np.isfinite(focal).all() and (focal != 0).any(axis=0).all()  # every term has a value somewhere
    assert len(built) == len(plain) == GROUPS
    assert [a.bit_generator.state for a in built] == [b.bit_generator.state for b in plain]
    assert len({str(a.bit_generator.state) for a in built}) == GROUPS  # the control: the groups differ
