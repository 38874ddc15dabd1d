"""Read a run directory into memory.

Only the files of the run directory are read (never `tournament` code), so a report can be rebuilt
from the directory alone, years later. polars is imported inside the functions: `import reports`
must stay cheap because the CLI imports it to build `--help`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from purity.tournament import record

if TYPE_CHECKING:
    import polars as pl

MANIFEST = record.MANIFEST
DRIFT_DIR = record.DRIFT
TABLES = record.TABLES

MANIFEST_KEYS = ("name", "survival_threshold", "arena", "terms", "profiles")
REPLICATES_ROLE = "replicates"
SWEEP_MANIFEST = "sweep.json"
SWEEP_ROLE = "sweep"
DEFAULT_LOCK_IN = 0.9

AGENT_COLUMNS = (
    "generation",
    "id",
    "slot",
    "profile",
    "origin",
    "parent",
    "founder",
    "payoff",
    "fitness",
    "utility",
    "process_share",
)
EPISODE_COLUMNS = ("generation", "group", "episode", "id", "profile", "fitness_gain", "utility", "watched")
LINEAGE_COLUMNS = ("generation", "parent", "child", "kind")
REFLECTION_COLUMNS = (
    "generation",
    "id",
    "mode",
    "rule",
    "candidate",
    "change",
    "term",
    "before",
    "after",
    "score",
    "chosen",
)


class ReportError(Exception):
    """A run directory that cannot be reported on; the message names the file and what was expected."""

    def __init__(self, path: Path | str, expected: str) -> None:
        self.path = Path(path)
        self.expected = expected
        super().__init__(f"{self.path}: expected {expected}")

    @classmethod
    def failed(cls, path: Path | str, expected: str, exc: Exception) -> ReportError:
        """A library's failure as the reason; its first line only, since polars appends a context stack."""
        reason = (str(exc).strip().splitlines() or [""])[0]
        return cls(path, f"{expected} ({type(exc).__name__}: {reason})")


def _generations(run: Run) -> str:
    if run.agents.height == 0:
        return "no generation yet"
    first = int(run.agents.get_column("generation").min())  # type: ignore[arg-type]
    last = int(run.agents.get_column("generation").max())  # type: ignore[arg-type]
    count = last - first + 1
    return f"{count} generation{'s' if count != 1 else ''} ({first}–{last})"


@dataclass(frozen=True)
class Run:
    """Everything a report needs, as read from one run directory."""

    path: Path
    manifest: dict[str, Any]
    agents: pl.DataFrame
    episodes: pl.DataFrame
    lineage: pl.DataFrame
    drift: Run | None = None
    reflection: pl.DataFrame | None = None  # every candidate change agents considered (runs with reflection)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def threshold(self) -> float:
        return float(self.manifest["survival_threshold"])

    @property
    def terms(self) -> list[dict[str, Any]]:
        return list(self.manifest["terms"])

    @property
    def process_terms(self) -> list[dict[str, Any]]:
        return [t for t in self.manifest["terms"] if t.get("process")]

    @property
    def event_kinds(self) -> list[str]:
        return [str(k) for k in self.manifest["arena"].get("event_kinds", [])]

    @property
    def has_oversight(self) -> bool:
        return bool(self.manifest["arena"].get("has_oversight", False))

    @property
    def reflects(self) -> bool:
        """Its agents change what they carry by reflection, which the cheap nulls do not."""
        r = self.manifest.get("experiment", {}).get("reflection", {})
        return bool(r.get("enabled")) and (bool(r.get("self_modify")) or r.get("successors") == "design")

    @property
    def seed(self) -> int | None:
        seed = self.manifest.get("seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else None

    @property
    def lock_in_share(self) -> float:
        return lock_in_threshold(self.manifest)

    @property
    def stopped_at(self) -> int | None:
        """Generation at which the run stopped at fixation, None if it did not."""
        return stopped_at(self.manifest)

    @property
    def last_generation(self) -> int | None:
        if self.agents.height == 0:
            return None
        return int(self.agents.get_column("generation").max())  # type: ignore[arg-type]

    def lineage_graph(self):
        """The lineage as a networkx DiGraph parent → child (`purity.reports.lineage_graph`);
        `networkx.write_graphml(run.lineage_graph(), "lineage.graphml")` saves it for Gephi or yEd."""
        from .lineage_graph import lineage_graph

        return lineage_graph(self.agents, self.lineage)

    def __repr__(self) -> str:
        """<Run 'name' seed S: G generations (0–G-1), N agents, arena, T process terms, status, drift twin; path>"""
        seed = f" seed {self.seed}" if self.seed is not None else ""
        agents = self.agents.filter(self.agents.get_column("generation") == self.last_generation).height
        arena = self.manifest.get("arena", {}).get("name", "?")
        terms = len(self.process_terms)
        parts = [
            _generations(self),
            f"{agents} agents" if self.agents.height else None,
            str(arena),
            f"{terms} process term{'s' if terms != 1 else ''}",
            str(self.manifest.get("status", "unknown status")),
            "drift twin" if self.drift is not None else None,
            f"stopped at fixation at generation {self.stopped_at}" if self.stopped_at is not None else None,
        ]
        return f"<Run {self.name!r}{seed}: {', '.join(p for p in parts if p)}; {self.path}>"


T = TypeVar("T")


def per_run(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn(run, ...)` computed once per `Run` object and arguments: a report's sections ask for the
    same figures of a run (its Price steps, its survival curve) several times over, and a Run is
    frozen, so a figure cannot go stale. The values are kept in the run object itself."""

    @functools.wraps(fn)
    def once(run: Run, *args: Any, **kwargs: Any) -> T:
        memo = run.__dict__.setdefault("_per_run", {})
        key = (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))  # names pickle
        if key not in memo:
            memo[key] = fn(run, *args, **kwargs)
        return memo[key]

    return once


@dataclass(frozen=True)
class Replicates:
    """One experiment run with several seeds: the top manifest and one complete `Run` per seed.

    `runs` is in seed order. While the experiment is still running (or after it failed) a seed
    whose folder has no manifest yet is listed in `missing` instead.
    """

    path: Path
    manifest: dict[str, Any]
    runs: tuple[Run, ...]
    missing: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    @property
    def seeds(self) -> list[int | None]:
        return [r.seed for r in self.runs]

    def __repr__(self) -> str:
        seeds = ", ".join(str(s) for s in self.seeds)
        missing = f", {len(self.missing)} not started" if self.missing else ""
        return f"<Replicates {self.name!r}: {len(self.runs)} seeds ({seeds}){missing}; {self.path}>"

    @property
    def lock_in_share(self) -> float:
        return lock_in_threshold(self.manifest)


def lock_in_threshold(manifest: dict[str, Any]) -> float:
    """The experiment's lineage-share threshold for lock-in (`[experiment] lock_in`), else 0.9."""
    exp = manifest.get("experiment")
    head = exp.get("experiment") if isinstance(exp, dict) else None
    value = head.get("lock_in") if isinstance(head, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return DEFAULT_LOCK_IN
    return float(value)


def stopped_at(manifest: dict[str, Any]) -> int | None:
    stopped = manifest.get("stopped")
    if not isinstance(stopped, dict) or stopped.get("reason") != "fixation":
        return None
    g = stopped.get("generation")
    return g if isinstance(g, int) and not isinstance(g, bool) else None


def _has_role(file: Path, role: str) -> bool:
    """Whether `file` is a readable JSON object whose "role" is `role`."""
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(manifest, dict) and manifest.get("role") == role


def is_replicates(path: str | Path) -> bool:
    """True when `path` holds a replicates directory (manifest role "replicates": one run per seed)."""
    return _has_role(Path(path) / MANIFEST, REPLICATES_ROLE)


def is_sweep(path: str | Path) -> bool:
    """True when `path` holds a sweep directory (a `sweep.json` with role "sweep")."""
    return _has_role(Path(path) / SWEEP_MANIFEST, SWEEP_ROLE)


def kind_of(path: str | Path) -> str:
    """ "sweep", "replicates" or "run": which layout `path` holds (by its manifest; not validated)."""
    if is_sweep(path):
        return "sweep"
    return "replicates" if is_replicates(path) else "run"


def load_replicates(path: str | Path) -> Replicates:
    """Read a replicates directory: its manifest and the single-seed run in each `seed=<s>/` folder."""
    path = Path(path)
    if not path.is_dir():
        raise ReportError(path, "a run directory (it does not exist or is not a directory)")
    file = path / MANIFEST
    manifest = read_json(file)
    if manifest.get("role") != REPLICATES_ROLE:
        raise ReportError(file, 'role "replicates" (this is a single-seed run: use reports.load)')
    runs, seeds = manifest.get("runs"), manifest.get("seeds")
    if not isinstance(runs, list) or not runs or not all(isinstance(r, str) for r in runs):
        raise ReportError(file, 'runs to be a non-empty list of folder names ("seed=<s>")')
    if (
        not isinstance(seeds, list)
        or len(seeds) != len(runs)
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise ReportError(file, "seeds to be a list of integers, one per entry of runs")
    for name in runs:
        if Path(name).is_absolute() or ".." in Path(name).parts or name in ("", "."):
            raise ReportError(file, f"runs to name folders inside the directory (got {name!r})")
    done = manifest.get("status") == "complete"
    loaded: list[tuple[int, Run]] = []
    missing: list[str] = []
    for seed, name in sorted(zip(seeds, runs)):
        sub = path / name
        if not done and not (sub / MANIFEST).is_file():
            missing.append(name)  # not started yet, or the run failed before it
            continue
        loaded.append((seed, load(sub)))
    return Replicates(path, manifest, tuple(r for _, r in loaded), tuple(missing))


def load(run_dir: str | Path, *, tables: tuple[str, ...] = TABLES) -> Run:
    """Read `run_dir` (and its `drift/` twin, if present) into a `Run`; raise `ReportError` if it is not a run.

    `tables` picks which of agents, episodes, lineage, reflection are read; the others are empty
    frames with their required columns (a sweep summary needs the agents only, and episodes are
    the bulk). A run without reflection has an empty reflection frame.
    """
    path = Path(run_dir)
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"tables must be among {TABLES}, got {unknown}")
    run = _load_one(path, tables)
    drift_dir = path / DRIFT_DIR
    drift = None
    if (drift_dir / MANIFEST).exists() or _parquet_files(drift_dir):
        drift = _load_one(drift_dir, tables)
    return Run(run.path, run.manifest, run.agents, run.episodes, run.lineage, drift, run.reflection)


def _load_one(path: Path, tables: tuple[str, ...] = TABLES) -> Run:
    if not path.is_dir():
        raise ReportError(path, "a run directory (it does not exist or is not a directory)")
    manifest = read_manifest(path / MANIFEST)
    weight_cols = [record.weight(t["key"]) for t in manifest["terms"]]
    kinds = [str(k) for k in manifest["arena"].get("event_kinds", [])]
    event_cols = [record.event(p, k) for k in kinds for p in ("own", "helper", "opportunity")]

    def read(table: str, required: tuple[str, ...]) -> pl.DataFrame:
        if table in tables:
            return _read_table(path, table, required)
        import polars as pl

        return pl.DataFrame({c: [] for c in required})

    agents = read("agents", (*AGENT_COLUMNS, *weight_cols))
    if "agents" in tables:
        from .verify import check_agents

        check_agents(path, manifest, agents, ReportError)
    if "mutation" not in agents.columns:  # runs written before the column existed
        import polars as pl

        agents = agents.with_columns(mutation=pl.lit(None, dtype=pl.String))
    episodes = read("episodes", (*EPISODE_COLUMNS, *event_cols))
    if "change" not in agents.columns:  # runs written before reflection existed
        import polars as pl

        agents = agents.with_columns(change=pl.lit(None, dtype=pl.String))
    lineage = read("lineage", LINEAGE_COLUMNS)
    reflection = read("reflection", REFLECTION_COLUMNS)
    return Run(
        path,
        manifest,
        _typed_agents(agents, weight_cols),
        _typed_episodes(episodes, event_cols),
        _typed_lineage(lineage),
        None,
        _typed_reflection(reflection),
    )


def read_json(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise ReportError(file, "a manifest.json (not a run directory, or the run never started)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(file, f"valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ReportError(file, "a JSON object at the top level")
    return manifest


def read_manifest(file: Path) -> dict[str, Any]:
    """Parse and check a single-seed run's manifest.json; weights "inf" become float('inf')."""
    manifest = read_json(file)
    if manifest.get("role") == REPLICATES_ROLE:
        raise ReportError(
            file,
            "a single-seed run (this directory holds one run per seed: "
            "use reports.load_replicates, or report on a seed=<s> folder)",
        )
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise ReportError(file, f"the keys {', '.join(missing)}")
    try:
        float(manifest["survival_threshold"])
    except (TypeError, ValueError):
        raise ReportError(file, "survival_threshold to be a number") from None
    if not isinstance(manifest["arena"], dict):
        raise ReportError(file, "arena to be an object with name, has_oversight, event_kinds")
    terms = manifest["terms"]
    if not isinstance(terms, list) or not all(isinstance(t, dict) and "key" in t for t in terms):
        raise ReportError(file, "terms to be a list of objects, each with a key")
    if not isinstance(manifest["profiles"], dict):
        raise ReportError(file, "profiles to be an object {name: {description, weights}}")
    for name, profile in manifest["profiles"].items():
        if not isinstance(profile, dict):
            raise ReportError(file, f"profiles.{name} to be an object with description and weights")
        weights = profile.get("weights") or {}
        if not isinstance(weights, dict):
            raise ReportError(file, f"profiles.{name}.weights to be an object {{term key: number}}")
        profile["weights"] = {str(k): _weight(file, name, k, v) for k, v in weights.items()}
    return manifest


def _weight(file: Path, profile: str, key: str, value: Any) -> float:
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity"):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(file, f'profiles.{profile}.weights."{key}" to be a number or "inf"')
    return float(value)


def _parquet_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("**/*.parquet") if not p.name.startswith("."))


def _read_table(path: Path, table: str, required: tuple[str, ...]) -> pl.DataFrame:
    """Concatenate `<table>/**/*.parquet`; missing table → an empty frame with `required` columns."""
    import polars as pl

    files = _parquet_files(path / table)
    if not files:
        return pl.DataFrame({c: [] for c in required})
    try:  # fast path: one multi-file read; any problem → per file, to name the culprit
        df = pl.read_parquet(files, hive_partitioning=False)
        if all(c in df.columns for c in required):
            return df
    except Exception:  # noqa: BLE001, S110
        pass
    frames = []
    for f in files:
        try:
            df = pl.read_parquet(f, hive_partitioning=False)
        except Exception as exc:  # noqa: BLE001 - any decode failure is the same fact for the user
            raise ReportError.failed(f, "a readable parquet file", exc) from None
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise ReportError(f, f"the columns {', '.join(missing)}")
        frames.append(df)
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except Exception as exc:  # noqa: BLE001
        raise ReportError.failed(path / table, "parquet parts with compatible schemas", exc) from None


def _typed_agents(df: pl.DataFrame, weight_cols: list[str]) -> pl.DataFrame:
    import polars as pl

    ints = ["generation", "id", "slot", "parent", "founder"]
    floats = ["payoff", "fitness", "utility", "process_share", *weight_cols]
    df = df.with_columns(
        *[pl.col(c).cast(pl.Int64) for c in ints],
        *[pl.col(c).cast(pl.Float64) for c in floats],
        *[pl.col(c).cast(pl.String) for c in ("profile", "origin", "mutation", "change")],
        pl.col(f"^{re.escape(record.POLICY)}.*$").cast(pl.Float64),
    )
    return df.sort("generation", "id")


def _typed_episodes(df: pl.DataFrame, event_cols: list[str]) -> pl.DataFrame:
    import polars as pl

    df = df.with_columns(
        *[pl.col(c).cast(pl.Int64) for c in ("generation", "group", "episode", "id")],
        *[pl.col(c).cast(pl.Float64) for c in ("fitness_gain", "utility", *event_cols)],
        pl.col("profile").cast(pl.String),
        pl.col("watched").cast(pl.Boolean),
    )
    return df.sort("generation", "group", "episode", "id")


def _typed_reflection(df: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    df = df.with_columns(
        *[pl.col(c).cast(pl.Int64) for c in ("generation", "id", "candidate")],
        *[pl.col(c).cast(pl.String) for c in ("mode", "rule", "change", "term")],
        *[pl.col(c).cast(pl.Float64) for c in ("before", "after", "score")],
        pl.col("chosen").cast(pl.Boolean),
    )
    return df.sort("generation", "id", "mode", "candidate")


def _typed_lineage(df: pl.DataFrame) -> pl.DataFrame:
    """Typed lineage rows; `change`, `before`, `after` (self-modification rows and design labels)
    are null where a run written before they existed lacks them."""
    import polars as pl

    optional = {"change": pl.String, "before": pl.List(pl.Float64), "after": pl.List(pl.Float64)}
    df = df.with_columns(
        *[pl.col(c).cast(pl.Int64) for c in ("generation", "parent", "child")],
        pl.col("kind").cast(pl.String),
        *[(pl.col(c) if c in df.columns else pl.lit(None)).cast(t).alias(c) for c, t in optional.items()],
    )
    return df.sort("generation", "child")
