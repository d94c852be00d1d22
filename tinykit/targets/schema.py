"""The board file schema: every key a board YAML may hold, its type and its limits.

Unknown keys are errors (a typo is not a default); flasher parameters are typed per flasher kind;
the CPU names an entry of the CPU table (:mod:`tinykit.targets.cpus`), which supplies its compiler
flags and capabilities.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinykit.errors import BoardError
from tinykit.targets.clocks import ClockError, ClockPlan, plan_clock
from tinykit.targets.cpus import CPUS, Cpu, get_cpu

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


class Clock(_Strict):
    """How the start-up reaches ``clock_hz`` (tinykit.targets.clocks computes every register value).

    ``speed: reset`` keeps the reset clock (low-power measurements, ``tinykit build --clock reset``).
    """

    source: Literal["msi", "hsi16", "hsi", "hse", "hfxo", "hfint", "xosc"]
    source_hz: int = Field(gt=0)
    bypass: bool = False  # HSE driven by an external clock (an ST-LINK's MCO) instead of a crystal
    caches: bool = True  # flash prefetch/accelerator and the instruction/data caches
    speed: Literal["full", "reset"] = "full"


class UsbId(_Strict):
    """A USB device that belongs to the board (its on-board probe, its own USB port, its boot ROM)."""

    vid: int = Field(ge=0, le=0xFFFF)
    pid: int = Field(ge=0, le=0xFFFF)
    role: Literal["probe", "console", "bootloader"]
    name: str = Field(min_length=1)


class Power(_Strict):
    active_current_ma: float = Field(gt=0)  # at clock_hz
    reset_current_ma: float | None = Field(default=None, gt=0)  # at the reset clock (`--clock reset`)
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
    clock_hz: int = Field(gt=0)  # the core clock the firmware runs at
    clock: Clock | None = None  # how the start-up gets there (real chips); None: fixed (emulators)
    memory: Memory
    uart: Uart
    cycle_counter: Literal["dwt", "systick"]
    energy_gpio: str | None = None
    flasher: Flasher
    emulator: str | None = None  # QEMU machine name, None for real hardware
    stack_bytes: int = Field(default=4096, ge=512)
    usb: list[UsbId] = Field(default_factory=list)
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
        """The CPU's code generation flags and kernel path defines, then the board's own."""
        return [*self.cpu_spec.cflags, *(f"-D{d}" for d in self.cpu_spec.kernel_defines()), *self.cflags]

    @property
    def clock_plan(self) -> ClockPlan:
        """Register values of the start-up's clock tree and the clocks that result."""
        return plan_clock(self.platform, self.clock_hz, self.clock)

    @model_validator(mode="after")
    def _consistent(self) -> Board:
        if (self.emulator is None) == (self.flasher.kind == "qemu"):
            raise ValueError("a board has an emulator machine exactly when its flasher kind is 'qemu'")
        if self.stack_bytes >= self.memory.ram.size:
            raise ValueError("stack_bytes must be smaller than the RAM region")
        if self.cycle_counter == "dwt" and not self.cpu_spec.dwt:
            raise ValueError(f"{self.cpu} has no DWT cycle counter: use cycle_counter: systick")
        try:
            self.clock_plan  # noqa: B018  (validates the clock tree against the chip's limits)
        except ClockError as err:
            raise ValueError(f"clock: {err}") from None
        return self


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
