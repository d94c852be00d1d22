"""build.json: what a firmware build was made from, written once, read by flash, measure and stream."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tinykit import __version__
from tinykit.errors import BuildError
from tinykit.files import write_json

BUILD_RECORD = "build.json"


def write_build_record(out_dir: Path, result, library, model_path: Path | None, cflags: list[str],
                       app) -> Path:
    """The one writer of build.json (any app): provenance, sizes, flags and the app's own fields."""
    record: dict[str, Any] = {
        "tinykit_version": __version__, "board": result.board, "mode": app.mode,
        "model": str(model_path) if model_path else None, "model_sha256": result.model_sha256,
        "energy_mode": result.energy_mode, "clock": result.clock, "clock_hz": result.clock_hz,
        "toolchain": result.toolchain,
        "arena_bytes": library.arena_bytes, "weight_bytes": library.weight_bytes,
        "size": asdict(result.size), "cflags": cflags, "command": sys.argv, **app.record(),
    }
    return write_json(Path(out_dir) / BUILD_RECORD, record)


def read_build_record(build_dir: Path | str) -> dict:
    """The build.json written by build_firmware (used by flash and measure)."""
    path = Path(build_dir) / BUILD_RECORD
    if not path.exists():
        raise BuildError(f"{build_dir} is not a tinykit firmware build (no {BUILD_RECORD})",
                         hint="build one with `tinykit build MODEL --board B -o DIR`")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise BuildError(f"cannot read {path}: {err}", hint="rebuild the firmware with `tinykit build`") from None


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
