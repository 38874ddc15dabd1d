"""Sanctions at a cost to the sanctioner, with detection that can miss: the arithmetic every
enforcing arena shares (the commons with sanctions, the promises with sanctions, the principal
with police), so that "who pays what for whom" is written once.

Punishment at a cost to the punisher is what lets a norm be defended against those who do not hold
it (Fehr & Gächter 2000); a sanction that sees only what is detected makes the expected fine
`detection × fine` (Becker 1968), so a norm enforced by a watcher who misses can stop paying off.

Everything here is agent-major (`[n, B]`, the batch last), as the arenas' insides are, and
changes no number where it has nothing to do: at detection 1 no draw is made (`draws` is None)
and `seen` returns the offences themselves, and equal power (`power` None) multiplies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from purity.arenas.core import Noise, param, ratio_capped, sum_rows

NOISE_KEY = "detect"  # the noise array of detection draws, `[B, T, n]` uniforms, one per offender


def detection_param():
    """The field every enforcing arena's `Params` adds: the chance an agent's offence of a step is
    seen by the enforcers (1: always, the default; 0: never, and nobody is sanctioned)."""
    return param(1.0, 0.0, 1.0)


def event_param(default: str, choices: tuple[str, ...]):
    """The text field `sanction_event`: the recorded event kind that is fined, one of `choices`
    (experiment files are checked against them)."""
    return field(default=default, metadata={"choices": choices})


def draw(arena, noise: Noise, rng: np.random.Generator, batch: int) -> Noise:
    """An enforcing arena's `noise` with the detection draws added, `[batch, steps, n]` uniforms
    (< `arena.params.detection` = seen), drawn last and only when detection < 1: at 1 every
    stream the arena drew before stays as it was."""
    if arena.params.detection < 1.0:
        noise[NOISE_KEY] = rng.random((batch, arena.steps, arena.n_agents))
    return noise


def step_draws(noise_t: Noise) -> np.ndarray | None:
    """One step's detection draws agent-major `[n, B]`, from a step's noise slice `[B, n]`."""
    found = noise_t.get(NOISE_KEY)
    return None if found is None else np.ascontiguousarray(found.T)


def episode_draws(noise: Noise, steps: int) -> np.ndarray | None:
    """All steps' detection draws `[T, n, B]` for a fast rollout (None at detection 1)."""
    found = noise.get(NOISE_KEY)
    return None if found is None else np.ascontiguousarray(found[:, :steps].transpose(1, 2, 0))


def seen(offence: np.ndarray, detection: float, draws: np.ndarray | None) -> np.ndarray:
    """`offence` `[n, B]` where this step's draw detects it, 0 where it is missed."""
    if draws is None:
        return offence
    return offence * (draws < detection)


def agent_power(power: np.ndarray | None) -> np.ndarray | None:
    """Power agent-major `[n, B]` from the state's `[B, n]` (None: everyone has power 1)."""
    return None if power is None else np.ascontiguousarray(power.T)


def others_effort(effort: np.ndarray, power: np.ndarray | None) -> np.ndarray:
    """Σ_{j≠i} p_j a_j `[n, B]`: the enforcement everyone but agent i brings to bear on it."""
    strength = effort if power is None else effort * power
    return sum_rows(strength) - strength


@dataclass(frozen=True)
class Sanctioned:
    """What a sanction phase did, agent-major `[n, B]`."""

    store: np.ndarray  # stores after costs and fines
    spent: np.ndarray  # u_i: what each sanctioner paid
    fined: np.ndarray  # f_j: what each target lost
    open: np.ndarray  # bool: some other agent's offence was seen (an opportunity to sanction)


def sanction(
    store: np.ndarray,
    offence: np.ndarray,
    effort: np.ndarray,
    cost: float,
    fine: float,
    *,
    power: np.ndarray | None = None,
    capped: bool = True,
    spent: np.ndarray | None = None,
) -> Sanctioned:
    """The sanction phase on seen offences `o_j` (already through `seen`) and efforts `a_i`:
    sanctioner i pays `u_i = cost · a_i · Σ_{j≠i} o_j`, target j loses
    `f_j = fine · o_j · Σ_{i≠j} p_i a_i`. Costs and fines are destroyed. With `capped`, nobody
    pays more than its store (`a_i` scaled down until `u_i` equals it, before the fines) and no
    fine takes more than the target has left; stores that may go negative pass `capped=False`.
    `spent` is an optional output buffer for `u`."""
    others = sum_rows(offence) - offence  # offence by everyone but i, each i's to sanction
    spent = np.empty_like(store) if spent is None else spent
    np.multiply(effort, others, out=spent)
    spent *= cost
    if capped and (spent > store).any():  # someone cannot pay: scale its sanction to its store
        scale = ratio_capped(store, spent)
        spent *= scale
        effort = effort * scale
        store = np.maximum(store - spent, 0.0)
    else:
        store = store - spent
    fined = others_effort(effort, power)
    fined *= offence
    fined *= fine
    if capped:
        fined = np.minimum(fined, store)
        store = np.maximum(store - fined, 0.0)
    else:
        store = store - fined
    return Sanctioned(store, spent, fined, others > 0)


class Sanctioning:
    """What an enforcing arena adds to the arena it extends, placed before it in the bases: the
    `sanction` policy parameter (default 0), the detection draws in its noise, and the recorded
    event a sanction fines (`sanctionable`: the event name → its row)."""

    sanctionable: dict[str, int] = {}

    def __init__(self, n_agents: int, steps: int, params=None):
        super().__init__(n_agents, steps, params)
        if self.params.sanction_event not in self.sanctionable:
            choices = ", ".join(map(repr, self.sanctionable))
            raise ValueError(f"sanction_event must be one of {choices}, got {self.params.sanction_event!r}")
        self._kind = self.sanctionable[self.params.sanction_event]

    @property
    def default_policy(self) -> np.ndarray:
        return np.append(super().default_policy, 0.0)

    def noise(self, rng: np.random.Generator, batch: int) -> Noise:
        return draw(self, super().noise(rng, batch), rng, batch)
