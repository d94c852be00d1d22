"""Where tinykit's shipped data lives: templates, firmware sources, board files, bundled models.

``templates/``, ``firmware/`` and ``boards/`` sit at the top of the repository; a wheel carries
them inside the package as ``tinykit/_resources/`` (setup.py copies them there at build time).
This is the one module that knows both places: everything else asks it, so an installed wheel
works outside the source tree. Both places are found from the package itself through
:mod:`importlib.resources`, never from the working directory.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

from tinykit.errors import TinykitError

PACKAGE = "tinykit"
SHIPPED_DIR = "_resources"  # inside the installed package (wheel)
DATA_DIRS = ("templates", "firmware", "boards")


class ResourceError(TinykitError):
    """A data folder tinykit ships with is missing (a broken installation)."""


@cache
def data_root() -> Path:
    """The folder holding templates/, firmware/ and boards/ (the wheel's copy, else the checkout's)."""
    package = Path(str(importlib.resources.files(PACKAGE)))
    for root in (package / SHIPPED_DIR, package.parent):
        if all((root / name).is_dir() for name in DATA_DIRS):
            return root
    raise ResourceError(f"tinykit's data folders ({', '.join(DATA_DIRS)}) are missing next to {package}",
                        hint="reinstall tinykit (pip install tinykit-*.whl, or pip install -e . in a checkout)")


def templates_dir(group: str | None = None) -> Path:
    """templates/ or one of its groups (``model``, ``firmware``, ``stream``, ``export``...)."""
    return _child(data_root() / "templates", group)


def firmware_dir(sub: str | None = None) -> Path:
    """The hand-written C shared by every firmware (``kernels``, ``core``, ``frontend``...)."""
    return _child(data_root() / "firmware", sub)


def boards_dir() -> Path:
    """The board files shipped with tinykit."""
    return data_root() / "boards"


def models_dir() -> Path:
    """The bundled reference models (package data of :mod:`tinykit.models`)."""
    return Path(str(importlib.resources.files(f"{PACKAGE}.models")))


def _child(base: Path, sub: str | None) -> Path:
    path = base / sub if sub else base
    if not path.is_dir():
        raise ResourceError(f"tinykit's data folder {path} is missing", hint="reinstall tinykit")
    return path
