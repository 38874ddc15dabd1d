"""Policies written outside purity that play in an arena: a Python callable that maps the
observations of the agents it plays to their actions, step by step. A population of agents that
play one is a *focal population* in the sense of Melting Pot's evaluation protocol (Leibo et al.
2021): a fixed, already trained policy scored among the tournament's own agents.

The callable takes the observations of every agent it plays this step, stacked on a leading
axis (a list where they do not stack), and returns one action per observation in the
environment's action space; if it takes a second argument, it also gets one uniform draw in
[0, 1) per observation from the episode's noise, so a stochastic policy gives the same episodes on
any number of Ray workers. It must not draw randomness of its own.

An agent that plays one carries a *marker* as its episode policy: every parameter −(k + 1), k the
policy's index in the arena's list. No decider's policy leaves [0, 1], so an arena tells the two
apart; everything that copies policies (a planner's model of the others, `alike` rollouts,
offspring) copies the marker and with it the external policy, which no decider changes.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from purity.inputs import InputError


@dataclass(frozen=True)
class ExternalPolicy:
    """One callable, `module:attr`, and where the experiment named it (for messages)."""

    spec: str  # as the experiment file holds it (a .py file resolved to an absolute path)
    module: str  # the name it is imported under (a plug-in file's module name)
    # where it was named, for messages; not part of what the policy is (a run's captured copy of
    # its experiment names the same policy from another file)
    file: str = field(default="", compare=False)  # the experiment file
    field: str = field(default="", compare=False)  # its key there, e.g. population.mix[1].policy_fn

    @property
    def attr(self) -> str:
        return self.spec.rpartition(":")[2]

    def error(self, expected: str, got: Any) -> InputError:
        return InputError(self.file, self.field, expected, got)


_CALLABLES: dict[tuple[str, str], Callable[..., Any]] = {}


def load(policy: ExternalPolicy) -> Callable[..., Any]:
    """The callable, imported once per process (a Ray worker imports it before its first use)."""
    key = (policy.module, policy.attr)
    if key not in _CALLABLES:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            module = importlib.import_module(policy.module)
        except Exception as error:  # ImportError, or the module's own error on import
            raise policy.error(
                "a module importable here and on every Ray worker (list it in [plugins] modules; "
                f"{type(error).__name__}: {error})",
                policy.spec,
            ) from None
        found = getattr(module, policy.attr, None)
        if not callable(found):
            raise policy.error(f"a callable named {policy.attr!r} in its module", policy.spec)
        _CALLABLES[key] = found
    return _CALLABLES[key]


def takes_draws(fn: Callable[..., Any]) -> bool:
    """Whether `fn` takes a second positional argument (the draws)."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    return sum(p.kind in positional for p in parameters) >= 2


def marker(k: int, size: int) -> tuple[float, ...]:
    """The episode policy of an agent that plays external policy `k`."""
    return (-(k + 1.0),) * size


def marked(actions: np.ndarray, count: int) -> np.ndarray:
    """[B, n] the external policy each agent plays (its marker's k), −1 for an ordinary policy."""
    first = actions[..., 0]
    if not count:
        return np.full(first.shape, -1)
    k = np.rint(-first - 1.0).astype(int)
    return np.where((first < 0) & (k < count), k, -1)


def stacked(observations: list[Any]) -> Any:
    """The observations on a leading axis where they are arrays (or numbers) of one shape and
    numeric type; else the list as it is (dicts, tuples, ragged arrays)."""
    arrays = [
        np.asarray(o) if isinstance(o, (np.ndarray, np.generic, int, float)) else None for o in observations
    ]
    if any(a is None or a.dtype.kind not in "biuf" for a in arrays) or len({a.shape for a in arrays}) > 1:
        return list(observations)
    return np.stack(arrays)


def call(policy: ExternalPolicy, observations: list[Any], draws: np.ndarray) -> np.ndarray:
    """The callable's actions for `observations` (one per agent it plays), as an array."""
    fn = load(policy)
    try:
        found = fn(stacked(observations), draws) if takes_draws(fn) else fn(stacked(observations))
        return np.asarray(found)
    except InputError:
        raise
    except Exception as error:  # the policy's own failure, shown on one line
        raise policy.error(
            "a policy that runs on the environment's observations", f"{type(error).__name__}: {error}"
        ) from None


def checked(policy: ExternalPolicy, actions: np.ndarray, count: int, space: Any) -> np.ndarray:
    """`actions` if they are `count` actions of the gymnasium `space` (Discrete or Box), else
    the error that names the policy, what was expected and what came back."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        shape, ok = (count,), actions.dtype.kind in "biuf"
        if ok and actions.shape == shape:
            low, high = int(space.start), int(space.start + space.n - 1)
            whole = np.isfinite(actions) & (np.rint(actions) == actions)
            bad = ~(whole & (actions >= low) & (actions <= high))
            if not bad.any():
                return actions.astype(np.int64)
            expected = f"a policy whose actions are whole numbers in {low}..{high} ({space})"
            raise policy.error(expected, actions[bad][0].item())
    else:
        shape, ok = (count, *space.shape), actions.dtype.kind in "biuf"
        if ok and actions.shape == shape:
            low, high = np.broadcast_to(space.low, shape), np.broadcast_to(space.high, shape)
            inside = np.isfinite(actions) & (actions >= low) & (actions <= high)
            if inside.all():
                return actions.astype(space.dtype)
            raise policy.error(f"a policy whose actions lie in {space}", actions[~inside][0].item())
    raise policy.error(
        f"a policy that returns one action per observation: shape {shape} for {count} observations",
        f"shape {actions.shape} of {actions.dtype}",
    )
