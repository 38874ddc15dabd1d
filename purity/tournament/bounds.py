"""Bounds an experiment is checked against before any work starts: graph sizes, names as
identities, and an estimate of the memory a run needs set against the machine's.

The memory model is deliberately simple and errs high: an interpreter with its libraries, a
fixed cost per agent (measured: about 23 KiB, RELIABILITY.md), and one group's plan, whose
arrays hold every planner's candidates × rollouts copies of the group with its kin matrix and
trace (cubic in the group size).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

BASE_BYTES = 160 * 2**20  # interpreter, numpy, polars, networkx
AGENT_BYTES = 24 * 2**10
NULL_CHUNK = 1024  # replicates the nulls simulate at once (`null.CHUNK`, held equal by a test)


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 when it cannot be told)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


def plan_bytes(group_size: int, steps: int, candidates: int, rollouts: int, horizon: int = 0) -> int:
    """Bytes of one group's plan: each of `group_size` planners simulates candidates × rollouts
    copies of the group, each with a kin matrix [n, n] and a trace of `steps` × n values."""
    seen = min(horizon, steps) if horizon else steps
    batch = group_size * candidates * rollouts
    return 8 * batch * group_size * (group_size + 4 * seen)


def estimate(experiment) -> int:
    """Bytes a local run of `experiment` needs, at least."""
    spec = experiment.arena
    plans = [
        plan_bytes(
            spec.group_size,
            spec.steps,
            entry.capability.candidates,
            entry.capability.rollouts,
            entry.capability.horizon,
        )
        for entry in experiment.mix
        if entry.decider == "planner"
    ]
    play = 8 * spec.episodes * spec.group_size * spec.steps * 16
    return (
        BASE_BYTES
        + AGENT_BYTES * experiment.population
        + max(plans, default=0)
        + play
        + null_bytes(experiment)
    )


def null_bytes(experiment) -> int:
    """Bytes of the cheap nulls: one chunk of up to `NULL_CHUNK` replicates of the whole population
    at a time, each agent with its weight row over the run's terms (every scope of a constraint
    when a scope can change), its slots and their copies. Measured (tracemalloc, 2,000 agents):
    ≈ 220 bytes per agent and replicate with 3 process terms, 8 × (6 × terms + 12) bounds it;
    structural mutation copies each wave's rows a few more times, 280–390 bytes with 2–4 process
    terms, and 8 × (9 × terms + 12) bounds that."""
    if not experiment.nulls:
        return 0
    terms = len(experiment.terms())
    words = (9 if experiment.mutation.structural else 6) * terms + 12
    replicates = min(NULL_CHUNK, experiment.null_replicates or NULL_CHUNK)
    return replicates * experiment.population * 8 * words


def check_memory(experiment, error, local: bool = True) -> None:
    """Refuse an experiment whose estimate exceeds this machine's memory, with the estimate;
    for a cluster (not `local`), warn and leave the decision to it."""
    need, have = estimate(experiment), machine_memory()
    if have and need > have:
        if not local:
            logging.getLogger("purity").warning(
                "%s needs about %s, more than this machine's %s; the cluster decides",
                experiment.name,
                _gib(need),
                _gib(have),
            )
            return
        raise error(
            "",
            f"an experiment that fits this machine's memory ({_gib(have)}); it needs about {_gib(need)} "
            "(population × 24 KiB + one group's plan: group_size² × candidates × rollouts × (group_size + 4 × steps) × 8 bytes "
            "+ the nulls: 1024 replicates × population × (6 × terms + 12, or 9 × terms + 12 with structural mutation) × 8 bytes)",
        )


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def check_graph_arguments(args: dict[str, Any], population: int, error) -> None:
    """A generator's whole-number arguments are sizes or counts of the graph: none may exceed
    the population (a `path_graph` of 10⁹ nodes is refused before it is built)."""
    for key, value in args.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > 64:
            raise error("args", "at most 64 values in a list argument", f"{key}: {len(values)} values")
        for item in values:
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) > max(population, 64):
                raise error(
                    "args", f"sizes no larger than experiment.population ({population})", f"{key} = {item}"
                )


def check_degree(degree: np.ndarray, group_size: int, error) -> None:
    """Graph matching puts each agent with group_size − 1 of its neighbours: every node needs them."""
    short = np.flatnonzero(degree < group_size - 1)
    if short.size:
        raise error(
            "generator",
            f"a graph whose every node has at least arena.group_size − 1 = {group_size - 1} neighbours",
            f"node {int(short[0])} with {int(degree[short[0]])} ({short.size} nodes short)",
        )


def check_names(mix, library: dict, load, error) -> None:
    """A profile's name is its identity in every table and report: two different profiles may
    not share one, and a user file may not take a library profile's name unless it is that
    profile (a copy, as a run's captured experiment holds)."""
    seen: dict[str, Any] = {}
    for k, entry in enumerate(mix):
        profile = entry.profile
        other = seen.setdefault(profile.name, profile)
        if _content(other) != _content(profile):
            raise error(
                f"population.mix[{k}].profile",
                f"profiles with distinct names ({profile.source} and {other.source} are both named {profile.name!r}; rename one)",
                profile.name,
            )
        if profile.name in library and str(library[profile.name]) != profile.source:
            if _content(load(library[profile.name])) != _content(profile):
                raise error(
                    f"population.mix[{k}].profile",
                    f"a name that is not a library profile's ({profile.source} is named {profile.name!r} like the library's "
                    "own, with other terms; rename it)",
                    profile.name,
                )


def _content(profile) -> tuple:
    return (profile.terms, profile.weights)
