"""The singleton reply: after lock-in, can a consequentialist mutant take over an impure resident
that polices seizers (experiments/singleton.toml) — and without the police's power (the control,
experiments/singleton-unpoliced.toml)? Exact fixation probabilities of `purity invade`'s chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from purity.tournament import invasion
from purity.tournament.config import load
from purity.tournament.executor import InProcess

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _rho(tmp_path: Path, name: str, **replace: str) -> invasion.Invasion:
    text = (EXPERIMENTS / f"{name}.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return invasion.invade(load(path), "guardian", "consequentialist", 64, InProcess(), episodes=1)


def test_police_turns_a_favoured_consequentialist_mutant_into_a_free_rider(tmp_path):
    """Unpoliced, the mutant seizes and is strongly favoured (ρ ≈ 0.62 against 1/N = 1/32).
    Policed, it cannot seize, so it works like a resident and only saves the police cost: ρ falls
    near 1/N, above it while policing costs (ρ ≈ 0.06 at 0.2 a step), exactly 1/N when it is free —
    never below: the second-order free-rider problem of enforcement."""
    neutral = 1 / 32
    unpoliced = _rho(tmp_path, "singleton-unpoliced")
    policed = _rho(tmp_path, "singleton")
    free = _rho(tmp_path, "singleton", **{"police_cost = 0.2": "police_cost = 0.0"})
    assert unpoliced.exact > 0.5
    assert neutral < policed.exact < 0.1
    assert free.exact == pytest.approx(neutral, rel=1e-9)
