"""Plug-ins: an experiment file names Python modules that register what it uses (an arena here);
they are imported before the file is checked, in this process and in every Ray worker."""

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/plugins/purse.toml"


def purity(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "purity", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_a_plugin_arena_is_named_in_an_experiment_file():
    done = purity("validate", EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert "in purse" in done.stdout


def test_a_dotted_module_and_a_bad_entry(tmp_path):
    text = EXAMPLE.read_text()
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg/__init__.py").write_text("")
    (tmp_path / "mypkg/arenas.py").write_text((ROOT / "examples/plugins/purse.py").read_text())
    (tmp_path / "dotted.toml").write_text(text.replace('"purse.py"', '"mypkg.arenas"'))
    (tmp_path / "missing.toml").write_text(text.replace('"purse.py"', '"nowhere.py"'))
    (tmp_path / "broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    (tmp_path / "broken.toml").write_text(text.replace('"purse.py"', '"broken.py"'))
    (tmp_path / "none.toml").write_text(text.replace('modules = ["purse.py"]', ""))
    code = (
        "import sys; sys.path.insert(0, '.'); from purity.tournament.cli import main; "
        "main(['validate', sys.argv[1]])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "dotted.toml"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert "valid experiment 'purse'" in done.stdout, done.stderr
    for name, fragments in [
        ("missing", ["plugins.modules[0]", "a .py file that exists", "nowhere.py"]),
        ("broken", ["plugins.modules[0]", "RuntimeError: broken on purpose"]),
        ("none", ["arena.name", "'purse'"]),  # without the plug-in the arena is unknown
    ]:
        done = purity("validate", tmp_path / f"{name}.toml")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert all(fragment in done.stderr for fragment in fragments), done.stderr


@pytest.mark.slow
def test_ray_workers_import_the_plugin_and_give_the_same_tables(tmp_path):
    """A real private Ray instance: its workers cannot import the plug-in's module name unless
    purity hands it to them, and the tables equal the in-process run's."""
    for workers in (0, 2):
        done = purity("run", EXAMPLE, "--workers", workers, "--out", tmp_path / f"w{workers}", "--quiet")
        assert done.returncode == 0, done.stderr
    for table in ("agents", "episodes", "lineage"):
        one, two = (
            pl.read_parquet(tmp_path / f"w{w}/purse/{table}/**/*.parquet").sort(pl.all()) for w in (0, 2)
        )
        assert one.height > 0 and one.equals(two), table
