"""`seeding` builds many streams at once: each must be, state for state, the generator numpy's
`SeedSequence` seeds, or every table of a run would change."""

import numpy as np
import pytest

from purity.tournament import seeding
from purity.tournament.play import PURPOSES, stream, streams

SEEDS = (0, 7, 2**32 - 1, 2**32, 2**64 + 5, 2**96 - 1, 2**128 + 3, 2**160 - 1)  # one to five words
GROUPS = np.array([0, 1, 2, 31, 1000, 2**32 - 1])


def _numpy(seed: int, key: tuple) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("generation", [0, 59, 2**32 - 1, 2**40])  # a two-word part before the groups
def test_the_state_words_are_numpys_for_every_key(seed, generation):
    for purpose in (0, 1, 8, 2**33):  # and after them
        got = seeding.states(seed, (generation, GROUPS, purpose))
        want = [
            np.random.SeedSequence(seed, spawn_key=(generation, int(g), purpose)).generate_state(4, np.uint64)
            for g in GROUPS
        ]
        assert got.dtype == np.uint64 and np.array_equal(got, np.array(want))


def test_the_varying_part_may_come_first_or_last():
    for key in ((GROUPS, 3), (3, 4, GROUPS)):
        got = seeding.states(11, key)
        keys = [tuple(int(g) if np.ndim(part) else part for part in key) for g in GROUPS]
        assert np.array_equal(
            got, [np.random.SeedSequence(11, spawn_key=k).generate_state(4, np.uint64) for k in keys]
        )


def test_streams_draw_what_each_stream_draws():
    for purpose in PURPOSES:
        built = streams(7, 12, GROUPS[:5], purpose)
        assert len(built) == 5
        for group, rng in zip(GROUPS[:5], built):
            plain = stream(7, 12, int(group), purpose)
            assert rng.bit_generator.state == plain.bit_generator.state
            assert np.array_equal(rng.standard_normal(9), plain.standard_normal(9))
            assert np.array_equal(rng.integers(0, 10, 5), plain.integers(0, 10, 5))
    assert streams(7, 12, np.array([], dtype=np.int64), "plan") == []


def test_the_control_a_different_key_is_a_different_stream():
    a, b = streams(7, 12, np.array([3, 3]), "plan"), streams(7, 13, np.array([3]), "plan")
    assert a[0].bit_generator.state == a[1].bit_generator.state
    assert a[0].bit_generator.state != b[0].bit_generator.state


def test_keys_outside_the_words_it_hashes_are_refused():
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        seeding.generators(7, (1, np.array([2**32]), 1))
    with pytest.raises(ValueError, match="non-negative"):
        seeding.generators(7, (1, np.array([-1]), 1))
    with pytest.raises(ValueError, match="non-negative"):
        seeding.words(-3)
    given = seeding._Given(np.zeros(4, dtype=np.uint64))
    with pytest.raises(ValueError, match="PCG64 asks for"):
        given.generate_state(8, np.uint32)
