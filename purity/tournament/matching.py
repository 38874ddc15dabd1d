"""Matching: which agents play together in a generation (docs/concepts.md#one-generation, step 1).

Three interaction structures, registered in ``MATCHINGS`` by the names experiment files use
(``[matching] kind``): ``well_mixed`` (random groups, the no-structure baseline; with ``play =
"all_pairs"`` the round robin :func:`all_pairs`), ``graph`` (:class:`Structure`, built by
:func:`graph_structure`; groups from :func:`graph_groups` or :func:`graph_edges`) and
``assortative`` matching with index σ. A new matching is one function and one entry there. Where an agent appears in several groups, its payoff is
the mean over its appearances (:func:`appearance_mean`), so agents with more neighbours are
not paid more merely for playing more often.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from xml.etree.ElementTree import ParseError

import networkx as nx
import numpy as np


def well_mixed(n_agents: int, group_size: int, rng: np.random.Generator) -> np.ndarray:
    """Random groups: a permutation of the ``n_agents`` slots cut into rows of ``group_size``.

    Every agent plays exactly once and any two agents are equally likely to meet, which is
    the no-structure baseline against which graph and assortative matching are compared.
    Returns an int64 array of shape ``[n_agents // group_size, group_size]``.
    """
    n_agents, group_size = _check_partition(n_agents, group_size)
    return rng.permutation(n_agents).astype(np.int64).reshape(-1, group_size)


def _check_partition(n_agents: int, group_size: int) -> tuple[int, int]:
    n_agents = int(n_agents)
    group_size = int(group_size)
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    if n_agents < 0 or n_agents % group_size:
        raise ValueError(
            f"n_agents ({n_agents}) must be a non-negative multiple of group_size ({group_size})"
        )
    return n_agents, group_size


# ---------------------------------------------------------------- graphs


@dataclass(frozen=True, eq=False)
class Structure:
    """An undirected interaction/replacement graph on slots ``0..n-1``, as CSR arrays.

    The neighbours of slot ``i`` are ``indices[indptr[i]:indptr[i+1]]``, in increasing order.
    The same graph says who plays whom (:func:`graph_groups`, :func:`graph_edges`) and where
    offspring can land (``selection.moran_birth_death`` / ``moran_death_birth``).
    """

    indptr: np.ndarray  # [n+1] int64
    indices: np.ndarray  # [E] int64, each undirected edge twice
    n: int
    name: str

    @property
    def degree(self) -> np.ndarray:
        """Number of neighbours of each slot, ``[n]`` int64."""
        return np.diff(self.indptr)

    @classmethod
    def from_graph(cls, g: nx.Graph, name: str = "graph") -> Structure:
        """Slots ``0..N-1`` are the graph's nodes in sorted order of their labels.

        So ``grid_2d_graph`` cell ``(r, c)`` becomes slot ``r*cols + c`` and integer labels keep
        their order. Parallel edges of a multigraph collapse to one. Directed graphs, graphs
        without nodes, self-loops and isolated nodes (an agent nobody meets and nobody can
        replace) are rejected with ``ValueError``.
        """
        if not isinstance(g, nx.Graph):
            raise TypeError(f"expected a networkx graph, got {type(g).__name__}")
        if g.is_directed():
            raise ValueError(f"graph {name!r} is directed; interaction structures must be undirected")
        n = g.number_of_nodes()
        if n == 0:
            raise ValueError(f"graph {name!r} has no nodes")
        loops = list(nx.nodes_with_selfloops(g))
        if loops:
            raise ValueError(f"graph {name!r} has self-loops at nodes {loops[:5]}")
        isolated = list(nx.isolates(g))
        if isolated:
            raise ValueError(
                f"graph {name!r} has {len(isolated)} isolated node(s), e.g. {isolated[:5]}; "
                "every agent needs at least one neighbour"
            )
        try:
            labels = sorted(g.nodes)
        except TypeError as err:
            raise ValueError(f"graph {name!r} has node labels that cannot be sorted: {err}") from None
        slot = {label: i for i, label in enumerate(labels)}
        edges = np.array([(slot[u], slot[v]) for u, v in g.edges()], dtype=np.int64).reshape(-1, 2)
        edges = np.unique(np.sort(edges, axis=1), axis=0)  # multigraph: one entry per pair
        src = np.concatenate([edges[:, 0], edges[:, 1]])
        dst = np.concatenate([edges[:, 1], edges[:, 0]])
        order = np.lexsort((dst, src))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        indices = dst[order]
        indptr.flags.writeable = False  # shared by every generation: keep it frozen
        indices.flags.writeable = False
        return cls(indptr=indptr, indices=indices, n=n, name=name)


GRAPH_FILE_SUFFIXES = (".edgelist", ".txt", ".graphml", ".gml", ".adjlist")
# What the networkx readers raise on a bad file (UnicodeDecodeError is a ValueError).
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, ParseError, nx.NetworkXError)


def graph_structure(
    generator: str | None = None, args: dict[str, Any] | None = None, file: str | None = None
) -> Structure:
    """Build a :class:`Structure` from a networkx generator or a graph file.

    ``generator`` is the name of a ``networkx`` function ending in ``_graph`` (``cycle_graph``,
    ``grid_2d_graph``, ``random_regular_graph``, ``star_graph``, ``barabasi_albert_graph``, …),
    called as ``networkx.<generator>(**args)``; a ``seed`` in ``args`` is passed through as
    given. ``file`` is read by its suffix: ``.edgelist``/``.txt`` (``read_edgelist``, integer
    nodes), ``.adjlist`` (integer nodes), ``.graphml``, ``.gml``. Give exactly one of the two.
    Every problem (unknown name, arguments the generator rejects, unreadable file, a graph
    ``Structure.from_graph`` rejects) is a ``ValueError`` with a message meant for the user.
    """
    args = dict(args or {})
    if (generator is None) == (file is None):
        raise ValueError("give exactly one of a graph generator name or a graph file")
    if generator is not None:
        fn = getattr(nx, generator, None) if isinstance(generator, str) else None
        if (
            fn is None
            or not callable(fn)
            or not generator.endswith("_graph")
            or generator.startswith(("_", "is_", "write_", "draw"))
        ):
            raise ValueError(
                f"unknown graph generator {generator!r}; expected the name of a networkx "
                "function ending in '_graph', e.g. 'cycle_graph', 'grid_2d_graph', "
                "'random_regular_graph', 'star_graph', 'barabasi_albert_graph'"
            )
        try:
            g = fn(**args)
        except (TypeError, ValueError, nx.NetworkXException) as err:
            shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
            raise ValueError(f"networkx.{generator}({shown}) failed: {err}") from None
        if not isinstance(g, nx.Graph):
            raise ValueError(f"networkx.{generator} did not return a graph (got {type(g).__name__})")
        name = f"{generator}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
        return Structure.from_graph(g, name)

    path = Path(file)  # type: ignore[arg-type]
    if args:
        raise ValueError("graph arguments only apply to a generator, not to a graph file")
    suffix = path.suffix.lower()
    readers = {
        ".edgelist": lambda p: nx.read_edgelist(p, nodetype=int),
        ".txt": lambda p: nx.read_edgelist(p, nodetype=int),
        ".adjlist": lambda p: nx.read_adjlist(p, nodetype=int),
        ".graphml": nx.read_graphml,
        ".gml": nx.read_gml,
    }
    if suffix not in readers:
        raise ValueError(
            f"graph file {str(path)!r}: unknown suffix {suffix or '(none)'!r}; "
            f"expected one of {', '.join(GRAPH_FILE_SUFFIXES)}"
        )
    if not path.is_file():
        raise ValueError(f"graph file {str(path)!r} does not exist")
    try:
        g = readers[suffix](path)
    except _READ_ERRORS as err:
        raise ValueError(f"cannot read graph file {str(path)!r}: {err}") from None
    return Structure.from_graph(g, path.name)


def graph_groups(structure: Structure, group_size: int, rng: np.random.Generator) -> np.ndarray:
    """One group per slot: the slot first, then ``group_size-1`` distinct neighbours.

    The neighbours are a uniform random subset in random order; a slot whose degree is exactly
    ``group_size-1`` gets all its neighbours in CSR (increasing) order. Each agent thus
    appears in its own group and in some of its neighbours' groups; combine payoffs with
    :func:`appearance_mean`. Returns ``[N, group_size]`` int64; ``ValueError`` if some slot has
    fewer than ``group_size-1`` neighbours.
    """
    group_size = int(group_size)
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    k = group_size - 1
    deg = structure.degree
    short = np.flatnonzero(deg < k)
    if short.size:
        raise ValueError(
            f"group_size {group_size} needs every node to have >= {k} neighbours on graph "
            f"{structure.name!r}; node {int(short[0])} has {int(deg[short[0]])}"
            + (f" ({short.size} nodes are short)" if short.size > 1 else "")
        )
    n = structure.n
    groups = np.empty((n, group_size), dtype=np.int64)
    groups[:, 0] = np.arange(n)
    if k == 0:
        return groups
    row = np.repeat(np.arange(n), deg)
    key = rng.random(row.size)
    key[np.repeat(deg == k, deg)] = 0.0  # exact-degree rows keep CSR order (stable sort)
    order = np.lexsort((key, row))
    take = structure.indptr[:-1, None] + np.arange(k)[None, :]
    groups[:, 1:] = structure.indices[order][take]
    return groups


def graph_edges(structure: Structure) -> np.ndarray:
    """Each undirected edge once as ``[i, j]``, ``i < j``: every agent plays each neighbour once.

    Deterministic (CSR order). Returns ``[E/2, 2]`` int64; pair with :func:`appearance_mean`.
    """
    row = np.repeat(np.arange(structure.n, dtype=np.int64), structure.degree)
    keep = structure.indices > row
    return np.stack([row[keep], structure.indices[keep]], axis=1)


def all_pairs(n: int) -> np.ndarray:
    """Round robin: every unordered pair of the ``n`` agents once, no self-play.

    Deterministic lexicographic order ``(0,1), (0,2), …, (n-2,n-1)``; ``[n(n-1)/2, 2]`` int64.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    i, j = np.triu_indices(n, 1)
    return np.stack([i, j], axis=1).astype(np.int64)


def appearance_mean(groups: np.ndarray, values: np.ndarray, n_agents: int) -> np.ndarray:
    """Mean of ``values[g, m]`` over every appearance of each agent ``groups[g, m]``.

    For structures where an agent plays in several groups (graph groups, edges, round robin).
    Returns ``[n_agents]`` float64; an agent that never appears gets NaN (its payoff is
    undefined, and ``fitness_from_payoff`` refuses NaN rather than guess).
    """
    groups = np.asarray(groups)
    values = np.asarray(values, dtype=np.float64)
    if groups.shape != values.shape:
        raise ValueError(f"groups {groups.shape} and values {values.shape} must have the same shape")
    flat = groups.ravel()
    if flat.size and (flat.min() < 0 or flat.max() >= n_agents):
        raise ValueError(f"group members must lie in 0..{n_agents - 1}")
    total = np.bincount(flat, weights=values.ravel(), minlength=n_agents)
    count = np.bincount(flat, minlength=n_agents)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def home_seats(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[G, n] bool: the one appearance of each agent in which it plans its policy.

    In a partition that is every seat. Where agents meet several groups (all pairs, graphs) it
    is one of their appearances drawn uniformly, so nobody always models the same partner
    (with all pairs, "the first pair" would be the pair with agent 0 for everyone).
    """
    flat = groups.reshape(-1)
    order = np.lexsort((rng.random(flat.size), flat))  # by agent, random within an agent
    chosen = order[np.r_[True, flat[order][1:] != flat[order][:-1]]]
    homes = np.zeros(flat.size, dtype=bool)
    homes[chosen] = True
    return homes.reshape(groups.shape)


# ---------------------------------------------------------------- assortative


def assortative(types: np.ndarray, group_size: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A partition into groups in which like meets like more often: assortment index ``sigma``.

    Agents are shuffled; each group is opened by the next unassigned agent in that order, and
    each further seat is filled, with probability ``sigma``, by an unassigned agent of the
    opener's type drawn uniformly (if any is left) and otherwise by an unassigned agent drawn
    uniformly from all. ``sigma = 0`` is well-mixed matching in distribution; ``sigma = 1``
    gives type-pure groups whenever each type's count is a multiple of ``group_size``. With
    pairs and two types, P(partner same type) − P(partner same type | other type) = σ, so in
    the donation game cooperators earn ``σb − c`` more than defectors (Hamilton's rule).
    Returns ``[N/group_size, group_size]`` int64, openers in column 0.
    """
    types = np.asarray(types)
    if types.ndim != 1:
        raise ValueError(f"types must be 1-D, got shape {types.shape}")
    n, group_size = _check_partition(types.size, group_size)
    sigma = float(sigma)
    if not 0.0 <= sigma <= 1.0:
        raise ValueError(f"sigma must be in [0, 1], got {sigma}")
    order = rng.permutation(n)
    coin = (rng.random(n) < sigma).tolist()
    pick = rng.random(n).tolist()
    uniq, t = np.unique(types, return_inverse=True)
    t = t.ravel()
    # Swap-remove pools: all unassigned agents, and the unassigned agents of each type, each
    # with positions so that any agent leaves both pools in O(1).
    pool = np.arange(n).tolist()
    pool_pos = list(range(n))
    counts = np.bincount(t, minlength=uniq.size)
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    by_type = np.argsort(t, kind="stable")
    tpool = [by_type[s : s + c].tolist() for s, c in zip(starts.tolist(), counts.tolist())]
    tpos = np.empty(n, dtype=np.int64)
    tpos[by_type] = np.arange(n) - np.repeat(starts, counts)
    tpos_l = tpos.tolist()
    t_l = t.tolist()
    assigned = [False] * n

    def remove(a: int) -> None:
        assigned[a] = True
        i = pool_pos[a]
        last = pool.pop()
        if last != a:
            pool[i] = last
            pool_pos[last] = i
        tp = tpool[t_l[a]]
        i = tpos_l[a]
        last = tp.pop()
        if last != a:
            tp[i] = last
            tpos_l[last] = i

    groups = np.empty((n // group_size, group_size), dtype=np.int64)
    out = groups.reshape(-1)
    seat = 0
    nxt = 0
    order_l = order.tolist()
    for _ in range(n // group_size):
        while assigned[order_l[nxt]]:
            nxt += 1
        opener = order_l[nxt]
        remove(opener)
        out[seat] = opener
        seat += 1
        same = tpool[t_l[opener]]
        for _ in range(group_size - 1):
            src = same if (coin[seat] and same) else pool
            a = src[min(int(pick[seat] * len(src)), len(src) - 1)]
            remove(a)
            out[seat] = a
            seat += 1
    return groups


# ---------------------------------------------------------------- the registry


def _well_mixed(types: np.ndarray, group_size: int, rng: np.random.Generator, spec, structure) -> np.ndarray:
    if spec.play == "all_pairs":
        return all_pairs(len(types))
    return well_mixed(len(types), group_size, rng)


def _graph(types: np.ndarray, group_size: int, rng: np.random.Generator, spec, structure) -> np.ndarray:
    return graph_edges(structure) if group_size == 2 else graph_groups(structure, group_size, rng)


def _assortative(types: np.ndarray, group_size: int, rng: np.random.Generator, spec, structure) -> np.ndarray:
    return assortative(types, group_size, spec.sigma, rng)


# Matchings: (types [N] mix entries, group size, rng, the experiment's `[matching]`, the graph or
# None) -> [G, n] the slots of each group of one generation.
MATCHINGS: dict[str, Callable[..., np.ndarray]] = {
    "well_mixed": _well_mixed,
    "graph": _graph,
    "assortative": _assortative,
}
PLAYS = ("groups", "all_pairs")  # "all_pairs": every agent meets every other once (pairs only)


def structure_of(spec, seed: int) -> Structure | None:
    """The interaction graph of a `[matching]` (None unless its kind is graph). A random generator
    given no seed gets `seed` (the run's), so a run, its drift twin and a resume share one graph."""
    if spec.kind != "graph":
        return None
    args = dict(spec.args)
    if (
        spec.generator is not None
        and "seed" not in args
        and "seed" in inspect.signature(getattr(nx, spec.generator)).parameters
    ):
        args["seed"] = seed
    return graph_structure(spec.generator, args, spec.file)
