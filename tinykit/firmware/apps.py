"""Firmware apps: the program a firmware runs on top of the board support and the model glue.

The benchmark runner (MLPerf Tiny command loop), the streaming keyword detector and an export's
example program are apps. Each declares its own sources, compiler and linker flags, renders its own
generated files and adds its own fields to the build record, through this one interface; the build
composes them and never edits another app's lists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from tinykit.firmware.context import FIRMWARE_SUBDIR
from tinykit.targets.boards import Board


class FirmwareApp(ABC):
    """One firmware program; ``mode`` names it in build.json (flash and run check it)."""

    mode: ClassVar[str]

    @abstractmethod
    def sources(self) -> list[str]:
        """C sources of the app, relative to the firmware project."""

    def cflags(self) -> list[str]:
        """Compiler flags the app needs on top of the board's and the common ones."""
        return []

    def ldflags(self) -> list[str]:
        """Linker flags (libraries) the app needs."""
        return []

    def render(self, out_dir: Path, board: Board) -> None:
        """Write the app's generated files into the project (after the common ones)."""
        return None

    def record(self) -> dict[str, Any]:
        """Fields the app adds to build.json."""
        return {}


class RunnerApp(FirmwareApp):
    """The serial command loop (MLPerf Tiny runner protocol + tinykit's tk- commands)."""

    mode = "runner"

    def sources(self) -> list[str]:
        return [f"{FIRMWARE_SUBDIR}/core/runner.c"]
