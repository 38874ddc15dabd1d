"""Focal populations: mix entries whose agents play a policy trained outside the tournament
(`decider = "focal"`), scored among its agents like any other (docs/plugins.md).

Two sources, exactly one per entry:
- `policy_fn = "module:callable"`: a Python policy that reads the environment's observations each
  step (`purity.arenas.external`); only arenas that take such policies (`pettingzoo`) play it.
- `trained = "RUN_DIR"`: the policy a learner of a `purity train` run ended with, in any arena
  whose policy space is the train run's. It is played as the learner played it (a Bernoulli draw
  of its θ each episode) and never updated: a frozen learner.

Either way the behaviour is fixed: offspring copy it, no planner or learner changes it; the
entry's profile (its weights) is inherited and mutated as any other's, so process terms are
scored on what the focal agents do and selection decides how many there are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from purity import plugins
from purity.arenas.core import Arena
from purity.arenas.external import ExternalPolicy, marker
from purity.inputs import Table, read_bytes
from purity.tournament import record


@dataclass(frozen=True)
class Focal:
    """Where a focal entry's policy comes from (one of the two is set)."""

    policy_fn: str = ""  # "module:callable" (a .py module as an absolute path)
    trained: str = ""  # a `purity train` run directory (absolute)
    agent: int = -1  # the id of the learner of that run whose policy it plays

    def data(self) -> dict:
        """The keys an experiment file spells this with."""
        if self.policy_fn:
            return {"policy_fn": self.policy_fn}
        return {"trained": self.trained, "agent": self.agent}


def read(
    entry: Table, path: Path, arena: Arena, externals: list[ExternalPolicy]
) -> tuple[Focal, tuple[float, ...]]:
    """The source of a focal entry and its episode policy (a marker, or the trained θ); an
    external policy is appended to `externals` (one per distinct callable) and tried once."""
    if entry.has("policy_fn") == entry.has("trained"):
        raise entry.error("policy_fn", 'exactly one of policy_fn = "module:callable" or trained = "RUN_DIR"')
    if entry.has("trained"):
        return _trained(entry, path, arena)
    policy = _external(entry, path)
    if not getattr(arena, "takes_policies", False):
        raise entry.error(
            "policy_fn", "an arena that plays policies reading observations (pettingzoo)", arena.name
        )
    known = [p.spec for p in externals]
    if policy.spec not in known:
        arena.probe(policy)  # a policy that fails or answers outside the action space stops here
        externals.append(policy)
        known.append(policy.spec)
    return Focal(policy_fn=policy.spec), marker(known.index(policy.spec), len(arena.policy_names))


def _external(entry: Table, path: Path) -> ExternalPolicy:
    written = entry.string("policy_fn")
    module, _, attr = written.rpartition(":")
    if not module or not attr.isidentifier():
        raise entry.error("policy_fn", 'a "module:callable" (a dotted module or a .py plug-in file)', written)
    where = (str(path), entry.field("policy_fn"))
    if module.endswith(".py") or "/" in module:
        file = str((path.parent / module).resolve())
        if not Path(file).is_file():
            raise entry.error("policy_fn", f"a .py file that exists ({file} does not)", written)
        found = [plugin for plugin in plugins.loaded() if plugin.file == file and plugin.code is not None]
        if not found:
            raise entry.error(
                "policy_fn", "a .py file also listed in [plugins] modules (so Ray workers get it)", written
            )
        return ExternalPolicy(f"{file}:{attr}", found[0].module, *where)
    return ExternalPolicy(written, module, *where)


def _trained(entry: Table, path: Path, arena: Arena) -> tuple[Focal, tuple[float, ...]]:
    """θ of a learner at the last generation a `purity train` run recorded."""
    import polars as pl

    written = entry.string("trained")
    run = (path.parent / written).resolve()
    expected = "a run directory that purity train wrote (one seed's, with manifest.json)"
    if not (run / record.MANIFEST).is_file():
        raise entry.error("trained", expected, written)
    try:
        manifest = json.loads(read_bytes(run / record.MANIFEST))
        recorded = manifest["experiment"]
        learners = [k for k, row in enumerate(recorded["population"]["mix"]) if row["decider"] == "learner"]
        names = list(manifest["arena"]["policy_names"])
        agents = pl.read_parquet(run / "agents/**/*.parquet")
    except (ValueError, KeyError, TypeError, OSError, pl.exceptions.PolarsError) as error:
        raise entry.error("trained", expected, f"{written} ({type(error).__name__})") from None
    if recorded["arena"]["name"] != arena.name or names != list(arena.policy_names):
        raise entry.error(
            "trained",
            f"a run of the {arena.name} arena with policy parameters {', '.join(arena.policy_names)}",
            f"{recorded['arena']['name']}: {', '.join(names)}",
        )
    last = agents.filter(
        (pl.col("generation") == agents["generation"].max()) & pl.col("entry").is_in(learners)
    ).sort("id")
    ids = last["id"].to_list()
    if not ids:
        raise entry.error("trained", "a run whose last generation has learners", written)
    agent = entry.integer("agent", default=ids[0], low=0)
    if agent not in ids:
        raise entry.error("agent", f"the id of a learner of {written} ({ids[0]} … {ids[-1]})", agent)
    row = last.filter(pl.col("id") == agent)
    theta = tuple(float(row[record.policy(name)][0]) for name in names)
    return Focal(trained=str(run), agent=agent), theta
