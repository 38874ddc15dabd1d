"""Memory-one strategies of the repeated prisoner's dilemma, exactly.

Two players X and Y repeat a round of the prisoner's dilemma. A memory-one strategy is five
probabilities of cooperating, `(p0, p_cc, p_cd, p_dc, p_dd)`: p0 in the first round, and after each
outcome of the previous round, named from the player's own view (own move, then the partner's):
after CD the player cooperated and its partner defected. With implementation noise ε each intended
move comes out the other way with probability ε, so a strategy p plays as ε + (1 − 2ε)·p.

The outcomes of successive rounds form a Markov chain over (CC, CD, DC, DD), seen from X: start
v₀ and transition matrix M [4, 4]. After each round another follows with probability δ (the
continuation probability; δ = 1 with a fixed number of rounds). Fitness is the payoff summed over
the rounds, so the expected fitness of X is w·f with f = (R, S, T, P) and

    w = Σ_{t < rounds} δ^t v₀ M^t          (expected number of rounds spent in each outcome)
      = v₀ (I − δM)⁻¹                      (no cap on the rounds, δ < 1).

(1 − δ)·v₀(I − δM)⁻¹ is the discounted distribution of Press & Dyson (2012); times f it is the
payoff per round. As δ → 1 it tends to the long-run (Cesàro) distribution v₀·lim (1/n)Σ M^t,
which with noise ε > 0 is the unique stationary distribution of M, whatever the start.

Zero-determinant strategies (Press & Dyson 2012): if X plays p with p − (1, 1, 0, 0) =
α S_X + β S_Y + γ 1, then every stationary distribution v of the chain satisfies
v·(α S_X + β S_Y + γ 1) = 0: a linear relation α s_X + β s_Y + γ = 0 between the long-run
payoffs that X enforces whatever Y plays. An extortioner with factor χ ≥ 1 enforces
s_X − P = χ (s_Y − P) (`zero_determinant` with κ = P).

Everything here is batched: strategies are arrays `[..., 5]` and the results carry the leading
axes, so thousands of strategy pairs are computed at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTCOMES = ("CC", "CD", "DC", "DD")  # own move, partner's move
POLICY_NAMES = ("p0", "p_cc", "p_cd", "p_dc", "p_dd")
SWAP = np.array([0, 2, 1, 3])  # an outcome as the partner sees it
_DOUBLINGS = 60  # a Cesàro average over 2^60 rounds: its O(1/n) error is below a float's resolution


@dataclass(frozen=True)
class Game:
    """The prisoner's dilemma's payoffs (defaults: Axelrod's R = 3, S = 0, T = 5, P = 1)."""

    reward: float = 3.0  # R: cooperation meets cooperation
    sucker: float = 0.0  # S: cooperation meets defection
    temptation: float = 5.0  # T: defection meets cooperation
    punishment: float = 1.0  # P: defection meets defection

    @property
    def payoffs(self) -> np.ndarray:
        """[4] the player's payoff in each outcome of its own view: S_X = (R, S, T, P)."""
        return np.array([self.reward, self.sucker, self.temptation, self.punishment])

    @property
    def partner_payoffs(self) -> np.ndarray:
        """[4] the partner's payoff in each outcome of the player's view: S_Y = (R, T, S, P)."""
        return self.payoffs[SWAP]


def with_noise(policy: np.ndarray, noise: float) -> np.ndarray:
    """The cooperation probabilities a strategy actually plays when each move flips with `noise`."""
    return noise + (1.0 - 2.0 * noise) * np.asarray(policy, dtype=np.float64)


def _pair(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[..., 4] outcome probabilities when X cooperates with x and Y with y, independently."""
    return np.stack([x * y, x * (1.0 - y), (1.0 - x) * y, (1.0 - x) * (1.0 - y)], axis=-1)


def start(p: np.ndarray, q: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """v₀ [..., 4]: the distribution of the first round's outcome, from X's view."""
    p, q = with_noise(p, noise), with_noise(q, noise)
    return _pair(p[..., 0], q[..., 0])


def transition(p: np.ndarray, q: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """M [..., 4, 4]: M[s, s'] the chance that outcome s (X's view) is followed by s'."""
    p, q = with_noise(p, noise), with_noise(q, noise)
    x = p[..., 1:]
    y = q[..., 1:][..., SWAP]  # Y reads the outcome from its own view
    return _pair(x, y)


def _power_sum(a: np.ndarray, rounds: int) -> np.ndarray:
    """Σ_{t < rounds} a^t for square matrices a [..., k, k], by binary doubling (O(log rounds))."""
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    total = np.zeros_like(a)  # Σ over the rounds counted so far
    power = eye.copy()  # a^(rounds counted so far)
    block_sum, block_power = eye.copy(), a.copy()  # Σ_{t < 2^j} a^t and a^(2^j)
    while rounds:
        if rounds & 1:
            total = total + power @ block_sum
            power = power @ block_power
        rounds >>= 1
        if rounds:
            block_sum = block_sum + block_power @ block_sum
            block_power = block_power @ block_power
    return total


def occupancy(
    p: np.ndarray, q: np.ndarray, continuation: float, rounds: int | None = None, noise: float = 0.0
) -> np.ndarray:
    """[..., 4] the expected number of rounds spent in each outcome, Σ_{t<rounds} δ^t v₀ M^t;
    `rounds=None`: no cap, v₀(I − δM)⁻¹ (needs δ < 1)."""
    v0, m = start(p, q, noise), transition(p, q, noise)
    a = continuation * m
    if rounds is None:
        if not continuation < 1.0:
            raise ValueError("an uncapped game needs a continuation probability below 1")
        eye = np.broadcast_to(np.eye(4), a.shape)
        # v (I − δM) = v₀  ⇔  (I − δM)ᵀ vᵀ = v₀ᵀ
        return np.linalg.solve(np.swapaxes(eye - a, -1, -2), v0[..., None])[..., 0]
    return (v0[..., None, :] @ _power_sum(a, rounds))[..., 0, :]


def payoffs(
    p: np.ndarray,
    q: np.ndarray,
    game: Game = Game(),
    continuation: float = 1.0,
    rounds: int | None = None,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected fitness (payoff summed over the rounds) of X playing p and Y playing q."""
    w = occupancy(p, q, continuation, rounds, noise)
    return w @ game.payoffs, w @ game.partner_payoffs


def long_run(p: np.ndarray, q: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """[..., 4] lim_{δ→1} (1 − δ) v₀(I − δM)⁻¹, the Cesàro limit v₀ · lim (1/n) Σ_{t<n} M^t.

    It exists for every chain, also without noise, where the chain may have several closed classes
    (TFT against TFT keeps whatever it starts in) or cycles (CD ↔ DC). The average over n = 2^60
    rounds is built by doubling, A_2n = ½(I + M^n) A_n, every matrix renormalised to rows summing
    to 1 (unnormalised, rounding in the repeated squaring would compound like (1 + 1e-16)^(2^60))."""
    v0, m = start(p, q, noise), transition(p, q, noise)
    average = np.broadcast_to(np.eye(4), m.shape).copy()
    power = m.copy()
    for _ in range(_DOUBLINGS):
        average = _stochastic(0.5 * (average + power @ average))
        power = _stochastic(power @ power)
    return (v0[..., None, :] @ average)[..., 0, :]


def _stochastic(m: np.ndarray) -> np.ndarray:
    return m / m.sum(axis=-1, keepdims=True)


def stationary(m: np.ndarray) -> np.ndarray:
    """[..., 4] the stationary distribution v = vM of transition matrices with a single closed
    class (every chain with noise ε > 0): the solution of v(M − I) = 0 with Σv = 1."""
    k = m.shape[-1]
    system = np.swapaxes(m, -1, -2) - np.eye(k)
    system[..., -1, :] = 1.0  # replace one (redundant) balance equation by the normalisation
    rhs = np.zeros(m.shape[:-1])
    rhs[..., -1] = 1.0
    return np.linalg.solve(system, rhs[..., None])[..., 0]


def long_run_payoffs(
    p: np.ndarray, q: np.ndarray, game: Game = Game(), noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Payoffs per round of X and Y in the δ → 1 limit."""
    v = long_run(p, q, noise)
    return v @ game.payoffs, v @ game.partner_payoffs


def zero_determinant(
    game: Game, chi: float, kappa: float | None = None, phi: float = 0.5, first: float = 1.0
) -> np.ndarray:
    """[5] the zero-determinant strategy enforcing s_X − κ = χ (s_Y − κ) (Press & Dyson 2012;
    the κ form of Hilbe, Nowak & Sigmund 2013).

    p − (1, 1, 0, 0) = φ [(S_X − κ) − χ (S_Y − κ)]; κ = P (the default) makes an extortioner,
    κ = R a generous strategy. `phi` is φ as a share of its largest value that keeps every
    probability in [0, 1] (Press & Dyson's χ = 3 example is φ = 1/26, half of the largest, 1/13).
    `first` is the first-round cooperation p0, which the δ → 1 limit does not depend on."""
    kappa = game.punishment if kappa is None else kappa
    direction = (game.payoffs - kappa) - chi * (game.partner_payoffs - kappa)
    base = np.array([1.0, 1.0, 0.0, 0.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        # base + φ·direction must stay in [0, 1]: bound φ by each component
        room = np.where(
            direction > 0, (1.0 - base) / direction, np.where(direction < 0, -base / direction, np.inf)
        )
    largest = float(room.min())
    if not (0.0 < phi <= 1.0) or not np.isfinite(largest) or largest <= 0.0:
        raise ValueError(f"no zero-determinant strategy with chi={chi}, kappa={kappa} and phi share {phi}")
    p = np.clip(base + phi * largest * direction, 0.0, 1.0)
    return np.concatenate([[first], p])


def generous_tit_for_tat(game: Game) -> float:
    """The forgiveness g of GTFT, min(1 − (T − R)/(R − S), (R − P)/(T − P)) (Nowak & Sigmund 1992):
    the most a strategy may forgive and still keep defectors from invading."""
    r, s, t, p = game.reward, game.sucker, game.temptation, game.punishment
    return min(1.0 - (t - r) / (r - s), (r - p) / (t - p))


def strategies(game: Game = Game()) -> dict[str, np.ndarray]:
    """The library's named strategies as [5] policies (p0, p_cc, p_cd, p_dc, p_dd) for `game`."""
    g = generous_tit_for_tat(game)
    return {
        "allc": np.array([1.0, 1.0, 1.0, 1.0, 1.0]),
        "alld": np.array([0.0, 0.0, 0.0, 0.0, 0.0]),
        "tft": np.array([1.0, 1.0, 0.0, 1.0, 0.0]),  # copies the partner's last move
        "gtft": np.array([1.0, 1.0, g, 1.0, g]),  # TFT that forgives a defection with chance g
        "wsls": np.array([1.0, 1.0, 0.0, 0.0, 1.0]),  # repeats after R or T, switches after S or P
        "grim": np.array([1.0, 1.0, 0.0, 0.0, 0.0]),  # cooperates until anyone defects, then never
        "extortioner": zero_determinant(game, chi=3.0),  # s_X − P = 3 (s_Y − P)
    }
