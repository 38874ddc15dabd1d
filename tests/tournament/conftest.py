import textwrap
from pathlib import Path

import pytest

SMALL = """
[experiment]
name = "small"
seed = 3
generations = 4
population = 16
survival_threshold = 0.5

[arena]
name = "commons"
episodes = 2
group_size = 4
steps = 12

[[population.mix]]
profile = "consequentialist"
share = 0.5
capability = { candidates = 6, rollouts = 2 }

[[population.mix]]
profile = "lineage-keeper"
share = 0.25
capability = { candidates = 6, rollouts = 2 }

[[population.mix]]
profile = "universalizer"
share = 0.25
decider = "fixed"
policy = { harvest = 0.4 }

[selection]
kind = "moran"
intensity = 0.2

[mutation]
rate = 0.5

[control]
neutral_drift = true
"""


@pytest.fixture(scope="session")
def two_workers():
    """A private local Ray instance of two workers, shared by this test process's tests that compare
    tables across worker counts (`run(..., pool=two_workers)`): each would otherwise pay Ray's start,
    5-8 s. Its workers carry over from test to test, as a sweep's do from run to run. Only this
    process's tests use it, one at a time, so test_faults may kill its workers mid-task: Ray starts
    new ones, and the tests after it run on those."""
    from purity.tournament.executor import RayExecutor

    pool = RayExecutor(2, None)
    yield pool
    pool.close()


@pytest.fixture
def small_experiment(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(textwrap.dedent(SMALL))
    return path


@pytest.fixture
def write_experiment(tmp_path):
    """Write the small experiment with text replacements: write_experiment(("old", "new"), ...)."""

    def write(*replacements: tuple[str, str], name: str = "exp.toml") -> Path:
        text = textwrap.dedent(SMALL)
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture(scope="session")
def small_text() -> str:
    return textwrap.dedent(SMALL)
