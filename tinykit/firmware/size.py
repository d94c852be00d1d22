"""What a firmware costs: section sizes read back from the ELF, and the error when it cannot fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tinykit.errors import BoardFitError
from tinykit.firmware.context import ModelLibrary
from tinykit.targets.boards import Board


@dataclass(frozen=True)
class SizeReport:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int
    flash_used: int
    ram_used: int
    flash_total: int
    ram_total: int
    model_data: int = 0  # flash bytes of the model's constants (weights, biases, requantization tables)

    @property
    def runtime_code(self) -> int:
        """Flash that is not model data: kernels, runner, startup, libc. The figure TFLite Micro's
        "firmware .text minus model bytes" is compared with."""
        return self.flash_used - self.model_data


def size_report(elf: Path, board: Board, model_name: str = "model") -> SizeReport:
    """Section sizes from the ELF; flash = code + constants + .data image, RAM = data + bss + stack.

    Model data is every constant object the generated library defines (``<model_name>_*`` in
    .rodata), so runtime code can be told apart from what the model itself brings.
    """
    with open(elf, "rb") as fh:
        elf_file = ELFFile(fh)
        sizes = {s.name: s["sh_size"] for s in elf_file.iter_sections()}
        symtab = elf_file.get_section_by_name(".symtab")
        symbols = {name: symtab.get_symbol_by_name(name) for name in ("__stack_top", "__stack_limit")}
        model_data = _model_data_bytes(elf_file, symtab, f"{model_name}_")
    if all(symbols.values()):
        sizes[".stack"] = symbols["__stack_top"][0]["st_value"] - symbols["__stack_limit"][0]["st_value"]
    text = sizes.get(".text", 0) + sizes.get(".ARM.exidx", 0) + sizes.get(".boot2", 0)
    rodata, data = sizes.get(".rodata", 0), sizes.get(".data", 0)
    bss, stack = sizes.get(".bss", 0), sizes.get(".stack", 0)
    return SizeReport(text=text, rodata=rodata, data=data, bss=bss, stack=stack,
                      flash_used=text + rodata + data, ram_used=data + bss + stack,
                      flash_total=board.memory.flash.size, ram_total=board.memory.ram.size,
                      model_data=model_data)


def _model_data_bytes(elf_file: ELFFile, symtab, prefix: str) -> int:
    rodata = elf_file.get_section_by_name(".rodata")
    if symtab is None or rodata is None:
        return 0
    index = next(i for i, sec in enumerate(elf_file.iter_sections()) if sec.name == ".rodata")
    return sum(sym["st_size"] for sym in symtab.iter_symbols()
               if sym.name.startswith(prefix) and sym["st_info"]["type"] == "STT_OBJECT"
               and sym["st_shndx"] == index)


def fit_error(board: Board, arena: int, weights: int, size: SizeReport | None) -> BoardFitError:
    """BoardFitError naming what overflowed by how much, and what to try."""
    ram_total, flash_total = board.memory.ram.size, board.memory.flash.size
    if size is None:
        ram_used, flash_used = arena + board.stack_bytes, weights
        ram = f"RAM needs at least {ram_used:,} bytes (arena {arena:,} + stack {board.stack_bytes:,})"
        flash = f"flash needs at least {weights:,} bytes of weights"
    else:
        ram_used, flash_used = size.ram_used, size.flash_used
        ram = f"RAM needs {size.ram_used:,} bytes (arena {arena:,}, other data+bss " \
              f"{size.data + size.bss - arena:,}, stack {size.stack:,})"
        flash = f"flash needs {size.flash_used:,} bytes (.text {size.text:,}, .rodata {size.rodata:,} " \
                f"incl. weights {weights:,}, .data {size.data:,})"
    parts = [f"{ram} of {ram_total:,}" if ram_used > ram_total else "",
             f"{flash} of {flash_total:,}" if flash_used > flash_total else ""]
    detail = "; ".join(p for p in parts if p) or f"{ram} of {ram_total:,}; {flash} of {flash_total:,}"
    return BoardFitError(
        f"model does not fit {board.id}: {detail}",
        hint=f"prune or shrink the model, search a fitting size with `tinykit fit --board {board.id}`, "
             "or pick a bigger board (`tinykit boards`)",
    )


def precheck_fit(board: Board, lib: ModelLibrary) -> None:
    """Fail fast, before compiling, when the arena or the weights alone cannot fit."""
    if (lib.arena_bytes + board.stack_bytes > board.memory.ram.size
            or lib.weight_bytes > board.memory.flash.size):
        raise fit_error(board, lib.arena_bytes, lib.weight_bytes, None)
