"""STM32L4R5 (NUCLEO-L4R5ZI) register models, written from RM0432 (STM32L4+ reference manual).

- RCC: "Reset and clock control": RCC_CR (MSI on and ready at reset, 4 MHz; HSEBYP only while HSE
  is off), RCC_CFGR (SW/SWS, HPRE), RCC_PLLCFGR (written only while the PLL is off; VCO input
  2.66-16 MHz, VCO 64-344 MHz, PLLN 8-127, PLLCLK <= 120 MHz), the enable registers.
- PWR: "Power control": CR1.VOS (range 1 at reset), CR2.IOSV (VDDIO2 for PG2-PG15), CR5.R1MODE
  (normal mode at reset); "Dynamic voltage scaling management": above 80 MHz range 1 boost, reached
  with HCLK = SYSCLK / 2 across the switch and SYSCLK restored only >= 1 us later.
- FLASH: "Read access latency" table of wait states per HCLK and voltage range; ACR (caches on at
  reset, latency 0).
- GPIO and LPUART1: see :mod:`regmodels.stm32`.
"""

from __future__ import annotations

from regmodels.core import CORE_PERIPHERALS
from regmodels.machine import Chip, Peripheral, table
from regmodels.stm32 import Gated, Transmitter, gpio_port

LPUART_PRESC = (1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256, 256, 256, 256, 256)  # LPUART_PRESC.PRESCALER
MHZ = 1_000_000
MSI_HZ, HSI16_HZ = 4 * MHZ, 16 * MHZ
READY_DELAY = 40  # instructions between an enable bit and its ready flag
BOOST_LIMIT_HZ = 80 * MHZ
# RM0432 "Number of wait states according to CPU clock (HCLK) frequency": limits in MHz per wait state
WAIT_STATE_LIMITS = {"boost": (20, 40, 60, 80, 100, 120), "normal": (20, 40, 60, 80), "range2": (8, 16, 26)}
CR_MSIRDY, CR_HSION, CR_HSIRDY, CR_HSEON, CR_HSERDY, CR_HSEBYP = 1 << 1, 1 << 8, 1 << 10, 1 << 16, 1 << 17, 1 << 18
CR_PLLON, CR_PLLRDY = 1 << 24, 1 << 25
HSE_BOARD_HZ = 8 * MHZ  # not fitted on the NUCLEO by default; only a bypass clock would drive it
AHB_DIV = {0: 1, 8: 2, 9: 4, 10: 8, 11: 16, 12: 64, 13: 128, 14: 256, 15: 512}
APB_DIV = {0: 1, 4: 2, 5: 4, 6: 8, 7: 16}


class Rcc(Peripheral):
    name, base, size = "RCC", 0x40021000, 0x400
    follows = "RM0432 RCC: RCC_CR, RCC_CFGR, RCC_PLLCFGR, AHB2ENR, APB1ENR1/2, CCIPR"
    regs = table({0x00: ("CR", 0x63), 0x08: ("CFGR", 0), 0x0C: ("PLLCFGR", 0x1000), 0x48: ("AHB1ENR", 0x100),
            0x4C: ("AHB2ENR", 0), 0x58: ("APB1ENR1", 0), 0x5C: ("APB1ENR2", 0), 0x60: ("APB2ENR", 0),
            0x88: ("CCIPR", 0)})
    ready_bits = table({CR_HSION: CR_HSIRDY, CR_HSEON: CR_HSERDY, CR_PLLON: CR_PLLRDY})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.enabled_at: dict[tuple[str, int], int] = {}
        self.ready_at: dict[int, int] = {}
        self.switch: tuple[int, int] | None = None  # (time, SW) of the last clock switch
        self.switched_at = 0

    def read(self, reg: str) -> int:
        value = self.r[reg]
        if reg == "CR":
            for flag, t in self.ready_at.items():
                value |= flag if self.now >= t else 0
        if reg == "CFGR" and self.switch and self.now >= self.switch[0]:
            value = (value & ~0xC) | self.switch[1] << 2
        return value

    def write(self, reg: str, value: int) -> None:
        old = self.r[reg]
        if reg == "CR":
            self._write_cr(old, value)
        elif reg == "PLLCFGR" and self.r["CR"] & CR_PLLON:
            self.fail("RCC_PLLCFGR written while the PLL is on")
        elif reg == "CFGR":
            self._write_cfgr(old, value)
            return
        elif reg.endswith("ENR") or reg[:-1].endswith("ENR"):
            for bit in range(32):
                if value & ~old & 1 << bit:
                    self.enabled_at[(reg, bit)] = self.now
        self.r[reg] = value

    def _write_cr(self, old: int, value: int) -> None:
        if (value ^ old) & CR_HSEBYP and old & CR_HSEON:
            self.fail("HSEBYP changed while HSE is on")
        if value & ~old & CR_HSEON and not value & CR_HSEBYP:
            self.fail("HSE crystal started: the NUCLEO-L4R5ZI has none fitted (only a bypass clock)")
        for on, rdy in self.ready_bits.items():
            if value & ~old & on:
                if on == CR_PLLON:
                    self.chip.check_pll()
                self.ready_at[rdy] = self.now + READY_DELAY
            if old & ~value & on:
                self.ready_at.pop(rdy, None)
        self.r["CR"] = value & ~(CR_MSIRDY | CR_HSIRDY | CR_HSERDY | CR_PLLRDY) | CR_MSIRDY

    def _write_cfgr(self, old: int, value: int) -> None:
        sw = value & 3
        if sw != (old & 3):
            self.chip.check_source_ready(sw)
        self.r["CFGR"] = value & ~0xC
        if sw != (old & 3):
            self.switch = (self.now + 2, sw)
            self.switched_at = self.now
        self.chip.check_clocks(old_cfgr=old)


class Pwr(Gated):
    name, base, size = "PWR", 0x40007000, 0x400
    follows = "RM0432 PWR: CR1.VOS, CR2.IOSV, SR2.VOSF, CR5.R1MODE (boost)"
    regs = table({0x00: ("CR1", 0x200), 0x04: ("CR2", 0), 0x08: ("CR3", 0x8000), 0x14: ("SR2", 0),
            0x80: ("CR5", 0x100)})
    gate = ("APB1ENR1", 28)

    def write(self, reg: str, value: int) -> None:
        if reg == "CR1" and (value >> 9 & 3) != 1:
            self.fail("VOS changed from range 1: the clock plan needs range 1")
        self.r[reg] = value
        self.chip.check_clocks()


class Flash(Peripheral):
    name, base, size = "FLASH", 0x40022000, 0x400
    follows = "RM0432 FLASH: ACR (LATENCY, PRFTEN, ICEN, DCEN), read access latency table"
    regs = table({0x00: ("ACR", 0x600)})

    def write(self, reg: str, value: int) -> None:
        self.r[reg] = value
        self.chip.check_clocks()


class Lpuart1(Transmitter):
    name, base, size = "LPUART1", 0x40008000, 0x400
    follows = "RM0432 LPUART: BRR = 256 * fck / baud (>= 0x300), written while UE = 0; PRESC; kernel clock by CCIPR"
    regs = table({**Transmitter.regs, 0x2C: ("PRESC", 0)})
    gate = ("APB1ENR2", 0)
    brr_scale, brr_min = 256, 0x300
    tx_pin = ("G", 7, 8)

    def kernel_hz(self) -> int:
        sel = self.chip.p["RCC"].r["CCIPR"] >> 10 & 3
        if sel != 0:
            self.fail(f"LPUART1SEL = {sel}: the firmware's divisor assumes PCLK1")
        return self.chip.clocks()["pclk1"] // LPUART_PRESC[self.r["PRESC"] & 0xF]


class Stm32L4R5(Chip):
    peripherals = (*CORE_PERIPHERALS, Rcc, Pwr, Flash, Lpuart1,
                   *(gpio_port(c, 0x48000000, "AHB2ENR") for c in "ABCDEFGHI"))
    fpu, dwt, l1_caches = True, True, False

    def sysclk_of(self, sw: int) -> int:
        cr = self.p["RCC"].r["CR"]
        if sw == 0:
            if (cr >> 4 & 0xF) != 6:
                self.p["RCC"].fail("MSI range changed: the model knows the reset range (4 MHz) only")
            return MSI_HZ
        if sw == 1:
            return HSI16_HZ
        if sw == 2:
            return HSE_BOARD_HZ
        return self.pll_hz()

    def pll_input_hz(self) -> tuple[int, int]:
        cfg = self.p["RCC"].r["PLLCFGR"]
        src = {1: MSI_HZ, 2: HSI16_HZ, 3: HSE_BOARD_HZ}.get(cfg & 3)
        if src is None:
            self.p["RCC"].fail("PLL enabled with no source (PLLSRC = 0)")
        return src, (cfg >> 4 & 0xF) + 1

    def pll_hz(self) -> int:
        cfg = self.p["RCC"].r["PLLCFGR"]
        src, m = self.pll_input_hz()
        n, r = cfg >> 8 & 0x7F, 2 * ((cfg >> 25 & 3) + 1)
        return src // m * n // r

    def check_pll(self) -> None:
        rcc, cfg = self.p["RCC"], self.p["RCC"].r["PLLCFGR"]
        src, m = self.pll_input_hz()
        n, vin = cfg >> 8 & 0x7F, src / m
        if not 2.66 * MHZ <= vin <= 16 * MHZ:
            rcc.fail(f"PLL input {vin / MHZ:g} MHz outside 2.66-16 MHz")
        if not 8 <= n <= 127 or not 64 * MHZ <= vin * n <= 344 * MHZ:
            rcc.fail(f"PLLN {n}: VCO {vin * n / MHZ:g} MHz outside 64-344 MHz")
        if not cfg & 1 << 24:
            rcc.fail("PLL enabled without PLLREN (no PLLCLK output for SYSCLK)")
        if self.pll_hz() > 120 * MHZ:
            rcc.fail(f"PLLCLK {self.pll_hz() / MHZ:g} MHz above 120 MHz")
        source_rdy = {1: CR_MSIRDY, 2: CR_HSIRDY, 3: CR_HSERDY}[cfg & 3]
        if not rcc.read("CR") & source_rdy:
            rcc.fail("PLL enabled before its source oscillator is ready")

    def check_source_ready(self, sw: int) -> None:
        rcc = self.p["RCC"]
        ready = {0: CR_MSIRDY, 1: CR_HSIRDY, 2: CR_HSERDY, 3: CR_PLLRDY}[sw]
        if not rcc.read("CR") & ready:
            rcc.fail(f"SYSCLK switched to source {sw} before it is ready")

    def clocks(self) -> dict[str, int]:
        cfgr = self.p["RCC"].r["CFGR"]
        sysclk = self.sysclk_of(cfgr & 3)
        hclk = sysclk // AHB_DIV[cfgr >> 4 & 0xF]
        return {"sysclk": sysclk, "hclk": hclk, "pclk1": hclk // APB_DIV[cfgr >> 8 & 7],
                "pclk2": hclk // APB_DIV[cfgr >> 11 & 7]}

    def core_hz(self) -> int:
        return self.clocks()["hclk"]

    def check_clocks(self, old_cfgr: int | None = None) -> None:
        """The rules that bind clocks, voltage and wait states, checked after every change."""
        rcc, pwr, flash = self.p["RCC"], self.p["PWR"], self.p["FLASH"]
        c = self.clocks()
        boost = not pwr.r["CR5"] & 1 << 8
        latency = flash.r["ACR"] & 0xF
        limits = WAIT_STATE_LIMITS["boost" if boost else "normal"]
        if latency >= len(limits) or c["hclk"] > limits[latency] * MHZ:
            flash.fail(f"{latency} wait states are too few for HCLK {c['hclk'] / MHZ:g} MHz "
                       f"(range 1 {'boost' if boost else 'normal'})")
        if c["sysclk"] > BOOST_LIMIT_HZ and not boost:
            rcc.fail(f"SYSCLK {c['sysclk'] / MHZ:g} MHz above 80 MHz without range 1 boost (PWR_CR5.R1MODE = 0)")
        if old_cfgr is None:
            return
        old_sw, new_sw = old_cfgr & 3, rcc.r["CFGR"] & 3
        if old_sw != new_sw and c["sysclk"] > BOOST_LIMIT_HZ and AHB_DIV[rcc.r["CFGR"] >> 4 & 0xF] < 2:
            rcc.fail("switched above 80 MHz without HCLK = SYSCLK / 2 first (range 1 boost procedure)")
        hpre_old, hpre_new = AHB_DIV[old_cfgr >> 4 & 0xF], AHB_DIV[rcc.r["CFGR"] >> 4 & 0xF]
        if hpre_old == 2 and hpre_new == 1 and c["sysclk"] > BOOST_LIMIT_HZ:
            waited_s = (self.machine.instructions - rcc.switched_at) / (c["sysclk"] / 2)
            if waited_s < 1e-6:
                rcc.fail(f"AHB prescaler back to /1 only {waited_s * 1e9:.0f} ns after the switch (>= 1 us)")

    def pin_ready(self, port: str, pin: int) -> None:
        if port == "G" and pin >= 2 and not self.p["PWR"].r["CR2"] & 1 << 9:
            self.p["PWR"].fail(f"PG{pin} used without VDDIO2 declared valid (PWR_CR2.IOSV)")
