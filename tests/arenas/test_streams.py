"""Streams drawn together give each stream what its own numpy generator gives, value for value,
and leave it in the same state: the compiled PCG64 (with numpy's ziggurat) and the generators."""

import numpy as np
import pytest

import purity.arenas
from purity.arenas.streams import GeneratorStreams
from purity.tournament import seeding

numba = pytest.importorskip("numba")
from purity.arenas.streams_compiled import TAIL, CompiledStreams  # noqa: E402


def _generators(seed, generation, count, purpose=1):
    return seeding.generators(seed, (generation, np.arange(count), purpose))


def _compiled(seed, generation, count, purpose=1):
    return CompiledStreams.seeded(seeding.states(seed, (generation, np.arange(count), purpose)))


def _state(streams: CompiledStreams, k: int) -> dict:
    high, low, inc_high, inc_low = (int(word) for word in streams.states[k])
    return {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low}


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3, 2**64 + 11])
def test_seeded_states_are_those_numpy_starts_from(seed):
    generators, compiled = _generators(seed, 5, 40), _compiled(seed, 5, 40)
    for k, generator in enumerate(generators):
        assert _state(compiled, k) == generator.bit_generator.state["state"]
    assert _state(compiled, 0) != _state(_compiled(seed + 1, 5, 40), 0)  # the control: seeds matter


def test_a_sequence_of_draws_equals_each_generators_and_leaves_its_state():
    """Mixed calls, empty shapes, a subset drawing in between: every value and the final states."""
    reference, compiled = GeneratorStreams(_generators(3, 2, 9)), _compiled(3, 2, 9)
    calls = [
        ("standard_normal", ((4, 5),)),
        ("uniform", (-0.25, 1.25, (7, 5))),
        ("random", ((3,),)),
        ("standard_normal", ((0, 5),)),
        ("uniform", (-3.5, 0.1, (11,))),
        ("standard_normal", ((2, 50),)),
    ]
    for which in (None, np.array([8, 1, 4]), None):
        for method, args in calls:
            want = getattr(reference if which is None else reference.subset(which), method)(*args)
            got = getattr(compiled if which is None else compiled.subset(which), method)(*args)
            assert got.shape == want.shape
            assert got.tobytes() == want.tobytes(), method
    for k, generator in enumerate(reference.generators):
        assert _state(compiled, k) == generator.bit_generator.state["state"]
    assert not np.array_equal(compiled.random((2,)), _compiled(3, 2, 9).random((2,)))  # the control


def test_millions_of_normals_take_every_path_of_the_ziggurat_as_numpy_does():
    """About 1 draw in 100 falls in a wedge and about 1 in 4,000 in the tail: 3.2 M draws take
    both paths hundreds of times, each with its own log1p or exp."""
    reference, compiled = _generators(11, 0, 16), _compiled(11, 0, 16)
    got = compiled.standard_normal((200_000,))
    want = np.stack([generator.standard_normal(200_000) for generator in reference])
    assert got.tobytes() == want.tobytes()
    assert (np.abs(got) > TAIL).sum() > 100  # the tail path was taken
    for k, generator in enumerate(reference):
        assert _state(compiled, k) == generator.bit_generator.state["state"]


@pytest.mark.parametrize(
    "name", [n for n in purity.arenas.names() if purity.arenas.arena_class(n).bulk_noise]
)
def test_an_arena_with_bulk_noise_draws_each_streams_noise_as_from_its_generator(name):
    cls = purity.arenas.arena_class(name)
    arena = cls(n_agents=2 if name in ("matrix", "repeated") else 3, steps=6)
    want = [arena.noise(generator, 5) for generator in _generators(2, 4, 7)]
    for streams in (GeneratorStreams(_generators(2, 4, 7)), _compiled(2, 4, 7)):
        got = arena.noise(streams, 5)
        assert sorted(got) == sorted(want[0])
        for key, value in got.items():
            assert value.tobytes() == np.stack([noise[key] for noise in want]).tobytes(), key


def test_only_arenas_whose_noise_is_draws_alone_say_so():
    """The principal's noise is zeros, not draws of the batch's shape: it draws one generator at a time."""
    flagged = {name for name in purity.arenas.names() if purity.arenas.arena_class(name).bulk_noise}
    assert {"commons", "matrix", "repeated", "promises"} <= flagged
    assert "principal" not in flagged and "oversight" not in flagged
