"""Firmware build: model library + board -> a self-contained firmware project -> firmware.elf.

`build_firmware` generates the model library, renders the project (board header, model glue,
linker script from the board's memory map, Makefile so a user can rebuild by hand), compiles it
with arm-none-eabi-gcc using the same command lines the Makefile holds, and reads the section
sizes back from the ELF. A model that cannot fit raises BoardFitError with the numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from elftools.elf.elffile import ELFFile
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tinykit import __version__
from tinykit.errors import BoardFitError, BuildError, ToolMissingError
from tinykit.targets.boards import Board, load_board

REPO_DIR = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO_DIR / "firmware"
TEMPLATES_DIR = REPO_DIR / "templates" / "firmware"
GCC = "arm-none-eabi-gcc"
APT_TOOLCHAIN = "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
BUILD_TIMEOUT_S = 600
SIZING_REGION_BYTES = 0x08000000  # region size for the relink that measures a model that overflowed
NUM_IRQ_VECTORS = 48
RP2040_BOOT2_CODE_BYTES = 252
RP2040_BOOT2_RUN_ADDR = "0x20041f00"  # where the boot ROM copies boot2 before calling it
ENERGY_BAUD = 9600
FIRMWARE_SUBDIR = "fw"
MODEL_SUBDIR = "model"
ELF_NAME = "firmware.elf"
BUILD_RECORD = "build.json"
FIRMWARE_SOURCES = ("core/startup.c", "core/timer.c", "core/tk_io.c", "core/runner.c")
FPU_CPUS = {"cortex-m4f", "cortex-m7", "cortex-m33", "cortex-m55"}
COMMON_CFLAGS = (
    "-Os", "-g", "-std=c99", "-Wall", "-Wextra", "-Werror",
    "-ffunction-sections", "-fdata-sections", "-fno-common",
)
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", "-Wl,-Map=firmware.map")
UART_DRIVERS = {
    "cmsdk": "uart/cmsdk.c",
    "nrf_uart": "uart/nrf_uart.c",
    "stm32_usart": "uart/stm32_usart.c",
    "stm32_lpuart": "uart/stm32_usart.c",
    "rp2040_pl011": "uart/rp2040_pl011.c",
}
# MLPerf Tiny benchmark ids (`m-model-[...]`), by reference model file and by input size.
MLPERF_MODEL_IDS = {"kws_ref_model": "kws01", "pretrainedResnet_quant": "ic01",
                    "vww_96_int8": "vww01", "ad01_int8": "ad01"}
MLPERF_IDS_BY_INPUT = {490: "kws01", 3072: "ic01", 27648: "vww01", 640: "ad01"}
C_TYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}


class ModelLibrary(Protocol):
    """What the firmware needs from the code generator's GeneratedLibrary."""

    dir: Path
    name: str
    sources: list[Path]
    include_dir: Path
    arena_bytes: int
    weight_bytes: int


@dataclass(frozen=True)
class ModelIO:
    """Facts about the model's interface that the firmware glue needs at compile time."""

    input_bytes: int
    output0_dtype: str
    sha256: str
    model_id: str


@dataclass(frozen=True)
class SizeReport:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int
    flash_used: int
    ram_used: int
    flash_total: int
    ram_total: int
    model_data: int = 0  # flash bytes of the model's constants (weights, biases, requantization tables)

    @property
    def runtime_code(self) -> int:
        """Flash that is not model data: kernels, runner, startup, libc. The figure TFLite Micro's
        "firmware .text minus model bytes" is compared with."""
        return self.flash_used - self.model_data


@dataclass(frozen=True)
class BuildResult:
    elf: Path
    dir: Path
    size: SizeReport
    toolchain: str
    board: str
    model_sha256: str
    energy_mode: bool


@dataclass(frozen=True)
class FirmwareContext:
    """Everything the firmware templates substitute; computed here, never in a template."""

    banner: str
    board_id: str
    board_name: str
    clock_hz: int
    emulated: int
    counter_dwt: int
    cycles_per_tick_num: int
    cycles_per_tick_den: int
    has_fpu: int
    has_vtor: int
    num_irqs: int
    energy_mode: int
    uart_base: str
    uart_baud: int
    pin_defines: list[tuple[str, int]]
    input_bytes: int
    flash_origin: str
    flash_size: str
    ram_origin: str
    ram_size: str
    stack_bytes: int
    boot2: bool
    model_name: str
    model_upper: str
    model_hash16: str
    model_id: str
    output0_dtype: str
    output0_ctype: str
    output0_float: bool
    cflags: list[str] = field(default_factory=list)
    ldflags: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def require_tool(name: str, install: str) -> str:
    """Path of an external program, or ToolMissingError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} not found on PATH", hint=f"install it: {install}")
    return path


def toolchain_version(gcc: str) -> str:
    out = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def parse_pin(pin: str) -> tuple[int, int]:
    """(port, pin) from 'PG7' (STM32), 'P1.03' (nRF) or 'GP0' (RP2040)."""
    for pattern, port_of in ((r"^P([A-K])(\d+)$", lambda s: ord(s) - ord("A")),
                             (r"^P(\d)\.(\d+)$", int), (r"^GP()(\d+)$", lambda s: 0)):
        m = re.match(pattern, pin)
        if m:
            return port_of(m.group(1)), int(m.group(2))
    raise BuildError(f"cannot parse pin name {pin!r} (expected PG7, P1.03 or GP0)")


def _pin_defines(board: Board) -> list[tuple[str, int]]:
    defines: list[tuple[str, int]] = []
    for role, pin in (("UART_TX", board.uart.tx_pin), ("UART_RX", board.uart.rx_pin),
                      ("ENERGY", board.energy_gpio)):
        if pin is not None:
            port, num = parse_pin(pin)
            defines += [(f"TK_{role}_PORT", port), (f"TK_{role}_PIN", num),
                        (f"TK_{role}_PSEL", port * 32 + num)]
    if board.uart.alternate_function is not None:
        defines.append(("TK_UART_AF", board.uart.alternate_function))
    defines.append(("TK_UART_LPUART", int(board.uart.kind == "stm32_lpuart")))
    return defines


def model_io_from_graph(model_path: Path) -> ModelIO:
    """Input size, output dtype, hash and MLPerf id of a .tflite model, from the IR."""
    from tinykit.ir import read_model

    g = read_model(model_path)
    input_bytes = sum(g.tensors[i].nbytes for i in g.inputs)
    out0 = g.tensors[g.outputs[0]].dtype
    model_id = MLPERF_MODEL_IDS.get(Path(model_path).stem) or MLPERF_IDS_BY_INPUT.get(input_bytes, "tinykit")
    return ModelIO(input_bytes=input_bytes, output0_dtype=out0, sha256=g.sha256, model_id=model_id)


def make_context(board: Board, lib: ModelLibrary, io: ModelIO, energy_mode: bool) -> FirmwareContext:
    """Typed template context for one board + model library."""
    if io.output0_dtype not in C_TYPES:
        raise BuildError(f"output 0 has dtype {io.output0_dtype}; the firmware handles {sorted(C_TYPES)}")
    per_tick = Fraction(10**9, board.clock_hz) if board.emulated else Fraction(1)
    lib_sources = [f"{MODEL_SUBDIR}/{Path(s).name}" for s in lib.sources]
    fw_sources = [f"{FIRMWARE_SUBDIR}/{s}" for s in (*FIRMWARE_SOURCES, UART_DRIVERS[board.uart.kind],
                                                      f"hal/{board.platform}.c")]
    cflags = [*board.cflags, *COMMON_CFLAGS, "-I.", f"-I{FIRMWARE_SUBDIR}/include", f"-I{MODEL_SUBDIR}",
              "-include", f"{FIRMWARE_SUBDIR}/include/tk_layers.h"]
    return FirmwareContext(
        banner=f"generated by tinykit {__version__}, do not edit",
        board_id=board.id, board_name=board.name, clock_hz=board.clock_hz,
        emulated=int(board.emulated), counter_dwt=int(board.cycle_counter == "dwt"),
        cycles_per_tick_num=per_tick.numerator, cycles_per_tick_den=per_tick.denominator,
        has_fpu=int(board.cpu in FPU_CPUS), has_vtor=int(board.cpu != "cortex-m0"),
        num_irqs=NUM_IRQ_VECTORS, energy_mode=int(energy_mode),
        uart_base=hex(board.uart.base), uart_baud=ENERGY_BAUD if energy_mode else board.uart.baud,
        pin_defines=_pin_defines(board), input_bytes=max(io.input_bytes, 1),
        flash_origin=hex(board.memory.flash.origin), flash_size=hex(board.memory.flash.size),
        ram_origin=hex(board.memory.ram.origin), ram_size=hex(board.memory.ram.size),
        stack_bytes=board.stack_bytes, boot2=board.platform == "rp2040",
        model_name=lib.name, model_upper=lib.name.upper(), model_hash16=io.sha256[:16],
        model_id=io.model_id, output0_dtype=io.output0_dtype, output0_ctype=C_TYPES[io.output0_dtype],
        output0_float=io.output0_dtype == "float32",
        cflags=cflags, ldflags=["-T", "linker.ld", *LDFLAGS],
        sources=[*fw_sources, "tk_model.c", *lib_sources],
    )


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def render_project(ctx: FirmwareContext, lib: ModelLibrary, out_dir: Path) -> None:
    """Write the firmware project: shared C sources, model library, generated files, Makefile."""
    fw_dst = out_dir / FIRMWARE_SUBDIR
    if fw_dst.exists():
        shutil.rmtree(fw_dst)
    shutil.copytree(FIRMWARE_DIR, fw_dst, ignore=shutil.ignore_patterns("kernels", "*.o"))
    model_dst = out_dir / MODEL_SUBDIR
    if Path(lib.dir).resolve() != model_dst.resolve():
        model_dst.mkdir(parents=True, exist_ok=True)
        for src in {*map(Path, lib.sources), *Path(lib.include_dir).glob("*.h"), *Path(lib.dir).glob("*.h")}:
            shutil.copy2(src, model_dst / src.name)
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    for template, name in (("tk_board.h.j2", "tk_board.h"), ("tk_model.c.j2", "tk_model.c"),
                           ("linker.ld.j2", "linker.ld"), ("Makefile.j2", "Makefile")):
        write_atomic(out_dir / name, env.get_template(template).render(ctx=ctx))
    if ctx.boot2:
        write_rp2040_boot2(out_dir, ctx.banner)


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, no reflection, no final xor): the RP2040 boot ROM's boot2 check."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def write_rp2040_boot2(out_dir: Path, banner: str) -> None:
    """Assemble firmware/rp2040/boot2.S, pad it to 252 bytes, append its CRC, emit boot2_padded.S."""
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    objcopy = require_tool("arm-none-eabi-objcopy", APT_TOOLCHAIN)
    with tempfile.TemporaryDirectory() as tmp:
        elf, raw = Path(tmp) / "boot2.elf", Path(tmp) / "boot2.bin"
        for cmd in ([gcc, "-mcpu=cortex-m0plus", "-mthumb", "-nostdlib", f"-Ttext={RP2040_BOOT2_RUN_ADDR}",
                     str(FIRMWARE_DIR / "rp2040" / "boot2.S"), "-o", str(elf)],
                    [objcopy, "-O", "binary", str(elf), str(raw)]):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BuildError(f"RP2040 boot2 build failed: {proc.stderr.strip()[-500:]}")
        code = raw.read_bytes()
    if len(code) > RP2040_BOOT2_CODE_BYTES:
        raise BuildError(f"RP2040 boot2 is {len(code)} bytes; at most {RP2040_BOOT2_CODE_BYTES} fit")
    image = code.ljust(RP2040_BOOT2_CODE_BYTES, b"\0")
    image += crc32_mpeg2(image).to_bytes(4, "little")
    lines = [f"/* {banner}\n * RP2040 boot2 from firmware/rp2040/boot2.S, padded, with its CRC32. */",
             '    .section .boot2, "ax"']
    lines += ["    .byte " + ", ".join(f"0x{b:02x}" for b in image[i: i + 16]) for i in range(0, len(image), 16)]
    write_atomic(out_dir / "boot2_padded.S", "\n".join(lines) + "\n")


def _compile(ctx: FirmwareContext, out_dir: Path, gcc: str, elf_name: str, ldscript: str) -> str:
    """Run the compiler; returns '' on success, else the compiler's stderr."""
    ldflags = [ldscript if flag == "linker.ld" else flag for flag in ctx.ldflags]
    cmd = [gcc, *ctx.cflags, *ctx.sources, *ldflags, "-o", elf_name]
    if ctx.boot2:
        cmd.insert(len(cmd) - 2, "boot2_padded.S")
    try:
        proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildError(f"compiling the firmware took more than {BUILD_TIMEOUT_S} s") from None
    return "" if proc.returncode == 0 else (proc.stderr or proc.stdout or "compiler failed")


def size_report(elf: Path, board: Board, model_name: str = "model") -> SizeReport:
    """Section sizes from the ELF; flash = code + constants + .data image, RAM = data + bss + stack.

    Model data is every constant object the generated library defines (``<model_name>_*`` in
    .rodata), so runtime code can be told apart from what the model itself brings.
    """
    with open(elf, "rb") as fh:
        elf_file = ELFFile(fh)
        sizes = {s.name: s["sh_size"] for s in elf_file.iter_sections()}
        symtab = elf_file.get_section_by_name(".symtab")
        symbols = {name: symtab.get_symbol_by_name(name) for name in ("__stack_top", "__stack_limit")}
        model_data = _model_data_bytes(elf_file, symtab, f"{model_name}_")
    if all(symbols.values()):
        sizes[".stack"] = symbols["__stack_top"][0]["st_value"] - symbols["__stack_limit"][0]["st_value"]
    text = sizes.get(".text", 0) + sizes.get(".ARM.exidx", 0) + sizes.get(".boot2", 0)
    rodata, data = sizes.get(".rodata", 0), sizes.get(".data", 0)
    bss, stack = sizes.get(".bss", 0), sizes.get(".stack", 0)
    return SizeReport(text=text, rodata=rodata, data=data, bss=bss, stack=stack,
                      flash_used=text + rodata + data, ram_used=data + bss + stack,
                      flash_total=board.memory.flash.size, ram_total=board.memory.ram.size,
                      model_data=model_data)


def _model_data_bytes(elf_file: ELFFile, symtab, prefix: str) -> int:
    rodata = elf_file.get_section_by_name(".rodata")
    if symtab is None or rodata is None:
        return 0
    index = next(i for i, sec in enumerate(elf_file.iter_sections()) if sec.name == ".rodata")
    return sum(sym["st_size"] for sym in symtab.iter_symbols()
               if sym.name.startswith(prefix) and sym["st_info"]["type"] == "STT_OBJECT"
               and sym["st_shndx"] == index)


def fit_error(board: Board, arena: int, weights: int, size: SizeReport | None) -> BoardFitError:
    """BoardFitError naming what overflowed by how much, and what to try."""
    ram_total, flash_total = board.memory.ram.size, board.memory.flash.size
    if size is None:
        ram_used, flash_used = arena + board.stack_bytes, weights
        ram = f"RAM needs at least {ram_used:,} bytes (arena {arena:,} + stack {board.stack_bytes:,})"
        flash = f"flash needs at least {weights:,} bytes of weights"
    else:
        ram_used, flash_used = size.ram_used, size.flash_used
        ram = f"RAM needs {size.ram_used:,} bytes (arena {arena:,}, other data+bss " \
              f"{size.data + size.bss - arena:,}, stack {size.stack:,})"
        flash = f"flash needs {size.flash_used:,} bytes (.text {size.text:,}, .rodata {size.rodata:,} " \
                f"incl. weights {weights:,}, .data {size.data:,})"
    parts = [f"{ram} of {ram_total:,}" if ram_used > ram_total else "",
             f"{flash} of {flash_total:,}" if flash_used > flash_total else ""]
    detail = "; ".join(p for p in parts if p) or f"{ram} of {ram_total:,}; {flash} of {flash_total:,}"
    return BoardFitError(
        f"model does not fit {board.id}: {detail}",
        hint=f"prune or shrink the model, search a fitting size with `tinykit fit --board {board.id}`, "
             "or pick a bigger board (`tinykit boards`)",
    )


def precheck_fit(board: Board, lib: ModelLibrary) -> None:
    """Fail fast, before compiling, when the arena or the weights alone cannot fit."""
    if (lib.arena_bytes + board.stack_bytes > board.memory.ram.size
            or lib.weight_bytes > board.memory.flash.size):
        raise fit_error(board, lib.arena_bytes, lib.weight_bytes, None)


def _measure_overflow(ctx: FirmwareContext, out_dir: Path, gcc: str, board: Board, lib: ModelLibrary):
    """Relink with huge regions to report how much too big the firmware is."""
    script = (out_dir / "linker.ld").read_text()
    for region in ("FLASH", "RAM"):
        script = re.sub(rf"({region}\s+\([a-z]+\)\s*: ORIGIN = \S+, LENGTH = )\S+",
                        rf"\g<1>{hex(SIZING_REGION_BYTES)}", script)
    (out_dir / "sizing.ld").write_text(script)
    err = _compile(ctx, out_dir, gcc, "sizing.elf", "sizing.ld")
    size = None if err else size_report(out_dir / "sizing.elf", board)
    for name in ("sizing.ld", "sizing.elf"):
        (out_dir / name).unlink(missing_ok=True)
    return fit_error(board, lib.arena_bytes, lib.weight_bytes, size)


def compile_project(ctx: FirmwareContext, out_dir: Path, board: Board, lib: ModelLibrary) -> SizeReport:
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    err = _compile(ctx, out_dir, gcc, ELF_NAME, "linker.ld")
    if err:
        if re.search(r"region `(RAM|FLASH)' overflowed|will not fit in region", err):
            raise _measure_overflow(ctx, out_dir, gcc, board, lib)
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise BuildError(f"firmware build failed for {board.id}:\n{tail}",
                         hint=f"rebuild by hand with `make -C {out_dir}` to see every message")
    return size_report(out_dir / ELF_NAME, board)


def _generate_library(model_path: Path, out_dir: Path) -> ModelLibrary:
    from tinykit.codegen import generate

    return generate(model_path, out_dir / MODEL_SUBDIR, name="model", force=True)


def build_firmware(model_path: Path | str | None, board: Board | str, out_dir: Path | str,
                   energy_mode: bool = False, *, library: ModelLibrary | None = None,
                   model_io: ModelIO | None = None) -> BuildResult:
    """Generate, render and compile the firmware for ``board`` into ``out_dir``.

    ``library``/``model_io`` let tests build around a hand-written library instead of a model.
    """
    b = load_board(board)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    if library is None or model_io is None:
        if model_path is None:
            raise BuildError("build_firmware needs a model path (or a library and its ModelIO)")
        model_io = model_io or model_io_from_graph(Path(model_path))
        library = library or _generate_library(Path(model_path), out)
    for stale in (ELF_NAME, BUILD_RECORD):  # never leave an old firmware next to a failed build
        (out / stale).unlink(missing_ok=True)
    precheck_fit(b, library)
    ctx = make_context(b, library, model_io, energy_mode)
    render_project(ctx, library, out)
    size = compile_project(ctx, out, b, library)
    result = BuildResult(elf=out / ELF_NAME, dir=out, size=size, toolchain=toolchain_version(gcc),
                         board=b.id, model_sha256=model_io.sha256, energy_mode=energy_mode)
    record = {"tinykit_version": __version__, "board": b.id, "model": str(model_path) if model_path else None,
              "model_sha256": model_io.sha256, "energy_mode": energy_mode, "toolchain": result.toolchain,
              "arena_bytes": library.arena_bytes, "weight_bytes": library.weight_bytes,
              "size": asdict(size), "cflags": ctx.cflags, "command": sys.argv}
    write_atomic(out / BUILD_RECORD, json.dumps(record, indent=2) + "\n")
    return result


def read_build_record(build_dir: Path | str) -> dict:
    """The build.json written by build_firmware (used by flash and measure)."""
    path = Path(build_dir) / BUILD_RECORD
    if not path.exists():
        raise BuildError(f"{build_dir} is not a tinykit firmware build (no {BUILD_RECORD})",
                         hint="build one with `tinykit build MODEL --board B -o DIR`")
    return json.loads(path.read_text())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
