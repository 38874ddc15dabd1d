"""What a run directory says about the run itself: its manifest (the experiment as a record, the
versions and the status), and a self-contained copy of its experiment that `--resume` reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path

from purity.agents import profiles
from purity.agents.preferences import Term
from purity.inputs import InputError
from purity.tournament import config, record, storage
from purity.tournament.config import Experiment
from purity.tournament.experiment_data import dump


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """The versions of the packages this process runs (a copy: the caller may change it)."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    """Read once a process: what it imported keeps its version if packages are reinstalled
    under it, and each metadata look-up scans the path (about 2 ms, 7 of them a manifest)."""
    names = {"purity": "purity-tournaments"} | {
        name: name for name in ("numpy", "polars", "networkx", "pettingzoo", "gymnasium", "ray")
    }
    found = {}
    for name, distribution in names.items():
        try:
            found[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


def git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def git_dirty(where: Path = Path(__file__).parent) -> bool | None:
    """Whether the checkout purity runs from has uncommitted changes (they ship to cluster nodes
    but are not in `git_revision`); None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=where,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def platform_info() -> dict[str, str]:
    """The machine the run was driven from: results are bitwise reproducible only on equal ones."""
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
    }


def provenance() -> dict:
    return {"git_revision": git_revision(), "git_dirty": git_dirty(), "platform": platform_info()}


def manifest(experiment: Experiment, terms: tuple[Term, ...], arena, role: str) -> dict:
    """The manifest of a run starting now (role `main` or `drift`)."""
    return {
        "name": experiment.name,
        "seed": experiment.seed,
        "role": role,
        "status": "running",
        "generations": experiment.generations,
        "generations_done": 0,
        "survival_threshold": experiment.survival_threshold,
        "experiment": dump(experiment),
        "arena": {
            "name": arena.name,
            "has_oversight": arena.has_oversight,
            "event_kinds": list(arena.event_kinds),
            "policy_names": list(arena.policy_names),
        },
        "terms": [term.describe() for term in terms],
        "profiles": {
            entry.profile.name: {
                "description": entry.profile.description,
                "source": entry.profile.source,
                "weights": {
                    term.key: weight for term, weight in zip(entry.profile.terms, entry.profile.weights)
                },
            }
            for entry in experiment.mix
        },
        "versions": versions(),
        **provenance(),
        "command": sys.argv,
        "started": now(),
        "finished": None,
    }


def replicates_manifest(experiment: Experiment) -> dict:
    """The manifest of a directory of `seeds` single-seed runs, one per `seed=<s>/`."""
    return {
        "name": experiment.name,
        "role": "replicates",
        "status": "running",
        "seeds": [replicate.seed for replicate in experiment.replicates()],
        "runs": [f"seed={replicate.seed}" for replicate in experiment.replicates()],
        "experiment": dump(experiment),
        "versions": versions(),
        **provenance(),
        "started": now(),
        "finished": None,
    }


def capture(experiment: Experiment, run_dir: Path, manifest: dict) -> None:
    """Keep a self-contained copy of the experiment in the run directory: `experiment.toml`,
    written from the experiment itself (every value explicit, the seed included) and pointing at
    copies of its profiles in `profiles/` (and of a graph file in `graphs/`).

    Written from the loaded experiment rather than copied from its file, so an experiment file
    or profile edited later, a library profile changed by an upgrade, a `--seed` override or a
    sweep's grid point cannot change what a resumed run continues. The copy is read back and
    must give the same experiment, else the manifest says why this run cannot be resumed.
    """
    try:
        references = []
        for k, entry in enumerate(experiment.mix):
            reference = f"profiles/mix-{k}.toml"
            storage.write_text(storage.toml_text(profiles.dump(entry.profile)), run_dir / reference)
            references.append(reference)
        graph = None
        if experiment.matching.file is not None:
            graph = f"graphs/{Path(experiment.matching.file).name}"
            storage.copy_file(Path(experiment.matching.file), run_dir / graph)
        note = f"# {experiment.name}, captured by purity when this run started: `purity run --resume` reads it.\n# First read from {json.dumps(experiment.source)}.\n"
        storage.write_text(
            note + storage.toml_text(dump(experiment, references, graph)), run_dir / record.CAPTURE
        )
        if _load(run_dir, recorded(experiment)) != experiment:
            raise ValueError("reading the copy back gave another experiment")
    except (InputError, ValueError, TypeError) as error:
        manifest.update(experiment_file=None, experiment_file_error=str(error))
    else:
        manifest.update(experiment_file=record.CAPTURE)
        manifest.pop("experiment_file_error", None)
    storage.write_json(manifest, run_dir / record.MANIFEST)


def _load(run_dir: Path, recorded: dict) -> Experiment:
    """The captured experiment, with the file names it was first read from put back."""
    loaded = config.load(run_dir / record.CAPTURE)
    mix = tuple(
        dataclasses.replace(entry, profile=dataclasses.replace(entry.profile, source=row["source"]))
        for entry, row in zip(loaded.mix, recorded["population"]["mix"])
    )
    matching = dataclasses.replace(loaded.matching, file=recorded["matching"]["file"])
    return dataclasses.replace(loaded, source=recorded["experiment"]["source"], mix=mix, matching=matching)


def recorded(experiment: Experiment) -> dict:
    """The experiment as the manifest holds it (after JSON)."""
    return json.loads(json.dumps(storage.plain(dump(experiment))))


def recall(run_dir: Path, manifest: dict) -> Experiment:
    """The experiment a run directory captured when it started."""
    if not manifest.get("experiment_file") or not (run_dir / record.CAPTURE).is_file():
        why = (
            manifest.get("experiment_file_error")
            or "it was started by an older purity, or stopped before it captured its experiment; start it again with --force"
        )
        raise InputError(
            run_dir, "--resume", f"a run directory with its experiment captured in {record.CAPTURE} ({why})"
        )
    try:
        experiment = _load(run_dir, manifest["experiment"])
    except (KeyError, TypeError, IndexError):
        raise InputError(
            run_dir / record.MANIFEST,
            "experiment",
            f"the experiment captured in {record.CAPTURE} (the manifest was changed)",
        ) from None
    check_recorded(experiment, manifest, run_dir)
    return experiment


def check_recorded(experiment: Experiment, manifest: dict, run_dir: Path) -> None:
    """Refuse to continue a run whose captured experiment is not the one its manifest records."""
    if recorded(experiment) != manifest.get("experiment"):
        raise InputError(
            run_dir / record.MANIFEST,
            "experiment",
            f"the experiment captured in {record.CAPTURE} (the copy or the manifest was changed)",
        )
