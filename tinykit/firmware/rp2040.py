"""RP2040's second-stage bootloader: the boot ROM copies 256 bytes from flash and checks their CRC.

``firmware/rp2040/boot2.S`` is assembled, padded to 252 bytes and followed by its CRC-32/MPEG-2,
then emitted as an assembler file of bytes that the linker script places at the start of flash.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tinykit.errors import BuildError
from tinykit.files import write_atomic
from tinykit.firmware.toolchain import APT_TOOLCHAIN, GCC, require_tool
from tinykit.resources import firmware_dir

RP2040_BOOT2_CODE_BYTES = 252
RP2040_BOOT2_RUN_ADDR = "0x20041f00"  # where the boot ROM copies boot2 before calling it
BOOT2_OUTPUT = "boot2_padded.S"


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, no reflection, no final xor): the RP2040 boot ROM's boot2 check."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _assemble_boot2() -> bytes:
    gcc = require_tool(GCC, APT_TOOLCHAIN)
    objcopy = require_tool("arm-none-eabi-objcopy", APT_TOOLCHAIN)
    with tempfile.TemporaryDirectory() as tmp:
        elf, raw = Path(tmp) / "boot2.elf", Path(tmp) / "boot2.bin"
        for cmd in ([gcc, "-mcpu=cortex-m0plus", "-mthumb", "-nostdlib", f"-Ttext={RP2040_BOOT2_RUN_ADDR}",
                     str(firmware_dir("rp2040") / "boot2.S"), "-o", str(elf)],
                    [objcopy, "-O", "binary", str(elf), str(raw)]):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BuildError(f"RP2040 boot2 build failed: {proc.stderr.strip()[-500:]}")
        return raw.read_bytes()


def write_rp2040_boot2(out_dir: Path, banner: str) -> Path:
    """Assemble boot2, pad it to 252 bytes, append its CRC, write boot2_padded.S."""
    code = _assemble_boot2()
    if len(code) > RP2040_BOOT2_CODE_BYTES:
        raise BuildError(f"RP2040 boot2 is {len(code)} bytes; at most {RP2040_BOOT2_CODE_BYTES} fit")
    image = code.ljust(RP2040_BOOT2_CODE_BYTES, b"\0")
    image += crc32_mpeg2(image).to_bytes(4, "little")
    lines = [f"/* {banner}\n * RP2040 boot2 from firmware/rp2040/boot2.S, padded, with its CRC32. */",
             '    .section .boot2, "ax"']
    lines += ["    .byte " + ", ".join(f"0x{b:02x}" for b in image[i: i + 16]) for i in range(0, len(image), 16)]
    return write_atomic(out_dir / BOOT2_OUTPUT, "\n".join(lines) + "\n")
