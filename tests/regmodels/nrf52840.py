"""nRF52840 (Arduino Nano 33 BLE Sense) register models, written from the nRF52840 Product Specification v1.7.

- CLOCK: "HFCLK controller": TASKS_HFCLKSTART starts the 32 MHz crystal; EVENTS_HFCLKSTARTED is
  generated once it runs; HFCLKSTAT.SRC/STATE then read Xtal/running. The CPU runs at 64 MHz either way.
- NVMC: ICACHECNF.CACHEEN (instruction cache), READY.
- GPIO P0/P1: OUTSET, DIRSET, PIN_CNF (the UART's TXD pin must be an output driven high).
- UART0 (the legacy, non-EasyDMA register set at the UARTE0 address): ENABLE = 4, PSELTXD/PSELRXD
  (pin number + port * 32, bit 31 = disconnected), BAUDRATE (baud = value * 16 MHz / 2^32),
  TASKS_STARTTX, TXD, EVENTS_TXDRDY.
"""

from __future__ import annotations

from regmodels.core import CORE_PERIPHERALS
from regmodels.machine import Chip, Peripheral, table

MHZ = 1_000_000
HFXO_START_DELAY = 200
TXDRDY_DELAY = 4
UART_ENABLE = 4


class Clock(Peripheral):
    name, base, size = "CLOCK", 0x40000000, 0x1000
    follows = "nRF52840 PS v1.7 CLOCK: TASKS_HFCLKSTART, EVENTS_HFCLKSTARTED, HFCLKSTAT"
    regs = table({0x000: ("TASKS_HFCLKSTART", 0), 0x004: ("TASKS_HFCLKSTOP", 0), 0x100: ("EVENTS_HFCLKSTARTED", 0),
            0x408: ("HFCLKRUN", 0), 0x40C: ("HFCLKSTAT", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.started_at: int | None = None
        self.fired = False

    def running(self) -> bool:
        return self.started_at is not None and self.now >= self.started_at

    def read(self, reg: str) -> int:
        if reg == "EVENTS_HFCLKSTARTED" and self.running() and not self.fired:
            self.fired, self.r[reg] = True, 1
        if reg == "HFCLKSTAT":
            return (1 | 1 << 16) if self.running() else 0
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg == "TASKS_HFCLKSTART" and value & 1:
            if self.r["EVENTS_HFCLKSTARTED"]:
                self.fail("HFCLKSTART triggered with EVENTS_HFCLKSTARTED still set: a stale event would pass the wait")
            self.started_at, self.fired = self.now + HFXO_START_DELAY, False
        self.r[reg] = value


class Nvmc(Peripheral):
    name, base, size = "NVMC", 0x4001E000, 0x1000
    follows = "nRF52840 PS v1.7 NVMC: READY, CONFIG, ICACHECNF"
    regs = table({0x400: ("READY", 1), 0x504: ("CONFIG", 0), 0x540: ("ICACHECNF", 0)})


class Gpio(Peripheral):
    name, base, size = "GPIO", 0x50000000, 0x1000
    follows = "nRF52840 PS v1.7 GPIO: P0 at 0x50000000, P1 at 0x50000300; OUT/OUTSET/OUTCLR, DIR/DIRSET, PIN_CNF"
    regs = table({port * 0x300 + off: (f"P{port}.{name}", reset)
            for port in (0, 1)
            for off, (name, reset) in {0x504: ("OUT", 0), 0x508: ("OUTSET", 0), 0x50C: ("OUTCLR", 0),
                                       0x510: ("IN", 0), 0x514: ("DIR", 0), 0x518: ("DIRSET", 0),
                                       0x51C: ("DIRCLR", 0),
                                       **{0x700 + 4 * n: (f"PIN_CNF{n}", 2) for n in range(32)}}.items()})

    def write(self, reg: str, value: int) -> None:
        port, name = reg.split(".")
        target = {"OUTSET": ("OUT", 1), "OUTCLR": ("OUT", 0), "DIRSET": ("DIR", 1), "DIRCLR": ("DIR", 0)}.get(name)
        if target:
            key = f"{port}.{target[0]}"
            self.r[key] = self.r[key] | value if target[1] else self.r[key] & ~value
        self.r[reg] = value

    def output_high(self, port: int, pin: int) -> bool:
        cnf_dir = self.r[f"P{port}.PIN_CNF{pin}"] & 1
        return bool((self.r[f"P{port}.DIR"] >> pin & 1 or cnf_dir) and self.r[f"P{port}.OUT"] >> pin & 1)


class Uart0(Peripheral):
    name, base, size = "UART0", 0x40002000, 0x1000
    follows = "nRF52840 PS v1.7 UART (legacy): ENABLE, PSELTXD/PSELRXD, BAUDRATE, CONFIG, STARTTX, TXD, TXDRDY"
    regs = table({0x000: ("TASKS_STARTRX", 0), 0x008: ("TASKS_STARTTX", 0), 0x108: ("EVENTS_RXDRDY", 0),
            0x11C: ("EVENTS_TXDRDY", 0), 0x124: ("EVENTS_ERROR", 0), 0x480: ("ERRORSRC", 0), 0x500: ("ENABLE", 0),
            0x50C: ("PSELTXD", 0xFFFFFFFF), 0x514: ("PSELRXD", 0xFFFFFFFF), 0x518: ("RXD", 0), 0x51C: ("TXD", 0),
            0x524: ("BAUDRATE", 0x04000000), 0x56C: ("CONFIG", 0)})

    def __init__(self, chip) -> None:
        super().__init__(chip)
        self.tx_started = False
        self.txdrdy_at: int | None = None

    def read(self, reg: str) -> int:
        if reg == "EVENTS_TXDRDY" and self.txdrdy_at is not None and self.now >= self.txdrdy_at:
            self.r["EVENTS_TXDRDY"], self.txdrdy_at = 1, None
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        if reg in ("PSELTXD", "PSELRXD", "BAUDRATE", "CONFIG") and self.r["ENABLE"] == UART_ENABLE:
            self.fail(f"{reg} changed while the UART is enabled")
        if reg == "TASKS_STARTTX" and value & 1:
            if self.r["ENABLE"] != UART_ENABLE:
                self.fail("STARTTX before ENABLE = 4")
            self.tx_started = True
        if reg == "TXD":
            self._transmit(value & 0xFF)
        self.r[reg] = value

    def _transmit(self, byte: int) -> None:
        if not self.tx_started:
            self.fail("TXD written before TASKS_STARTTX")
        psel = self.r["PSELTXD"]
        if psel >> 31:
            self.fail("TXD written with PSELTXD disconnected")
        if not self.chip.p["GPIO"].output_high(psel >> 5 & 1, psel & 31):
            self.fail(f"TXD pin P{psel >> 5 & 1}.{psel & 31:02d} is not an output driven high")
        self.txdrdy_at = self.now + TXDRDY_DELAY
        baud = self.r["BAUDRATE"] * 16 * MHZ / (1 << 32)
        self.chip.tx.append((byte, baud))


class Nrf52840(Chip):
    peripherals = (*CORE_PERIPHERALS, Clock, Nvmc, Gpio, Uart0)
    fpu, dwt, l1_caches = True, True, False

    def core_hz(self) -> int:
        return 64 * MHZ
