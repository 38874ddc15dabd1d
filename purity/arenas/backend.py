"""Which implementation plays an arena's rollouts: numpy (the default) or a compiled loop.

`PURITY_BACKEND=numba` chooses the compiled commons (`purity.arenas.commons_compiled`), equal to
the numpy core bit for bit and 2.5–3× faster at the batch sizes runs use (BENCHMARKS.md). It is a
switch of the environment, not of the experiment, because it changes no number: a run's tables
are the same either way. The choice is made where the arena is built and travels with it to Ray
workers, which then need numba installed too. Arenas without a compiled loop play numpy whatever
it says. The cheap nulls read it too (`purity.tournament.batch_selection.kernels`): their Moran
events and replay then run compiled, drawing the same numbers from the same stream.
"""

from __future__ import annotations

import os

from purity.inputs import InputError

VARIABLE = "PURITY_BACKEND"
CHOICES = ("numpy", "numba")


def compiled() -> bool:
    """Whether the environment chooses the compiled loops; checked when an arena is built, so a
    wrong value or a missing numba fails before any work starts."""
    chosen = os.environ.get(VARIABLE, "numpy") or "numpy"
    if chosen not in CHOICES:
        raise InputError(VARIABLE, "", "numpy (the default) or numba", chosen)
    if chosen == "numpy":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        raise InputError(VARIABLE, "", "numpy, or numba installed (pip install numba)", chosen) from None
    return True
