"""The fused numba loop of the commons (bench/fused_commons.py) plays the core's rules: its rollout
equals `CommonsArena.rollout` within the regrowth shock's last bit (relative and absolute 1e-9,
as for the plain env), and equals the plain-Python env, whose `math.exp` it shares, bit for bit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_plain_equal import TOLERANCE, Case, play_policies  # noqa: E402

from bench.fused_commons import FusedCommons  # noqa: E402
from purity.arenas.commons import CommonsArena, CommonsParams  # noqa: E402
from purity.arenas.commons_sanctions import SanctionsCommonsArena  # noqa: E402

PARAMS = {
    "default": (4, None),
    "squeezed": (3, CommonsParams(max_harvest=6.0, noise=0.5)),
    "takes-scaled": (7, CommonsParams(take_rate=0.4, helper_cost=0.5)),
    "alone": (1, None),
}
STEPS = 50


def policies_and_noise(arena: CommonsArena, batch: int, seed: int):
    rng = np.random.default_rng(seed)
    policy = rng.random((batch, arena.n_agents, 5))
    policy[..., 1] *= 0.8  # floors from none to most of the stock
    return policy, arena.noise(rng, batch)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", PARAMS)
def test_the_fused_loop_equals_the_core(name, seed):
    n, params = PARAMS[name]
    arena = CommonsArena(n, STEPS, params)
    policy, noise = policies_and_noise(arena, 256, seed)
    fused, core = FusedCommons(arena).rollout(policy, noise), arena.rollout(policy, noise)
    for key in ("fitness", "events", "opportunities"):
        np.testing.assert_allclose(getattr(fused, key), getattr(core, key), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(
        fused.series["commons"], core.series["commons"], rtol=TOLERANCE, atol=TOLERANCE
    )
    np.testing.assert_array_equal(fused.opportunities, core.opportunities)  # counts: no rounding
    assert fused.events.any() or n == 1


@pytest.mark.parametrize("name", PARAMS)
def test_the_fused_loop_equals_the_plain_env_bit_for_bit(name):
    n, params = PARAMS[name]
    arena = CommonsArena(n, STEPS, params)
    policy, noise = policies_and_noise(arena, 24, seed=9)
    fused = FusedCommons(arena).rollout(policy, noise)
    plain = play_policies(Case("commons", n, params, exact=False), policy, noise, None, STEPS)
    for key in ("fitness", "events", "opportunities"):
        np.testing.assert_array_equal(getattr(fused, key), plain[key], err_msg=key)
    np.testing.assert_array_equal(fused.series["commons"], plain["series"]["commons"])


def test_the_fused_loop_plays_only_the_commons():
    with pytest.raises(TypeError, match="commons only"):
        FusedCommons(SanctionsCommonsArena(4, 10))
