"""Evolution of memory-one strategies: a Moran population whose strategies mutate, over the exact
chain of the repeated game.

Why a model of its own: in `purity run` an offspring copies its parent's policy and mutation acts
on profile weights, so a population in which the five probabilities themselves mutate is
simulated here, self-contained, from `purity.arenas.memory_one`'s exact payoffs.

The model (Fudenberg & Imhof 2006; Imhof, Fudenberg & Nowak 2007): N agents, Moran birth–death
with exponential fitness exp(w·π) (the pairwise-comparison process at β = w), in the limit of rare
mutation. The population is of one strategy, the resident, when a mutant arises; the mutant takes
over with its exact fixation probability

    ρ = 1 / (1 + Σ_{k=1}^{N−1} exp(w Σ_{j=1}^{k} (π_R(j) − π_M(j)))),
    π_M(j) = (a(j − 1) + b(N − j))/(N − 1),  π_R(j) = (c j + d(N − j − 1))/(N − 1),

a, b, c, d the payoffs of mutant against mutant, mutant against resident, resident against
mutant, resident against resident; otherwise it is lost. A mutant draws each of its five
probabilities afresh from Beta(s, s): s = 1 is uniform, s < 1 puts most draws near 0 and 1.

Payoffs: with continuation δ < 1, the payoff summed over the rounds (the arena's fitness); with
δ = 1, the δ → 1 limit per round, which with noise ε > 0 does not depend on p0. A game of L rounds
sums L times that, so intensity w per round is w/L on the sums of such a game.

Time is counted in mutant arrivals (their waiting times are alike whatever the resident), so the
time-averaged abundance of a region of strategy space is the share of arrivals at which the
resident lay in it. Regions round p_cc, p_cd, p_dc, p_dd to 0 or 1 (the 16 deterministic
corners: WSLS is 1001, TFT 1010, Grim 1000, ALLD 0000); intervals are over seeds.

    python -m purity.tournament.memory_evolution --seeds 32 --mutants 100000
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

from purity.arenas import memory_one

BLOCK = 4096  # mutant arrivals drawn at once per seed
REGIONS = {
    "WSLS": (1, 0, 0, 1),
    "TFT": (1, 0, 1, 0),
    "Grim": (1, 0, 0, 0),
    "ALLD": (0, 0, 0, 0),
    "ALLC": (1, 1, 1, 1),
}  # TFT's region holds GTFT too while its forgiveness is below 1/2


@dataclass(frozen=True)
class Evolution:
    """One evolving population: the game, its size, selection, payoffs and mutation."""

    game: memory_one.Game = memory_one.Game()
    population: int = 100
    intensity: float = 1.0  # w of exp(w·π)
    continuation: float = 1.0  # δ; 1: the δ → 1 limit, payoffs per round
    noise: float = 0.01  # ε, implementation noise
    shape: float = 0.1  # mutants draw each probability from Beta(shape, shape)
    mutants: int = 100_000  # mutant arrivals per run
    start: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))  # the first resident (ALLD)


def fixation(a, b, c, d, population: int, intensity: float) -> np.ndarray:
    """ρ of one mutant under Moran birth–death with fitness exp(w·π), batched over the payoffs
    (any broadcastable shapes)."""
    n = population
    shape = np.broadcast(a, b, c, d).shape
    j = np.arange(1, n)[:, None]
    a, b, c, d = (
        np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(1, -1) for x in (a, b, c, d)
    )
    pi_m = (a * (j - 1) + b * (n - j)) / (n - 1)
    pi_r = (c * j + d * (n - j - 1)) / (n - 1)
    exponents = np.concatenate([np.zeros_like(pi_m[:1]), np.cumsum(intensity * (pi_r - pi_m), axis=0)])
    top = exponents.max(axis=0)
    rho = np.exp(-top) / np.exp(exponents - top).sum(axis=0)  # 1 / Σ_{k=0}^{N−1} e^{z_k}, stably
    return rho.reshape(shape)


def payoffs(spec: Evolution, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payoffs of p against q and of q against p, exactly (summed, or per round when δ = 1)."""
    if spec.continuation < 1.0:
        return memory_one.payoffs(p, q, spec.game, spec.continuation, noise=spec.noise)
    if spec.noise > 0.0:
        v = memory_one.stationary(memory_one.transition(p, q, spec.noise))
        return v @ spec.game.payoffs, v @ spec.game.partner_payoffs
    return memory_one.long_run_payoffs(p, q, spec.game)


def _draws(spec: Evolution, rngs: list[np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """[S, BLOCK, 5] mutants and [S, BLOCK] uniforms, each seed from its own stream."""
    mutants = np.stack([rng.beta(spec.shape, spec.shape, (BLOCK, 5)) for rng in rngs])
    uniforms = np.stack([rng.random(BLOCK) for rng in rngs])
    return mutants, uniforms


def evolve(spec: Evolution, seeds: list[int]) -> np.ndarray:
    """[S, mutants, 5] the resident after each mutant arrival, one run per seed (run side by side;
    each seed's numbers come from its own stream, so they do not depend on the other seeds)."""
    rngs = [np.random.default_rng(np.random.SeedSequence(seed)) for seed in seeds]
    resident = np.tile(np.asarray(spec.start, dtype=np.float64), (len(seeds), 1))
    own, _ = payoffs(spec, resident, resident)
    history = np.empty((len(seeds), spec.mutants, 5))
    for start in range(0, spec.mutants, BLOCK):
        mutants, uniforms = _draws(spec, rngs)
        for k in range(min(BLOCK, spec.mutants - start)):
            mutant = mutants[:, k]
            x, y = payoffs(spec, np.concatenate([mutant, mutant]), np.concatenate([mutant, resident]))
            a, b, c = x[: len(seeds)], x[len(seeds) :], y[len(seeds) :]
            fixes = uniforms[:, k] < fixation(a, b, c, own, spec.population, spec.intensity)
            resident = np.where(fixes[:, None], mutant, resident)
            own = np.where(fixes, a, own)
            history[:, start + k] = resident
    return history


def regions(policies: np.ndarray) -> np.ndarray:
    """Region code 0..15 of each strategy: p_cc, p_cd, p_dc, p_dd rounded, read as binary."""
    return (policies[..., 1:] > 0.5).astype(np.int64) @ np.array([8, 4, 2, 1])


def region_code(corner: tuple[int, int, int, int]) -> int:
    return int(np.dot(corner, [8, 4, 2, 1]))


def abundance(history: np.ndarray, burn_in: float = 0.1) -> np.ndarray:
    """[S, 16] share of arrivals after the first `burn_in` share at which the resident lay in each
    region: the time-averaged abundance per seed."""
    codes = regions(history[:, int(burn_in * history.shape[1]) :])
    return np.stack([(codes == k).mean(axis=1) for k in range(16)], axis=1)


def interval(values: np.ndarray, draws: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over seeds (axis 0) and its 95% percentile-bootstrap interval, resampling seeds."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(values.mean()), float(low), float(high)


def table(shares: np.ndarray) -> list[tuple[str, float, float, float]]:
    """(region, mean, low, high) for the named regions and the rest, most abundant first."""
    named = {name: shares[:, region_code(corner)] for name, corner in REGIONS.items()}
    rest = shares.sum(axis=1) - sum(named.values())
    rows = [(name, *interval(values)) for name, values in {**named, "other": rest}.items()]
    return sorted(rows, key=lambda row: -row[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time-averaged abundance of memory-one strategy regions.")
    parser.add_argument("--game", default="3,0,5,1", help="R,S,T,P (default 3,0,5,1)")
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--intensity", type=float, default=1.0)
    parser.add_argument("--continuation", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--shape", type=float, default=0.1)
    parser.add_argument("--mutants", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=32)
    args = parser.parse_args(argv)
    try:
        game = memory_one.Game(*(float(x) for x in args.game.split(",")))
    except (TypeError, ValueError):
        parser.error(f"--game: expected four numbers R,S,T,P, got {args.game!r}")
    checks = {
        "--population": (args.population >= 2, "a whole number >= 2"),
        "--intensity": (0.0 <= args.intensity < 1e6, "a number >= 0"),
        "--continuation": (0.0 <= args.continuation <= 1.0, "a number in [0, 1]"),
        "--noise": (0.0 <= args.noise <= 0.5, "a number in [0, 0.5]"),
        "--shape": (args.shape > 0.0, "a number > 0"),
        "--mutants": (args.mutants >= 1, "a whole number >= 1"),
        "--seeds": (args.seeds >= 1, "a whole number >= 1"),
    }
    for name, (ok, expected) in checks.items():
        if not ok:
            parser.error(f"{name}: expected {expected}, got {getattr(args, name[2:])}")
    spec = Evolution(
        game, args.population, args.intensity, args.continuation, args.noise, args.shape, args.mutants
    )
    shares = abundance(evolve(spec, list(range(args.seeds))))
    print(f"{'region':<10} {'abundance':>9}  95% interval over {args.seeds} seeds")
    for name, mean, low, high in table(shares):
        print(f"{name:<10} {mean:>9.3f}  [{low:.3f}, {high:.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
