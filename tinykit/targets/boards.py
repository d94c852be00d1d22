"""Board descriptions: one YAML file per board in ``boards/``, validated by a strict schema.

Boards are data (see DESIGN.md): cpu and compiler flags, clock, memory map, UART, cycle counter,
flasher, emulator machine and a power model with its datasheet source. Where a board is attached
(serial port, probe id) is per-machine configuration and lives in a user file, never here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinykit.errors import BoardError
from tinykit.resources import boards_dir
from tinykit.targets.cpus import CPUS, Cpu, get_cpu

DEFAULT_BOARD = "qemu-m4"
USER_CONFIG_ENV = "TINYKIT_CONFIG"
USER_CONFIG_PATH = Path("~/.config/tinykit/boards.yaml")

# Named reserves used by estimate_fit before anything is compiled: the firmware's own code
# (protocol loop, UART driver, startup, libc pieces; 11.4 KB on qemu-m4, 13.5 KB on qemu-m0 with
# arm-none-eabi-gcc 12.2 -O2, rounded up) and its globals. The firmware also keeps a copy of the
# model input (the `db load` buffer), which estimate_fit cannot see; build_firmware checks the ELF.
RUNTIME_FLASH_RESERVE = 14 * 1024
RUNTIME_RAM_RESERVE = 1 * 1024

CpuName = Literal[tuple(CPUS)]  # the cores of the CPU table (tinykit.targets.cpus)
UartKind = Literal["cmsdk", "nrf_uart", "stm32_usart", "stm32_lpuart", "rp2040_pl011"]
FlasherKind = Literal["qemu", "pyocd", "uf2", "openocd", "esptool"]
Platform = Literal["mps2", "mps3", "nrf51", "nrf52", "stm32l4", "stm32f7", "rp2040"]


class _Strict(BaseModel):
    """Every board model rejects unknown keys, so a typo in a YAML file is an error, not a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    origin: int = Field(ge=0)
    size: int = Field(gt=0)

    @property
    def end(self) -> int:
        return self.origin + self.size


class Memory(_Strict):
    flash: Region
    ram: Region


class Uart(_Strict):
    kind: UartKind
    base: int = Field(ge=0)
    baud: int = Field(default=115200, gt=0)
    tx_pin: str | None = None  # e.g. "PG7", "P1.03", "GP0"; None where the emulator needs no pin mux
    rx_pin: str | None = None
    alternate_function: int | None = None  # STM32 GPIO AF number for the UART pins


class NoParams(_Strict):
    """A flasher that needs nothing from the board file (QEMU: the emulator machine is `emulator`)."""


class PyocdParams(_Strict):
    target: str = Field(min_length=1)  # pyOCD target type, e.g. stm32l4r5zitx


class OpenocdParams(_Strict):
    config: str = Field(min_length=1)  # OpenOCD board config, e.g. board/stm32f7discovery.cfg


class Uf2Params(_Strict):
    family_id: int = Field(ge=0, lt=1 << 32)
    volume_label: str = "RPI-RP2"


class EsptoolParams(_Strict):
    chip: str = "auto"
    address: int = Field(default=0, ge=0)


class _FlasherBase(_Strict):
    kind: FlasherKind


class QemuFlasherSpec(_FlasherBase):
    kind: Literal["qemu"]
    params: NoParams = Field(default_factory=NoParams)


class PyocdFlasherSpec(_FlasherBase):
    kind: Literal["pyocd"]
    params: PyocdParams


class OpenocdFlasherSpec(_FlasherBase):
    kind: Literal["openocd"]
    params: OpenocdParams


class Uf2FlasherSpec(_FlasherBase):
    kind: Literal["uf2"]
    params: Uf2Params


class EsptoolFlasherSpec(_FlasherBase):
    kind: Literal["esptool"]
    params: EsptoolParams = Field(default_factory=EsptoolParams)


# Typed parameters per flasher kind: a pyocd board without `target` is a board-file error.
Flasher = Annotated[QemuFlasherSpec | PyocdFlasherSpec | OpenocdFlasherSpec | Uf2FlasherSpec | EsptoolFlasherSpec,
                    Field(discriminator="kind")]


class Power(_Strict):
    active_current_ma: float = Field(gt=0)
    supply_voltage_v: float = Field(gt=0)
    sleep_current_ua: float = Field(ge=0)
    datasheet: str = Field(min_length=3)
    note: str | None = None


class Board(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    cpu: CpuName  # capabilities and compiler flags come from the CPU table
    cflags: list[str] = Field(default_factory=list)  # extra flags after the CPU's (rarely needed)
    platform: Platform  # which firmware/hal/<platform>.c provides clock, UART and GPIO setup
    clock_hz: int = Field(gt=0)
    memory: Memory
    uart: Uart
    cycle_counter: Literal["dwt", "systick"]
    energy_gpio: str | None = None
    flasher: Flasher
    emulator: str | None = None  # QEMU machine name, None for real hardware
    stack_bytes: int = Field(default=4096, ge=512)
    power: Power
    notes: str | None = None

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    @property
    def cpu_spec(self) -> Cpu:
        """The core's entry in the CPU table."""
        return get_cpu(self.cpu)

    @property
    def compile_flags(self) -> list[str]:
        """The CPU's code generation flags, then the board's own."""
        return [*self.cpu_spec.cflags, *self.cflags]

    @model_validator(mode="after")
    def _consistent(self) -> Board:
        if (self.emulator is None) == (self.flasher.kind == "qemu"):
            raise ValueError("a board has an emulator machine exactly when its flasher kind is 'qemu'")
        if self.stack_bytes >= self.memory.ram.size:
            raise ValueError("stack_bytes must be smaller than the RAM region")
        return self


@dataclass(frozen=True)
class FitEstimate:
    """Whether a model is likely to fit, before compiling anything (reserves are named constants)."""

    fits: bool
    ram_needed: int
    ram_available: int
    flash_needed: int
    flash_available: int


def _board_file(board_id: str) -> Path:
    return boards_dir() / f"{board_id}.yaml"


def board_ids() -> list[str]:
    """Ids of every board file shipped in ``boards/``, sorted."""
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


def parse_board(data: object, source: str) -> Board:
    """Validate one board mapping; the error names the file and every offending key."""
    if not isinstance(data, dict):
        raise BoardError(f"board file {source} is not a mapping")
    try:
        return Board.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<board>'}: {e['msg']}" for e in err.errors()
        )
        raise BoardError(f"invalid board file {source}: {problems}") from None


@lru_cache(maxsize=64)
def _load_path(path: Path) -> Board:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise BoardError(f"cannot read board file {path}: {err}") from None
    board = parse_board(data, str(path))
    if board.id != path.stem:
        raise BoardError(f"board file {path} declares id {board.id!r}; it must match the file name")
    return board


def load_board(board: str | Board) -> Board:
    """Load a board by id (``qemu-m4``) or by path to a YAML file; BoardError lists the known ids."""
    if isinstance(board, Board):
        return board
    path = Path(board)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return _load_path(path.resolve())
    candidate = _board_file(board)
    if not candidate.exists():
        raise BoardError(
            f"unknown board {board!r}",
            hint=f"known boards: {', '.join(board_ids())} (see `tinykit boards`)",
        )
    return _load_path(candidate)


def list_boards() -> list[Board]:
    """Every shipped board, sorted by id."""
    return [load_board(i) for i in board_ids()]


def estimate_fit(board: Board | str, arena_bytes: int, weight_bytes: int) -> FitEstimate:
    """Rough fit check (arena + stack + runtime vs RAM, weights + runtime vs flash).

    Excludes the firmware's copy of the input (input bytes); the build's ELF check is exact.
    """
    b = load_board(board)
    ram_needed = arena_bytes + b.stack_bytes + RUNTIME_RAM_RESERVE
    flash_needed = weight_bytes + RUNTIME_FLASH_RESERVE
    ram_avail, flash_avail = b.memory.ram.size, b.memory.flash.size
    fits = ram_needed <= ram_avail and flash_needed <= flash_avail
    return FitEstimate(fits, ram_needed, ram_avail, flash_needed, flash_avail)


@dataclass(frozen=True)
class Attachment:
    """Where a board is connected on this machine (from the user config file or --port)."""

    port: str | None = None
    probe: str | None = None
    drive: str | None = None  # mounted UF2 drive


def user_config_path() -> Path:
    return Path(os.environ.get(USER_CONFIG_ENV) or USER_CONFIG_PATH).expanduser()


def attachment(board_id: str, port: str | None = None) -> Attachment:
    """Per-machine attachment: ``--port`` wins over the user config file's entry for the board."""
    path = user_config_path()
    entry: dict = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise BoardError(f"cannot read tinykit config {path}: {err}") from None
        if not isinstance(data, dict):
            raise BoardError(f"tinykit config {path} must map board ids to {{port, probe, drive}}")
        entry = data.get(board_id) or {}
        unknown = set(entry) - {"port", "probe", "drive"} if isinstance(entry, dict) else {"<not a mapping>"}
        if unknown:
            raise BoardError(f"tinykit config {path}: entry {board_id!r} has unknown keys {sorted(unknown)}")
    return Attachment(port=port or entry.get("port"), probe=entry.get("probe"), drive=entry.get("drive"))


def board_summary(b: Board) -> dict:
    """JSON-ready description used by `tinykit boards --json`."""
    return {
        "id": b.id,
        "name": b.name,
        "cpu": b.cpu,
        "clock_hz": b.clock_hz,
        "emulated": b.emulated,
        "emulator": b.emulator,
        "flash": {"origin": b.memory.flash.origin, "size": b.memory.flash.size},
        "ram": {"origin": b.memory.ram.origin, "size": b.memory.ram.size},
        "uart": {"kind": b.uart.kind, "base": b.uart.base, "baud": b.uart.baud},
        "cycle_counter": b.cycle_counter,
        "energy_gpio": b.energy_gpio,
        "flasher": b.flasher.kind,
        "power": b.power.model_dump(),
    }
