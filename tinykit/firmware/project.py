"""The firmware project on disk: shared C sources, the model library, and the rendered files.

The project is self-contained: ``make -C DIR`` rebuilds firmware.elf with the exact command lines
tinykit used, because the Makefile is rendered from the same context the build compiles with.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tinykit.files import write_atomic
from tinykit.firmware.apps import FirmwareApp
from tinykit.firmware.context import FIRMWARE_SUBDIR, LINKER_SCRIPT, MODEL_SUBDIR, FirmwareContext, ModelLibrary
from tinykit.firmware.rp2040 import write_rp2040_boot2
from tinykit.render import render_template
from tinykit.resources import firmware_dir
from tinykit.targets.boards import Board

TEMPLATE_GROUP = "firmware"
RENDERED = (("tk_board.h.j2", "tk_board.h"), ("tk_model.c.j2", "tk_model.c"), ("Makefile.j2", "Makefile"))


def render_linker_script(ctx: FirmwareContext, path: Path) -> Path:
    """The linker script with the context's memory regions."""
    return write_atomic(path, render_template(TEMPLATE_GROUP, "linker.ld.j2", ctx=ctx))


def copy_library(lib: ModelLibrary, model_dst: Path) -> None:
    """The generated model library into the project (unless it was generated there)."""
    if Path(lib.dir).resolve() == model_dst.resolve():
        return
    model_dst.mkdir(parents=True, exist_ok=True)
    for src in {*map(Path, lib.sources), *Path(lib.include_dir).glob("*.h"), *Path(lib.dir).glob("*.h")}:
        shutil.copy2(src, model_dst / src.name)


def render_project(ctx: FirmwareContext, lib: ModelLibrary, out_dir: Path, app: FirmwareApp, board: Board) -> None:
    """Write the firmware project: shared C sources, model library, generated files, the app's files."""
    fw_dst = out_dir / FIRMWARE_SUBDIR
    if fw_dst.exists():
        shutil.rmtree(fw_dst)
    shutil.copytree(firmware_dir(), fw_dst, ignore=shutil.ignore_patterns("kernels", "*.o"))
    copy_library(lib, out_dir / MODEL_SUBDIR)
    for template, name in RENDERED:
        write_atomic(out_dir / name, render_template(TEMPLATE_GROUP, template, ctx=ctx))
    render_linker_script(ctx, out_dir / LINKER_SCRIPT)
    if ctx.memory.boot2:
        write_rp2040_boot2(out_dir, ctx.banner)
    app.render(out_dir, board)
