"""The flasher interface: every flasher puts a firmware build on a board and hands back a link.

A `DeviceLink` is a context manager holding the pyserial URL the device answers on; leaving it
releases whatever the flasher started (QEMU is stopped; real boards keep running).
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tinykit.errors import FlashError, ToolMissingError
from tinykit.firmware.build import ELF_NAME, read_build_record
from tinykit.targets.boards import Board, attachment


@dataclass
class DeviceLink:
    """Where the flashed firmware can be reached (a pyserial URL) and how to let go of it."""

    url: str
    board: str
    pid: int | None = None
    baud: int = 115200
    _release: Callable[[], None] | None = field(default=None, repr=False)

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> DeviceLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Flasher(ABC):
    """One kind of flashing (qemu, pyocd, uf2, openocd, esptool); behaviour lives here, not in YAML."""

    kind: str = ""
    tool: str = ""
    install_hint: str = ""

    def __init__(self, board: Board) -> None:
        self.board = board

    def require_tool(self, name: str | None = None) -> str:
        """Path of the flashing program, or ToolMissingError with the install command."""
        name = name or self.tool
        path = shutil.which(name)
        if path is None:
            raise ToolMissingError(f"{name} not found on PATH (needed to flash {self.board.id})",
                                   hint=f"install it: {self.install_hint}")
        return path

    def require_probe(self) -> None:
        """FlashError "no probe found" (naming what USB devices were seen) unless a probe is attached.

        A probe named in the user's config (``probe:``) is trusted as is: the flashing tool looks for it.
        """
        from tinykit.flash.discovery import attached_devices, describe, probes_for

        if attachment(self.board.id).probe:
            return
        devices = attached_devices()
        if probes_for(self.board, devices):
            return
        own = sorted({f"{u.name} {u.vid:04x}:{u.pid:04x}" for u in self.board.usb if u.role == "probe"})
        wanted = ", ".join(own) or "a CMSIS-DAP, ST-LINK or J-Link probe"
        raise FlashError(f"no probe found for {self.board.id} (looked for {wanted}; saw {describe(devices)})",
                         hint=f"connect the {self.board.name} by USB (its debug probe), then check with "
                              "`tinykit doctor`")

    def firmware(self, build_dir: Path | str) -> Path:
        """The ELF of a build for this board (FlashError for a missing or foreign build)."""
        build_dir = Path(build_dir)
        try:
            record = read_build_record(build_dir)
        except Exception as err:  # BuildError: not a build directory
            raise FlashError(str(err), hint=getattr(err, "hint", None)) from None
        if record.get("board") != self.board.id:
            raise FlashError(f"{build_dir} was built for {record.get('board')}, not {self.board.id}",
                             hint=f"rebuild with `tinykit build MODEL --board {self.board.id} -o DIR`")
        elf = build_dir / ELF_NAME
        if not elf.exists():
            raise FlashError(f"{elf} is missing", hint="rebuild the firmware with `tinykit build`")
        return elf

    def serial_url(self, port: str | None, baud: int) -> DeviceLink:
        """Link for a real board: the serial port from --port or the user's tinykit config."""
        where = attachment(self.board.id, port)
        if where.port is None:
            raise FlashError(
                f"no serial port known for {self.board.id}: the firmware is flashed but tinykit "
                "cannot talk to it",
                hint=f"pass --port /dev/ttyACM0 or add `{self.board.id}: {{port: /dev/ttyACM0}}` "
                     "to ~/.config/tinykit/boards.yaml (or $TINYKIT_CONFIG)")
        return DeviceLink(url=where.port, board=self.board.id, baud=baud)

    @abstractmethod
    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        """Put the firmware of ``build_dir`` on the board; the link tells where it answers."""
