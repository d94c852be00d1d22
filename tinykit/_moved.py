"""Old import paths of modules that moved into stage packages keep working, with a warning.

``import tinykit.build`` (before the layout step) now imports :mod:`tinykit.firmware.build` and
binds the same module object under the old name, so attribute access and monkeypatching behave
exactly as before; a :class:`DeprecationWarning` names the new path. A finder on ``sys.meta_path``
does this instead of shim files at the old paths, which would hide the moves from git's rename
detection.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

# old module -> new module
MOVED = {
    "tinykit.build": "tinykit.firmware.build",
    "tinykit.boards": "tinykit.targets.boards",
    "tinykit.frontend": "tinykit.audio.frontend",
    "tinykit.stream": "tinykit.audio.stream",
    "tinykit.lab_report": "tinykit.lab.report",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec):
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:  # the real module is already executed
        pass


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Resolves an old module path to the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        warnings.warn(f"{fullname} moved to {new}; import it from there", DeprecationWarning, stacklevel=3)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
