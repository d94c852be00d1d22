"""Flashers that drive an external programmer: pyOCD and OpenOCD over SWD, esptool over serial."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tinykit.errors import FlashError, ToolMissingError
from tinykit.flash.base import DeviceLink, Flasher
from tinykit.targets.boards import attachment

FLASH_TIMEOUT_S = 180


def run_tool(cmd: list[str], what: str) -> None:
    """Run a flashing program; its last lines become the FlashError when it fails."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FLASH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FlashError(f"{what} took more than {FLASH_TIMEOUT_S} s", hint="is the board connected?") from None
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise FlashError(f"{what} failed: {tail}",
                         hint="check the USB cable and that the probe is not used by another program")


class PyocdFlasher(Flasher):
    """SWD through any CMSIS-DAP / ST-LINK / J-Link probe with pyOCD (target from the board file).

    pyOCD is a Python dependency of tinykit: it runs as ``python -m pyocd`` from tinykit's own
    environment, so it is found whether or not that environment's bin/ is on PATH.
    """

    kind = "pyocd"
    tool = "pyocd"
    install_hint = "pip install pyocd==0.46.0 (`make setup` installs it)"

    def require_tool(self, name: str | None = None) -> str:
        if importlib.util.find_spec("pyocd") is None:
            raise ToolMissingError(f"pyocd is not installed (needed to flash {self.board.id})",
                                   hint=f"install it: {self.install_hint}")
        return sys.executable

    def require_target(self) -> None:
        """pyOCD knows the target built in, or from an installed CMSIS pack (downloading one needs the internet)."""
        from pyocd.target import TARGET
        from pyocd.target.pack.pack_target import ManagedPacks

        target = self.board.flasher.params.target
        if target.lower() in TARGET or any(d.part_number.lower() == target.lower()
                                           for d in ManagedPacks.get_installed_targets()):
            return
        raise FlashError(f"pyOCD has no target {target!r} built in and no CMSIS pack for it is installed",
                         hint=f"`python -m pyocd pack install {target}` (downloads the vendor's pack), or flash "
                              "with OpenOCD (flasher kind openocd)")

    def command(self, elf: Path, probe: str | None) -> list[str]:
        cmd = [self.require_tool(), "-m", "pyocd", "flash", "-t", self.board.flasher.params.target]
        if probe:
            cmd += ["-u", probe]
        return [*cmd, str(elf)]

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        elf = self.firmware(build_dir)
        cmd = self.command(elf, attachment(self.board.id).probe)
        self.require_target()
        self.require_probe()
        run_tool(cmd, f"pyocd flash on {self.board.id}")
        return self.serial_url(port, self.board.uart.baud)


class OpenocdFlasher(Flasher):
    """SWD with OpenOCD using the board config named in the board file (e.g. board/stm32f7discovery.cfg)."""

    kind = "openocd"
    tool = "openocd"
    install_hint = "sudo apt-get install openocd"

    def command(self, elf: Path, probe: str | None) -> list[str]:
        cmd = [self.require_tool(), "-f", self.board.flasher.params.config]
        if probe:
            cmd += ["-c", f"adapter serial {probe}"]
        return [*cmd, "-c", f"program {elf} verify reset exit"]

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        elf = self.firmware(build_dir)
        cmd = self.command(elf, attachment(self.board.id).probe)
        self.require_probe()
        run_tool(cmd, f"openocd on {self.board.id}")
        return self.serial_url(port, self.board.uart.baud)


class EsptoolFlasher(Flasher):
    """Serial bootloader flashing with esptool (firmware.bin at the board's `address`).

    No shipped board uses it yet: tinykit's firmware targets Arm cores only.
    """

    kind = "esptool"
    tool = "esptool.py"
    install_hint = "pip install esptool"

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        self.firmware(build_dir)
        where = attachment(self.board.id, port)
        if where.port is None:
            raise FlashError(f"esptool needs the serial port of {self.board.id}", hint="pass --port")
        params = self.board.flasher.params
        cmd = [self.require_tool(), "--chip", params.chip, "--port", where.port,
               "write_flash", hex(params.address), str(Path(build_dir) / "firmware.bin")]
        run_tool(cmd, f"esptool on {self.board.id}")
        return DeviceLink(url=where.port, board=self.board.id, baud=self.board.uart.baud)
