"""Reading user-written TOML: every mistake becomes one `InputError` naming file, field and
what was expected, so the command line can print one line and exit 2 instead of a traceback.

Agents (profiles) and tournament (experiments, sweeps, the command line) read user files, and an
arena's `Params` is read with `read_params`; so this module sits below every layer and imports
nothing from purity.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

_REQUIRED = object()


class InputError(Exception):
    """A user input file is wrong: `file: field: expected …, got …`."""

    def __init__(self, file: str | Path, field: str, expected: str, got: Any = _REQUIRED):
        self.file, self.field, self.expected, self.got = str(file), field, expected, got
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        found = "" if self.got is _REQUIRED else f", got {_show(self.got)}"
        return _one_line(f"{where}: expected {self.expected}{found}")

    def __reduce__(self):
        """Rebuilt from its parts where it is unpickled: an error a Ray worker raised reaches the
        command line whole, still one line."""
        parts = (self.file, self.field, self.expected)
        return (type(self), parts if self.got is _REQUIRED else (*parts, self.got))


def _one_line(text: str) -> str:
    """User text (keys, paths) may hold newlines or escape codes: show them escaped, on one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


MAX_FILE_BYTES = 4 * 1024 * 1024  # input files are hand-written: far below this
MAX_DEPTH = 32  # nesting of tables and arrays; purity's own files use at most 4
MAX_NAME = 100  # characters of a name that becomes a folder name


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; devices (/dev/zero), FIFOs and
    sockets are refused before reading, so a read can neither hang nor fill memory."""
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(path, "", "a file, not a directory")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(path, "", "a regular file (not a device, FIFO or socket)")
        if info.st_size > limit:
            raise InputError(path, "", f"a file of at most {limit} bytes", f"{info.st_size} bytes")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(path, "", "an existing file") from None
    except OSError as error:
        raise InputError(path, "", f"a readable file ({error.strerror})") from None
    if len(data) > limit:
        raise InputError(path, "", f"a file of at most {limit} bytes")
    return data


def check_depth(path: str | Path, data: Any) -> Any:
    """Refuse data nested deeper than `MAX_DEPTH` (walked without recursion), so that code
    walking it later cannot hit Python's recursion limit."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(path, "", f"tables and arrays nested at most {MAX_DEPTH} deep")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return data


def load_toml(path: str | Path) -> dict:
    """Parse a TOML file, turning I/O and syntax errors into `InputError`."""
    path = Path(path)
    try:
        return check_depth(path, tomllib.loads(read_bytes(path).decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, "", f"valid TOML ({error})") from None
    except RecursionError:
        raise InputError(path, "", f"tables and arrays nested at most {MAX_DEPTH} deep") from None


def leading_comment(path: str | Path) -> list[str]:
    """A TOML file's leading comment lines, as written (what a shipped file says it asks)."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def load_json(path: str | Path) -> Any:
    """Parse a JSON file (a manifest), turning I/O and syntax errors into `InputError`."""
    import json

    path = Path(path)
    try:
        return check_depth(path, json.loads(read_bytes(path, 64 * MAX_FILE_BYTES).decode("utf-8")))
    except (ValueError, RecursionError) as error:
        raise InputError(path, "", f"valid JSON ({error})") from None


class Table:
    """A TOML table being read: typed getters, and `done()` rejects keys nobody asked for."""

    def __init__(self, data: Any, file: str | Path, where: str = ""):
        if not isinstance(data, dict):
            raise InputError(file, where, "a table", data)
        self.data, self.file, self.where = data, str(file), where
        self._seen: set[str] = set()

    def field(self, key: str) -> str:
        if not key or not self.where:
            return key or self.where
        return f"{self.where}.{key}"

    def error(self, key: str, expected: str, got: Any = _REQUIRED) -> InputError:
        return InputError(self.file, self.field(key), expected, got)

    def has(self, key: str) -> bool:
        return key in self.data

    def _raw(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            near = difflib.get_close_matches(key, [k for k in self.data if k not in self._seen], 1, 0.6)
            raise self.error(
                key, "this required field" + (f" (this table has {near[0]!r}: misspelled?)" if near else "")
            )
        return default

    def string(self, key: str, default: Any = _REQUIRED, choices: tuple[str, ...] | None = None) -> str:
        value = self._raw(key, default)
        if value is default and default is not _REQUIRED:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "a non-empty string", value)
        if choices is not None and value not in choices:
            raise self.error(key, "one of " + ", ".join(repr(c) for c in choices), value)
        return value

    def folder_name(self, key: str, names: str) -> str:
        """A string that names a folder: no path separators, no leading dot (never `..`)."""
        value = self.string(key)
        if len(value) > MAX_NAME:
            raise self.error(key, f"at most {MAX_NAME} characters (it names the {names})", value)
        if not all(c.isalnum() or c in "-_." for c in value) or value.startswith("."):
            raise self.error(key, f"letters, digits, '-', '_' or '.' (it names the {names})", value)
        return value

    def boolean(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def integer(
        self, key: str, default: Any = _REQUIRED, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "a whole number", value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"a whole number in [{low}, {high if high is not None else '∞'}]", value)
        return value

    def number(
        self,
        key: str,
        default: Any = _REQUIRED,
        low: float | None = None,
        high: float | None = None,
        allow_inf: bool = False,
    ) -> float:
        """A finite float in [low, high]; with `allow_inf`, also `inf` or the string "inf"."""
        value = self._raw(key, default)
        if allow_inf and value in ("inf", "+inf"):
            value = math.inf
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, "a number" + (' or "inf"' if allow_inf else ""), value)
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
            raise self.error(key, "a finite number" + (' or "inf"' if allow_inf else ""), value)
        bounds = f"[{'-∞' if low is None else low}, {'∞' if high is None else high}]"
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"a number in {bounds}", value)
        return value

    def strings(
        self, key: str, default: Any = _REQUIRED, choices: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        """A list of distinct strings, each one of `choices` when given."""
        value = self._raw(key, default)
        if value is default and default is not _REQUIRED:
            return tuple(value)
        expected = "a list of distinct strings" + (
            " from " + ", ".join(repr(c) for c in choices) if choices is not None else ""
        )
        if (
            not isinstance(value, list)
            or not all(isinstance(item, str) for item in value)
            or len(set(value)) != len(value)
        ):
            raise self.error(key, expected, value)
        if choices is not None and not set(value) <= set(choices):
            raise self.error(key, expected, value)
        return tuple(value)

    def table(self, key: str, required: bool = False) -> "Table":
        value = self._raw(key, _REQUIRED if required else {})
        return Table(value, self.file, self.field(key))

    def tables(self, key: str, required: bool = False) -> list["Table"]:
        value = self._raw(key, _REQUIRED if required else [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, f"an array of tables ([[{self.field(key)}]])", value)
        return [Table(item, self.file, f"{self.field(key)}[{i}]") for i, item in enumerate(value)]

    def rest(self) -> dict[str, Any]:
        """Keys not read yet (for open-ended tables such as arena parameters)."""
        return {k: v for k, v in self.data.items() if k not in self._seen}

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            known = ", ".join(sorted(self._seen)) or "none"
            raise self.error(unknown[0], f"a known key (known here: {known})")


def read_params(cls: type, values: dict[str, Any], file: str | Path, where: str) -> Any:
    """Build a frozen parameter dataclass from a TOML table, checking names and numeric types.

    Each field's default fixes its type; a field may declare `metadata={"low": x, "high": y}`,
    or `metadata={"items": cls}` for an array of tables read as a tuple of `cls`.
    """
    table = Table(values, file, where)
    kwargs = {}
    for spec in fields(cls):
        if not table.has(spec.name):
            continue
        default = spec.default
        low, high = spec.metadata.get("low"), spec.metadata.get("high")
        if "items" in spec.metadata:  # an array of tables, each one dataclass (arena event rules)
            kwargs[spec.name] = tuple(
                read_params(spec.metadata["items"], item.data, file, item.where)
                for item in table.tables(spec.name)
            )
        elif isinstance(default, bool):
            kwargs[spec.name] = table.boolean(spec.name)
        elif isinstance(default, int):
            kwargs[spec.name] = table.integer(spec.name, low=low, high=high)
        elif isinstance(default, float):
            kwargs[spec.name] = table.number(spec.name, low=low, high=high)
        elif default == "" and values[spec.name] == "":  # an optional text left empty (as dumped)
            kwargs[spec.name] = ""
        else:  # a text field may name its `choices` in its metadata
            kwargs[spec.name] = table.string(spec.name, choices=spec.metadata.get("choices"))
    table._seen.update(spec.name for spec in fields(cls))  # so an unknown key lists them all
    table.done()
    return cls(**kwargs)
