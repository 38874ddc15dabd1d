"""The compiled commons (the default, or `PURITY_BACKEND=numba`) is the numpy core
(`PURITY_BACKEND=numpy`) bit for bit: the same trace for ties, a lone agent, squeezed harvests,
scaled takes and short horizons, and the same tables for a whole reflecting run; the switch really
routes rollouts, leaves variants on numpy, and refuses a wrong value in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from purity.arenas import backend, commons_compiled
from purity.arenas.commons import CommonsArena, CommonsParams
from purity.arenas.commons_sanctions import SanctionsCommonsArena
from purity.arenas.core import gather_noise, play
from purity.arenas.oversight import OversightArena
from purity.inputs import InputError

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {
    "default": (4, None),
    "squeezed": (3, CommonsParams(max_harvest=6.0, noise=0.5)),
    "takes-scaled": (7, CommonsParams(take_rate=0.4, helper_cost=0.5)),
    "alone": (1, None),
    "two": (2, CommonsParams(initial_stock=0.1, endowment=0.0)),
}


def _same(a, b) -> None:
    for key in ("fitness", "events", "opportunities"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    np.testing.assert_array_equal(a.series["commons"], b.series["commons"])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", PARAMS)
def test_the_compiled_rollout_is_the_numpy_core_bit_for_bit(name, seed, monkeypatch):
    n, params = PARAMS[name]
    monkeypatch.setenv(backend.VARIABLE, "numpy")
    arena = CommonsArena(n, 40, params)
    assert not backend.plays_compiled(arena._backend)
    rng = np.random.default_rng(seed)
    policy = rng.random((300, n, 5))
    policy[..., 1] *= 0.8
    policy[:100] = np.round(policy[:100], 1)  # many equal stores: ties go to the lowest index
    noise = arena.noise(rng, 300)
    core = arena.rollout(policy, noise)
    _same(commons_compiled.rollout(arena, policy, noise, 40), core)
    assert core.events.any() or n == 1
    short = arena.rollout(policy, noise, steps=7)  # planners' horizons: fewer steps than the arena's
    _same(commons_compiled.rollout(arena, policy, noise, 7), short)


@pytest.mark.parametrize("chosen", ["numba", "numpy", "oversight"])
def test_episodes_sharing_noise_rows_play_what_the_gathered_noise_plays(chosen, monkeypatch):
    """`core.play(..., rows=)`: the compiled commons computes its regrowth factors once per noise
    row; numpy and an arena that does not read rows (the oversight arena, whose overseer is drawn
    from the noise) get the noise gathered. Each equals playing the gathered noise, bit for bit."""
    monkeypatch.setenv(backend.VARIABLE, "numpy" if chosen == "numpy" else "numba")
    arena = OversightArena(3, 12) if chosen == "oversight" else CommonsArena(4, 20)
    rng = np.random.default_rng(5)
    noise, rows = arena.noise(rng, 6), rng.integers(0, 6, 50)
    policy = rng.random((50, arena.n_agents, len(arena.policy_names)))
    for steps in (None, 7):
        shared, gathered = (
            play(arena, policy, noise, steps, rows=rows),
            play(arena, policy, gather_noise(noise, rows), steps),
        )
        for key in ("fitness", "events", "opportunities", "watched"):
            np.testing.assert_array_equal(getattr(shared, key), getattr(gathered, key), err_msg=key)
        for name, series in gathered.series.items():
            np.testing.assert_array_equal(shared.series[name], series)
    assert arena.reads_rows == (chosen != "oversight") and len(np.unique(rows)) > 1
    if chosen == "oversight":
        assert len(np.unique(gathered.watched)) == 2  # some episodes watched, some not: the rows matter


def test_the_switch_routes_the_commons_and_leaves_its_variants_on_numpy(monkeypatch):
    calls = []
    real = commons_compiled.rollout
    monkeypatch.setattr(commons_compiled, "rollout", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    rng = np.random.default_rng(1)
    monkeypatch.setenv(backend.VARIABLE, "numba")
    commons, sanctions = CommonsArena(4, 10), SanctionsCommonsArena(4, 10)
    monkeypatch.setenv(backend.VARIABLE, "numpy")
    plain = CommonsArena(4, 10)
    monkeypatch.delenv(backend.VARIABLE)
    default = CommonsArena(4, 10)
    for arena in (commons, sanctions, plain, default):
        policy = rng.random((8, 4, len(arena.policy_names)))
        arena.rollout(policy, arena.noise(rng, 8))
    assert calls == [commons, default]


def test_without_numba_the_default_is_numpy_and_asking_for_it_is_one_input_error(monkeypatch):
    monkeypatch.setattr(backend, "_numba", lambda: False)
    monkeypatch.delenv(backend.VARIABLE, raising=False)
    assert not backend.plays_compiled(CommonsArena(4, 10)._backend)
    monkeypatch.setenv(backend.VARIABLE, "numba")
    with pytest.raises(InputError, match="PURITY_BACKEND: expected numpy, or numba installed"):
        CommonsArena(4, 10)


@pytest.mark.parametrize("value", ["fortran", "NUMBA", " numba"])
def test_a_wrong_backend_is_one_input_error(monkeypatch, value):
    monkeypatch.setenv(backend.VARIABLE, value)
    with pytest.raises(InputError, match="PURITY_BACKEND: expected numpy or numba"):
        CommonsArena(4, 10)


def test_a_reflecting_run_has_the_same_tables_on_either_backend(tmp_path, monkeypatch):
    from purity.tournament.config import load
    from purity.tournament.runner import run

    text = (ROOT / "experiments" / "successors-base.toml").read_text()
    text = text.replace("generations = 30", "generations = 3").replace("population = 64", "population = 16")
    path = tmp_path / "small.toml"
    path.write_text(text)
    dirs, calls = {}, []
    real = commons_compiled.rollout
    monkeypatch.setattr(commons_compiled, "rollout", lambda *a, **k: calls.append(1) or real(*a, **k))
    for chosen in ("numpy", "numba"):
        monkeypatch.setenv(backend.VARIABLE, chosen)
        dirs[chosen] = run(load(path), tmp_path / chosen, workers=0, progress=False)
        assert (len(calls) > 0) == (chosen == "numba")  # planners, futures and play all compiled
    tables = [p.relative_to(dirs["numpy"]) for p in sorted(dirs["numpy"].rglob("*.parquet"))]
    assert len(tables) > 6
    for table in tables:
        assert pl.read_parquet(dirs["numpy"] / table).equals(pl.read_parquet(dirs["numba"] / table)), table
