"""Firmware build: model library + board + app -> a self-contained firmware project -> firmware.elf.

`build_firmware` chains the firmware stage's steps: generate the model library, compute the typed
context (:mod:`~tinykit.firmware.context`), render the project (:mod:`~tinykit.firmware.project`),
compile it with arm-none-eabi-gcc using the command lines the project's Makefile holds, read the
section sizes back from the ELF (:mod:`~tinykit.firmware.size`) and write build.json
(:mod:`~tinykit.firmware.record`). A model that cannot fit raises BoardFitError with the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinykit.errors import BuildError
from tinykit.firmware.apps import FirmwareApp, RunnerApp
from tinykit.firmware.context import (
    LINKER_SCRIPT,
    MODEL_SUBDIR,
    FirmwareContext,
    ModelIO,
    ModelLibrary,
    make_context,
    model_io_from_graph,
    parse_pin,
    with_uint8_input,
)
from tinykit.firmware.project import render_linker_script, render_project
from tinykit.firmware.record import BUILD_RECORD, read_build_record, write_build_record
from tinykit.firmware.rp2040 import crc32_mpeg2
from tinykit.firmware.size import SizeReport, fit_error, precheck_fit, size_report
from tinykit.firmware.toolchain import APT_TOOLCHAIN, GCC, compile_and_link, require_tool, toolchain_version
from tinykit.targets.boards import Board, board_at_clock, load_board

ELF_NAME = "firmware.elf"
SIZING_REGION_BYTES = 0x08000000  # region size for the relink that measures a model that overflowed
SIZING_NAME = "sizing"
_OVERFLOW = re.compile(r"region `(RAM|FLASH)' overflowed|will not fit in region")

__all__ = ["BUILD_RECORD", "ELF_NAME", "BuildResult", "ModelIO", "SizeReport", "build_firmware", "crc32_mpeg2",
           "model_io_from_graph", "parse_pin", "read_build_record"]


@dataclass(frozen=True)
class BuildResult:
    elf: Path
    dir: Path
    size: SizeReport
    toolchain: str
    board: str
    model_sha256: str
    energy_mode: bool
    clock: str = "board"  # "reset": built with `--clock reset` (the chip's reset clock)
    clock_hz: int = 0


def _link(ctx: FirmwareContext, out_dir: Path, gcc: str, elf_name: str, ldscript: str) -> str:
    ldflags = [ldscript if flag == LINKER_SCRIPT else flag for flag in ctx.ldflags]
    return compile_and_link(gcc, ctx.cflags, ctx.sources, ldflags, out_dir, elf_name)


def _measure_overflow(ctx: FirmwareContext, out_dir: Path, gcc: str, board: Board, lib: ModelLibrary):
    """Relink with huge regions (a linker script rendered for them) to report how much too big it is."""
    script = out_dir / f"{SIZING_NAME}.ld"
    render_linker_script(ctx.with_regions(SIZING_REGION_BYTES, SIZING_REGION_BYTES), script)
    elf = out_dir / f"{SIZING_NAME}.elf"
    try:
        err = _link(ctx, out_dir, gcc, elf.name, script.name)
        size = None if err else size_report(elf, board)
    finally:
        script.unlink(missing_ok=True)
        elf.unlink(missing_ok=True)
    return fit_error(board, lib.arena_bytes, lib.weight_bytes, size)


def compile_project(ctx: FirmwareContext, out_dir: Path, board: Board, lib: ModelLibrary) -> SizeReport:
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    err = _link(ctx, out_dir, gcc, ELF_NAME, LINKER_SCRIPT)
    if err:
        if _OVERFLOW.search(err):
            raise _measure_overflow(ctx, out_dir, gcc, board, lib)
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise BuildError(f"firmware build failed for {board.id}:\n{tail}",
                         hint=f"rebuild by hand with `make -C {out_dir}` to see every message")
    return size_report(out_dir / ELF_NAME, board, lib.name)


def _generate_library(model_path: Path, out_dir: Path) -> ModelLibrary:
    from tinykit.codegen import generate

    return generate(model_path, out_dir / MODEL_SUBDIR, name="model", force=True)


@dataclass(frozen=True)
class FirmwareProject:
    """A rendered firmware project, ready to compile (or to be laid out by an export)."""

    dir: Path
    board: Board
    ctx: FirmwareContext
    library: ModelLibrary
    io: ModelIO
    app: FirmwareApp


def prepare_project(model_path: Path | str | None, board: Board | str, out_dir: Path | str,
                    energy_mode: bool = False, *, app: FirmwareApp | None = None,
                    library: ModelLibrary | None = None, model_io: ModelIO | None = None,
                    uint8_input: bool = False, clock: str = "board") -> FirmwareProject:
    """Generate the library (unless given), check the fit, compute the context and render the project.

    ``clock="reset"`` keeps the chip's reset clock (low-power measurements).
    """
    b, app = board_at_clock(load_board(board), clock), app or RunnerApp()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if library is None or model_io is None:
        if model_path is None:
            raise BuildError("build_firmware needs a model path (or a library and its ModelIO)")
        model_io = model_io or model_io_from_graph(Path(model_path))
        library = library or _generate_library(Path(model_path), out)
    if uint8_input:
        model_io = with_uint8_input(model_io, Path(model_path))
    for stale in (ELF_NAME, BUILD_RECORD):  # never leave an old firmware next to a failed build
        (out / stale).unlink(missing_ok=True)
    precheck_fit(b, library)
    ctx = make_context(b, library, model_io, app, energy_mode)
    render_project(ctx, library, out, app, b)
    return FirmwareProject(out, b, ctx, library, model_io, app)


def build_firmware(model_path: Path | str | None, board: Board | str, out_dir: Path | str,
                   energy_mode: bool = False, *, app: FirmwareApp | None = None,
                   library: ModelLibrary | None = None, model_io: ModelIO | None = None,
                   uint8_input: bool = False, clock: str = "board") -> BuildResult:
    """Generate, render and compile the firmware running ``app`` (default: the runner) into ``out_dir``.

    ``library``/``model_io`` let tests build around a hand-written library instead of a model;
    ``uint8_input`` declares uint8 input data (the firmware subtracts 128 from each received byte);
    ``clock="reset"`` keeps the chip's reset clock.
    """
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    proj = prepare_project(model_path, board, out_dir, energy_mode, app=app, library=library, model_io=model_io,
                           uint8_input=uint8_input, clock=clock)
    size = compile_project(proj.ctx, proj.dir, proj.board, proj.library)
    result = BuildResult(elf=proj.dir / ELF_NAME, dir=proj.dir, size=size, toolchain=toolchain_version(gcc),
                         board=proj.board.id, model_sha256=proj.io.sha256, energy_mode=energy_mode, clock=clock,
                         clock_hz=proj.board.clock_hz)
    write_build_record(proj.dir, result, proj.library, Path(model_path) if model_path else None, proj.ctx.cflags,
                       proj.app)
    return result
