"""Helpers for firmware tests: the hand-written fixture library, QEMU sessions, raw protocol I/O.

Tests talk to the firmware with plain pyserial on purpose: they check the C side of the protocol
byte for byte, independently of tinykit's own client in tinykit.device.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import serial

from tinykit.firmware.build import ModelIO

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "fw_model"
READ_TIMEOUT_S = 30.0


@dataclass
class FixtureLibrary:
    """Stands in for codegen's GeneratedLibrary (same attributes)."""

    dir: Path = FIXTURE_DIR
    name: str = "model"
    sources: list[Path] = field(default_factory=lambda: [FIXTURE_DIR / "model.c"])
    include_dir: Path = FIXTURE_DIR
    arena_bytes: int = 48
    weight_bytes: int = 0


FIXTURE_IO = ModelIO(input_bytes=16, output0_dtype="int8", sha256="ab" * 32, model_id="tinykit")


def fixture_outputs(data: bytes) -> tuple[bytes, bytes]:
    """What the fixture library computes for a 16-byte input."""
    signed = [b - 256 if b > 127 else b for b in data]
    out0 = bytes((max(-128, min(127, sum(signed[4 * k: 4 * k + 4]))) & 0xFF) for k in range(4))
    out1 = bytes(b ^ 0x5A for b in data)
    return out0, out1


class RawDevice:
    """Line-oriented raw access to the firmware's UART (pyserial URL)."""

    def __init__(self, url: str, baud: int = 115200) -> None:
        self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.2)
        self.buf = b""

    def close(self) -> None:
        self.port.close()

    def readline(self, timeout: float = READ_TIMEOUT_S) -> str:
        end = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            if time.monotonic() > end:
                raise TimeoutError(f"no line from the device; partial: {self.buf!r}")
            chunk = self.port.read(1)  # returns as soon as a byte is there
            if chunk:
                chunk += self.port.read(self.port.in_waiting)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("ascii", errors="replace")

    def until_ready(self, timeout: float = READ_TIMEOUT_S) -> list[str]:
        lines = []
        while True:
            line = self.readline(timeout)
            if line == "m-ready":
                return lines
            lines.append(line)

    def cmd(self, text: str | bytes, timeout: float = READ_TIMEOUT_S) -> list[str]:
        raw = text.encode() if isinstance(text, str) else text
        self.port.write(raw + b"%")
        return self.until_ready(timeout)

    def load(self, data: bytes, chunk: int = 31) -> list[str]:
        lines = self.cmd(f"db load {len(data)}")
        for i in range(0, len(data), chunk):
            lines += self.cmd("db " + data[i: i + chunk].hex())
        return lines

    def outputs(self) -> list[bytes]:
        out = []
        for line in self.cmd("tk-out"):
            m = re.fullmatch(r"m-tk-out-(\d+)-\[([0-9a-f]*)\]", line)
            assert m, line
            out.append(bytes.fromhex(m.group(2)))
        return out
