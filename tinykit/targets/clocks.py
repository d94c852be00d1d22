"""Clock trees from board data: PLL factors, wait states, prescalers and UART divisors, computed here.

A board file states the clock its core runs at (``clock_hz``) and, for a real chip, how to get there
(``clock:``: the oscillator, its frequency, caches, and whether to keep the reset clock). This module
turns that into the register values each family's start-up writes (``firmware/hal/<platform>.c``
writes them in the order its reference manual prescribes; the values are never computed in C or in
a template). Every limit below names the manual section it comes from; docs/boards.md has the trees.

- STM32L4+ (RM0432, cited by section title): RCC "PLL" (VCO input 2.66-16 MHz, output 64-344 MHz,
  PLLN 8-127, PLLR 2/4/6/8, PLLCLK <= 120 MHz); FLASH "Read access latency" (wait states per HCLK
  and voltage range); PWR "Dynamic voltage scaling management" (Range 1 boost mode above 80 MHz:
  R1MODE, AHB /2 across the switch, SYSCLK restored >= 1 us later).
- STM32F7 (RM0385): RCC "PLL" (VCO input 1-2 MHz, output 100-432 MHz, PLLN 50-432, PLLP 2/4/6/8,
  PLLQ 2-15; APB1 <= 54 MHz, APB2 <= 108 MHz); FLASH "Relation between CPU clock frequency and
  Flash memory read time" (2.7-3.6 V); PWR "Entering Over-drive mode" (above 180 MHz).
- nRF52840 (Product Specification v1.7): CLOCK "HFCLK controller" (the CPU always runs at 64 MHz;
  HFXO is the accurate source), UART "BAUDRATE".
- RP2040 (datasheet): 2.18 PLL (FBDIV 16-320, VCO 750-1600 MHz, POSTDIV 1-7, FREF/REFDIV >= 5 MHz),
  2.16 XOSC (start-up delay), 4.2 UART (the Arm PL011's IBRD/FBRD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MHZ = 1_000_000
Define = tuple[str, int]

# Reset clocks: what the core runs at before any start-up code (and with ``speed: reset``).
# RP2040: its ring oscillator is too imprecise for a UART, so "reset" means the 12 MHz crystal
# without the PLL (RP2040 datasheet 2.15 Clocks, 2.16 XOSC).
RESET_HZ = {"stm32l4": 4 * MHZ, "stm32f7": 16 * MHZ, "nrf52": 64 * MHZ, "rp2040": 12 * MHZ}
SOURCES = {"stm32l4": ("msi", "hsi16", "hse"), "stm32f7": ("hsi", "hse"), "nrf52": ("hfxo", "hfint"),
           "rp2040": ("xosc",)}
FIXED_SOURCE_HZ = {"msi": 4 * MHZ, "hsi16": 16 * MHZ, "hsi": 16 * MHZ, "hfxo": 32 * MHZ, "hfint": 64 * MHZ}


class ClockError(ValueError):
    """A clock the chip cannot run (the board file's clock section is wrong)."""


@dataclass(frozen=True)
class ClockPlan:
    """What the start-up programs, and the clocks that result (core, console UART kernel clock)."""

    sysclk_hz: int
    uart_clock_hz: int
    summary: str
    defines: list[Define] = field(default_factory=list)


def _divides(num: int, den: int) -> int | None:
    return num // den if num % den == 0 else None


# ---- STM32L4+ (RM0432) ----------------------------------------------------------------------

L4_PLLSRC = {"msi": 1, "hsi16": 2, "hse": 3}  # RCC_PLLCFGR.PLLSRC
L4_OSC_BITS = {"msi": (0, 1), "hsi16": (8, 10), "hse": (16, 17)}  # RCC_CR: ON bit, RDY bit
L4_HSEBYP = 1 << 18
L4_WAIT_STATES = {"boost": (20, 40, 60, 80, 100, 120), "normal": (20, 40, 60, 80), "range2": (8, 16, 26)}
L4_BOOST_ABOVE_HZ = 80 * MHZ
L4_ACR_PRFTEN, L4_ACR_ICEN, L4_ACR_DCEN = 1 << 8, 1 << 9, 1 << 10  # FLASH_ACR
L4_HPRE_DIV2 = 0x8 << 4  # RCC_CFGR.HPRE = 1000: SYSCLK / 2
BOOST_SETTLE_S = 1e-6


def wait_states(table: tuple[int, ...], hclk_hz: int, what: str) -> int:
    """The fewest flash wait states whose HCLK limit (MHz) covers ``hclk_hz``."""
    for ws, limit_mhz in enumerate(table):
        if hclk_hz <= limit_mhz * MHZ:
            return ws
    raise ClockError(f"{hclk_hz / MHZ:g} MHz is above what the flash allows in {what} "
                     f"({table[-1]} MHz)")


def _l4_pll(src_hz: int, target: int) -> tuple[int, int, int]:
    """(M, N, R) with the highest VCO input in range (least jitter), then the lowest VCO."""
    best = None
    for m in range(1, 17):
        vin = src_hz / m
        if not 2.66 * MHZ <= vin <= 16 * MHZ:
            continue
        for r in (2, 4, 6, 8):
            n = _divides(target * r * m, src_hz)
            if n is None or not 8 <= n <= 127 or not 64 * MHZ <= vin * n <= 344 * MHZ:
                continue
            key = (-vin, vin * n)
            if best is None or key < best[0]:
                best = (key, (m, n, r))
    if best is None:
        raise ClockError(f"no PLL setting (RM0432 RCC, PLL) makes {target / MHZ:g} MHz from "
                         f"{src_hz / MHZ:g} MHz")
    return best[1]


def _stm32l4(clock_hz: int, clock: Any) -> ClockPlan:
    acr_caches = (L4_ACR_PRFTEN | L4_ACR_ICEN | L4_ACR_DCEN) if clock.caches else 0
    if clock.speed == "reset":
        return ClockPlan(RESET_HZ["stm32l4"], RESET_HZ["stm32l4"], "MSI 4 MHz (reset clock), 0 wait states",
                         [("TK_CLK_PLL", 0), ("TK_CLK_FLASH_ACR", acr_caches), ("TK_CLK_FLASH_LATENCY", 0)])
    if clock_hz > 120 * MHZ:
        raise ClockError(f"STM32L4+ runs at most 120 MHz, not {clock_hz / MHZ:g} MHz (RM0432)")
    boost = clock_hz > L4_BOOST_ABOVE_HZ
    ws = wait_states(L4_WAIT_STATES["boost" if boost else "normal"], clock_hz, "range 1")
    m, n, r = _l4_pll(clock.source_hz, clock_hz)
    on, rdy = L4_OSC_BITS[clock.source]
    pllcfgr = L4_PLLSRC[clock.source] | (m - 1) << 4 | n << 8 | 1 << 24 | (r // 2 - 1) << 25
    settle = math.ceil(BOOST_SETTLE_S * clock_hz) if boost else 0
    defines = [("TK_CLK_PLL", 1), ("TK_CLK_BOOST", int(boost)), ("TK_CLK_HPRE_DIV2", L4_HPRE_DIV2),
               ("TK_CLK_SETTLE_LOOPS", settle), ("TK_CLK_FLASH_LATENCY", ws),
               ("TK_CLK_FLASH_ACR", ws | acr_caches), ("TK_CLK_OSC_ON", 1 << on), ("TK_CLK_OSC_RDY", 1 << rdy),
               ("TK_CLK_OSC_BYPASS", L4_HSEBYP if clock.bypass else 0), ("TK_CLK_PLLCFGR", pllcfgr)]
    summary = (f"{clock.source.upper()} {clock.source_hz / MHZ:g} MHz -> PLL (M={m}, N={n}, R={r}, "
               f"VCO {clock.source_hz // m * n / MHZ:g} MHz) -> {clock_hz / MHZ:g} MHz, {ws} wait states"
               + (", range 1 boost" if boost else ""))
    return ClockPlan(clock_hz, clock_hz, summary, defines)


# ---- STM32F7 (RM0385) -----------------------------------------------------------------------

F7_WAIT_STATES = (30, 60, 90, 120, 150, 180, 210, 216)  # 2.7-3.6 V (RM0385 FLASH read latency table)
F7_OVERDRIVE_ABOVE_HZ = 180 * MHZ
F7_APB1_MAX_HZ, F7_APB2_MAX_HZ = 54 * MHZ, 108 * MHZ
F7_PPRE = {1: 0, 2: 4, 4: 5, 8: 6, 16: 7}  # RCC_CFGR.PPREx codes
F7_OSC_BITS = {"hsi": (0, 1), "hse": (16, 17)}
F7_HSEBYP = 1 << 18
F7_ACR_PRFTEN, F7_ACR_ARTEN = 1 << 8, 1 << 9  # FLASH_ACR
USB_CLOCK_HZ = 48 * MHZ


def _f7_pll(src_hz: int, target: int) -> tuple[int, int, int, int]:
    """(M, N, P, Q): VCO input nearest 2 MHz (RM0385 recommends 2 MHz to limit jitter)."""
    best = None
    for m in range(2, 64):
        vin = src_hz / m
        if not 1 * MHZ <= vin <= 2 * MHZ:
            continue
        for p in (2, 4, 6, 8):
            n = _divides(target * p * m, src_hz)
            if n is None or not 50 <= n <= 432 or not 100 * MHZ <= vin * n <= 432 * MHZ:
                continue
            key = (-vin, p)
            if best is None or key < best[0]:
                q = max(2, min(15, math.ceil(vin * n / USB_CLOCK_HZ)))
                best = (key, (m, n, p, q))
    if best is None:
        raise ClockError(f"no PLL setting (RM0385 RCC, PLL) makes {target / MHZ:g} MHz from {src_hz / MHZ:g} MHz")
    return best[1]


def _apb_divider(hclk: int, limit: int) -> int:
    return next(d for d in sorted(F7_PPRE) if hclk / d <= limit)


def _stm32f7(clock_hz: int, clock: Any) -> ClockPlan:
    acr = (F7_ACR_PRFTEN | F7_ACR_ARTEN) if clock.caches else 0
    common = [("TK_CLK_CACHES", int(clock.caches))]
    if clock.speed == "reset":
        hz = RESET_HZ["stm32f7"]
        return ClockPlan(hz, hz, "HSI 16 MHz (reset clock), 0 wait states",
                         [*common, ("TK_CLK_PLL", 0), ("TK_CLK_FLASH_ACR", acr), ("TK_CLK_FLASH_LATENCY", 0)])
    if clock_hz > 216 * MHZ:
        raise ClockError(f"STM32F7 runs at most 216 MHz, not {clock_hz / MHZ:g} MHz (RM0385)")
    m, n, p, q = _f7_pll(clock.source_hz, clock_hz)
    ws = wait_states(F7_WAIT_STATES, clock_hz, "2.7-3.6 V")
    apb1, apb2 = _apb_divider(clock_hz, F7_APB1_MAX_HZ), _apb_divider(clock_hz, F7_APB2_MAX_HZ)
    on, rdy = F7_OSC_BITS[clock.source]
    pllcfgr = m | n << 6 | (p // 2 - 1) << 16 | int(clock.source == "hse") << 22 | q << 24
    defines = [*common, ("TK_CLK_PLL", 1), ("TK_CLK_OVERDRIVE", int(clock_hz > F7_OVERDRIVE_ABOVE_HZ)),
               ("TK_CLK_PLLCFGR", pllcfgr), ("TK_CLK_FLASH_LATENCY", ws), ("TK_CLK_FLASH_ACR", ws | acr),
               ("TK_CLK_PPRE", F7_PPRE[apb1] << 10 | F7_PPRE[apb2] << 13),
               ("TK_CLK_OSC_ON", 1 << on), ("TK_CLK_OSC_RDY", 1 << rdy),
               ("TK_CLK_OSC_BYPASS", F7_HSEBYP if clock.bypass else 0)]
    summary = (f"{clock.source.upper()}{' bypass' if clock.bypass else ''} {clock.source_hz / MHZ:g} MHz -> "
               f"PLL (M={m}, N={n}, P={p}, Q={q}) -> {clock_hz / MHZ:g} MHz, {ws} wait states, "
               f"APB1 /{apb1}, APB2 /{apb2}" + (", over-drive" if clock_hz > F7_OVERDRIVE_ABOVE_HZ else ""))
    return ClockPlan(clock_hz, clock_hz // apb2, summary, defines)


# ---- nRF52840 (PS v1.7) ---------------------------------------------------------------------

def _nrf52(clock_hz: int, clock: Any) -> ClockPlan:
    if clock_hz != 64 * MHZ:
        raise ClockError("the nRF52840 CPU always runs at 64 MHz (nRF52840 PS v1.7, CLOCK): set clock_hz: 64000000")
    hfxo = clock.speed == "full" and clock.source == "hfxo"
    defines = [("TK_CLK_HFXO", int(hfxo)), ("TK_CLK_ICACHE", int(clock.caches))]
    summary = ("HFXO 32 MHz crystal" if hfxo else "HFINT (reset)") + " -> 64 MHz" + \
        (", instruction cache" if clock.caches else "")
    return ClockPlan(clock_hz, 16 * MHZ, summary, defines)  # the UART counts a 16 MHz HFCLK branch


# ---- RP2040 (datasheet) ---------------------------------------------------------------------

RP_XOSC_STARTUP_S = 1e-3
RP_XOSC_STARTUP_UNIT = 256  # XOSC_STARTUP.DELAY counts 256 crystal cycles (datasheet 2.16)


def _rp2040_pll(ref_hz: int, target: int) -> tuple[int, int, int, int]:
    """(REFDIV, FBDIV, POSTDIV1, POSTDIV2): the highest VCO (least jitter, datasheet 2.18), POSTDIV1 >= POSTDIV2."""
    best = None
    for refdiv in range(1, 64):
        fref = ref_hz / refdiv
        if fref < 5 * MHZ:
            break
        for pd1 in range(1, 8):
            for pd2 in range(1, pd1 + 1):
                vco = target * pd1 * pd2
                fb = _divides(vco * refdiv, ref_hz)
                if fb is None or not 16 <= fb <= 320 or not 750 * MHZ <= vco <= 1600 * MHZ:
                    continue
                key = (-vco, -pd1, refdiv)
                if best is None or key < best[0]:
                    best = (key, (refdiv, fb, pd1, pd2))
    if best is None:
        raise ClockError(f"no PLL_SYS setting (RP2040 datasheet 2.18) makes {target / MHZ:g} MHz "
                         f"from {ref_hz / MHZ:g} MHz")
    return best[1]


def _rp2040(clock_hz: int, clock: Any) -> ClockPlan:
    xosc = clock.source_hz
    delay = math.ceil(xosc * RP_XOSC_STARTUP_S / RP_XOSC_STARTUP_UNIT)
    common = [("TK_CLK_XOSC_STARTUP", delay)]
    if clock.speed == "reset" or clock_hz == xosc:
        return ClockPlan(xosc, xosc, f"XOSC {xosc / MHZ:g} MHz crystal, no PLL", [*common, ("TK_CLK_PLL", 0)])
    if clock_hz > 133 * MHZ:
        raise ClockError(f"RP2040 runs at most 133 MHz, not {clock_hz / MHZ:g} MHz (RP2040 datasheet 2.15)")
    refdiv, fb, pd1, pd2 = _rp2040_pll(xosc, clock_hz)
    defines = [*common, ("TK_CLK_PLL", 1), ("TK_CLK_PLL_REFDIV", refdiv), ("TK_CLK_PLL_FBDIV", fb),
               ("TK_CLK_PLL_PRIM", pd1 << 16 | pd2 << 12)]
    summary = (f"XOSC {xosc / MHZ:g} MHz -> PLL_SYS (REFDIV={refdiv}, FBDIV={fb}, VCO "
               f"{xosc // refdiv * fb / MHZ:g} MHz, POSTDIV {pd1}x{pd2}) -> clk_sys = clk_peri = "
               f"{clock_hz / MHZ:g} MHz")
    return ClockPlan(clock_hz, clock_hz, summary, defines)


FAMILIES = {"stm32l4": _stm32l4, "stm32f7": _stm32f7, "nrf52": _nrf52, "rp2040": _rp2040}


def plan_clock(platform: str, clock_hz: int, clock: Any | None) -> ClockPlan:
    """The start-up's clock plan for a board (``clock`` is the board file's section, or None)."""
    family = FAMILIES.get(platform)
    if clock is None:
        if family is not None:
            raise ClockError(f"a {platform} board needs a clock: section (its start-up programs the clock tree)")
        return ClockPlan(clock_hz, clock_hz, f"{clock_hz / MHZ:g} MHz, fixed")
    if family is None:
        raise ClockError(f"platform {platform} has a fixed clock: remove the clock: section")
    if clock.source not in SOURCES[platform]:
        raise ClockError(f"clock source {clock.source!r} is not one of {platform}'s: {', '.join(SOURCES[platform])}")
    fixed = FIXED_SOURCE_HZ.get(clock.source)
    if fixed is not None and clock.source_hz != fixed:
        raise ClockError(f"{clock.source} runs at {fixed} Hz, not {clock.source_hz}")
    if clock.bypass and clock.source != "hse":
        raise ClockError("bypass applies to an HSE driven by an external clock, not to " + clock.source)
    plan = family(clock_hz, clock)
    if clock.speed == "full" and plan.sysclk_hz != clock_hz:
        raise ClockError(f"clock_hz {clock_hz} is not what the clock tree gives ({plan.sysclk_hz})")
    return plan


def reset_hz(platform: str, clock_hz: int) -> int:
    """The core clock a board runs at with ``speed: reset`` (``tinykit build --clock reset``)."""
    return RESET_HZ.get(platform, clock_hz)


# ---- UART divisors --------------------------------------------------------------------------

LPUART_BRR_MIN, LPUART_BRR_MAX = 0x300, 0xFFFFF  # RM0432 LPUART: 256 * fck / baud in [0x300, 2^20)
LPUART_PRESC = (1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256)  # LPUART_PRESC codes 0-11 (STM32L4+)
USART_BRR_MIN = 16  # RM0385 USART (oversampling by 16): BRR >= 16
NRF_BAUD_STEP = 0x1000  # the PS's BAUDRATE table: baud * 2^32 / 16 MHz rounded to 0x1000
NRF_UART_CLOCK_HZ = 16 * MHZ


def uart_divisors(kind: str, clock_hz: int, baud: int) -> list[Define]:
    """The console UART's divisor register values for ``baud`` at its kernel clock ``clock_hz``."""
    if kind == "stm32_lpuart":  # the smallest kernel-clock prescaler that brings BRR and fck in range
        for code, div in enumerate(LPUART_PRESC):
            fck = clock_hz / div
            brr = round(256 * fck / baud)
            if LPUART_BRR_MIN <= brr <= LPUART_BRR_MAX and 3 * baud <= fck <= 4096 * baud:
                return [("TK_UART_PRESC", code), ("TK_UART_BRR", brr)]
        raise ClockError(f"LPUART cannot make {baud} baud from {clock_hz / MHZ:g} MHz")
    if kind == "stm32_usart":
        brr = round(clock_hz / baud)
        if not USART_BRR_MIN <= brr <= 0xFFFF:
            raise ClockError(f"USART cannot make {baud} baud from {clock_hz / MHZ:g} MHz (BRR {brr})")
        return [("TK_UART_BRR", brr)]
    if kind == "rp2040_pl011":
        div64 = round(4 * clock_hz / baud)  # (clk / (16 baud)) in 1/64ths, rounded (Arm PL011 TRM, baud rate divisor)
        ibrd, fbrd = div64 >> 6, div64 & 63
        if not 1 <= ibrd <= 0xFFFF:
            raise ClockError(f"PL011 cannot make {baud} baud from {clock_hz / MHZ:g} MHz")
        return [("TK_UART_IBRD", ibrd), ("TK_UART_FBRD", fbrd)]
    if kind == "nrf_uart":
        value = round(baud * (1 << 32) / NRF_UART_CLOCK_HZ / NRF_BAUD_STEP) * NRF_BAUD_STEP
        return [("TK_UART_BAUDRATE", value)]
    if kind == "cmsdk":
        return [("TK_UART_BAUDDIV", max(16, clock_hz // baud))]  # CMSDK APB UART: BAUDDIV >= 16
    raise ClockError(f"no divisor rule for UART kind {kind!r}")
