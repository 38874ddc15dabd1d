"""purity: multi-agent tournaments that test whether non-consequentialist preferences survive
selection, reflection and training.

The layers are `purity.arenas` ← `purity.agents` ← `purity.tournament`; `purity.reports` reads
only the files a run wrote. In a notebook:

    import purity
    run = purity.run("experiments/default.toml")   # in this process; workers=N for Ray
    run = purity.load("runs/default")              # any run, replicates or sweep directory
    purity.plot.survival(run)                      # matplotlib (pip install 'purity-tournaments[plot]')

Importing `purity` is cheap: `run`, `load`, `Run` and `plot` are imported on first use, and
numpy, polars, networkx and Ray only when a run is computed or read.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version
from typing import Any

try:
    __version__ = _version("purity-tournaments")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["Run", "__version__", "load", "plot", "run"]

_LAZY = {"run": "purity.api", "load": "purity.api", "Run": "purity.reports.load"}


def __getattr__(name: str) -> Any:
    if name == "plot":
        return importlib.import_module("purity.plot")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'purity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
