"""The generalisation study's experiment file: one `Study`, its regimes and a grid over them.

```toml
[study]            # name, seeds, and any `Study` field (learner, reward, penalty, iterations, ...)
[train]            # the training regime (`Regime` fields: p_watch, cue, missing, observed, correlated)
[test]             # the test regime; the frozen policy is evaluated under it
[grid]             # lists of values: a Study field, a Regime field (both regimes), or train.X / test.X
```
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import polars as pl

from purity.agents.generalisation import LEARNERS, REWARDS, Regime, Study, outcome
from purity.inputs import Table, load_toml

NUMBERS = {
    "penalty": (0.0, 1e6),
    "learning_rate": (0.0, 1000.0),
    "exploration": (0.0, 0.5),
    "p_watch": (0.0, 1.0),
    "cue": (0.0, 1.0),
    "missing": (0.0, 1.0),
    "correlated": (0.0, 1.0),
}
INTEGERS = {"iterations": (0, 10_000), "episodes": (2, 100_000), "groups": (1, 1000), "group_size": (2, 64)}
CHOICES = {"learner": LEARNERS, "reward": REWARDS}


def _value(table: Table, key: str, default):
    if key in CHOICES:
        return table.string(key, default, choices=CHOICES[key])
    if key in INTEGERS:
        return table.integer(key, default, *INTEGERS[key])
    if key == "observed":
        return table.boolean(key, default)
    if key == "internal_weights":
        pair = table._raw(key, list(default))
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, (int, float)) for v in pair)):
            raise table.error(key, "[low, high], two numbers", pair)
        return (float(min(pair)), float(max(pair)))
    return table.number(key, default, *NUMBERS[key])


def _read(table: Table, cls, base):
    fields = [f.name for f in dataclasses.fields(cls) if f.name not in ("train", "test")]
    values = {name: _value(table, name, getattr(base, name)) for name in fields if table.has(name)}
    return dataclasses.replace(base, **values)


def _set(study: Study, key: str, value) -> Study:
    side, _, name = key.rpartition(".")
    if name in {f.name for f in dataclasses.fields(Regime)}:
        sides = (side,) if side else ("train", "test")
        return dataclasses.replace(
            study, **{s: dataclasses.replace(getattr(study, s), **{name: value}) for s in sides}
        )
    return dataclasses.replace(study, **{name: value})


REGIME = {f.name for f in dataclasses.fields(Regime)}
STUDY = {f.name for f in dataclasses.fields(Study)} - {"train", "test"}


def _grid(table: Table, study: Study) -> dict[str, list]:
    grid = {}
    for key in list(table.data):
        prefix, _, name = key.rpartition(".")
        values = table._raw(key, None)
        if not (
            (prefix == "" and name in STUDY | REGIME) or (prefix in ("train", "test") and name in REGIME)
        ):
            raise table.error(key, "a Study or Regime field, or train.X / test.X for a Regime field")
        if not isinstance(values, list) or not values:
            raise table.error(key, "a non-empty list of values", values)
        default = getattr(study.train if name in REGIME else study, name)
        grid[key] = [_value(Table({name: value}, table.file, table.where), name, default) for value in values]
    return grid


def load(path: str | Path) -> tuple[str, int, list[tuple[dict, Study]]]:
    """(name, seeds, [(setting, Study)]) from an experiment file; bad input raises InputError."""
    top = Table(load_toml(path), path)
    head, train, test, grid_table = (top.table(key) for key in ("study", "train", "test", "grid"))
    name = head.string("name", Path(path).stem)
    seeds = head.integer("seeds", 8, 2, 16)
    study = dataclasses.replace(
        _read(head, Study, Study()), train=_read(train, Regime, Regime()), test=_read(test, Regime, Regime())
    )
    grid = _grid(grid_table, study)
    for table in (top, head, train, test):
        table.done()
    settings = []
    for combo in itertools.product(*grid.values()):
        setting = dict(zip(grid, combo))
        one = study
        for key, value in setting.items():
            one = _set(one, key, value)
        settings.append((setting, one))
    return name, seeds, settings


def run(path: str | Path) -> tuple[list[str], pl.DataFrame]:
    """Run every setting × seed of the file: (grid keys, one row per setting and seed)."""
    _, seeds, settings = load(path)
    rows = [
        {**setting, "seed": seed, **outcome(study, seed)}
        for setting, study in settings
        for seed in range(seeds)
    ]
    return list(settings[0][0]), pl.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """`python -m purity.agents.generalisation_grid FILE`: print one row per (setting, seed)."""
    import sys

    from purity.inputs import InputError

    args = sys.argv[1:] if argv is None else argv
    try:
        keys, frame = run(args[0])
    except InputError as error:
        print(error, file=sys.stderr)
        return 2
    with pl.Config(tbl_rows=-1, tbl_cols=-1):
        print(frame)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
