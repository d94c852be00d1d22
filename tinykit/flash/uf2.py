"""UF2 flashing: convert the ELF to UF2 blocks and copy them to the board's USB mass-storage drive
(the RP2040 boot ROM shows up as RPI-RP2 when BOOTSEL is held at power-up)."""

from __future__ import annotations

import glob
import os
import shutil
import struct
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tinykit.errors import FlashError
from tinykit.flash.base import DeviceLink, Flasher
from tinykit.targets.boards import attachment

UF2_MAGIC_START0 = 0x0A324655
UF2_MAGIC_START1 = 0x9E5D5157
UF2_MAGIC_END = 0x0AB16F30
UF2_FLAG_FAMILY_ID = 0x00002000
UF2_PAYLOAD = 256
UF2_DATA_AREA = 476
MOUNT_PATTERNS = ("/media/*/{label}", "/run/media/*/{label}", "/media/{label}", "/mnt/{label}")


def elf_to_uf2(elf: Path, family_id: int) -> bytes:
    """UF2 image of every loadable byte of the ELF, at its load (physical) address."""
    pages: dict[int, bytearray] = {}
    with open(elf, "rb") as fh:
        for seg in ELFFile(fh).iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                continue
            data, base = seg.data()[: seg["p_filesz"]], seg["p_paddr"]
            for i, byte in enumerate(data):
                addr = base + i
                page = pages.setdefault(addr & ~(UF2_PAYLOAD - 1), bytearray(UF2_PAYLOAD))
                page[addr % UF2_PAYLOAD] = byte
    blocks = []
    for n, addr in enumerate(sorted(pages)):
        header = struct.pack("<8I", UF2_MAGIC_START0, UF2_MAGIC_START1, UF2_FLAG_FAMILY_ID, addr,
                             UF2_PAYLOAD, n, len(pages), family_id)
        body = bytes(pages[addr]).ljust(UF2_DATA_AREA, b"\0")
        blocks.append(header + body + struct.pack("<I", UF2_MAGIC_END))
    return b"".join(blocks)


class Uf2Flasher(Flasher):
    kind = "uf2"
    tool = ""
    install_hint = ""

    def find_drive(self) -> Path:
        configured = attachment(self.board.id).drive
        if configured:
            return Path(configured)
        label = self.board.flasher.params.volume_label
        for pattern in MOUNT_PATTERNS:
            hits = [p for p in glob.glob(pattern.format(label=label)) if os.path.isdir(p)]
            if hits:
                return Path(hits[0])
        from tinykit.flash.discovery import attached_devices, describe

        devices = attached_devices()
        boot_rom = [d for d in devices if (d.vid, d.pid) in {(u.vid, u.pid) for u in self.board.usb
                                                              if u.role == "bootloader"}]
        seen = f"{boot_rom[0]} is attached but not mounted" if boot_rom else f"saw {describe(devices)}"
        raise FlashError(
            f"no {label} drive is mounted (looked in {', '.join(p.format(label=label) for p in MOUNT_PATTERNS)}; "
            f"{seen})",
            hint=f"hold BOOTSEL while plugging in the {self.board.name}, or set "
                 f"`{self.board.id}: {{drive: /path/to/{label}}}` in ~/.config/tinykit/boards.yaml")

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        elf = self.firmware(build_dir)
        uf2 = Path(build_dir) / "firmware.uf2"
        uf2.write_bytes(elf_to_uf2(elf, self.board.flasher.params.family_id))
        drive = self.find_drive()
        try:
            shutil.copyfile(uf2, drive / uf2.name)
        except OSError as err:
            raise FlashError(f"cannot copy {uf2.name} to {drive}: {err}") from None
        return self.serial_url(port, self.board.uart.baud)
