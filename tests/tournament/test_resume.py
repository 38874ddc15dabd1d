"""Resume (docs/sweeps.md#resuming-a-run): a run cut off anywhere continues from its last complete generation and
ends with exactly the tables of an uninterrupted run — drift twin and seed replicates included."""

import json
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from purity.inputs import InputError
from purity.tournament import generation as generation_module
from purity.tournament import runner, storage
from purity.tournament.cli import main
from purity.tournament.config import load

TABLES = ("agents", "episodes", "lineage", "reflection")
ROOT = Path(__file__).resolve().parents[2]


def _tables(run_dir: Path) -> dict[str, pl.DataFrame]:
    return {
        table: pl.read_parquet(run_dir / table / "**" / "*.parquet").sort(pl.all())
        for table in TABLES
        if (run_dir / table).is_dir()
    }


def _runs(top: Path) -> list[Path]:
    """Every single-seed run below `top` (itself, drift/, seed=<s>/, seed=<s>/drift/)."""
    return sorted(
        path.parent.relative_to(top)
        for path in top.rglob("manifest.json")
        if json.loads(path.read_text())["role"] != "replicates"
    )


def _files(run_dir: Path) -> list[Path]:
    return sorted(
        path.relative_to(run_dir)
        for table in TABLES
        for path in (run_dir / table).rglob("*")
        if path.is_file()
    )


def assert_identical(got: Path, expected: Path) -> None:
    """Same runs, same Parquet files, same table contents, and complete manifests."""
    assert _runs(got) == _runs(expected)
    for relative in _runs(expected):
        a, b = got / relative, expected / relative
        assert _files(a) == _files(b), relative
        tables_a, tables_b = _tables(a), _tables(b)
        assert tables_a.keys() == tables_b.keys(), relative
        for table in tables_b:
            assert tables_a[table].equals(tables_b[table]), (relative, table)
        manifest_a, manifest_b = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
        assert manifest_a["status"] == "complete"
        for key in ("generations_done", "experiment", "terms", "profiles", "role", "seed"):
            assert manifest_a[key] == manifest_b[key], (relative, key)
        assert manifest_a.get("stopped") == manifest_b.get("stopped")
    assert json.loads((got / "manifest.json").read_text())["status"] == "complete"
    assert not list(got.rglob("*.tmp"))


def cut(run_dir: Path, done: int, drop_twin: bool = True) -> None:
    """What a crash during generation `done` leaves behind: generations < done complete; of
    generation `done`, a stale agents table and births into done + 1 (written, but the manifest
    was not), no episodes but a half-written temporary file in their folder."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for table, first in (
        ("agents", done + 1),
        ("episodes", done),
        ("reflection", done + 1),
        ("lineage", done + 2),
    ):
        for generation in storage.generations(run_dir, table):
            if generation >= first:
                shutil.rmtree(run_dir / table / f"gen={generation}")
    stale = storage.table_path(run_dir, "agents", done)
    if stale.is_file():  # wrong content: resume must not trust a table its manifest does not cover
        storage.write_parquet(pl.read_parquet(stale).with_columns(pl.col("payoff") + 1.0), stale)
    births = storage.table_path(run_dir, "lineage", done + 1)
    if births.is_file():
        storage.write_parquet(pl.read_parquet(births).with_columns(pl.col("child") + 1000), births)
    half = run_dir / "episodes" / f"gen={done}"
    half.mkdir(parents=True, exist_ok=True)
    (half / ".part-0.parquet.0123abcd.tmp").write_bytes(b"PAR1\x15\x04half a file")
    (run_dir / ".x.tmp").write_text("stray")
    manifest.update(generations_done=done, status="running", finished=None)
    manifest.pop("stopped", None)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    if drop_twin and (run_dir / "drift").exists():
        shutil.rmtree(run_dir / "drift")  # the twin starts after its main run is complete


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def reference(tmp_path_factory, small_text):
    """The small experiment (Moran, 4 generations, drift twin), run without interruption."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "small.toml").write_text(small_text)
    return runner.run(load(folder / "small.toml"), folder / "runs", workers=0, progress=False)


@pytest.mark.parametrize("done", [0, 1, 3])
def test_a_cut_main_run_resumes_to_the_same_tables(reference, tmp_path, done):
    run_dir = _copy(reference, tmp_path / "small")
    started = json.loads((run_dir / "manifest.json").read_text())["started"]
    cut(run_dir, done)
    assert runner.resume(run_dir, workers=0, progress=False) == run_dir
    assert_identical(run_dir, reference)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["started"] == started and manifest["finished"] is not None
    assert [entry["generation"] for entry in manifest["resumed"]] == [done]


def test_a_cut_drift_twin_resumes_and_a_twin_without_manifest_starts_again(reference, tmp_path):
    run_dir = _copy(reference, tmp_path / "small")
    cut(run_dir / "drift", 2)
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, reference)
    main_manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "resumed" not in main_manifest  # the main run was complete and left alone
    assert json.loads((run_dir / "drift" / "manifest.json").read_text())["resumed"][0]["generation"] == 2

    shutil.rmtree(run_dir / "drift")
    (run_dir / "drift").mkdir()  # cut off between creating the twin's folder and its manifest
    (run_dir / "drift" / ".manifest.json.feed.tmp").write_text("{")
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, reference)


def test_the_rebuilt_population_is_the_one_an_uninterrupted_run_had(small_experiment, tmp_path, monkeypatch):
    """ids, weights, policies, origin, parent, founder, mutation labels, entry and next_id."""
    seen: dict[int, object] = {}
    family: dict[int, tuple] = {}
    real = generation_module.step

    def spy(context, pop, generation):
        if context.experiment.neutral_drift and generation not in seen:  # the main run, not its twin
            seen[generation] = pop
            graph = context.lineage.graph
            family[generation] = (
                dict(graph.nodes(data=True)),
                {(a, b): d for a, b, d in graph.edges(data=True)},
            )
        return real(context, pop, generation)

    monkeypatch.setattr(generation_module, "step", spy)
    run_dir = runner.run(load(small_experiment), tmp_path / "a", workers=0, progress=False)
    uninterrupted, lineages = dict(seen), dict(family)
    agents, lineage = _tables(run_dir)["agents"], _tables(run_dir)["lineage"]
    # Moran newborns that died within their generation took ids nobody sees in an agents table
    assert set(lineage.filter(pl.col("generation") <= 2)["child"]) - set(agents["id"])
    for done in (1, 2, 3):
        seen.clear()
        cut(run_dir, done)
        runner.resume(run_dir, workers=0, progress=False)
        pop, expected = seen[done], uninterrupted[done]
        assert pop.next_id == expected.next_id
        assert family[done] == lineages[done]  # nodes with generation, profile, founder; edges with kind
        for field in ("ids", "entry", "weights", "policies", "origin", "parent", "founder", "mutation"):
            a, b = getattr(pop, field), getattr(expected, field)
            assert a.dtype == b.dtype and np.array_equal(a, b), (done, field)


VARIANTS = {
    "stop_at_fixation": [
        ("generations = 4", "generations = 400\nstop_at_fixation = true"),
        ("population = 16", "population = 8"),
        ("intensity = 0.2", "intensity = 0.9"),
    ],
    "structural": [("rate = 0.5", "rate = 0.2\nadd_rate = 0.3\nremove_rate = 0.3\nscope_rate = 0.3")],
    "all_pairs": [
        ("group_size = 4", "group_size = 2"),
        ("[selection]", '[matching]\nplay = "all_pairs"\n\n[selection]'),
    ],
    "cycle_db": [
        ("group_size = 4", "group_size = 2"),
        (
            "[selection]",
            '[matching]\nkind = "graph"\ngenerator = "cycle_graph"\nargs = { n = 16 }\n\n[selection]',
        ),
        ('kind = "moran"', 'kind = "moran_db"'),
    ],
    "reflection": [
        ('"consequentialist"', '"self-keeper"'),
        (
            "[control]",
            '[reflection]\nenabled = true\nself_modify = true\nsuccessors = "design"\nrule = "hedonistic"\nevery = 2\ncost = 0.2\n\n[control]',
        ),
    ],
    "invaders": [
        ("survival_threshold = 0.5", "survival_threshold = 0.5\nlock_in = 0.0"),
        ("rate = 0.5", 'rate = 0.5\ninvader = "universalizer"\ninvader_rate = 0.3'),
    ],
    "hard_assortative_wf": [
        ('"universalizer"', '"absolutist"'),
        ("[selection]", '[matching]\nkind = "assortative"\nsigma = 0.5\n\n[selection]'),
        ('kind = "moran"', 'kind = "wright_fisher"'),
        ('decider = "fixed"\n', ""),
    ],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_engine_variant_resumes_to_the_same_tables(write_experiment, tmp_path, variant):
    path = write_experiment(*VARIANTS[variant])
    expected = runner.run(load(path), tmp_path / "expected", workers=0, progress=False)
    done = json.loads((expected / "manifest.json").read_text())["generations_done"]
    for at in sorted({1, max(done // 2, 1), done - 1}):
        run_dir = _copy(expected, tmp_path / f"cut{at}" / "small")
        cut(run_dir, at)
        runner.resume(run_dir, workers=0, progress=False)
        assert_identical(run_dir, expected)


def test_killed_after_the_last_manifest_write_only_completes(write_experiment, tmp_path):
    """Cut between `generations_done` (with `stopped`) and status complete: nothing to redo."""
    path = write_experiment(*VARIANTS["stop_at_fixation"])
    expected = runner.run(load(path), tmp_path / "expected", workers=0, progress=False)
    run_dir = _copy(expected, tmp_path / "cut" / "small")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest.update(status="running", finished=None)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(run_dir / "drift")
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, expected)


@pytest.fixture(scope="module")
def replicates(tmp_path_factory, small_text):
    folder = tmp_path_factory.mktemp("replicates")
    (folder / "reps.toml").write_text(
        small_text.replace("seed = 3", "seed = 3\nseeds = 3").replace("generations = 4", "generations = 3")
    )
    return runner.run(load(folder / "reps.toml"), folder / "runs", workers=0, progress=False)


@pytest.mark.parametrize("scenario", ["middle_seed_cut", "twin_cut_and_empty_seed_folder"])
def test_seed_replicates_resume_seed_by_seed(replicates, tmp_path, scenario):
    run_dir = _copy(replicates, tmp_path / "reps")
    top = json.loads((run_dir / "manifest.json").read_text())
    top.update(status="running", finished=None)
    (run_dir / "manifest.json").write_text(json.dumps(top))
    if scenario == "middle_seed_cut":
        cut(run_dir / "seed=4", 1)
        shutil.rmtree(run_dir / "seed=5")
    else:
        cut(run_dir / "seed=4" / "drift", 2)
        shutil.rmtree(run_dir / "seed=5")
        (run_dir / "seed=5").mkdir()
        (run_dir / "seed=5" / ".manifest.json.beef.tmp").write_text("{")
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, replicates)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["started"] == top["started"] and manifest["resumed"][0]["runs_complete"] == 1
    assert "resumed" not in json.loads((run_dir / "seed=3" / "manifest.json").read_text())


def test_the_run_never_depends_on_the_files_it_came_from(tmp_path, small_text):
    """Experiment and profile files edited after the start change nothing: the run captured them."""
    profile = (ROOT / "purity" / "agents" / "profiles" / "lineage-keeper.toml").read_text()
    (tmp_path / "keeper.toml").write_text(profile)
    path = tmp_path / "small.toml"
    path.write_text(small_text.replace('profile = "lineage-keeper"', 'profile = "keeper.toml"'))
    expected = runner.run(load(path), tmp_path / "expected", workers=0, progress=False)
    run_dir = _copy(expected, tmp_path / "cut" / "small")
    assert (run_dir / "experiment.toml").is_file() and (run_dir / "profiles" / "mix-1.toml").is_file()
    cut(run_dir, 2)
    path.write_text(small_text.replace("intensity = 0.2", "intensity = 0.7"))
    (tmp_path / "keeper.toml").write_text(profile.replace("weight = 3.0", "weight = 0.5"))
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, expected)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["experiment"]["experiment"]["source"] == str(path)  # where it first came from
    assert manifest["experiment"]["population"]["mix"][1]["source"] == str(tmp_path / "keeper.toml")


def test_a_changed_capture_or_a_run_without_one_is_refused(reference, tmp_path):
    run_dir = _copy(reference, tmp_path / "small")
    cut(run_dir, 2)
    capture = run_dir / "experiment.toml"
    original = capture.read_text()
    capture.write_text(original.replace("intensity = 0.2", "intensity = 0.3"))
    with pytest.raises(InputError, match="changed"):
        runner.resume(run_dir, workers=0, progress=False)
    capture.unlink()
    with pytest.raises(InputError, match="experiment.toml"):
        runner.resume(run_dir, workers=0, progress=False)
    capture.write_text(original)
    with storage.locked(run_dir):  # another process still writing this run
        with pytest.raises(InputError, match="in use"):
            runner.resume(run_dir, workers=0, progress=False)
    runner.resume(run_dir, workers=0, progress=False)
    assert_identical(run_dir, reference)


def test_a_run_cut_before_its_manifest_can_be_replaced(small_experiment, tmp_path):
    """Only the lock (and a temporary file) there: --force (and a sweep) may start it afresh."""
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / ".lock").touch()
    (tmp_path / "small" / ".manifest.json.cafe.tmp").write_text("{")
    run_dir = runner.run(load(small_experiment), tmp_path, workers=0, force=True, progress=False)
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"


def test_resume_of_a_complete_run_changes_nothing(reference, tmp_path, capsys):
    run_dir = _copy(reference, tmp_path / "small")
    before = {path: path.stat().st_mtime_ns for path in run_dir.rglob("*") if path.is_file()}
    assert runner.resume(run_dir, workers=0, progress=False) == run_dir
    (run_dir / "report.md").write_text("kept")
    (run_dir / "report.html").write_text("kept")
    assert main(["run", "--resume", str(run_dir), "--workers", "0", "--quiet"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in before} == before
    assert (run_dir / "report.md").read_text() == "kept"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "--resume", "{tmp}"], "manifest.json"),
        (["run", "--resume", "{run}", "{exp}"], "experiment file"),
        (["run", "--resume", "{run}", "--force"], "--force"),
        (["run", "--resume", "{run}", "--seed", "0"], "--seed"),
        (["run", "--resume", "{run}", "--out", "{tmp}"], "--out"),
        (["run"], "--resume"),
        (["run", "--resume", "{sweep}"], "purity sweep --resume"),
    ],
)
def test_bad_resume_requests_are_one_line_and_exit_2(reference, tmp_path, capsys, argv, fragment):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text("{}")
    values = {
        "tmp": str(tmp_path),
        "run": str(reference),
        "exp": str(reference / "experiment.toml"),
        "sweep": str(tmp_path / "sweep"),
    }
    assert main([arg.format(**values) for arg in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("purity: error:") and fragment in err[0]


def test_toml_text_round_trips_awkward_values():
    data = {
        "profile": {
            "name": 'say "hi" \\ \t\n\x7f é ∞',
            "weight": float("inf"),
            "tiny": 1e-300,
            "big": 2**62,
            "flag": False,
        },
        "constraint": [{"event": "take", "weight": float("inf"), "nested": {"a": [1, 2.5, "x"]}}],
        "population": {"mix": [{"profile": "profiles/mix-0.toml", "policy": {"harvest": 0.1}}], "label": "x"},
    }
    assert tomllib.loads(storage.toml_text(data)) == data


# --- killing a real `purity run` -------------------------------------------------------------

KILL = {"generations = 4": "generations = 30"}  # about 20 ms a generation, twin included
SLOW_WRITES = """
import sys, time
from purity.tournament import storage
real = storage._atomic
def slow(path, write):
    def written_then_wait(temp):
        write(temp)
        time.sleep(0.05)  # the temporary file sits there, not renamed yet: a kill now is mid-write
    real(path, written_then_wait)
storage._atomic = slow
from purity.tournament.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _progress(run_dir: Path) -> int:
    """Generations whose tables are written, main run and drift twin together. The manifest counts
    them only every `runner.MANIFEST_EVERY` seconds, so a kill here can also come between a
    generation's tables and the manifest's count, which a resume must then drop and play again."""
    return sum(len(storage.generations(folder, "agents")) for folder in (run_dir, run_dir / "drift"))


def _start(*args, slow_writes: bool = False) -> subprocess.Popen:
    python = [sys.executable, "-c", SLOW_WRITES] if slow_writes else [sys.executable, "-m", "purity"]
    return subprocess.Popen(
        [*python, "run", *map(str, args), "--workers", "0", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(process: subprocess.Popen, ready, timeout: float = 60.0) -> bool:
    """SIGKILL `process` as soon as `ready()` holds; False if it ended on its own first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
    if process.poll() is None:
        process.kill()
        process.wait()
        raise AssertionError("the run did not reach the kill point in time")
    return False


def _after(run_dir: Path, target: int, delay: float):
    """Ready `delay` seconds after `target` generations were recorded: anywhere in a generation."""
    reached: list[float] = []

    def ready() -> bool:
        if not reached and _progress(run_dir) >= target:
            reached.append(time.monotonic())
        return bool(reached) and time.monotonic() - reached[0] >= delay

    return ready


def _mid_write(run_dir: Path, target: int):
    """Ready once `target` generations were recorded and a temporary file waits for its rename."""
    return lambda: _progress(run_dir) >= target and any(run_dir.rglob(".*.tmp"))


def _all_parquet_readable(run_dir: Path) -> None:
    """Atomic writes: whatever moment the kill came, every Parquet file there is whole."""
    for path in run_dir.rglob("*.parquet"):
        pl.read_parquet(path)


def _kill_and_resume(
    tmp_path: Path, small_text: str, kills: int, seed: int
) -> tuple[Path, list[tuple[str, int, int]]]:
    """Start `purity run`, SIGKILL it at seeded random points, `--resume` it each time, and
    compare the end result with an uninterrupted run. Events: (what, progress, temp files)."""
    text = small_text
    for old, new in KILL.items():
        text = text.replace(old, new)
    experiment = tmp_path / "small.toml"
    experiment.write_text(text)
    total = 60  # 30 generations of the main run and 30 of its drift twin
    rng = random.Random(seed)
    targets = sorted(rng.sample(range(1, total - 3), kills))
    mid_write = rng.randrange(kills)  # this one is killed while a temporary file waits for its rename
    out = tmp_path / "runs"
    run_dir = out / "small"
    events = []
    for k, target in enumerate(targets):
        target = max(target, _progress(run_dir) + 1)  # each process records something new first
        args = (experiment, "--out", out) if k == 0 else ("--resume", run_dir)
        process = _start(*args, slow_writes=k == mid_write)
        killed = _kill_when(
            process,
            _mid_write(run_dir, target)
            if k == mid_write
            else _after(run_dir, target, rng.uniform(0.0, 0.03)),
        )
        events.append(
            (
                "mid-write" if k == mid_write else "killed" if killed else "finished",
                _progress(run_dir),
                len(list(run_dir.rglob(".*.tmp"))),
            )
        )
        _all_parquet_readable(run_dir)
        if not killed:
            break
    done = subprocess.run(
        [sys.executable, "-m", "purity", "run", "--resume", str(run_dir), "--workers", "0", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    expected = runner.run(load(experiment), tmp_path / "expected", workers=0, progress=False)
    assert_identical(run_dir, expected)
    return run_dir, events


def test_a_run_killed_again_and_again_ends_with_the_uninterrupted_tables(tmp_path, small_text):
    run_dir, events = _kill_and_resume(tmp_path, small_text, kills=3, seed=4)
    assert [what for what, _, _ in events].count("finished") == 0, events
    assert len({progress for _, progress, _ in events}) == 3, events  # three different points
    assert any(what == "mid-write" and temps for what, _, temps in events), events
    manifest = json.loads((run_dir / "manifest.json").read_text())
    twin = json.loads((run_dir / "drift" / "manifest.json").read_text())
    assert len(manifest.get("resumed", [])) + len(twin.get("resumed", [])) == 3, events  # one per kill
    assert (run_dir / "report.html").is_file()


@pytest.mark.slow
def test_resume_on_ray_workers_gives_the_serial_tables(reference, tmp_path):
    run_dir = _copy(reference, tmp_path / "small")
    cut(run_dir, 2)
    runner.resume(run_dir, workers=2, progress=False)
    assert_identical(run_dir, reference)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_many_kills_at_random_points(tmp_path, small_text, seed):
    _kill_and_resume(tmp_path, small_text, kills=12, seed=seed)


def test_a_complete_run_cut_before_its_nulls_gets_the_same_nulls(reference, tmp_path):
    run_dir = _copy(reference, tmp_path / "small")
    shutil.rmtree(run_dir / "null")
    assert runner.resume(run_dir, workers=0, progress=False) == run_dir
    for kind in ("drift", "shuffle", "drift-curve"):
        got, want = (pl.read_parquet(d / "null" / f"{kind}.parquet") for d in (run_dir, reference))
        assert got.equals(want), kind
