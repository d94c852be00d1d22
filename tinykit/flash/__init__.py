"""Flashers behind one interface: `get_flasher(board).flash(build_dir, port)` -> DeviceLink."""

from __future__ import annotations

from tinykit.flash.base import DeviceLink, Flasher
from tinykit.flash.probes import EsptoolFlasher, OpenocdFlasher, PyocdFlasher
from tinykit.flash.qemu import QemuFlasher, stop_detached
from tinykit.flash.uf2 import Uf2Flasher
from tinykit.targets.boards import Board, load_board

FLASHERS: dict[str, type[Flasher]] = {
    "qemu": QemuFlasher,
    "pyocd": PyocdFlasher,
    "uf2": Uf2Flasher,
    "openocd": OpenocdFlasher,
    "esptool": EsptoolFlasher,
}


def get_flasher(board: Board | str) -> Flasher:
    """The flasher the board file names (its `flasher.kind`)."""
    b = load_board(board)
    return FLASHERS[b.flasher.kind](b)


__all__ = ["FLASHERS", "DeviceLink", "Flasher", "get_flasher", "stop_detached"]
