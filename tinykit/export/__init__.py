"""`tinykit export`: the model library in the shape the user's build system expects.

``export_model(model, fmt, out_dir, board=None)`` generates the C library (exactly the kernels the
model needs), lays it out for CMake, Make, Arduino, PlatformIO or Zephyr with an example program
(:mod:`tinykit.export.layouts`), checks the manifests against their published formats
(:mod:`tinykit.export.manifests`) and writes export.json. The folder is assembled next to the
destination and moved into place only when every step succeeded.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tinykit import __version__
from tinykit.errors import CodegenError
from tinykit.export.context import ExampleApp, ExportContext, c_name, make_context
from tinykit.export.layouts import LAYOUTS
from tinykit.files import check_output_dir, write_json

FORMATS = tuple(LAYOUTS)
EXPORT_RECORD = "export.json"
DEFAULT_URL = "https://pypi.org/project/tinykit/"

__all__ = ["FORMATS", "ExportResult", "export_model"]


@dataclass(frozen=True)
class ExportResult:
    dir: Path
    format: str
    name: str
    board: str | None
    files: list[str]
    context: ExportContext


def _board_project(model_path: Path, board, lib, ctx: ExportContext, work: Path):
    """The example as a firmware app for ``board``: the firmware stage renders its board support."""
    from tinykit.firmware.build import prepare_project
    from tinykit.firmware.context import model_io_from_graph

    return prepare_project(None, board, work, app=ExampleApp(ctx), library=lib,
                           model_io=model_io_from_graph(model_path))


def _assemble(model_path: Path, fmt: str, staging: Path, board, name: str, url: str) -> ExportContext:
    from tinykit.codegen import generate
    from tinykit.ir import read_model

    graph = read_model(model_path)
    lib = generate(model_path, staging / "lib", name=name)
    ctx = make_context(graph, lib, model_path, board, url)
    project = _board_project(model_path, board, lib, ctx, staging / "fw") if board is not None else None
    LAYOUTS[fmt](ctx, lib.dir, staging / "out", project)
    return ctx


def _move_into_place(src: Path, out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    src.rename(out_dir)


def export_model(model_path: str | Path, fmt: str, out_dir: str | Path, board=None, *, name: str | None = None,
                 force: bool = False, url: str = DEFAULT_URL) -> ExportResult:
    """Export ``model_path`` as a ``fmt`` library into ``out_dir`` (see the module docstring)."""
    from tinykit.targets.boards import load_board

    model_path, out_dir = Path(model_path), Path(out_dir)
    if fmt not in LAYOUTS:
        raise CodegenError(f"unknown export format {fmt!r}", hint=f"one of {', '.join(FORMATS)}")
    b = load_board(board) if board is not None else None
    name = name or c_name(model_path.stem)
    check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        ctx = _assemble(model_path, fmt, staging, b, name, url)
        files = sorted(str(p.relative_to(staging / "out")) for p in (staging / "out").rglob("*") if p.is_file())
        write_json(staging / "out" / EXPORT_RECORD, {
            "tinykit_version": __version__, "format": fmt, "name": name, "model": str(model_path),
            "model_sha256": ctx.model_sha256, "board": ctx.board_id, "cpu_flags": ctx.cpu_flags,
            "example": {"inputs": len(ctx.inputs), "seed": ctx.seed}, "files": files, "command": sys.argv})
        _move_into_place(staging / "out", out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(out_dir, fmt, name, ctx.board_id, files, ctx)
