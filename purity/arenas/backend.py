"""Which implementation plays an arena's rollouts: the compiled loop (the default) or numpy.

The compiled commons (`purity.arenas.commons_compiled`) equals the numpy core bit for bit and is
faster at every batch size (1.6–3× at 4,096 episodes a call, about 14× at 64: BENCHMARKS.md), so
it is the default wherever numba imports; `PURITY_BACKEND=numpy` chooses the numpy core and
`PURITY_BACKEND=numba` insists on the compiled loop. It is a switch of the environment, not of the
experiment, because it changes no number: a run's tables are the same either way (tests hold both
backends to it, and `make test-lowest` runs the whole suite on numpy). The choice is made where
the arena is built and travels with it to Ray workers. Arenas without a compiled loop play numpy
whatever it says. The cheap nulls read it too (`purity.tournament.null._kernels`): their Moran
events and replay then run compiled, drawing the same numbers from the same stream. Where an
arena plays compiled, a generation draws its planners' candidates and its episodes' noise for
every group at once compiled too (`purity.tournament.play.together`, `purity.arenas.streams`),
unless numpy's own draws differ from the kernels' here (`streams_compiled.matches_numpy`).
"""

from __future__ import annotations

import functools
import os

from purity.inputs import InputError

VARIABLE = "PURITY_BACKEND"
CHOICES = ("numpy", "numba")


@functools.cache
def _numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def chosen() -> str:
    """The environment's choice, checked but not acted on: "numpy", "numba" (insisted on, so
    numba must import now) or "" (numba where it imports, found out at the first rollout, so
    commands that build arenas only to check an experiment never import numba). Read where an
    arena is built, so a wrong value fails before any work starts."""
    choice = os.environ.get(VARIABLE, "")
    if choice not in ("", *CHOICES):
        raise InputError(VARIABLE, "", "numpy or numba (unset: numba where it imports)", choice)
    if choice == "numba" and not _numba():
        raise InputError(VARIABLE, "", "numpy, or numba installed (pip install numba)", choice)
    return choice


def plays_compiled(choice: str) -> bool:
    """Whether a `chosen()` value plays the compiled loops in this process."""
    return choice != "numpy" and _numba()


def compiled() -> bool:
    """Whether the environment chooses the compiled loops here, now."""
    return plays_compiled(chosen())
