"""A firmware ELF run from its reset vector in the unicorn CPU emulator, with register models on the bus.

Only the memories and peripherals a chip model declares are on the bus: any other address the
firmware reads or writes stops the run with a :class:`Violation` naming it. Peripheral models keep
their registers, answer reads (ready flags become set only some time after their enable bits are
written, as the silicon's do), enforce the reference manual's rules on each write (a rule broken is
a Violation) and log every access, so a test can check the order of the start-up's steps.

Time is counted in executed instructions (a code hook): on these in-order cores one instruction
takes at least one cycle, so instructions / clock is a lower bound on the time that has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from elftools.elf.elffile import ELFFile
from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_CODE,
    UC_HOOK_MEM_INVALID,
    UC_HOOK_MEM_READ,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    Uc,
    UcError,
)
from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_SP

PAGE = 0x1000
MAX_INSTRUCTIONS = 3_000_000


def table(regs: dict) -> MappingProxyType:
    """A read-only register table (class attributes are shared by every instance)."""
    return MappingProxyType(regs)


class Violation(AssertionError):
    """The firmware did something the chip's reference manual does not allow (or touched the unmodelled)."""


@dataclass(frozen=True)
class Access:
    t: int  # instructions executed before the access
    periph: str
    reg: str
    op: str  # "r" or "w"
    value: int


class Peripheral:
    """One peripheral: named registers at offsets, their reset values, the rules of its manual."""

    name: ClassVar[str] = ""
    base: ClassVar[int] = 0
    size: ClassVar[int] = 0x400
    follows: ClassVar[str] = ""  # the reference-manual sections this model is written from
    regs: ClassVar[MappingProxyType] = table({})  # offset -> (name, reset value)

    def __init__(self, chip: Chip) -> None:
        self.chip = chip
        self.r = {name: reset for name, reset in self.regs.values()}
        self.names = {off: name for off, (name, _) in self.regs.items()}

    @property
    def now(self) -> int:
        return self.chip.machine.instructions

    def fail(self, message: str) -> None:
        raise Violation(f"{self.name}: {message} (after {self.now} instructions)")

    def reg_name(self, offset: int, op: str) -> str:
        name = self.names.get(offset)
        if name is None:
            self.fail(f"{'write to' if op == 'w' else 'read of'} unmodelled register at "
                      f"{self.base + offset:#010x} (offset {offset:#x})")
        return name

    def read(self, reg: str) -> int:
        return self.r[reg]

    def write(self, reg: str, value: int) -> None:
        self.r[reg] = value

    def accessible(self, op: str) -> None:
        """Raise if the peripheral cannot be accessed now (clock gated, held in reset)."""


class Chip:
    """The peripherals of one chip, and the clocks they derive from its registers."""

    peripherals: ClassVar[tuple[type[Peripheral], ...]] = ()

    def __init__(self) -> None:
        self.machine: Machine
        self.p = {cls.name: cls(self) for cls in self.peripherals}
        self.tx: list[tuple[int, float]] = []  # (byte, baud at which it was sent)

    def core_hz(self) -> int:
        raise NotImplementedError

    def route(self, addr: int) -> tuple[Peripheral, int, str]:
        """(peripheral, offset, how) for an address on the bus: how is "" or an atomic alias."""
        for per in self.p.values():
            if per.base <= addr < per.base + per.size:
                return per, addr - per.base, ""
        raise Violation(f"access to unmodelled address {addr:#010x}")

    def pages(self) -> set[int]:
        found = set()
        for per in self.p.values():
            found |= set(range(per.base & ~(PAGE - 1), per.base + per.size, PAGE))
        return found


class Machine:
    """Unicorn running a firmware ELF on ``chip``'s bus (memories + peripherals), nothing else mapped."""

    def __init__(self, chip: Chip, cpu_model: int, memories: list[tuple[int, int]]) -> None:
        self.chip = chip
        chip.machine = self
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(cpu_model)
        self.memories = memories
        for base, size in memories:
            self.uc.mem_map(base, size)
        self.log: list[Access] = []
        self.instructions = 0
        self.error: BaseException | None = None
        self.stop_when: Callable[[], bool] = lambda: False
        self.code_hooks: list[Callable[[int], None]] = []
        for page in sorted(chip.pages()):
            self.uc.mmio_map(page, PAGE, self._mmio_read, page, self._mmio_write, page)
        self.uc.hook_add(UC_HOOK_CODE, self._code)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self._invalid)

    def guard_reads(self, begin: int, end: int, check: Callable[[int], None]) -> None:
        """Call ``check(addr)`` on every data read in [begin, end) (a Violation stops the run)."""

        def hook(uc: Uc, access: int, addr: int, size: int, value: int, _data: object) -> None:
            try:
                check(addr)
            except Violation as err:
                self._stop(err)

        self.uc.hook_add(UC_HOOK_MEM_READ, hook, begin=begin, end=end - 1)

    # -- loading ---------------------------------------------------------------------------------
    def load_elf(self, elf: Path) -> dict[str, int]:
        """Write every loadable segment at its load address; returns the ELF's symbols."""
        with open(elf, "rb") as fh:
            f = ELFFile(fh)
            for seg in f.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                    self.uc.mem_write(seg["p_paddr"], seg.data()[: seg["p_filesz"]])
            symtab = f.get_section_by_name(".symtab")
            return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}

    def word(self, addr: int) -> int:
        return int.from_bytes(self.uc.mem_read(addr, 4), "little")

    # -- running ---------------------------------------------------------------------------------
    def run(self, pc: int, sp: int, lr: int = 0xFFFFFFFF, max_instructions: int = MAX_INSTRUCTIONS) -> None:
        """Run from ``pc`` until ``stop_when()`` holds; a Violation or an emulator fault is raised."""
        self.uc.reg_write(UC_ARM_REG_SP, sp)
        self.uc.reg_write(UC_ARM_REG_LR, lr)
        try:
            self.uc.emu_start(pc | 1, 0xFFFFFFFF, count=max_instructions)
        except UcError as err:
            if self.error is None:
                pc_now = self.uc.reg_read(UC_ARM_REG_PC)
                self.error = Violation(f"emulator stopped: {err} at pc {pc_now:#010x}")
        if self.error is not None:
            raise self.error
        if not self.stop_when():
            raise Violation(f"start-up did not finish within {max_instructions} instructions")

    def _stop(self, err: BaseException) -> None:
        if self.error is None:
            self.error = err
        self.uc.emu_stop()

    def _code(self, uc: Uc, addr: int, size: int, _data: object) -> None:
        self.instructions += 1
        try:
            for hook in self.code_hooks:
                hook(addr)
        except Violation as err:
            self._stop(err)
            return
        if self.stop_when():
            uc.emu_stop()

    def _invalid(self, uc: Uc, access: int, addr: int, size: int, value: int, _data: object) -> bool:
        self._stop(Violation(f"access to unmodelled address {addr:#010x} (size {size})"))
        return False

    def _mmio(self, addr: int, op: str, value: int = 0) -> int:
        per, offset, alias = self.chip.route(addr)
        reg = per.reg_name(offset, op)
        per.accessible(op)
        if op == "r":
            value = per.read(reg)
        else:
            old = per.r[reg]
            value = {"": value, "xor": old ^ value, "set": old | value, "clr": old & ~value}[alias]
            per.write(reg, value & 0xFFFFFFFF)
        self.log.append(Access(self.instructions, per.name, reg, op, value))
        return value

    def _mmio_read(self, uc: Uc, offset: int, size: int, page: int) -> int:
        try:
            return self._mmio(page + offset, "r")
        except Violation as err:
            self._stop(err)
            return 0

    def _mmio_write(self, uc: Uc, offset: int, size: int, value: int, page: int) -> None:
        try:
            self._mmio(page + offset, "w", value)
        except Violation as err:
            self._stop(err)

    # -- reading the log -------------------------------------------------------------------------
    def writes(self, periph: str, reg: str) -> list[Access]:
        return [a for a in self.log if a.op == "w" and a.periph == periph and a.reg == reg]

    def first(self, pred: Callable[[Access], bool], what: str, after: int = -1) -> int:
        """Index in the log of the first access after ``after`` matching ``pred`` (AssertionError if none)."""
        for i in range(after + 1, len(self.log)):
            if pred(self.log[i]):
                return i
        raise AssertionError(f"start-up never did: {what}")

    def in_order(self, steps: list[tuple[str, Callable[[Access], bool]]]) -> list[int]:
        """Each step found after the previous one: the documented order of a start-up."""
        found, at = [], -1
        for what, pred in steps:
            at = self.first(pred, what + f" (after {found and steps[len(found) - 1][0]})", at)
            found.append(at)
        return found


def w(periph: str, reg: str, mask: int = 0, value: int | None = None) -> Callable[[Access], bool]:
    """A write to ``periph.reg`` whose ``mask`` bits equal ``value`` (default: all set)."""
    want = mask if value is None else value
    return lambda a: a.op == "w" and a.periph == periph and a.reg == reg and (a.value & mask) == want


def r(periph: str, reg: str, mask: int = 0, value: int | None = None) -> Callable[[Access], bool]:
    """A read of ``periph.reg`` that saw ``mask`` bits equal ``value`` (default: all set)."""
    want = mask if value is None else value
    return lambda a: a.op == "r" and a.periph == periph and a.reg == reg and (a.value & mask) == want
