"""The firmware's typed template context: every number the templates substitute, computed here.

A board (with its CPU from the CPU table), the generated model library, facts about the model's
interface and the firmware app together decide the project: defines for ``tk_board.h``, the model
glue, the linker script's regions and the one list of sources and flags the compiler (and the
project's Makefile) use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tinykit import __version__
from tinykit.errors import BuildError
from tinykit.targets.boards import Board
from tinykit.targets.clocks import ClockError, uart_divisors

if TYPE_CHECKING:
    from tinykit.firmware.apps import FirmwareApp

FIRMWARE_SUBDIR = "fw"
MODEL_SUBDIR = "model"
NUM_IRQ_VECTORS = 48
ENERGY_BAUD = 9600
# Board support every app runs on (the app adds its main program).
BOARD_SOURCES = ("core/startup.c", "core/timer.c", "core/tk_io.c")
COMMON_CFLAGS = (
    "-Os", "-g", "-std=c99", "-Wall", "-Wextra", "-Werror",
    "-ffunction-sections", "-fdata-sections", "-fno-common",
)
LINKER_SCRIPT = "linker.ld"
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", "-Wl,-Map=firmware.map")
BOOT2_SOURCE = "boot2_padded.S"
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
# MLPerf models whose benchmark data is uint8 while the model's input is int8: the reference firmware
# subtracts 128 from each received byte (image classification), and so does tinykit's for them.
UINT8_DATA_MODELS = frozenset({"ic01"})
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
    input_uint8: bool = False  # the host sends uint8 data; the firmware subtracts 128 (int8 model input)
    #: output 0 carries a scale: `m-results` dequantizes it (else it prints the raw values, e.g. an
    #: ARG_MAX index)
    output0_quantized: bool = True


@dataclass(frozen=True)
class BoardDefines:
    """tk_board.h: the board, its clock and cycle counter, and what its CPU can do."""

    id: str
    name: str
    clock_hz: int
    emulated: int
    counter_dwt: int
    cycles_per_tick_num: int
    cycles_per_tick_den: int
    has_fpu: int
    has_vtor: int
    num_irqs: int
    clock_summary: str  # how the start-up reaches clock_hz
    clock_defines: list[tuple[str, str]]  # the clock tree's register values (tinykit.targets.clocks)


@dataclass(frozen=True)
class Console:
    """tk_board.h: the UART the protocol runs on, its pins, and the energy-mode timestamp pin."""

    energy_mode: int
    uart_base: str
    uart_baud: int
    pin_defines: list[tuple[str, int]]
    divisor_defines: list[tuple[str, str]]  # the UART's divisors for uart_baud at its kernel clock


@dataclass(frozen=True)
class Regions:
    """linker.ld: the memory regions, the stack reserve, and whether a boot2 stage leads the flash."""

    flash_origin: str
    flash_size: str
    ram_origin: str
    ram_size: str
    stack_bytes: int
    boot2: bool


@dataclass(frozen=True)
class ModelGlue:
    """tk_model.c: the generated library's name and what the runner reports about the model."""

    name: str
    upper: str
    hash16: str
    id: str
    input_bytes: int
    input_uint8: int  # 1: uint8 data in, each byte minus 128 is the int8 input (MLPerf image classification)
    output0_dtype: str
    output0_ctype: str
    output0_float: bool
    output0_quantized: bool


@dataclass(frozen=True)
class FirmwareContext:
    """Everything the firmware templates substitute; computed here, never in a template."""

    banner: str
    board: BoardDefines
    console: Console
    memory: Regions
    model: ModelGlue
    # what the compiler gets (and the project's Makefile shows)
    cflags: list[str] = field(default_factory=list)
    ldflags: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    board_sources: list[str] = field(default_factory=list)  # startup, timer, console, UART, HAL (any app)

    def with_regions(self, flash_size: int, ram_size: int) -> FirmwareContext:
        """The same project with other region sizes (the relink that measures an overflow)."""
        return replace(self, memory=replace(self.memory, flash_size=hex(flash_size), ram_size=hex(ram_size)))


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
    out0 = g.tensors[g.outputs[0]]
    named_id = MLPERF_MODEL_IDS.get(Path(model_path).stem)
    model_id = named_id or MLPERF_IDS_BY_INPUT.get(input_bytes, "tinykit")
    # only a model named as MLPerf's is declared so: the input-size guess must not change a user's protocol
    uint8 = named_id in UINT8_DATA_MODELS and all(g.tensors[i].dtype == "int8" for i in g.inputs)
    return ModelIO(input_bytes=input_bytes, output0_dtype=out0.dtype, sha256=g.sha256, model_id=model_id,
                   input_uint8=uint8, output0_quantized=out0.quantization is not None and out0.scale != 0.0)


def with_uint8_input(io: ModelIO, model_path: Path) -> ModelIO:
    """``io`` declaring uint8 input data (`--uint8-input`); only an all-int8 model input can take it."""
    from tinykit.ir import read_model

    g = read_model(model_path)
    dtypes = sorted({g.tensors[i].dtype for i in g.inputs})
    if dtypes != ["int8"]:
        raise BuildError(f"--uint8-input needs int8 model inputs; this model's are {', '.join(dtypes)}")
    return replace(io, input_uint8=True)


def _build_lists(board: Board, lib: ModelLibrary, app: FirmwareApp) -> dict[str, list[str]]:
    """Sources, compiler and linker flags: board support + the app + the model glue and library."""
    board_support = [f"{FIRMWARE_SUBDIR}/{s}" for s in (*BOARD_SOURCES, UART_DRIVERS[board.uart.kind],
                                                          f"hal/{board.platform}.c")]
    boot2 = [BOOT2_SOURCE] if board.platform == "rp2040" else []
    sources = [*board_support, *app.sources(), "tk_model.c", *(f"{MODEL_SUBDIR}/{Path(s).name}" for s in lib.sources),
               *boot2]
    cflags = [*board.compile_flags, *COMMON_CFLAGS, "-I.", f"-I{FIRMWARE_SUBDIR}/include", f"-I{MODEL_SUBDIR}",
              "-include", f"{FIRMWARE_SUBDIR}/include/tk_layers.h", *app.cflags()]
    return {"sources": sources, "board_sources": [*board_support, *boot2], "cflags": cflags,
            "ldflags": ["-T", LINKER_SCRIPT, *LDFLAGS, *app.ldflags()]}


def _c_hex(defines) -> list[tuple[str, str]]:
    return [(name, hex(value) + "u") for name, value in defines]


def _board_defines(board: Board) -> BoardDefines:
    per_tick = Fraction(10**9, board.clock_hz) if board.emulated else Fraction(1)
    cpu, plan = board.cpu_spec, board.clock_plan
    return BoardDefines(id=board.id, name=board.name, clock_hz=board.clock_hz, emulated=int(board.emulated),
                        counter_dwt=int(board.cycle_counter == "dwt"), cycles_per_tick_num=per_tick.numerator,
                        cycles_per_tick_den=per_tick.denominator, has_fpu=int(cpu.fpu), has_vtor=int(cpu.vtor),
                        num_irqs=NUM_IRQ_VECTORS, clock_summary=plan.summary, clock_defines=_c_hex(plan.defines))


def _console(board: Board, energy_mode: bool) -> Console:
    """The console UART at its baud; its divisors for the kernel clock the start-up ends on."""
    baud = ENERGY_BAUD if energy_mode else board.uart.baud
    try:
        divisors = uart_divisors(board.uart.kind, board.clock_plan.uart_clock_hz, baud)
    except ClockError as err:
        raise BuildError(f"{board.id}: {err}", hint="pick another baud rate or clock in the board file") from None
    return Console(energy_mode=int(energy_mode), uart_base=hex(board.uart.base), uart_baud=baud,
                   pin_defines=_pin_defines(board), divisor_defines=_c_hex(divisors))


def make_context(board: Board, lib: ModelLibrary, io: ModelIO, app: FirmwareApp,
                 energy_mode: bool = False) -> FirmwareContext:
    """Typed template context for one board + model library + app."""
    if io.output0_dtype not in C_TYPES:
        raise BuildError(f"output 0 has dtype {io.output0_dtype}; the firmware handles {sorted(C_TYPES)}")
    mem = board.memory
    return FirmwareContext(
        banner=f"generated by tinykit {__version__}, do not edit", board=_board_defines(board),
        console=_console(board, energy_mode),
        memory=Regions(flash_origin=hex(mem.flash.origin), flash_size=hex(mem.flash.size),
                       ram_origin=hex(mem.ram.origin), ram_size=hex(mem.ram.size), stack_bytes=board.stack_bytes,
                       boot2=board.platform == "rp2040"),
        model=ModelGlue(name=lib.name, upper=lib.name.upper(), hash16=io.sha256[:16], id=io.model_id,
                        input_bytes=max(io.input_bytes, 1), input_uint8=int(io.input_uint8),
                        output0_dtype=io.output0_dtype,
                        output0_ctype=C_TYPES[io.output0_dtype], output0_float=io.output0_dtype == "float32",
                        output0_quantized=io.output0_quantized),
        **_build_lists(board, lib, app),
    )
