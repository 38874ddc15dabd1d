"""The atlas: the three arguments' sweeps, and the singleton case of the first, in
`experiments/atlas/`, run one after another under one folder and resumable, at a reduced size
(a laptop's) or at full size (`full=True`: every run's seeds and generations multiplied, for a
cluster).

```
<runs>/atlas/ or <runs>/atlas-full/
  external.toml, singleton.toml, internal.toml, training.toml    (full size only) the sweep files as run
  atlas-external/  atlas-singleton/  atlas-internal/  atlas-training/   ordinary sweep directories
```

A sweep directory that already exists is continued (`sweep.run_sweep(resume=True)`): its
finished runs are kept, so an interrupted atlas run again, or with `--resume`, finishes what is
left. The page is the reports' (`purity.reports.atlas_page`); this module needs nothing from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from purity.inputs import InputError, leading_comment, load_toml
from purity.tournament import config, storage
from purity.tournament.sweep import load, run_sweep

SWEEPS = Path(__file__).resolve().parents[2] / "experiments" / "atlas"
# argument key, its title, its sweep file: the page's order
ARGUMENTS = (
    ("external", "External competition", "external.toml"),
    ("singleton", "External competition: the singleton", "singleton.toml"),
    ("internal", "Internal competition", "internal.toml"),
    ("training", "Training", "training.toml"),
)
FULL_SEEDS = 4  # --full: each run's seeds (and a base's explicit null replicates) × this
FULL_GENERATIONS = 2  # --full: each run's generations × this


@dataclass(frozen=True)
class Part:
    """One argument of the atlas: its sweep file as run and its sweep directory."""

    key: str
    title: str
    sweep_file: Path
    sweep_dir: Path


def folder(runs: Path, full: bool) -> Path:
    return Path(runs) / ("atlas-full" if full else "atlas")


def sweep_files(sweeps: Path, target: Path, full: bool) -> list[tuple[str, str, Path]]:
    """The atlas's sweep files: the shipped ones, or at full size copies written into `target`
    whose grids also set the base's seeds and generations, multiplied (one value each), and its
    `null_replicates` when it sets them, multiplied as its seeds are (so about as many disjoint
    seed-means, and the same corrected tests stay reachable), up to the most a file may ask for."""
    out = []
    for key, title, name in ARGUMENTS:
        path = Path(sweeps) / name
        if not path.is_file():
            raise InputError(path, "", "an atlas sweep file (experiments/atlas/)")
        if full:
            path = _full_copy(path, target / name)
        out.append((key, title, path))
    return out


def _full_copy(path: Path, target: Path) -> Path:
    sweep = load(path)  # checked as shipped first
    data = load_toml(path)
    base = config.load(sweep.base)
    data["sweep"]["experiment"] = str(sweep.base.resolve())
    grid = data.setdefault("grid", {})
    grid["experiment.seeds"] = [base.seeds * FULL_SEEDS]
    grid["experiment.generations"] = [base.generations * FULL_GENERATIONS]
    if base.null_replicates:
        grid["control.null_replicates"] = [min(base.null_replicates * FULL_SEEDS, config.MAX_NULL_REPLICATES)]
    text = "".join(f"{line}\n" for line in leading_comment(path)) + storage.toml_text(data)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        storage.write_text(text, target)
    return target


def run_atlas(
    runs: Path,
    *,
    full: bool = False,
    workers: int | None = None,
    address: str | None = None,
    resume: bool = False,
    progress: bool = True,
    sweeps: Path = SWEEPS,
    only: tuple[str, ...] = (),
) -> list[Part]:
    """Run (or continue) every sweep of the atlas; return its parts in page order. `resume`
    insists that there is an atlas to continue; without it an existing sweep is continued too.
    `only`: the argument keys to run (all when empty)."""
    target = folder(runs, full)
    if resume and not target.is_dir():
        raise InputError(target, "--resume", "an atlas folder to continue (run `purity atlas` first)")
    files = sweep_files(sweeps, target, full)
    parts = []
    for key, title, path in files:
        if only and key not in only:
            continue
        sweep_dir = target / load(path).name
        if (sweep_dir / "sweep.json").is_file():
            run_sweep(None, sweep_dir, workers, address, progress=progress, resume=True)
        else:
            run_sweep(path, target, workers, address, progress=progress)
        parts.append(Part(key, title, path, sweep_dir))
    return parts
