"""Reputation with blame: does a self-scoped keeper (word-keeper) invade lineage-scoped keepers
(promise-keepers) who trust what looks like a keeper? Exact chain of `purity invade` on
experiments/promises.toml (blame 0) and experiments/promises-blame.toml (blame 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from purity.tournament import invasion
from purity.tournament.config import load
from purity.tournament.executor import InProcess

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
PLANNED = """profile = "promise-keeper"
share = 0.328125
decider = "planner"
capability = { candidates = 32, rollouts = 2 }"""
# Planned among their own kind, residents trust every promise (nothing to tell apart); a resident
# that reads reputations trusts only what looks like a keeper (seen trait ≥ 1/2).
WARY = """profile = "promise-keeper"
share = 0.328125
decider = "fixed"
policy = { trust_threshold = 0.5 }"""


def _invade(tmp_path: Path, name: str) -> invasion.Invasion:
    text = (EXPERIMENTS / f"{name}.toml").read_text()
    assert PLANNED in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(PLANNED, WARY))
    return invasion.invade(load(path), "promise-keeper", "word-keeper", 64, InProcess(), episodes=64)


def test_blame_removes_the_word_keepers_advantage(tmp_path):
    """Blame 0: the word-keeper's helper breaks while it is trusted as a keeper; it earns 58 to
    the residents' 36 when rare and is favoured (ρ ≈ 0.30 against 1/N = 1/64). Blame 1: its first
    breach exposes it to partners who see profiles, its best reply is to keep, and ρ ≈ 1/N."""
    neutral = 1 / 64
    open_loophole = _invade(tmp_path, "promises")
    blamed = _invade(tmp_path, "promises-blame")
    assert open_loophole.exact > 10 * neutral
    assert blamed.exact == pytest.approx(neutral, rel=0.1)
    assert open_loophole.payoff_mutant[0] > 1.5 * open_loophole.payoff_resident[0]
    assert blamed.payoff_mutant[0] == pytest.approx(blamed.payoff_resident[0], rel=0.02)


def test_a_reputation_that_shows_scope_removes_it_too(tmp_path):
    """promises-blame.toml with `reveal_scope = 1` instead of blame: partners see that the
    word-keeper's constraint does not bind its helper (its scoped trait is 0), so the wary
    residents never trust it and its helper breaks nothing. It earns less than the residents when
    rare and is disfavoured, below 1/N — where blame only brought it down to 1/N."""
    text = (EXPERIMENTS / "promises-blame.toml").read_text()
    old = "blame = 1.0  # a helper's broken promise is pinned on its owner"
    assert old in text and PLANNED in text
    path = tmp_path / "promises-scope.toml"
    path.write_text(text.replace(old, "reveal_scope = 1.0").replace(PLANNED, WARY))
    scoped = invasion.invade(load(path), "promise-keeper", "word-keeper", 64, InProcess(), episodes=64)
    assert scoped.payoff_mutant[0] < scoped.payoff_resident[0]
    assert scoped.exact < 1 / 64
