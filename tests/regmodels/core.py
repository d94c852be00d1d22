"""Cortex-M core registers the start-up touches: SCB, SysTick, DWT and the Cortex-M7 cache maintenance.

Follows the ARMv7-M Architecture Reference Manual (B3.2 System Control Block, B3.3 SysTick,
C1.8 DWT, B2.2.7 cache maintenance) and ARMv6-M's for the Cortex-M0+ (no DWT cycle counter, no
CPACR), and the Cortex-M7 TRM for the L1 cache identification (CCSIDR of a 4 KB, 4-way, 32-byte-line
data cache, as on the STM32F746: RM0385 "Cortex-M7 with FPU" overview).
"""

from __future__ import annotations

from regmodels.machine import Peripheral, table

SYST_RELOAD_MAX = 0xFFFFFF
DEMCR_TRCENA = 1 << 24
AIRCR_KEY = 0x05FA
CCR_DC, CCR_IC = 1 << 16, 1 << 17
# L1 data cache of the STM32F746 (4 KB): 32 sets, 4 ways, 8 words a line; WT/WB/RA/WA supported
F7_DCACHE_CCSIDR = 0xF0000000 | (32 - 1) << 13 | (4 - 1) << 3 | 1
F7_DCACHE_SETS, F7_DCACHE_WAYS = 32, 4


class Scb(Peripheral):
    name, base, size = "SCB", 0xE000ED00, 0x100
    follows = "ARMv7-M ARM B3.2 (CPACR, VTOR, AIRCR, CCR, CCSIDR/CSSELR), C1.6.5 DEMCR"
    regs = table({0x00: ("CPUID", 0x410FC241), 0x04: ("ICSR", 0), 0x08: ("VTOR", 0), 0x0C: ("AIRCR", 0xFA050000),
            0x10: ("SCR", 0), 0x14: ("CCR", 0x200), 0x80: ("CCSIDR", 0), 0x84: ("CSSELR", 0),
            0x88: ("CPACR", 0), 0xFC: ("DEMCR", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.dcache_invalidated: set[tuple[int, int]] = set()
        self.icache_invalidated = False

    def read(self, reg: str) -> int:
        if reg == "CCSIDR":
            if not self.chip.l1_caches:
                self.fail("CCSIDR read on a core without caches")
            return F7_DCACHE_CCSIDR if self.r["CSSELR"] == 0 else 0
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg == "AIRCR" and value >> 16 == AIRCR_KEY and value & 0x4:
            self.fail("SYSRESETREQ: the firmware reset the chip (its fault handler?)")
        if reg == "CPACR" and not self.chip.fpu:
            self.fail("CPACR written on a core without an FPU")
        if reg == "CCR":
            self._check_cache_enable(value)
        self.r[reg] = value

    def _check_cache_enable(self, value: int) -> None:
        old = self.r["CCR"]
        if value & ~old & CCR_IC and not self.icache_invalidated:
            self.fail("I-cache enabled without ICIALLU first (Cortex-M7 TRM: invalidate before enabling)")
        all_lines = {(s, w) for s in range(F7_DCACHE_SETS) for w in range(F7_DCACHE_WAYS)}
        if value & ~old & CCR_DC and self.dcache_invalidated != all_lines:
            missing = len(all_lines - self.dcache_invalidated)
            self.fail(f"D-cache enabled with {missing} of {len(all_lines)} set/way lines not invalidated")


class CacheMaintenance(Peripheral):
    name, base, size = "CACHE", 0xE000EF50, 0x30
    follows = "ARMv7-M ARM B2.2.7: ICIALLU, DCISW (set/way encoding from CCSIDR)"
    regs = table({0x00: ("ICIALLU", 0), 0x10: ("DCISW", 0)})

    def accessible(self, op: str) -> None:
        if not self.chip.l1_caches:
            self.fail("cache maintenance on a core without caches")

    def write(self, reg: str, value: int) -> None:
        scb = self.chip.p["SCB"]
        if reg == "ICIALLU":
            scb.icache_invalidated = True
        else:  # 32-byte lines: set in bits [10:5], 4 ways: way in bits [31:30]
            scb.dcache_invalidated.add(((value >> 5) & (F7_DCACHE_SETS - 1), value >> 30))
        self.r[reg] = value


class SysTick(Peripheral):
    name, base, size = "SYST", 0xE000E010, 0x10
    follows = "ARMv7-M ARM B3.3 / ARMv6-M ARM B3.3: CSR, RVR, CVR counting the processor clock"
    regs = table({0x0: ("CSR", 0), 0x4: ("RVR", 0), 0x8: ("CVR", 0), 0xC: ("CALIB", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.started_at = 0

    def read(self, reg: str) -> int:
        if reg == "CVR" and self.r["CSR"] & 1:
            period = self.r["RVR"] + 1
            return (self.r["RVR"] - (self.now - self.started_at)) % period
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg == "RVR" and value > SYST_RELOAD_MAX:
            self.fail(f"RVR {value:#x} is wider than 24 bits")
        if reg == "CSR" and value & 1 and not self.r["CSR"] & 1:
            if not value & 4:
                self.fail("SysTick on the external reference clock: tinykit counts the processor clock")
            self.started_at = self.now
        self.r[reg] = 0 if reg == "CVR" else value


class Dwt(Peripheral):
    name, base, size = "DWT", 0xE0001000, 0x1000
    follows = "ARMv7-M ARM C1.8.3 (CYCCNT counts only with DEMCR.TRCENA and CTRL.CYCCNTENA), C1.8.7"
    regs = table({0x000: ("CTRL", 0x40000000), 0x004: ("CYCCNT", 0), 0xFB0: ("LAR", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.started_at: int | None = None

    def accessible(self, op: str) -> None:
        if not self.chip.dwt:
            self.fail("DWT accessed on a core without a cycle counter (ARMv6-M)")
        if op == "w" and not self.chip.p["SCB"].r["DEMCR"] & DEMCR_TRCENA:
            self.fail("DWT written before DEMCR.TRCENA enabled it")

    def read(self, reg: str) -> int:
        if reg == "CYCCNT" and self.started_at is not None:
            return (self.r["CYCCNT"] + self.now - self.started_at) & 0xFFFFFFFF
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg == "CTRL" and value & 1 and self.started_at is None:
            self.started_at = self.now
        self.r[reg] = value


CORE_PERIPHERALS = (Scb, CacheMaintenance, SysTick, Dwt)
