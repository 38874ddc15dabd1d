"""Many random streams drawn together: one call draws the same shape from each.

A generation plans and plays with one stream per group (`purpose` plan, play), and every planner
of a group draws its candidates and rollout noise from its group's stream in turn. Drawn through
one `np.random.Generator` per group, that is hundreds of small numpy calls a generation, each
costing more than its draws. `Streams` draws a shape from K streams in one call and returns it
with a leading stream axis, each stream's values those its own generator would have drawn, in
the same order. Two implementations:

- `GeneratorStreams`: the generators themselves, one call each (the reference, and the numpy
  backend's);
- `purity.arenas.streams_compiled.CompiledStreams`: numpy's PCG64 and its draws compiled, over
  an array of stream states; used where the arena plays compiled (`Arena.plays_compiled`) and
  numpy's own draws are the kernels' (`streams_compiled.matches_numpy`). A test holds it to the
  generators value for value.

An arena whose `noise` only draws from the stream it is given, in shapes led by the batch
(`Arena.bulk_noise`), draws its noise from a `Streams` as from a generator.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Streams(Protocol):
    """K streams; each method draws `shape` from every stream, in stream order: [K, *shape]."""

    def __len__(self) -> int: ...

    def subset(self, which: np.ndarray) -> Streams:
        """Streams `which` of these, the same streams: drawing from one advances the other."""

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray: ...

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray: ...

    def random(self, shape: tuple[int, ...]) -> np.ndarray: ...


class GeneratorStreams:
    """`Streams` over numpy generators, one call each: what every other implementation equals."""

    def __init__(self, generators: list[np.random.Generator]):
        self.generators = list(generators)

    def __len__(self) -> int:
        return len(self.generators)

    def subset(self, which: np.ndarray) -> GeneratorStreams:
        return GeneratorStreams([self.generators[k] for k in np.asarray(which).tolist()])

    def _each(self, draw, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty((len(self.generators), *shape))
        for k, generator in enumerate(self.generators):
            out[k] = draw(generator)
        return out

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._each(lambda g: g.standard_normal(shape), shape)

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        return self._each(lambda g: g.uniform(low, high, shape), shape)

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._each(lambda g: g.random(shape), shape)
