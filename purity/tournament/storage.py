"""The run directory (docs/run-files.md): atomic writes of Parquet and JSON, and its layout.

Every file is written under a temporary name `.<name>.<uuid>.tmp` in its final folder and then
renamed, so a reader (or a crash) never sees half a file; readers glob `**/*.parquet`.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import socket
import time
import tomllib
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl

from purity.inputs import InputError, load_json
from purity.tournament import record


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Encoded in memory, written by Python: a full disk is then an OSError with its errno
    (polars reports it as a ComputeError)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    _atomic(path, lambda temp: temp.write_bytes(buffer.getvalue()))


def plain(value: Any) -> Any:
    """JSON has no infinity: hard weights are written as the string "inf"."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def write_json(data: dict, path: Path) -> None:
    text = json.dumps(plain(data), indent=2, allow_nan=False) + "\n"
    _atomic(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: Path) -> None:
    _atomic(path, lambda temp: temp.write_bytes(data))


def write_text(text: str, path: Path) -> None:
    _atomic(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def copy_file(source: Path, path: Path) -> None:
    _atomic(path, lambda temp: shutil.copyfile(source, temp))


def read_manifest(run_dir: Path, option: str = "--resume") -> dict:
    """The manifest of a run directory, or one clear `InputError` if there is none to read."""
    file = Path(run_dir) / record.MANIFEST
    if Path(run_dir).is_symlink() or file.is_symlink():
        raise InputError(
            run_dir, option, "a run directory that is not a symbolic link (resume the folder it points to)"
        )
    if not file.is_file():
        if (Path(run_dir) / record.SWEEP).is_file():
            raise InputError(
                run_dir,
                option,
                "a run directory, not a sweep directory (resume a sweep with `purity sweep --resume`)",
            )
        raise InputError(run_dir, option, "a run directory written by `purity run` (with a manifest.json)")
    manifest = load_json(file)
    if not isinstance(manifest, dict) or "status" not in manifest:
        raise InputError(file, "", "a purity run manifest (with a status)")
    total, done = manifest.get("generations"), manifest.get("generations_done")
    if "generations_done" in manifest and (
        isinstance(done, bool)
        or not isinstance(done, int)
        or done < 0
        or (isinstance(total, int) and done > total)
    ):
        raise InputError(file, "generations_done", f"a whole number in [0, {total}]", done)
    return manifest


def table_path(run_dir: Path, table: str, generation: int) -> Path:
    """Where a table's generation goes. Symbolic links inside a run directory are never
    followed for writing: a link planted there cannot send the run's files elsewhere."""
    path = run_dir / record.part(table, generation)
    for step in (path.parent.parent, path.parent, path):
        if step.is_symlink():
            raise InputError(
                step,
                "",
                "a real file or folder inside the run directory, not a symbolic link (refusing to write through it)",
            )
    return path


def generations(run_dir: Path, table: str) -> list[int]:
    """The generations that have a folder in `table`, in order."""
    folder = Path(run_dir) / table
    found = []
    if folder.is_dir():
        for child in folder.iterdir():
            generation = record.generation_of(child.name)
            if generation is not None and child.is_dir():
                found.append(generation)
    return sorted(found)


def sweep_temporaries(run_dir: Path) -> int:
    """Delete every `.*.tmp` file below `run_dir` (left by a killed write); return how many."""
    swept = 0
    for temp in Path(run_dir).rglob(".*.tmp"):
        if temp.is_file() and not temp.is_symlink():
            temp.unlink(missing_ok=True)
            swept += 1
    return swept


def drop_generations(run_dir: Path, done: int) -> None:
    """Remove what generations `done` and later wrote: agents, episodes and reflection of gen ≥ done, and the
    births and self-modifications of gen ≥ done + 1 (those into generation `done` belong to generation done − 1)."""
    for table in record.TABLES:
        for generation in generations(run_dir, table):
            if generation >= record.filed_under(table, done):
                folder = Path(run_dir) / record.folder(table, generation)
                if folder.is_symlink():
                    raise InputError(
                        folder,
                        "",
                        "a real folder inside the run directory, not a symbolic link (refusing to delete through it)",
                    )
                shutil.rmtree(folder)


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir/.lock` for the duration: a second process writing the same run (a resume
    or a --force while the run still goes on) is refused, told which process holds it.

    The kernel drops the lock when its process dies, so a lock left by a killed run is stale by
    construction: its file still names the dead owner, and the next run simply takes it over.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no protection
        yield
        return
    run_dir = Path(run_dir)
    handle = open(run_dir / ".lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise InputError(
                run_dir, "", f"a run directory no other purity process is writing (in use by {owner})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
        )
        handle.flush()
        yield
    finally:
        handle.close()


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    if isinstance(value, float):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__} {value!r}")


def toml_text(data: dict) -> str:
    """TOML for plain data: top-level keys, tables and arrays of tables (deeper values inline);
    checked by parsing it back, so a value TOML cannot hold fails here, not on reading."""
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}"
        for k, v in data.items()
        if not (isinstance(v, dict) or _is_tables(v))
    ]
    for key, value in data.items():
        if isinstance(value, dict):
            _toml_table(lines, _toml_key(key), value)
        elif _is_tables(value):
            for item in value:
                _toml_table(lines, _toml_key(key), item, array=True)
    text = "\n".join(lines).lstrip("\n") + "\n"
    # NaN is not equal to itself: compare the JSON spellings, which keep it as NaN.
    if json.dumps(tomllib.loads(text), sort_keys=True) != json.dumps(_lists(data), sort_keys=True):
        raise ValueError("data that TOML can hold exactly")
    return text


def _is_tables(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, dict) for item in value)


def _toml_table(lines: list[str], header: str, table: dict, array: bool = False) -> None:
    lines += ["", f"[[{header}]]" if array else f"[{header}]"]
    lines += [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not (_is_tables(v) and not array)
    ]
    if not array:
        for key, value in table.items():
            if _is_tables(value):
                for item in value:
                    _toml_table(lines, f"{header}.{_toml_key(key)}", item, array=True)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (bool, int, float, str)):
        return value.item()
    return value


def check_target(run_dir: Path, force: bool) -> None:
    """Refuse a run directory that exists (unless `force` may replace it) before any work starts."""
    if run_dir.is_symlink():
        raise InputError(run_dir, "--out", "a run directory that is not a symbolic link")
    if not run_dir.exists():
        return
    if not force:
        raise InputError(run_dir, "", "a run directory that does not exist yet (pass --force to replace it)")
    # a sweep killed before its sweep.json leaves the copy of its file, written first
    ours = any((run_dir / name).is_file() for name in (record.MANIFEST, record.SWEEP, "sweep.toml"))
    if any(not _ours(path.name) for path in run_dir.iterdir()) and not ours:
        raise InputError(
            run_dir,
            "--force",
            "a purity run or sweep directory (manifest.json or sweep.json) to replace; refusing to delete another folder",
        )


def _ours(name: str) -> bool:
    """What a run cut off before its manifest may leave: its lock and temporary files."""
    return name == ".lock" or (name.startswith(".") and name.endswith(".tmp"))


def prepare(run_dir: Path, force: bool) -> None:
    """Create an empty run directory, replacing an old run only when `force` allows it."""
    check_target(run_dir, force)
    if run_dir.exists():
        with locked(run_dir):  # never delete a run another process is still writing
            try:
                shutil.rmtree(run_dir)
            except OSError as error:
                raise InputError(
                    run_dir, "--force", f"a run directory that can be deleted ({error.strerror})"
                ) from None
    run_dir.mkdir(parents=True)
