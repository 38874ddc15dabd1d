"""purity: multi-agent tournaments that test whether non-consequentialist preferences survive
selection, reflection and training.

The layers are `purity.arenas` ← `purity.agents` ← `purity.tournament`; `purity.reports` reads
only the files a run wrote. Importing `purity` is cheap: nothing heavy loads until it is used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("purity-tournaments")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
