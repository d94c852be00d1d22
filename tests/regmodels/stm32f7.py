"""STM32F746 (32F746GDISCOVERY) register models, written from RM0385 (STM32F75xxx/F74xxx reference manual).

- RCC: "Reset and clock control": RCC_CR (HSI on at reset; HSEBYP only while HSE is off),
  RCC_PLLCFGR (written only while the PLL is off; VCO input 1-2 MHz, VCO 100-432 MHz, PLLN 50-432,
  PLLP 2/4/6/8, PLLQ 2-15, PLLCLK <= 216 MHz), RCC_CFGR (SW/SWS, HPRE, PPRE1 <= 54 MHz,
  PPRE2 <= 108 MHz), the enable registers, DCKCFGR2 (USART1 on PCLK2 at reset).
- PWR: "Power controller": CR1.VOS (scale 1 at reset), "Entering Over-drive mode": ODEN with the PLL
  on and not yet selected, ODRDY, then ODSWEN, ODSWRDY; above 180 MHz over-drive is required.
- FLASH: "Relation between CPU clock frequency and Flash memory read time" (2.7-3.6 V table), ACR.
- GPIO, USART1: see :mod:`regmodels.stm32`. The L1 caches: :mod:`regmodels.core`.
"""

from __future__ import annotations

from regmodels.core import CORE_PERIPHERALS
from regmodels.machine import Chip, Peripheral, table
from regmodels.stm32 import Gated, Transmitter, gpio_port

MHZ = 1_000_000
HSI_HZ = 16 * MHZ
HSE_BOARD_HZ = 25 * MHZ  # the 32F746GDISCOVERY's crystal X2 (UM1907)
READY_DELAY = 40
WAIT_STATE_LIMITS_MHZ = (30, 60, 90, 120, 150, 180, 210, 216)
OVERDRIVE_ABOVE_HZ = 180 * MHZ
APB1_MAX_HZ, APB2_MAX_HZ = 54 * MHZ, 108 * MHZ
CR_HSIRDY, CR_HSEON, CR_HSERDY, CR_HSEBYP, CR_PLLON, CR_PLLRDY = 1 << 1, 1 << 16, 1 << 17, 1 << 18, 1 << 24, 1 << 25
ODEN, ODSWEN = 1 << 16, 1 << 17
AHB_DIV = {0: 1, 8: 2, 9: 4, 10: 8, 11: 16, 12: 64, 13: 128, 14: 256, 15: 512}
APB_DIV = {0: 1, 4: 2, 5: 4, 6: 8, 7: 16}


class Rcc(Peripheral):
    name, base, size = "RCC", 0x40023800, 0x400
    follows = "RM0385 RCC: RCC_CR, RCC_PLLCFGR, RCC_CFGR, AHB1ENR, APB1ENR, APB2ENR, DCKCFGR2"
    regs = table({0x00: ("CR", 0x83), 0x04: ("PLLCFGR", 0x24003010), 0x08: ("CFGR", 0), 0x30: ("AHB1ENR", 0x100000),
            0x40: ("APB1ENR", 0), 0x44: ("APB2ENR", 0), 0x90: ("DCKCFGR2", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.enabled_at: dict[tuple[str, int], int] = {}
        self.ready_at: dict[int, int] = {CR_HSIRDY: 0}
        self.switch: tuple[int, int] | None = None

    def read(self, reg: str) -> int:
        value = self.r[reg]
        if reg == "CR":
            value &= ~(CR_HSIRDY | CR_HSERDY | CR_PLLRDY)
            for flag, t in self.ready_at.items():
                value |= flag if self.now >= t else 0
        if reg == "CFGR" and self.switch and self.now >= self.switch[0]:
            value = (value & ~0xC) | self.switch[1] << 2
        return value

    def write(self, reg: str, value: int) -> None:
        old = self.r[reg]
        if reg == "CR":
            self._write_cr(old, value)
        elif reg == "PLLCFGR" and old != value and self.r["CR"] & CR_PLLON:
            self.fail("RCC_PLLCFGR written while the PLL is on")
        elif reg == "CFGR" and (value ^ old) & 3:
            self.chip.check_switch(value & 3)
            self.switch = (self.now + 2, value & 3)
        elif reg.endswith("ENR"):
            for bit in range(32):
                if value & ~old & 1 << bit:
                    self.enabled_at[(reg, bit)] = self.now
        self.r[reg] = value
        self.chip.check_clocks()

    def _write_cr(self, old: int, value: int) -> None:
        if (value ^ old) & CR_HSEBYP and old & CR_HSEON:
            self.fail("HSEBYP changed while HSE is on")
        if value & ~old & CR_HSEON:
            self.ready_at[CR_HSERDY] = self.now + READY_DELAY
        if value & ~old & CR_PLLON:
            self.chip.check_pll()
            self.ready_at[CR_PLLRDY] = self.now + READY_DELAY


class Pwr(Gated):
    name, base, size = "PWR", 0x40007000, 0x400
    follows = "RM0385 PWR: CR1 (VOS, ODEN, ODSWEN), CSR1 (ODRDY, ODSWRDY), entering over-drive mode"
    regs = table({0x00: ("CR1", 0xC000), 0x04: ("CSR1", 0), 0x08: ("CR2", 0), 0x0C: ("CSR2", 0)})
    gate = ("APB1ENR", 28)

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.ready_at: dict[int, int] = {}

    def read(self, reg: str) -> int:
        if reg == "CSR1":
            return sum(bit for bit, t in self.ready_at.items() if self.now >= t) | 1 << 14  # VOSRDY
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        old, rcc = self.r[reg], self.chip.p["RCC"]
        if reg == "CR1":
            if value & ~old & ODEN:
                if not rcc.r["CR"] & CR_PLLON or rcc.r["CFGR"] & 3 == 2:
                    self.fail("ODEN set without the PLL on, or with SYSCLK already on the PLL")
                self.ready_at[ODEN] = self.now + READY_DELAY
            if value & ~old & ODSWEN:
                if not self.read("CSR1") & ODEN:
                    self.fail("ODSWEN set before ODRDY")
                self.ready_at[ODSWEN] = self.now + READY_DELAY
            if (value >> 14 & 3) != 3:
                self.fail("VOS moved from scale 1: 216 MHz needs scale 1")
        self.r[reg] = value


class Flash(Peripheral):
    name, base, size = "FLASH", 0x40023C00, 0x400
    follows = "RM0385 FLASH: ACR (LATENCY, PRFTEN, ARTEN), wait states at 2.7-3.6 V"
    regs = table({0x00: ("ACR", 0)})

    def write(self, reg: str, value: int) -> None:
        self.r[reg] = value
        self.chip.check_clocks()


class Usart1(Transmitter):
    name, base, size = "USART1", 0x40011000, 0x400
    follows = "RM0385 USART: BRR = fck / baud (oversampling by 16, >= 16), written while UE = 0"
    gate = ("APB2ENR", 4)
    tx_pin = ("A", 9, 7)

    def kernel_hz(self) -> int:
        if self.chip.p["RCC"].r["DCKCFGR2"] & 3:
            self.fail("USART1SEL changed: the firmware's divisor assumes PCLK2")
        if self.r["CR1"] & 1 << 15:
            self.fail("OVER8 set: the firmware's divisor assumes oversampling by 16")
        return self.chip.clocks()["pclk2"]


class Stm32F746(Chip):
    peripherals = (*CORE_PERIPHERALS, Rcc, Pwr, Flash, Usart1,
                   *(gpio_port(c, 0x40020000, "AHB1ENR") for c in "ABCDEFGHIJK"))
    fpu, dwt, l1_caches = True, True, True

    def pll_hz(self) -> tuple[float, float, int]:
        """(VCO input, VCO, PLLCLK) from RCC_PLLCFGR."""
        cfg = self.p["RCC"].r["PLLCFGR"]
        src = HSE_BOARD_HZ if cfg & 1 << 22 else HSI_HZ
        m, n, p = cfg & 0x3F, cfg >> 6 & 0x1FF, 2 * ((cfg >> 16 & 3) + 1)
        vin = src / m if m else 0.0
        return vin, vin * n, int(vin * n / p)

    def check_pll(self) -> None:
        rcc, cfg = self.p["RCC"], self.p["RCC"].r["PLLCFGR"]
        vin, vco, out = self.pll_hz()
        if not 1 * MHZ <= vin <= 2 * MHZ:
            rcc.fail(f"PLL input {vin / MHZ:g} MHz outside 1-2 MHz (PLLM)")
        if not 50 <= (cfg >> 6 & 0x1FF) <= 432 or not 100 * MHZ <= vco <= 432 * MHZ:
            rcc.fail(f"VCO {vco / MHZ:g} MHz outside 100-432 MHz")
        if out > 216 * MHZ or not 2 <= cfg >> 24 & 0xF <= 15:
            rcc.fail(f"PLLCLK {out / MHZ:g} MHz above 216 MHz, or PLLQ out of 2-15")
        if cfg & 1 << 22 and not rcc.read("CR") & CR_HSERDY:
            rcc.fail("PLL enabled before HSE is ready")

    def check_switch(self, sw: int) -> None:
        rcc = self.p["RCC"]
        ready = {0: CR_HSIRDY, 1: CR_HSERDY, 2: CR_PLLRDY}.get(sw)
        if ready is None or not rcc.read("CR") & ready:
            rcc.fail(f"SYSCLK switched to source {sw} before it is ready")

    def clocks(self) -> dict[str, int]:
        cfgr = self.p["RCC"].r["CFGR"]
        sysclk = {0: HSI_HZ, 1: HSE_BOARD_HZ, 2: self.pll_hz()[2]}[cfgr & 3]
        hclk = sysclk // AHB_DIV[cfgr >> 4 & 0xF]
        return {"sysclk": sysclk, "hclk": hclk, "pclk1": hclk // APB_DIV[cfgr >> 10 & 7],
                "pclk2": hclk // APB_DIV[cfgr >> 13 & 7]}

    def core_hz(self) -> int:
        return self.clocks()["hclk"]

    def check_clocks(self) -> None:
        c, flash, pwr = self.clocks(), self.p["FLASH"], self.p["PWR"]
        latency = flash.r["ACR"] & 0xF
        if latency >= len(WAIT_STATE_LIMITS_MHZ) or c["hclk"] > WAIT_STATE_LIMITS_MHZ[latency] * MHZ:
            flash.fail(f"{latency} wait states are too few for HCLK {c['hclk'] / MHZ:g} MHz")
        if c["hclk"] > OVERDRIVE_ABOVE_HZ and not pwr.read("CSR1") & ODSWEN:
            pwr.fail(f"HCLK {c['hclk'] / MHZ:g} MHz without over-drive (ODSWRDY)")
        if c["pclk1"] > APB1_MAX_HZ or c["pclk2"] > APB2_MAX_HZ:
            self.p["RCC"].fail(f"APB1 {c['pclk1'] / MHZ:g} MHz / APB2 {c['pclk2'] / MHZ:g} MHz above 54 / 108 MHz")

    def pin_ready(self, port: str, pin: int) -> None:
        return None
