"""Plug-ins: Python modules an experiment file names (`[plugins] modules = [...]`) that register
arenas, measures, properties, event kinds or deciders when imported.

They are imported before the rest of the file is checked, so the names they register can be used
in it. A plug-in is a dotted module name (importable where `purity` runs) or a `.py` file (a path
relative to the experiment file). Ray workers import the same modules before their first task:
a file travels as its text, a package as a folder in the runtime environment, so nodes need
neither the file nor the package installed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from purity.inputs import InputError


@dataclasses.dataclass(frozen=True)
class Plugin:
    """One module to import: `entry` as written, `module` the name it is imported under, `code`
    the text of a single-file module (what a node without the file executes)."""

    entry: str
    module: str
    file: str | None = None
    code: str | None = None


_LOADED: dict[str, Plugin] = {}


def load(entries: list[str], path: Path, field: str = "plugins.modules") -> tuple[Plugin, ...]:
    """Import each entry (registering what it registers); a failure names the file and field."""
    plugins = []
    for index, entry in enumerate(entries):
        where = f"{field}[{index}]"
        try:
            plugins.append(_load_one(entry, Path(path).parent))
        except InputError:
            raise
        except Exception as error:  # a plug-in's own error, shown on one line
            raise InputError(
                path,
                where,
                "a module that imports without error",
                f"{entry} ({type(error).__name__}: {error})",
            ) from None
        if plugins[-1] is None:
            raise InputError(path, where, "a dotted module name or a .py file that exists", entry)
    return tuple(plugins)


def _load_one(entry: str, base: Path) -> Plugin | None:
    if entry.endswith(".py") or "/" in entry:
        file = (base / entry).resolve()
        if not file.is_file():
            return None
        digest = hashlib.sha256(str(file).encode()).hexdigest()[:8]
        plugin = Plugin(entry, f"_purity_plugin_{file.stem}_{digest}", str(file), file.read_text())
    else:
        if importlib.util.find_spec(entry) is None:
            return None
        module = importlib.import_module(entry)
        plain = not hasattr(module, "__path__") and "." not in entry
        code = Path(module.__file__).read_text() if plain and module.__file__ else None
        plugin = Plugin(entry, entry, module.__file__ if plain else None, code)
    _import(plugin)
    _LOADED.setdefault(plugin.module, plugin)
    return plugin


def _import(plugin: Plugin) -> ModuleType:
    """Import once per process; a file (or its text, where the file is absent) under its name."""
    if plugin.module in sys.modules:
        return sys.modules[plugin.module]
    if plugin.code is None:
        return importlib.import_module(plugin.module)
    module = ModuleType(plugin.module)
    module.__file__ = plugin.file
    sys.modules[plugin.module] = module
    try:
        exec(compile(plugin.code, plugin.file or plugin.module, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[plugin.module]
        raise
    return module


def loaded() -> tuple[Plugin, ...]:
    """Every plug-in this process imported, in order."""
    return tuple(_LOADED.values())


def install(plugins: tuple[Plugin, ...]) -> None:
    """Import `plugins` in this process (a Ray worker's setup hook)."""
    for plugin in plugins:
        _import(plugin)


def runtime_env() -> dict:
    """What a Ray worker needs to import this process's plug-ins before its first task."""
    plugins = loaded()
    if not plugins:
        return {}
    packages = sorted(
        {
            str(Path(importlib.import_module(plugin.module.partition(".")[0]).__file__).parent)
            for plugin in plugins
            if plugin.code is None
        }
    )

    def import_plugins() -> None:  # a named function: Ray's setup hook needs a __name__
        install(plugins)

    found = {"worker_process_setup_hook": import_plugins}
    return found | ({"py_modules": packages} if packages else {})
