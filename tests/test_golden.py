"""Golden tables: small versions of every shipped experiment give exactly the frozen tables.

A restructure must not change a number. Each shipped experiment (and sweep) is shrunk to a few
generations of a few agents, keeping every switch it sets, plus variants that reach the paths no
shipped file takes (graphs, assortment, design without self-modification). Every Parquet table
the runs write (their nulls' tables too) is compared with the frozen copy in `tests/golden/` by polars `equals`.

A change that is meant to change results rebaselines in its own commit, saying why:

    .venv/bin/python -m tests.test_golden --freeze
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
GOLDEN = Path(__file__).resolve().parent / "golden"

# Shrinking keeps every switch but bounds every size.
CAPS = {
    ("experiment", "generations"): 4,
    ("experiment", "seeds"): 2,
    ("arena", "episodes"): 2,
    ("arena", "steps"): 8,
    ("control", "null_replicates"): 2000,
}
POPULATION = 16
CAPABILITY = {"candidates": 4, "rollouts": 2}
GRID_VALUES = 2  # first values of each sweep grid key
SWEEP_SEEDS = 1

# Variants reach the paths that no shipped experiment takes.
VARIANTS = {
    "default-cycle": (
        "default.toml",
        {
            "matching": {"kind": "graph", "generator": "cycle_graph", "args": {"n": 16}},
            "arena": {"group_size": 2},
        },
    ),
    "default-regular": (
        "default.toml",
        {
            "matching": {"kind": "graph", "generator": "random_regular_graph", "args": {"d": 4, "n": 16}},
            "selection": {"kind": "moran_db", "rule": "exponential", "intensity": 0.1},
        },
    ),
    "default-assort": (
        "default.toml",
        {
            "matching": {"kind": "assortative", "sigma": 0.5},
            "selection": {"kind": "wright_fisher", "intensity": 0.2},
        },
    ),
    "principal-replicator": ("principal.toml", {"selection": {"kind": "replicator", "intensity": 0.5}}),
    "successors-design": (
        "successors-base.toml",
        {"reflection": {"self_modify": False, "rule": "hedonistic"}, "mutation": {"scope_rate": 0.2}},
    ),
}
TRAIN = ("oversight-training.toml",)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return (
            repr(value) if value == value and abs(value) != float("inf") else ("inf" if value > 0 else "-inf")
        )
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def _toml(data: dict) -> str:
    """A TOML text for the experiment and sweep shapes: tables, arrays of tables, inline rest."""
    lines = []
    for name, table in data.items():
        if isinstance(table, list):
            for row in table:
                lines.append(f"[[{name}]]")
                lines += [f'"{k}" = {_toml_value(v)}' for k, v in row.items()]
        else:
            lines.append(f"[{name}]")
            for key, value in table.items():
                if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                    for row in value:
                        lines.append(f"[[{name}.{key}]]")
                        lines += [f'"{k}" = {_toml_value(v)}' for k, v in row.items()]
                else:
                    lines.append(f'"{key}" = {_toml_value(value)}')
    return "\n".join(lines) + "\n"


def shrink(data: dict, overrides: dict | None = None) -> dict:
    """The experiment with every size bounded and the `overrides` tables merged in."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for (table, key), cap in CAPS.items():
        if key in data.get(table, {}):
            data[table][key] = min(data[table][key], cap)
    exp = data["experiment"]
    exp["population"] = min(exp["population"], POPULATION)
    if "population" in data:
        mix = []
        for entry in data["population"]["mix"]:
            entry = dict(entry)
            if "capability" in entry:
                entry["capability"] = {
                    k: min(v, CAPABILITY.get(k, v)) for k, v in entry["capability"].items()
                }
            mix.append(entry)
        data["population"] = {"mix": mix}
        _fit_shares(data)
    for table, values in (overrides or {}).items():
        data[table] = {**data.get(table, {}), **values}
    return data


def _fit_shares(data: dict) -> None:
    """Shares that give whole agents at the shrunk population: equal, last takes the rest."""
    mix, n = data["population"]["mix"], data["experiment"]["population"]
    counts = [max(1, round(entry["share"] * n)) for entry in mix]
    counts[-1] = n - sum(counts[:-1])
    for entry, count in zip(mix, counts):
        entry["share"] = count / n


def _write(folder: Path, name: str, data: dict) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(_toml(data))
    return path


def cases(folder: Path) -> list[tuple[str, list[str]]]:
    """(name, CLI arguments) for every golden run, with their experiment files written to `folder`."""
    out = folder / "out"
    found = []
    for file in sorted(EXPERIMENTS.glob("*.toml")):
        data = tomllib.loads(file.read_text())
        if "sweep" in data:
            base = tomllib.loads((file.parent / data["sweep"]["experiment"]).read_text())
            base_path = _write(folder, f"{file.stem}-base", shrink(base))
            grid = {key: values[:GRID_VALUES] for key, values in data["grid"].items()}
            sweep = {
                "sweep": {**data["sweep"], "experiment": base_path.name, "seeds": SWEEP_SEEDS},
                "grid": grid,
            }
            path = _write(folder, file.stem, sweep)
            found.append((file.stem, ["sweep", str(path), "--workers", "0", "--out", str(out), "--quiet"]))
            continue
        path = _write(folder, file.stem, shrink(data))
        found.append((file.stem, ["run", str(path), "--workers", "0", "--out", str(out), "--quiet"]))
        if file.name in TRAIN:
            found.append(
                (
                    f"{file.stem}-train",
                    ["train", str(path), "--workers", "0", "--out", str(out / "train"), "--quiet"],
                )
            )
    for name, (base, overrides) in VARIANTS.items():
        data = shrink(tomllib.loads((EXPERIMENTS / base).read_text()), overrides)
        data["experiment"]["name"] = name
        path = _write(folder, name, data)
        found.append((name, ["run", str(path), "--workers", "0", "--out", str(out), "--quiet"]))
    return found


def tables(directory: Path) -> dict[str, pl.DataFrame]:
    """Every Parquet table under `directory`, one frame per table folder (partitions stacked)."""
    grouped: dict[str, list[Path]] = {}
    for file in sorted(directory.rglob("*.parquet")):
        rel = file.relative_to(directory)
        parts = [p for p in rel.parts[:-1] if not p.startswith("gen=")]
        if parts and parts[-1] == "null":  # one table per null kind (drift, drift-curve, shuffle, …)
            parts.append(rel.stem)
        key = "/".join(parts) or rel.stem
        grouped.setdefault(key, []).append(file)
    frames = {}
    for key, files in grouped.items():
        parts = [pl.read_parquet(f) for f in files]
        frames[key] = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    return frames


VOLATILE = ("seconds", "elapsed", "started", "finished", "error")  # sweep table columns that time things


def _stable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if any(v in c for v in VOLATILE)])


def _cli():
    from purity.tournament.cli import main

    return main


def produce_one(argv: list[str]) -> dict[str, pl.DataFrame]:
    """The stable tables of one golden case, run by the CLI as a user would."""
    code = _cli()(argv)
    assert code == 0, (argv, code)
    out = Path(argv[argv.index("--out") + 1])
    stem = tomllib.loads(Path(argv[1]).read_text())
    run_name = (
        stem["sweep"]["name"]
        if "sweep" in stem
        else stem["experiment"]["name"] + ("-train" if argv[0] == "train" else "")
    )
    return {key: _stable(frame) for key, frame in tables(out / run_name).items()}


def produce(folder: Path) -> dict[str, dict[str, pl.DataFrame]]:
    return {name: produce_one(argv) for name, argv in cases(folder)}


def freeze() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        produced = produce(Path(tmp))
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for name, frames in produced.items():
        for key, frame in frames.items():
            path = GOLDEN / name / (key.replace("/", "__") + ".parquet")
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(path)
    print(f"froze {sum(len(f) for f in produced.values())} tables of {len(produced)} runs in {GOLDEN}")


def frozen() -> list[str]:
    """The names of the frozen cases."""
    return sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) if GOLDEN.exists() else []


def frozen_tables(name: str) -> dict[str, pl.DataFrame]:
    return {
        file.stem.replace("__", "/"): pl.read_parquet(file)
        for file in sorted((GOLDEN / name).glob("*.parquet"))
    }


def test_every_case_is_frozen(tmp_path):
    assert sorted(name for name, _ in cases(tmp_path)) == frozen()


@pytest.mark.parametrize("name", frozen())
def test_tables_equal_the_frozen_ones(tmp_path, name):
    """One case a test, so that the test workers share the cases between them (each case also
    writes its report, as `purity run` does: every shipped kind of experiment gets one)."""
    expected, got = frozen_tables(name), produce_one(dict(cases(tmp_path))[name])
    assert sorted(got) == sorted(expected), f"{name}: other tables"
    for key, frame in expected.items():
        assert got[key].columns == frame.columns, f"{name}/{key}: other columns"
        assert got[key].equals(frame), f"{name}/{key}: other values"


if __name__ == "__main__":
    if sys.argv[1:] != ["--freeze"]:
        sys.exit("usage: python tests/test_golden.py --freeze")
    if "NPY_DISABLE_CPU_FEATURES" not in os.environ:  # freeze as the tests compare (conftest.py)
        from tests.numpy_loops import without_avx512

        os.environ["NPY_DISABLE_CPU_FEATURES"] = without_avx512()
        os.execv(sys.executable, [sys.executable, "-m", "tests.test_golden", "--freeze"])
    freeze()
