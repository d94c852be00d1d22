"""Each real board's firmware start-up, run from its reset vector in unicorn against register models.

The ELF is the one tinykit builds (hello_world's generated library, the runner app). The chip
models (tests/regmodels/, each naming the reference-manual sections it follows) derive the clocks
from their registers, so the tests check what the silicon would do with these writes: the clock the
core ends on equals the board file's, every byte reaches the UART's transmit register at 115200 baud
within tolerance, the documented order holds, and nothing outside the modelled registers is touched.
"""

from __future__ import annotations

import zlib
from functools import cache
from pathlib import Path

import pytest
from regmodels.machine import Machine, Violation, r, w
from regmodels.nrf52840 import Nrf52840
from regmodels.rp2040 import XIP_BASE, XIP_SIZE, Rp2040
from regmodels.stm32 import BAUD_TOLERANCE
from regmodels.stm32f7 import Stm32F746
from regmodels.stm32l4 import Stm32L4R5
from unicorn.arm_const import UC_CPU_ARM_CORTEX_M0, UC_CPU_ARM_CORTEX_M4, UC_CPU_ARM_CORTEX_M7

from tinykit.codegen import generate
from tinykit.firmware.build import build_firmware, crc32_mpeg2, model_io_from_graph
from tinykit.models import reference_model
from tinykit.targets import clocks
from tinykit.targets.boards import board_at_clock, load_board

pytestmark = pytest.mark.host

CHIPS = {"nucleo-l4r5zi": (Stm32L4R5, UC_CPU_ARM_CORTEX_M4),
         "stm32f746g-disco": (Stm32F746, UC_CPU_ARM_CORTEX_M7), "nano33ble": (Nrf52840, UC_CPU_ARM_CORTEX_M4),
         "pico": (Rp2040, UC_CPU_ARM_CORTEX_M0)}
BOOT_END = b"m-init-done\r\nm-ready\r\n"
BAUD = 115200
RP2040_BOOT2_RAM = 0x20041F00  # where the boot ROM copies boot2 (RP2040 datasheet 2.8, boot sequence)
RP2040_BOOT_ROM_SP = 0x20042000


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    model = reference_model("hello_world")
    out = tmp_path_factory.mktemp("startup_lib")
    return generate(model, out / "model", name="model", force=True), model_io_from_graph(model)


_builds: dict[tuple[str, str], Path] = {}


def _elf(library, tmp_path_factory, board_id: str, clock: str = "board") -> Path:
    key = (board_id, clock)
    if key not in _builds:
        lib, io = library
        out = tmp_path_factory.mktemp(f"startup_{board_id}_{clock}")
        _builds[key] = build_firmware(None, board_id, out, library=lib, model_io=io, clock=clock).elf
    return _builds[key]


def boot(elf: Path, board_id: str, chip_cls=None) -> tuple[Machine, object]:
    """Run the firmware's start-up until its boot lines have left the UART."""
    cls, cpu = CHIPS[board_id]
    chip = (chip_cls or cls)()
    b = load_board(board_id)
    m = Machine(chip, cpu, [(b.memory.flash.origin, b.memory.flash.size), (b.memory.ram.origin, b.memory.ram.size)])
    m.symbols = m.load_elf(elf)
    m.stop_when = lambda: sent(chip).endswith(BOOT_END)
    if board_id == "pico":  # the boot ROM checks boot2's CRC, copies it to SRAM and calls it with lr = 0
        image = bytes(m.uc.mem_read(XIP_BASE, 256))
        assert bootrom_crc(image[:252]) == int.from_bytes(image[252:], "little"), "boot2 CRC mismatch"
        m.uc.mem_write(RP2040_BOOT2_RAM, image)
        m.code_hooks.append(chip.xip_guard)
        m.guard_reads(XIP_BASE, XIP_BASE + XIP_SIZE, lambda a: chip.xip_guard(a, "data read"))
        m.run(RP2040_BOOT2_RAM, RP2040_BOOT_ROM_SP, lr=0)
    else:
        origin = b.memory.flash.origin
        m.run(m.word(origin + 4), m.word(origin))
    return m, chip


@cache
def _bitrev8() -> bytes:
    return bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def bootrom_crc(data: bytes) -> int:
    """CRC-32/MPEG-2 (the boot ROM's boot2 check), through zlib's reflected CRC-32 on bit-reversed bytes."""
    reflected = zlib.crc32(data.translate(_bitrev8())) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def sent(chip) -> bytes:
    return bytes(b for b, _ in chip.tx)


def test_bootrom_crc_matches_tinykit_boot2_crc():
    assert bootrom_crc(b"123456789") == 0x0376E6E7 == crc32_mpeg2(b"123456789")
    assert bootrom_crc(bytes(range(252))) == crc32_mpeg2(bytes(range(252)))


@pytest.mark.parametrize("clock", ["board", "reset"])
@pytest.mark.parametrize("board_id", sorted(CHIPS))
def test_startup_reaches_the_uart_at_115200(board_id, clock, library, tmp_path_factory):
    _, chip = boot(_elf(library, tmp_path_factory, board_id, clock), board_id)
    b = board_at_clock(load_board(board_id), clock)
    text = sent(chip).decode()
    assert text.startswith("m-timestamp-mode-performance\r\nm-lap-us-") and text.endswith(BOOT_END.decode())
    bauds = {round(baud) for _, baud in chip.tx}
    assert all(abs(baud / BAUD - 1) < BAUD_TOLERANCE for baud in bauds), bauds
    assert chip.core_hz() == b.clock_hz, "the clock tree the registers describe is not the board file's clock"
    systick = chip.p["SYST"]
    assert systick.r["CSR"] & 7 == 7 and systick.r["RVR"] == 0xFFFFFF
    if b.cycle_counter == "dwt":
        assert chip.p["DWT"].r["CTRL"] & 1 and chip.p["SCB"].r["DEMCR"] & 1 << 24


def test_stm32l4_order(library, tmp_path_factory):
    """RM0432: AHB /2 and boost before the wait states, PLL set while off, locked, switched, /1 after 1 us."""
    m, _ = boot(_elf(library, tmp_path_factory, "nucleo-l4r5zi"), "nucleo-l4r5zi")
    steps = m.in_order([
        ("PWR clock on", w("RCC", "APB1ENR1", 1 << 28)),
        ("HCLK = SYSCLK / 2", w("RCC", "CFGR", 0xF0, 0x80)),
        ("range 1 boost", w("PWR", "CR5", 1 << 8, 0)),
        ("5 wait states, prefetch, caches", w("FLASH", "ACR", 0x70F, 0x705)),
        ("wait states read back", r("FLASH", "ACR", 0xF, 5)),
        ("PLL configured: MSI, M=1, N=60, R=2", w("RCC", "PLLCFGR", 0x07007FF3, 0x01003C01)),
        ("PLL on", w("RCC", "CR", 1 << 24)),
        ("PLL locked", r("RCC", "CR", 1 << 25)),
        ("switch to PLL", w("RCC", "CFGR", 3, 3)),
        ("switch confirmed", r("RCC", "CFGR", 0xC, 0xC)),
        ("HCLK = SYSCLK", w("RCC", "CFGR", 0xF0, 0)),
        ("VDDIO2 valid", w("PWR", "CR2", 1 << 9)),
        ("LPUART1 divisor (BRR while UE = 0)", w("LPUART1", "BRR", 0xFFFFF, 266667)),
        ("first byte", w("LPUART1", "TDR", 0xFF, ord("m"))),
    ])
    assert m.log[steps[10]].t - m.log[steps[8]].t >= 60  # >= 1 us at HCLK = 60 MHz


def test_stm32f7_order(library, tmp_path_factory):
    """RM0385: HSE, PLL, over-drive (ODRDY, ODSWRDY), lock, 7 wait states and APB dividers, switch."""
    m, chip = boot(_elf(library, tmp_path_factory, "stm32f746g-disco"), "stm32f746g-disco")
    m.in_order([
        ("HSE on", w("RCC", "CR", 1 << 16)),
        ("HSE ready", r("RCC", "CR", 1 << 17)),
        ("PLL: HSE, M=25, N=432, P=2, Q=9", w("RCC", "PLLCFGR", 0x0F437FFF, 25 | 432 << 6 | 1 << 22 | 9 << 24)),
        ("PLL on", w("RCC", "CR", 1 << 24)),
        ("over-drive enable", w("PWR", "CR1", 1 << 16)),
        ("ODRDY", r("PWR", "CSR1", 1 << 16)),
        ("over-drive switch", w("PWR", "CR1", 1 << 17)),
        ("ODSWRDY", r("PWR", "CSR1", 1 << 17)),
        ("PLL locked", r("RCC", "CR", 1 << 25)),
        ("7 wait states, ART, prefetch", w("FLASH", "ACR", 0x30F, 0x307)),
        ("APB1 /4, APB2 /2", w("RCC", "CFGR", 0xFC00, 5 << 10 | 4 << 13)),
        ("switch to PLL", w("RCC", "CFGR", 3, 2)),
        ("switch confirmed", r("RCC", "CFGR", 0xC, 0x8)),
        ("I-cache invalidated", w("CACHE", "ICIALLU")),
        ("I-cache on", w("SCB", "CCR", 1 << 17)),
        ("D-cache on (after every set/way invalidated)", w("SCB", "CCR", 1 << 16)),
        ("USART1 divisor 108 MHz / 115200", w("USART1", "BRR", 0xFFFF, 938)),
        ("first byte", w("USART1", "TDR", 0xFF, ord("m"))),
    ])
    assert chip.clocks() == {"sysclk": 216_000_000, "hclk": 216_000_000, "pclk1": 54_000_000, "pclk2": 108_000_000}


def test_nrf52840_order(library, tmp_path_factory):
    m, chip = boot(_elf(library, tmp_path_factory, "nano33ble"), "nano33ble")
    m.in_order([
        ("instruction cache on", w("NVMC", "ICACHECNF", 1)),
        ("stale HFCLKSTARTED cleared", w("CLOCK", "EVENTS_HFCLKSTARTED", 0xFFFFFFFF, 0)),
        ("HFXO start", w("CLOCK", "TASKS_HFCLKSTART", 1)),
        ("HFXO started", r("CLOCK", "EVENTS_HFCLKSTARTED", 1)),
        ("TX pin P1.03 high", w("GPIO", "P1.OUTSET", 1 << 3)),
        ("TX pin P1.03 output", w("GPIO", "P1.DIRSET", 1 << 3)),
        ("115200 baud", w("UART0", "BAUDRATE", 0xFFFFFFFF, 0x01D7E000)),
        ("UART enabled", w("UART0", "ENABLE", 0xF, 4)),
        ("first byte", w("UART0", "TXD", 0xFF, ord("m"))),
    ])
    assert chip.p["CLOCK"].read("HFCLKSTAT") == 0x10001  # running from the crystal


def test_nrf52840_reset_clock_keeps_hfint(library, tmp_path_factory):
    m, _ = boot(_elf(library, tmp_path_factory, "nano33ble", "reset"), "nano33ble")
    assert not m.writes("CLOCK", "TASKS_HFCLKSTART")


def test_rp2040_boot2_then_clock_tree_order(library, tmp_path_factory):
    """Boot2 sets up the XIP SSI (disabled while configured), vectors into the image; then the clock tree."""
    elf = _elf(library, tmp_path_factory, "pico")
    m, chip = boot(elf, "pico")
    ssi = [a for a in m.log if a.periph == "XIP_SSI"]
    assert (ssi[0].reg, ssi[0].value, ssi[-1].reg, ssi[-1].value) == ("SSIENR", 0, "SSIENR", 1)
    vtor = m.writes("SCB", "VTOR")
    assert vtor[0].value == 0x10000100 and m.word(0x10000104) == m.symbols["Reset_Handler"] | 1
    assert m.word(0x10000100) == m.symbols["__stack_top"]
    m.in_order([
        ("XOSC start-up delay", w("XOSC", "STARTUP", 0x3FFF, 47)),
        ("XOSC enabled, 1-15 MHz", w("XOSC", "CTRL", 0xFFFFFF, 0xFABAA0)),
        ("XOSC stable", r("XOSC", "STATUS", 1 << 31)),
        ("clk_ref <- XOSC", w("CLOCKS", "CLK_REF_CTRL", 3, 2)),
        ("clk_ref switched", r("CLOCKS", "CLK_REF_SELECTED", 4)),
        ("PLL_SYS released from reset", w("RESETS", "RESET", 1 << 12, 0)),
        ("PLL_SYS reset done", r("RESETS", "RESET_DONE", 1 << 12)),
        ("FBDIV 125 (VCO 1500 MHz)", w("PLL_SYS", "FBDIV_INT", 0xFFF, 125)),
        ("VCO powered", w("PLL_SYS", "PWR", 0x21, 0)),
        ("locked", r("PLL_SYS", "CS", 1 << 31)),
        ("post dividers 6 x 2", w("PLL_SYS", "PRIM", 0x77000, 0x62000)),
        ("post dividers powered", w("PLL_SYS", "PWR", 0x8, 0)),
        ("clk_sys glitchless mux -> aux (PLL_SYS)", w("CLOCKS", "CLK_SYS_CTRL", 0xE1, 1)),
        ("clk_sys switched", r("CLOCKS", "CLK_SYS_SELECTED", 2)),
        ("clk_peri enabled on clk_sys", w("CLOCKS", "CLK_PERI_CTRL", 0xFE0, 0x800)),
        ("IO/pads/UART0 released", w("RESETS", "RESET", 1 << 5 | 1 << 8 | 1 << 22, 0)),
        ("GP0 -> UART0 TX", w("IO_BANK0", "GPIO0_CTRL", 0x1F, 2)),
        ("divisor 125 MHz / (16 x 115200) = 67 + 52/64", w("UART0", "IBRD", 0xFFFF, 67)),
        ("FBRD", w("UART0", "FBRD", 0x3F, 52)),
        ("divisor latched", w("UART0", "LCR_H", 0x70, 0x70)),
        ("first byte", w("UART0", "DR", 0xFF, ord("m"))),
    ])
    assert chip.clocks() == {"ref": 12_000_000, "sys": 125_000_000, "peri": 125_000_000}


def test_unmodelled_register_fails_with_its_address(library, tmp_path_factory):
    """The bus has nothing but the models: drop GPIOG and the first access to it stops the run, named."""
    elf = _elf(library, tmp_path_factory, "nucleo-l4r5zi")
    no_gpiog = type("NoGpioG", (Stm32L4R5,), {"peripherals": tuple(
        p for p in Stm32L4R5.peripherals if p.name != "GPIOG")})
    with pytest.raises(Violation, match="unmodelled address 0x48001820"):
        boot(elf, "nucleo-l4r5zi", no_gpiog)


@pytest.mark.parametrize(("board_id", "patch", "error"), [
    ("nucleo-l4r5zi", ("L4_WAIT_STATES", {"boost": (40, 60, 80, 100, 120, 140), "normal": (40, 60, 80, 100)}),
     "wait states are too few for HCLK 120 MHz"),
    ("stm32f746g-disco", ("F7_OVERDRIVE_ABOVE_HZ", 300_000_000), "without over-drive"),
    ("nucleo-l4r5zi", ("BOOST_SETTLE_S", 1e-8), "AHB prescaler back to /1 only"),
])
def test_models_catch_a_wrong_clock_plan(board_id, patch, error, library, tmp_path, monkeypatch):
    """A clock plan that breaks the manual builds (the C only writes values) but fails on the models."""
    monkeypatch.setattr(clocks, *patch)
    lib, io = library
    elf = build_firmware(None, board_id, tmp_path, library=lib, model_io=io).elf
    with pytest.raises(Violation, match=error):
        boot(elf, board_id)


@pytest.mark.parametrize("board_id", sorted(CHIPS))
def test_energy_mode_startup_at_9600(board_id, library, tmp_path):
    """MLPerf energy mode: 9600 baud at full clock (the L4+ LPUART needs its kernel-clock prescaler), and
    the timestamp pin an output held high (idle) before the first line."""
    lib, io = library
    elf = build_firmware(None, board_id, tmp_path, energy_mode=True, library=lib, model_io=io).elf
    m, chip = boot(elf, board_id)
    assert sent(chip).startswith(b"m-timestamp-mode-energy\r\n")
    assert all(abs(baud / 9600 - 1) < BAUD_TOLERANCE for _, baud in chip.tx)
    first_byte = m.first(lambda a: a.reg in ("TDR", "TXD", "DR") and a.op == "w", "first byte")
    pin = {"nucleo-l4r5zi": ("GPIOF", "BSRR", 1 << 13), "stm32f746g-disco": ("GPIOI", "BSRR", 1 << 3),
           "nano33ble": ("GPIO", "P0.OUTSET", 1 << 23), "pico": ("SIO", "GPIO_OUT_SET", 1 << 22)}[board_id]
    assert m.first(w(*pin), "timestamp pin high") < first_byte
    output = {"nucleo-l4r5zi": lambda: chip.p["GPIOF"].r["MODER"] >> 26 & 3 == 1,
              "stm32f746g-disco": lambda: chip.p["GPIOI"].r["MODER"] >> 6 & 3 == 1,
              "nano33ble": lambda: chip.p["GPIO"].r["P0.DIR"] >> 23 & 1 == 1,
              "pico": lambda: chip.p["SIO"].r["GPIO_OE"] >> 22 & 1 == 1 and chip.p["IO_BANK0"].r["GPIO22_CTRL"] == 5}
    assert output[board_id](), "the timestamp pin is not an output"


def _poke(board_id: str, accesses: list[tuple[int, int | None]]):
    """Drive a chip model directly: (address, value) writes, (address, None) reads."""
    cls, cpu = CHIPS[board_id]
    chip = cls()
    m = Machine(chip, cpu, [])
    for addr, value in accesses:
        m.instructions += 10
        m._mmio(addr, "r" if value is None else "w", value or 0)
    return chip


@pytest.mark.parametrize(("board_id", "accesses", "error"), [
    ("nucleo-l4r5zi", [(0x4002100C, 0x01003C01), (0x40021000, 0x63 | 1 << 24), (0x4002100C, 0x01003C01)],
     "RCC_PLLCFGR written while the PLL"),
    ("nucleo-l4r5zi", [(0x40021000, 0x63 | 1 << 24)], "PLL enabled with no source"),
    ("nucleo-l4r5zi", [(0x40008028, ord("m"))], "clock is off"),
    ("nucleo-l4r5zi", [(0x40021058, 1 << 28), (0x40021058, None), (0x40007080, 0), (0x40021008, 0)],
     None),  # boost with the reset clock is legal
    ("stm32f746g-disco", [(0x40023840, 1 << 28), (0x40023840, None), (0x40007000, 0xC000 | 1 << 17)],
     "ODSWEN set before ODRDY"),
    ("stm32f746g-disco", [(0xE000ED14, 1 << 16)], "D-cache enabled with 128 of 128"),
    ("nano33ble", [(0x40002500, 4), (0x4000251C, ord("m"))], "TXD written before TASKS_STARTTX"),
    ("pico", [(0x40034000, ord("m"))], "held in reset"),
    ("pico", [(0x40008048, 1 << 11), (0x40008048, 1 << 11 | 4 << 5)], "clk_peri AUXSRC changed while enabled"),
    ("pico", [(0x4000803C, 1)], "before it is locked"),
    ("pico", [(0x40010000, 0)], "unmodelled address 0x40010000"),
])
def test_each_model_rule_bites(board_id, accesses, error):
    """The models' rules, one access sequence each, without firmware: a broken rule is a Violation."""
    if error is None:
        _poke(board_id, accesses)
        return
    with pytest.raises(Violation, match=error):
        _poke(board_id, accesses)
