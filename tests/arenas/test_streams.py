"""Streams drawn together give each stream what its own numpy generator gives, value for value,
and leave it in the same state: the compiled PCG64 (with numpy's ziggurat) and the generators."""

import numpy as np
import pytest

import purity.arenas
from purity.arenas.streams import GeneratorStreams
from purity.tournament import seeding

numba = pytest.importorskip("numba")
from purity.arenas import streams_compiled  # noqa: E402
from purity.arenas.streams_compiled import TAIL, CompiledStreams, agrees_with  # noqa: E402

# Where numpy's C fuses a multiply-add (its macOS arm64 wheels), the kernels are not its draws
# and the runs draw through the generators (`matches_numpy`, tested below everywhere).
exact = pytest.mark.skipif(not streams_compiled.matches_numpy(), reason="numpy's C fuses multiply-adds here")


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


@exact
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


@exact
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


@exact
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


class _LastBitOff(np.random.Generator):
    """A generator whose uniforms differ in the last bit now and then: what numpy's uniforms are
    where its C fuses `low + span × u` into one multiply-add."""

    def uniform(self, low=0.0, high=1.0, size=None):
        values = super().uniform(low, high, size)
        return np.where(
            np.arange(values.size).reshape(values.shape) % 8 == 3, np.nextafter(values, 2.0), values
        )


def test_the_kernels_are_used_only_where_numpy_draws_what_they_draw(monkeypatch):
    """`agrees_with` sees a last-bit difference, and `together` then draws through the generators,
    the same values as `streams` gives."""
    from purity.tournament import play

    keys = (2, np.arange(6), 1)
    words = seeding.states(9, keys)
    plain = seeding.generators(9, keys)
    assert agrees_with(plain, words) == streams_compiled.matches_numpy()
    off = [_LastBitOff(generator.bit_generator) for generator in seeding.generators(9, keys)]
    assert not agrees_with(off, words)  # the control: one bit in eight draws is enough
    monkeypatch.setattr(streams_compiled, "matches_numpy", lambda: False)
    fallback = play.together(9, 2, np.arange(6), "plan", compiled=True)
    assert isinstance(fallback, GeneratorStreams)
    want = np.stack(
        [generator.uniform(-0.25, 1.25, (3, 5)) for generator in play.streams(9, 2, np.arange(6), "plan")]
    )
    assert fallback.uniform(-0.25, 1.25, (3, 5)).tobytes() == want.tobytes()


def test_an_arena_that_draws_its_own_noise_says_again_whether_in_bulk():
    """A subclass overriding `noise` (a plugin's variant of the commons, say) is not drawn in bulk
    unless it says so itself."""
    commons = purity.arenas.arena_class("commons")

    class Reversed(commons):
        def noise(self, rng, batch):
            return {"regrowth": rng.standard_normal((batch, self.steps))[:, ::-1]}

    class Declared(commons):
        bulk_noise = True

        def noise(self, rng, batch):
            return {"regrowth": rng.standard_normal((batch, self.steps))}

    class Inherits(commons):
        pass

    assert commons.bulk_noise and Inherits.bulk_noise and Declared.bulk_noise
    assert not Reversed.bulk_noise
