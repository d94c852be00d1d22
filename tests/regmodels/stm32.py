"""What the STM32L4+ and STM32F7 models share: GPIO ports, the USART/LPUART transmitter, clock gating.

GPIO: RM0432 "GPIO registers" / RM0385 "GPIO registers" (identical layout). USART/LPUART:
RM0432 "LPUART registers", RM0385 "USART registers" (the v2 layout with ISR/ICR/RDR/TDR). Both
manuals: a peripheral whose bus clock is disabled in the RCC does not take register accesses, and
after enabling it a dummy read (or two clock cycles) must pass before the first access.
"""

from __future__ import annotations

from regmodels.machine import Peripheral, table

ENABLE_SETTLE_INSTRUCTIONS = 2
BAUD_TOLERANCE = 0.02  # below the receiver tolerance both manuals tabulate for 8-bit frames
GPIO_REGS = {0x00: ("MODER", 0xFFFFFFFF), 0x04: ("OTYPER", 0), 0x08: ("OSPEEDR", 0), 0x0C: ("PUPDR", 0),
             0x10: ("IDR", 0), 0x14: ("ODR", 0), 0x18: ("BSRR", 0), 0x1C: ("LCKR", 0), 0x20: ("AFRL", 0),
             0x24: ("AFRH", 0)}
CR1_UE, CR1_RE, CR1_TE = 1 << 0, 1 << 2, 1 << 3
ISR_TXE_TC = (1 << 7) | (1 << 6)


class Gated(Peripheral):
    """A peripheral behind an RCC enable bit (``gate`` = (RCC register, bit))."""

    gate: tuple[str, int] = ("", 0)

    def accessible(self, op: str) -> None:
        rcc = self.chip.p["RCC"]
        reg, bit = self.gate
        if not rcc.r[reg] & 1 << bit:
            self.fail(f"accessed while its clock is off (RCC_{reg} bit {bit})")
        if self.now - rcc.enabled_at.get((reg, bit), -99) < ENABLE_SETTLE_INSTRUCTIONS:
            self.fail(f"accessed right after enabling its clock (RCC_{reg} bit {bit}): read it back first")


def gpio_port(letter: str, base: int, gate_reg: str) -> type[Gated]:
    index = ord(letter) - ord("A")
    return type(f"Gpio{letter}", (Gated,), {"name": f"GPIO{letter}", "base": base + 0x400 * index, "size": 0x400,
                                             "follows": "GPIO registers (MODER, OSPEEDR, AFRL/AFRH, BSRR)",
                                             "regs": GPIO_REGS, "gate": (gate_reg, index)})


class Transmitter(Gated):
    """USART/LPUART: BRR only while UE = 0; TDR only with UE and TE; the byte's baud is recorded."""

    regs = table({0x00: ("CR1", 0), 0x04: ("CR2", 0), 0x08: ("CR3", 0), 0x0C: ("BRR", 0), 0x18: ("RQR", 0),
            0x1C: ("ISR", ISR_TXE_TC), 0x20: ("ICR", 0), 0x24: ("RDR", 0), 0x28: ("TDR", 0)})
    brr_scale = 1  # LPUART: 256
    brr_min = 16
    tx_pin: tuple[str, int, int] = ("", 0, 0)  # port letter, pin, alternate function

    def kernel_hz(self) -> int:
        raise NotImplementedError

    def write(self, reg: str, value: int) -> None:
        if reg in ("BRR", "PRESC") and self.r["CR1"] & CR1_UE:
            self.fail(f"{reg} written while UE = 1 (it can only be written with the UART disabled)")
        if reg == "BRR" and value < self.brr_min:
            self.fail(f"BRR {value:#x} below the minimum {self.brr_min:#x}")
        if reg == "TDR":
            self._transmit(value & 0xFF)
        self.r[reg] = value

    def _transmit(self, byte: int) -> None:
        if (self.r["CR1"] & (CR1_UE | CR1_TE)) != CR1_UE | CR1_TE:
            self.fail("TDR written without UE and TE set")
        port, pin, af = self.tx_pin
        gpio = self.chip.p[f"GPIO{port}"]
        mode = gpio.r["MODER"] >> 2 * pin & 3
        afr = gpio.r["AFRL" if pin < 8 else "AFRH"] >> 4 * (pin % 8) & 0xF
        if (mode, afr) != (2, af):
            self.fail(f"byte sent while P{port}{pin} is in mode {mode} AF{afr}, not alternate function {af}")
        self.chip.pin_ready(port, pin)
        self.chip.tx.append((byte, self.brr_scale * self.kernel_hz() / self.r["BRR"]))
