"""A report tests two families apart (end shares over terms; forces × terms for "moved most by"),
and its note says what the verdicts rest on: the null it used, or that there is none, and that
a reflecting run's null does not reflect."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import purity.reports as reports
from purity.reports import verdict_inference
from purity.reports.load import Run
from purity.tournament import config, runner
from tests.tournament.conftest import SMALL

SEEDS = 3  # 2 process terms, mutating: the end shares need 80 null means, the forces 160


def _verdicts(tmp_path, replicates: int) -> list[dict]:
    text = textwrap.dedent(SMALL).replace("seed = 3\n", f"seed = 3\nseeds = {SEEDS}\n")
    text = text.replace(
        "neutral_drift = true", f"neutral_drift = false\nnull = ['drift']\nnull_replicates = {replicates}"
    )
    path = tmp_path / f"small-{replicates}.toml"
    path.write_text(text)
    run_dir = runner.run(config.load(path), tmp_path / f"runs-{replicates}", workers=0, progress=False)
    return reports.to_json(run_dir)["verdict"]


def test_a_null_too_small_for_the_forces_leaves_the_end_share_verdicts(tmp_path):
    """80 null means test the two end shares; the four forces' family needs 160: its column says
    we can't tell, where it once blanked every verdict. With 160 means both are tested."""
    small = _verdicts(tmp_path, SEEDS * 80)
    assert all(not row["verdict"].startswith(verdict_inference.CANT_TELL) for row in small), small
    assert all(row["moved_most"] == verdict_inference.TOO_SMALL for row in small), small
    enough = _verdicts(tmp_path, SEEDS * 160)
    assert [row["verdict"] for row in enough] == [row["verdict"] for row in small]  # same seeds
    assert all(row["moved_most"] != verdict_inference.TOO_SMALL for row in enough), enough


def test_the_note_names_the_null_or_says_there_is_none():
    assert verdict_inference.note(None) == verdict_inference.NO_NULL_NOTE
    assert "drift null recorded" not in verdict_inference.note(None)
    shuffle = verdict_inference.note("shuffle")
    assert "against the shuffle null" in shuffle and verdict_inference.SHUFFLE in shuffle
    assert "against the drift null" in verdict_inference.note("drift")
    assert verdict_inference.SHUFFLE not in verdict_inference.note("drift")


def test_a_reflecting_run_is_told_its_null_does_not_reflect():
    def reflects(**reflection) -> bool:
        return Run.reflects.fget(SimpleNamespace(manifest={"experiment": {"reflection": reflection}}))

    assert reflects(enabled=True, self_modify=True, successors="inherit")
    assert reflects(enabled=True, self_modify=False, successors="design")
    assert not reflects(enabled=True, self_modify=False, successors="inherit")
    assert not reflects(enabled=False, self_modify=True, successors="design")
    assert verdict_inference.REFLECTS in verdict_inference.note("drift", reflects=True)
    assert verdict_inference.REFLECTS not in verdict_inference.note("drift", reflects=False)
