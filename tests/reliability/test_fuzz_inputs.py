"""Property-based tests over profile and experiment files: every mutation of a valid file is
either accepted or rejected with exit code 2 and one line naming the file and the field — never
a traceback, never a hang (hypothesis's deadline: 2 s a case), never above 1 GiB resident
(`footprint.py`)."""

import os
import tomllib
from pathlib import Path

from footprint import Footprint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purity.tournament.cli import main
from purity.tournament.storage import toml_text

ROOT = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("PURITY_FUZZ_CASES", "300"))

weird_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            0,
            -1,
            1e308,
            -1e308,
            1e-320,
            2**62,
            "",
            " ",
            "inf",
            "-inf",
            "nan",
            "self",
            "world",
            "lineage",
            "take",
            "steal",
            "../../etc/passwd",
            "<script>",
            "名前",
            "\u0000",
            "\x1b[31m",
        ]
    ),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.recursive(
        st.dictionaries(st.sampled_from(["a", "weight", "name", "x"]), st.integers(), max_size=2),
        lambda inner: st.dictionaries(st.sampled_from(["deep", "weight"]), inner, max_size=2),
        max_leaves=6,
    ),
)


def _paths(data, prefix=()):
    """Every (path, value) in nested TOML data: keys of tables, indices of arrays."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield prefix + (key,), value
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield prefix + (index,), value
            yield from _paths(value, prefix + (index,))


def _parent(data, path):
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated(draw, source: Path):
    data = tomllib.loads(source.read_text())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p, _ in _paths(data)]
        path = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        action = draw(st.sampled_from(["replace", "delete", "add", "rename"]))
        if action == "replace":
            parent[path[-1]] = draw(weird_values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "weigth", "scope", "event", "share", "seeds", "名前"]))] = (
                draw(weird_values)
            )
        elif action == "rename" and isinstance(parent, dict):
            value = parent.pop(path[-1])
            parent[draw(st.text(min_size=1, max_size=8))] = value
    return data


def _check(tmp_path, data, capsys):
    path = tmp_path / "case.toml"
    try:
        text = toml_text(_without_none(data))  # None has no TOML spelling: leave such keys out
    except ValueError:  # nothing TOML can hold exactly (e.g. a lone surrogate): not a file
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, captured = _validate(path, capsys)
    assert code in (0, 2)
    if code == 2:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith(f"purity: error: {path}"), lines[0]
        assert "Traceback" not in captured.err
    else:
        assert "valid" in captured.out


def _validate(path: Path, capsys):
    with Footprint(path.name) as footprint:
        code = main(["validate", str(path)])
    footprint.check()
    return code, capsys.readouterr()


def _without_none(data):
    if isinstance(data, dict):
        return {k: _without_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_without_none(v) for v in data if v is not None]
    return data


FUZZ = settings(
    max_examples=CASES,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=mutated(ROOT / "experiments" / "default.toml"))
def test_mutated_experiments_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)


@settings(
    max_examples=max(CASES // 3, 1),
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated(ROOT / "experiments" / "successors-base.toml"))
def test_mutated_reflection_experiments_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)


@FUZZ
@given(data=mutated(ROOT / "purity" / "agents" / "profiles" / "steward.toml"))
def test_mutated_profiles_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)


@FUZZ
@given(data=mutated(ROOT / "experiments" / "matrix-pd.toml"))
def test_mutated_matrix_experiments_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)


@settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_rejected_cleanly(tmp_path, capsys, raw):
    path = tmp_path / "bytes.toml"
    path.write_bytes(raw)
    code, captured = _validate(path, capsys)
    assert code in (0, 2) and "Traceback" not in captured.err


@FUZZ
@given(data=mutated(ROOT / "experiments" / "promises.toml"))
def test_mutated_promises_experiments_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)


@FUZZ
@given(data=mutated(ROOT / "experiments" / "oversight-training.toml"))
def test_mutated_training_experiments_are_accepted_or_rejected_cleanly(tmp_path, capsys, data):
    _check(tmp_path, data, capsys)
