"""Which implementation plays an arena's rollouts: the compiled loop (the default) or numpy.

The compiled commons (`purity.arenas.commons_compiled`) equals the numpy core bit for bit and is
about 3× faster at the batch sizes runs use (BENCHMARKS.md), so it is the default wherever numba
imports; `PURITY_BACKEND=numpy` chooses the numpy core, `PURITY_BACKEND=numba` insists on the
compiled loop. It is a switch of the environment, not of the experiment, because it changes no
number: a run's tables are the same either way (tests hold both backends to it, and
`make test-lowest` runs the whole suite on numpy). The choice is made where the arena is built and
travels with it to Ray workers. Arenas without a compiled loop play numpy whatever it says. The
cheap nulls read it too (`purity.tournament.null._kernels`): their Moran events and
replay then run compiled, drawing the same numbers from the same stream.
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


def compiled() -> bool:
    """Whether the compiled loops play: unless the environment says numpy, whenever numba imports
    (a dependency of purity; a platform without it plays numpy, with the same numbers). Checked
    when an arena is built, so a wrong value, or numba asked for and missing, fails before any work
    starts."""
    chosen = os.environ.get(VARIABLE, "")
    if chosen not in ("", *CHOICES):
        raise InputError(VARIABLE, "", "numpy or numba (unset: numba where it imports)", chosen)
    if chosen == "numpy":
        return False
    if chosen == "numba" and not _numba():
        raise InputError(VARIABLE, "", "numpy, or numba installed (pip install numba)", chosen)
    return _numba()
