"""The population as arrays (one row per slot), founding it, and reproducing it by selection.

Fitness decides how many descendants an agent has; the offspring is a copy of its parent with
mutated weights (`inherit`). Agents differ only by their weight row over the run's term
universe, their mix entry (founding profile and decider) and their current policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from purity.tournament.config import Experiment, Selection
from purity.tournament.mutation import MutationSpec, TermSpace, mutate
from purity.tournament.record import ORIGINS
from purity.tournament.selection import RULES

INHERIT = ORIGINS.index("inherit")
DESIGN = ORIGINS.index("design")


@dataclass(frozen=True)
class Designs:
    """The successors agents designed for the births of the next selection (reflection)."""

    rows: np.ndarray  # [N, T] weight row of the successor; NaN rows: the agent did not design
    labels: np.ndarray  # [N] object: the change that made the design from the designer's row


@dataclass(frozen=True)
class Population:
    ids: np.ndarray  # [N] int64
    entry: np.ndarray  # [N] index into the experiment's mix
    weights: np.ndarray  # [N, T] term weights (0 = absent, inf = hard)
    policies: np.ndarray  # [N, P] current episode policy
    origin: np.ndarray  # [N] index into ORIGINS
    parent: np.ndarray  # [N] int64 parent id, -1 for founders
    founder: np.ndarray  # [N] int64
    mutation: np.ndarray  # [N] object: what mutation made this agent differ from its parent
    next_id: int
    change: np.ndarray | None = None  # [N] object: the reflection change behind the row ("": none)
    designs: Designs | None = None  # successors designed for the next births (reflection)

    def __post_init__(self):
        if self.change is None:
            object.__setattr__(self, "change", np.full(len(self.ids), "", dtype=object))

    @property
    def size(self) -> int:
        return len(self.ids)


def shares_to_counts(shares: list[float], total: int) -> np.ndarray:
    """Largest-remainder rounding: counts that sum to `total` and follow the shares."""
    exact = np.asarray(shares) * total
    counts = np.floor(exact).astype(int)
    remainder = total - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def found(experiment: Experiment, weight_rows: np.ndarray) -> Population:
    """Generation 0: each mix entry gets its share of slots, in mix order."""
    counts = shares_to_counts([entry.share for entry in experiment.mix], experiment.population)
    entry = np.repeat(np.arange(len(counts)), counts)
    policies = np.array([experiment.mix[e].policy for e in entry], dtype=float)
    ids = np.arange(experiment.population, dtype=np.int64)
    return Population(
        ids=ids,
        entry=entry,
        weights=weight_rows[entry].copy(),
        policies=policies,
        origin=np.zeros(len(ids), dtype=np.int64),
        parent=np.full(len(ids), -1, dtype=np.int64),
        founder=ids.copy(),
        mutation=np.full(len(ids), "", dtype=object),
        next_id=len(ids),
    )


def reproduce(
    pop: Population,
    fitness: np.ndarray,
    selection: Selection,
    mutation: MutationSpec,
    space: TermSpace,
    rng_select: np.random.Generator,
    rng_mutate: np.random.Generator,
    structure=None,
) -> tuple[Population, list[tuple[int, int]]]:
    """The next generation and its births as (parent id, child id) pairs, in birth order.

    Moran (birth–death or death–birth): N elementary events at this generation's fitness, with
    overlapping generations (survivors keep their id and policy; a newborn may itself reproduce
    later in the same generation). Wright–Fisher, replicator and `none` replace everyone; `keep`
    has no births, so everyone carries over with its policy (learners keep learning).
    Offspring copy their parent's entry, policy and founder, with mutated weights; where the
    parent designed a successor (`pop.designs`), the design replaces the parent's weights before
    mutation (origin `design`, its change label recorded).
    """
    n = pop.size
    source, final = RULES[selection.kind](fitness, pop.entry, rng_select, structure)
    births = len(source)
    ids = np.concatenate([pop.ids, pop.next_id + np.arange(births, dtype=np.int64)])
    table = {
        name: np.concatenate(
            [getattr(pop, name), np.empty((births, *getattr(pop, name).shape[1:]), getattr(pop, name).dtype)]
        )
        for name in ("entry", "weights", "policies", "founder", "mutation", "change")
    }
    designed = np.zeros(n + births, dtype=bool)
    design_rows = table["weights"].copy()
    if pop.designs is not None:
        designed[:n] = ~np.isnan(pop.designs.rows).any(axis=1)
        design_rows[:n][designed[:n]] = pop.designs.rows[designed[:n]]
    table["change"][n:] = ""
    # A birth may copy an earlier birth of the same generation: fill in waves of birth depth.
    depth = np.zeros(n + births, dtype=np.int64)
    for k in range(births):
        depth[n + k] = depth[source[k]] + 1
    for level in range(1, int(depth.max(initial=0)) + 1):
        rows = n + np.flatnonzero(depth[n:] == level)
        parents = source[rows - n]
        for name in ("entry", "policies", "founder"):
            table[name][rows] = table[name][parents]
        table["weights"][rows], labels = mutate(
            np.where(designed[parents, None], design_rows[parents], table["weights"][parents]),
            rng_mutate,
            mutation,
            space,
        )
        table["mutation"][rows] = labels
        if pop.designs is not None:
            table["change"][rows] = np.where(
                designed[parents], pop.designs.labels[np.minimum(parents, n - 1)], ""
            )
    origin = np.concatenate([pop.origin, np.where(designed[source], DESIGN, INHERIT)])
    parent = np.concatenate([pop.parent, ids[source]])
    child = Population(
        ids=ids[final],
        origin=origin[final],
        parent=parent[final],
        next_id=pop.next_id + births,
        **{name: value[final] for name, value in table.items()},
    )
    return child, list(zip(ids[source].tolist(), ids[n:].tolist()))


def from_table(agents, weight_columns: list[str], policy_columns: list[str], next_id: int) -> Population:
    """The population one generation's agents table records (a polars frame), slot by slot.

    It is what that generation played with and what selection then copied: rebuilding it and
    calling `reproduce` with the same streams gives the next generation exactly (resume).
    """
    agents = agents.sort("slot")
    if agents["slot"].to_list() != list(range(agents.height)):
        raise ValueError("an agents table whose slots run 0..N-1 once each")
    return Population(
        ids=agents["id"].to_numpy().astype(np.int64),
        entry=agents["entry"].to_numpy().astype(np.int64),
        weights=agents.select(weight_columns)
        .to_numpy()
        .astype(np.float64)
        .reshape(agents.height, len(weight_columns)),
        policies=agents.select(policy_columns)
        .to_numpy()
        .astype(np.float64)
        .reshape(agents.height, len(policy_columns)),
        origin=np.array([ORIGINS.index(o) for o in agents["origin"].to_list()], dtype=np.int64),
        parent=agents["parent"].fill_null(-1).to_numpy().astype(np.int64),
        founder=agents["founder"].to_numpy().astype(np.int64),
        mutation=np.array(agents["mutation"].fill_null("").to_list(), dtype=object),
        next_id=int(next_id),
        change=np.array(
            agents["change"].fill_null("").to_list() if "change" in agents.columns else [""] * agents.height,
            dtype=object,
        ),
    )
