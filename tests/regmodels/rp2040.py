"""RP2040 (Raspberry Pi Pico) register models, written from the RP2040 datasheet.

- Atomic register aliases (2.1): +0x1000 XOR, +0x2000 SET, +0x3000 CLR on APB peripherals.
- RESETS (2.14): RESET (blocks held in reset do not respond), RESET_DONE after release. At the
  boot ROM's hand-off only IO_QSPI and PADS_QSPI are out of reset.
- XOSC (2.16): CTRL (FREQ_RANGE 0xAA0 for 1-15 MHz, ENABLE 0xFAB), STARTUP.DELAY in 256-cycle
  units, STATUS.STABLE once the delay has passed.
- CLOCKS (2.15): clk_ref (glitchless SRC: ROSC, aux, XOSC), clk_sys (glitchless SRC clk_ref/aux,
  AUXSRC changed only while the aux input is not selected), clk_peri (no glitchless mux: AUXSRC
  changed only while disabled), *_SELECTED one-hot, updated a few cycles after a switch.
- PLL_SYS (2.18): CS.REFDIV, FBDIV_INT (16-320), PWR (PD, VCOPD, POSTDIVPD; all set at reset),
  PRIM (POSTDIV1/2 1-7); VCO 750-1600 MHz, reference / REFDIV >= 5 MHz; CS.LOCK after power-up;
  REFDIV/FBDIV not changed while the VCO runs.
- IO_BANK0 (2.19): GPIOn_CTRL.FUNCSEL (2 = UART). PADS_BANK0 (2.19): GPIOn (IE, OD, ...).
- UART0: Arm PL011 TRM as integrated in 4.2: IBRD/FBRD latched by a write to LCR_H, DR only with
  CR.UARTEN and CR.TXE; baud = clk_peri / (16 * (IBRD + FBRD / 64)).
- XIP_SSI (2.6, 4.10): CTRLR0, CTRLR1, BAUDR, SPI_CTRLR0 written only while SSIENR = 0; the XIP
  window answers only once boot2 has re-enabled the SSI in a read mode it can use (03h serial read).
"""

from __future__ import annotations

from regmodels.core import CORE_PERIPHERALS
from regmodels.machine import Chip, Peripheral, Violation, table

MHZ = 1_000_000
XOSC_HZ, ROSC_HZ = 12 * MHZ, 6_500_000
READY_DELAY = 30
ATOMIC = {0x0000: "", 0x1000: "xor", 0x2000: "set", 0x3000: "clr"}
RESET_BITS = {"IO_BANK0": 5, "PADS_BANK0": 8, "PLL_SYS": 12, "UART0": 22}
XIP_BASE, XIP_SIZE = 0x10000000, 0x1000000


class Rp(Peripheral):
    """An APB block of the RP2040: atomic aliases, and silence while held in reset."""

    size = 0x1000

    def accessible(self, op: str) -> None:
        bit = RESET_BITS.get(self.name)
        if bit is not None and self.chip.p["RESETS"].r["RESET"] >> bit & 1:
            self.fail("accessed while held in reset (RESETS.RESET)")


class Resets(Rp):
    name, base = "RESETS", 0x4000C000
    follows = "RP2040 datasheet 2.14 RESETS: RESET, RESET_DONE"
    regs = table({0x0: ("RESET", 0x01FFFFFF & ~(1 << 6 | 1 << 9)), 0x4: ("WDSEL", 0), 0x8: ("RESET_DONE", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.done_at: dict[int, int] = {6: 0, 9: 0}

    def read(self, reg: str) -> int:
        if reg == "RESET_DONE":
            return sum(1 << bit for bit, t in self.done_at.items()
                       if self.now >= t and not self.r["RESET"] >> bit & 1)
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        released = self.r["RESET"] & ~value
        for bit in range(25):
            if released >> bit & 1:
                self.done_at[bit] = self.now + READY_DELAY
        self.r[reg] = value


class Xosc(Rp):
    name, base = "XOSC", 0x40024000
    follows = "RP2040 datasheet 2.16 XOSC: CTRL, STATUS, STARTUP"
    regs = table({0x00: ("CTRL", 0), 0x04: ("STATUS", 0), 0x08: ("DORMANT", 0), 0x0C: ("STARTUP", 0xC4)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.stable_at: int | None = None

    def running(self) -> bool:
        return self.stable_at is not None and self.now >= self.stable_at

    def read(self, reg: str) -> int:
        if reg == "STATUS":
            return (1 << 31 if self.running() else 0) | (1 << 12 if self.stable_at is not None else 0)
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg == "CTRL" and value >> 12 & 0xFFF == 0xFAB:
            if value & 0xFFF != 0xAA0:
                self.fail(f"XOSC enabled with FREQ_RANGE {value & 0xFFF:#x}, not 0xAA0 (1-15 MHz)")
            delay_s = (self.r["STARTUP"] & 0x3FFF) * 256 / XOSC_HZ
            if delay_s < 1e-3 * 0.9:
                self.fail(f"XOSC start-up delay {delay_s * 1e3:.2f} ms, under the ~1 ms the datasheet asks")
            self.stable_at = self.now + int(delay_s * ROSC_HZ)  # instructions at the ROSC-driven clk_sys
        self.r[reg] = value


class Clocks(Rp):
    name, base = "CLOCKS", 0x40008000
    follows = "RP2040 datasheet 2.15 CLOCKS: CLK_REF_*, CLK_SYS_*, CLK_PERI_*"
    regs = table({0x30: ("CLK_REF_CTRL", 0), 0x34: ("CLK_REF_DIV", 1 << 8), 0x38: ("CLK_REF_SELECTED", 1),
            0x3C: ("CLK_SYS_CTRL", 0), 0x40: ("CLK_SYS_DIV", 1 << 8), 0x44: ("CLK_SYS_SELECTED", 1),
            0x48: ("CLK_PERI_CTRL", 0), 0x50: ("CLK_PERI_SELECTED", 1)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.selected = {"CLK_REF": (0, 0), "CLK_SYS": (0, 0)}  # glitchless SRC in effect from time t

    def read(self, reg: str) -> int:
        for clk in ("CLK_REF", "CLK_SYS"):
            if reg == f"{clk}_SELECTED":
                src, t = self.selected[clk]
                return 1 << src if self.now >= t else 0
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        old = self.r[reg]
        if reg == "CLK_REF_CTRL" and (value ^ old) & 3:
            if value & 3 == 2 and not self.chip.p["XOSC"].running():
                self.fail("clk_ref switched to XOSC before XOSC_STATUS.STABLE")
            self.selected["CLK_REF"] = (value & 3, self.now + 3)
        if reg == "CLK_SYS_CTRL":
            self._write_sys(old, value)
        if reg == "CLK_PERI_CTRL" and (value ^ old) & 0xE0 and old & 1 << 11:
            self.fail("clk_peri AUXSRC changed while enabled (it has no glitchless mux)")
        self.r[reg] = value
        self.chip.check_clocks()

    def _write_sys(self, old: int, value: int) -> None:
        if (value ^ old) & 0xE0 and old & 1:
            self.fail("clk_sys AUXSRC changed while the glitchless mux selects the aux input")
        if (value ^ old) & 1:
            if value & 1 and (value >> 5 & 7) == 0 and not self.chip.p["PLL_SYS"].output_ready():
                self.fail("clk_sys switched to PLL_SYS before it is locked with its post dividers on")
            self.selected["CLK_SYS"] = (value & 1, self.now + 3)


class PllSys(Rp):
    name, base = "PLL_SYS", 0x40028000
    follows = "RP2040 datasheet 2.18 PLL: CS, PWR, FBDIV_INT, PRIM"
    regs = table({0x0: ("CS", 1), 0x4: ("PWR", 0x2D), 0x8: ("FBDIV_INT", 0), 0xC: ("PRIM", 0x77000)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.locked_at: int | None = None

    def read(self, reg: str) -> int:
        if reg == "CS":
            return self.r["CS"] | (1 << 31 if self.locked_at is not None and self.now >= self.locked_at else 0)
        return self.r[reg]

    def vco_running(self) -> bool:
        return not self.r["PWR"] & (1 | 1 << 5)

    def output_ready(self) -> bool:
        return bool(self.read("CS") >> 31) and not self.r["PWR"] & 1 << 3

    def out_hz(self) -> int:
        refdiv, fb = self.r["CS"] & 0x3F, self.r["FBDIV_INT"]
        pd1, pd2 = self.r["PRIM"] >> 16 & 7, self.r["PRIM"] >> 12 & 7
        return XOSC_HZ // refdiv * fb // (pd1 * pd2)

    def write(self, reg: str, value: int) -> None:
        if reg in ("CS", "FBDIV_INT") and self.vco_running() and value != self.r[reg]:
            self.fail(f"{reg} changed while the VCO runs")
        old = self.r[reg]
        self.r[reg] = value
        if reg == "PWR" and old & (1 | 1 << 5) and self.vco_running():
            self._check_vco()
            self.locked_at = self.now + READY_DELAY
        if reg == "PRIM" and not (1 <= value >> 16 & 7 <= 7 and 1 <= value >> 12 & 7 <= 7):
            self.fail(f"PRIM {value:#x}: post dividers must be 1-7")

    def _check_vco(self) -> None:
        refdiv, fb = self.r["CS"] & 0x3F, self.r["FBDIV_INT"]
        if refdiv == 0 or XOSC_HZ / refdiv < 5 * MHZ:
            self.fail(f"REFDIV {refdiv}: reference below 5 MHz")
        vco = XOSC_HZ / refdiv * fb
        if not 16 <= fb <= 320 or not 750 * MHZ <= vco <= 1600 * MHZ:
            self.fail(f"FBDIV {fb}: VCO {vco / MHZ:g} MHz outside 750-1600 MHz")
        if self.chip.p["CLOCKS"].r["CLK_REF_CTRL"] & 3 != 2:
            self.fail("PLL started without the crystal as its reference (clk_ref on XOSC)")


class IoBank0(Rp):
    name, base = "IO_BANK0", 0x40014000
    follows = "RP2040 datasheet 2.19 IO_BANK0: GPIOn_STATUS, GPIOn_CTRL (FUNCSEL)"
    regs = table({8 * n + off: (f"GPIO{n}_{reg}", reset) for n in range(30)
            for off, (reg, reset) in {0: ("STATUS", 0), 4: ("CTRL", 0x1F)}.items()})


class PadsBank0(Rp):
    name, base = "PADS_BANK0", 0x4001C000
    follows = "RP2040 datasheet 2.19 PADS_BANK0: VOLTAGE_SELECT, GPIOn (OD, IE, DRIVE, PUE, PDE)"
    regs = table({0: ("VOLTAGE_SELECT", 0), **{4 + 4 * n: (f"GPIO{n}", 0x56) for n in range(30)}})


class Uart0(Rp):
    name, base = "UART0", 0x40034000
    follows = "RP2040 datasheet 4.2 UART (Arm PL011): DR, RSR, FR, IBRD, FBRD, LCR_H, CR"
    regs = table({0x00: ("DR", 0), 0x04: ("RSR", 0), 0x18: ("FR", 0x90), 0x24: ("IBRD", 0), 0x28: ("FBRD", 0),
            0x2C: ("LCR_H", 0), 0x30: ("CR", 0x300)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.latched: tuple[int, int] | None = None

    def write(self, reg: str, value: int) -> None:
        if reg == "LCR_H":
            self.latched = (self.r["IBRD"], self.r["FBRD"])
        if reg == "DR":
            self._transmit(value & 0xFF)
        self.r[reg] = value

    def _transmit(self, byte: int) -> None:
        if (self.r["CR"] & 0x101) != 0x101:
            self.fail("DR written without CR.UARTEN and CR.TXE")
        if self.latched is None or self.latched[0] == 0:
            self.fail("DR written before a divisor was latched by an LCR_H write")
        if (self.chip.p["IO_BANK0"].r["GPIO0_CTRL"] & 0x1F) != 2:
            self.fail("byte sent while GP0 is not on function 2 (UART0 TX)")
        if self.chip.p["PADS_BANK0"].r["GPIO0"] & 1 << 7:
            self.fail("byte sent while GP0's pad output is disabled (OD)")
        ibrd, fbrd = self.latched
        self.chip.tx.append((byte, self.chip.clocks()["peri"] / (16 * (ibrd + fbrd / 64))))


class Sio(Peripheral):
    name, base, size = "SIO", 0xD0000000, 0x100
    follows = "RP2040 datasheet 2.3.1 SIO: GPIO_OUT_SET/CLR, GPIO_OE_SET (the energy-mode timestamp pin)"
    regs = table({0x10: ("GPIO_OUT", 0), 0x14: ("GPIO_OUT_SET", 0), 0x18: ("GPIO_OUT_CLR", 0),
                  0x20: ("GPIO_OE", 0), 0x24: ("GPIO_OE_SET", 0)})

    def write(self, reg: str, value: int) -> None:
        if reg in ("GPIO_OUT_SET", "GPIO_OUT_CLR", "GPIO_OE_SET"):
            target = "GPIO_OE" if reg == "GPIO_OE_SET" else "GPIO_OUT"
            self.r[target] = self.r[target] & ~value if reg.endswith("CLR") else self.r[target] | value
        self.r[reg] = value


class XipSsi(Peripheral):
    name, base, size = "XIP_SSI", 0x18000000, 0x1000
    follows = "RP2040 datasheet 4.10 SSI (as XIP_SSI): CTRLR0, CTRLR1, SSIENR, BAUDR, SPI_CTRLR0"
    regs = table({0x00: ("CTRLR0", 0), 0x04: ("CTRLR1", 0), 0x08: ("SSIENR", 1), 0x14: ("BAUDR", 0),
            0xF4: ("SPI_CTRLR0", 0x03000218)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.xip_ready = False

    def write(self, reg: str, value: int) -> None:
        if reg != "SSIENR" and self.r["SSIENR"] & 1:
            self.fail(f"{reg} written while the SSI is enabled")
        self.r[reg] = value
        if reg == "SSIENR":
            self.xip_ready = bool(value & 1) and self._serial_read_mode()
            if value & 1 and not self.xip_ready:
                self.fail("SSI enabled in a mode the XIP block cannot read flash with")
        if reg == "SSIENR" and not value & 1:
            self.xip_ready = False

    def _serial_read_mode(self) -> bool:
        c0, spi, baud = self.r["CTRLR0"], self.r["SPI_CTRLR0"], self.r["BAUDR"]
        frame32, tmod, frf = (c0 >> 16 & 0x1F) == 31, c0 >> 8 & 3, c0 >> 21 & 3
        cmd, inst_l, addr_l = spi >> 24, spi >> 8 & 3, spi >> 2 & 0xF
        return (frame32 and tmod == 3 and frf == 0 and cmd == 0x03 and inst_l == 2 and addr_l == 6
                and baud >= 2 and baud % 2 == 0)


class Rp2040(Chip):
    peripherals = (*CORE_PERIPHERALS, Resets, Xosc, Clocks, PllSys, IoBank0, PadsBank0, Uart0, Sio, XipSsi)
    fpu, dwt, l1_caches = False, False, False

    def route(self, addr: int):
        for per in self.p.values():
            for offset, how in (ATOMIC if isinstance(per, Rp) else {0: ""}).items():
                start = per.base + offset
                if start <= addr < start + per.size:
                    return per, addr - start, how
        raise Violation(f"access to unmodelled address {addr:#010x}")

    def pages(self) -> set[int]:
        aliases = {per.base + off for per in self.p.values() if isinstance(per, Rp) for off in ATOMIC}
        return super().pages() | aliases

    def clocks(self) -> dict[str, int]:
        c = self.p["CLOCKS"]
        ref_src = c.selected["CLK_REF"][0]
        ref = {0: ROSC_HZ, 2: XOSC_HZ}.get(ref_src, 0)
        sys_src = c.selected["CLK_SYS"][0]
        sysclk = ref if sys_src == 0 else self.p["PLL_SYS"].out_hz()
        sysclk = sysclk * 256 // c.r["CLK_SYS_DIV"]
        peri_ctrl = c.r["CLK_PERI_CTRL"]
        peri = sysclk if peri_ctrl & 1 << 11 and (peri_ctrl >> 5 & 7) == 0 else 0
        return {"ref": ref, "sys": sysclk, "peri": peri}

    def core_hz(self) -> int:
        return self.clocks()["sys"]

    def check_clocks(self) -> None:
        if self.clocks()["sys"] > 133 * MHZ:
            self.p["CLOCKS"].fail(f"clk_sys {self.clocks()['sys'] / MHZ:g} MHz above 133 MHz")

    def xip_guard(self, addr: int, what: str = "instruction fetched") -> None:
        """Executing or reading XIP flash needs boot2's SSI set-up first."""
        if XIP_BASE <= addr < XIP_BASE + XIP_SIZE and not self.p["XIP_SSI"].xip_ready:
            raise Violation(f"{what} from XIP flash at {addr:#010x} before boot2 set up the SSI")
