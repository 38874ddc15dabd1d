"""One-line descriptions of a loaded run, replicates set or sweep: their repr in a notebook.

A dataclass repr would print every table; a researcher wants to know at a glance which run this
is, how far it got and where it lives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .load import Replicates, Run, Sweep


def _generations(run: Run) -> str:
    if run.agents.height == 0:
        return "no generation yet"
    first = int(run.agents.get_column("generation").min())  # type: ignore[arg-type]
    last = int(run.agents.get_column("generation").max())  # type: ignore[arg-type]
    count = last - first + 1
    return f"{count} generation{'s' if count != 1 else ''} ({first}–{last})"


def describe_run(run: Run) -> str:
    """<Run 'name' seed S: G generations (0–G-1), N agents, arena, T process terms, status, drift twin; path>"""
    seed = f" seed {run.seed}" if run.seed is not None else ""
    agents = run.agents.filter(run.agents.get_column("generation") == run.last_generation).height
    arena = run.manifest.get("arena", {}).get("name", "?")
    terms = len(run.process_terms)
    parts = [
        _generations(run),
        f"{agents} agents" if run.agents.height else None,
        str(arena),
        f"{terms} process term{'s' if terms != 1 else ''}",
        str(run.manifest.get("status", "unknown status")),
        "drift twin" if run.drift is not None else None,
        f"stopped at fixation at generation {run.stopped_at}" if run.stopped_at is not None else None,
    ]
    return f"<Run {run.name!r}{seed}: {', '.join(p for p in parts if p)}; {run.path}>"


def describe_replicates(reps: Replicates) -> str:
    seeds = ", ".join(str(s) for s in reps.seeds)
    missing = f", {len(reps.missing)} not started" if reps.missing else ""
    return f"<Replicates {reps.name!r}: {len(reps.runs)} seeds ({seeds}){missing}; {reps.path}>"


def describe_sweep(sweep: Sweep) -> str:
    done = sum(run.status == "complete" for run in sweep.runs)
    keys = f", keys {', '.join(sweep.keys)}" if sweep.keys else ""
    return f"<Sweep {sweep.name!r}: {len(sweep.runs)} runs ({done} complete){keys}; {sweep.path}>"
