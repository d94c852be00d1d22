"""The stream protocol: binary audio frames to the streaming firmware, one-line replies back.

Frames (``firmware/stream/tk_stream.h``): magic, header (type, flags, sample index, length), a
payload of int16 PCM, and a CRC-32 over header and payload. The device answers every frame with
zero or more report lines and one final ``s-ack-[next sample]`` or ``s-nak-[reason]``; the host
sends the next frame only after that final line (stop-and-wait: nothing is lost on a UART without
flow control). A NAKed or unanswered frame is resent, up to :data:`MAX_RESENDS` times; each resend
is recorded in ``faults``. Reading, writing, deadlines and ``--trace`` are the same primitives as
the runner protocol's client (:mod:`tinykit.device.link`).
"""

from __future__ import annotations

import re
import struct
import time
import zlib

from tinykit.device.link import DeviceTimeoutError, SerialLine, Trace, TransientDeviceError, open_port
from tinykit.device.protocol import Line
from tinykit.errors import DataError, DeviceError

DEFAULT_BAUD = 115200
MAGIC = b"\xa5\x5a"
HEADER = struct.Struct("<BBIH")  # type, flags, sample_index, length
CHUNK_SAMPLES = 512
MAX_PAYLOAD = 2 * CHUNK_SAMPLES
FLAG_POSTERIORS = 0x01
# Seconds from opening the port (or a reset) until the firmware prints s-ready.
BOOT_TIMEOUT_S = 20.0
# Seconds the device may take to answer one frame (an inference on an emulated core included).
REPLY_TIMEOUT_S = 30.0
# Resends of one frame (after a NAK or no answer) before the fault becomes a DeviceError.
MAX_RESENDS = 3
READY = "s-ready"
_REPLY = re.compile(r"s-([a-z]+)-\[([^\]]*)\]")
FINAL_KINDS = ("ack", "nak")


def parse_reply(text: str) -> Line | None:
    """Classify one line from the stream firmware (``s-<kind>-[<fields>]``); None if it is no reply."""
    match = _REPLY.fullmatch(text)
    if match is None:
        return None
    return Line(match.group(1), tuple(match.group(2).split(",")), text)


def _is_final(text: str) -> bool:
    reply = parse_reply(text)
    return reply is not None and reply.kind in FINAL_KINDS


def parse_kv(fields: tuple[str, ...]) -> dict[str, str]:
    """``s-info``/``s-stats`` fields ``key=value`` -> dict."""
    return dict(item.split("=", 1) for item in fields if "=" in item)


def encode_frame(kind: str, index: int = 0, payload: bytes = b"", flags: int = 0) -> bytes:
    """One host->device frame: magic, header, payload, CRC-32 over header and payload."""
    if len(payload) > MAX_PAYLOAD:
        raise DataError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(ord(kind), flags, index, len(payload)) + payload
    return MAGIC + body + struct.pack("<I", zlib.crc32(body))


def corrupt_frame(frame: bytes) -> bytes:
    """The frame with one payload byte flipped (fault injection: the device must NAK it)."""
    data = bytearray(frame)
    data[len(MAGIC) + HEADER.size] ^= 0x40
    return bytes(data)


class StreamClient(SerialLine):
    """Stop-and-wait client of the stream firmware over any pyserial URL."""

    def __init__(self, url: str, baud: int = DEFAULT_BAUD, trace: Trace | None = None, *,
                 reply_timeout: float | None = None, boot_timeout: float | None = None,
                 max_resends: int | None = None) -> None:
        self.url, self._trace, self._buf = url, trace, bytearray()
        self.reply_timeout = reply_timeout or REPLY_TIMEOUT_S
        self.boot_timeout = boot_timeout or BOOT_TIMEOUT_S
        self.max_resends = MAX_RESENDS if max_resends is None else max_resends
        self.faults: list[str] = []  # frames resent, for the report
        self._port = open_port(url, baud)

    def wait_ready(self) -> None:
        """Wait for the firmware's ``s-ready`` after boot."""
        deadline = time.monotonic() + self.boot_timeout
        try:
            while self._read_line(deadline) != READY:
                pass
        except DeviceTimeoutError:
            raise DeviceError(f"no {READY} from the stream firmware within {self.boot_timeout:.0f} s",
                              hint="is the board running the stream firmware (`tinykit stream --model`)?") from None

    def write_raw(self, data: bytes) -> None:
        """Bytes outside any frame (tests of the device's re-synchronisation)."""
        self._write(data)

    def exchange(self, frame: bytes) -> tuple[list[str], str]:
        """Send a frame once; the report lines before the final s-ack/s-nak, and that final line."""
        self._write(frame)
        deadline = time.monotonic() + self.reply_timeout
        lines: list[str] = []
        while True:
            try:
                line = self._read_line(deadline)
            except DeviceTimeoutError:
                raise DeviceTimeoutError(f"no reply from the stream firmware within {self.reply_timeout:.0f} s",
                                         hint="`tinykit stream --trace` logs every line") from None
            if _is_final(line):
                return lines, line
            lines.append(line)

    def send(self, frame: bytes, first: bytes | None = None) -> tuple[list[str], list[str]]:
        """Send ``frame`` (``first`` instead on the first try) until the device ACKs it.

        Returns the report lines of every try and the reasons of the rejected tries.
        """
        lines: list[str] = []
        rejected: list[str] = []
        for attempt in range(self.max_resends + 1):
            try:
                got, final = self.exchange(first if first is not None and attempt == 0 else frame)
            except TransientDeviceError:  # no answer: let a late one pass, then resend
                got, final = [ln for ln in self._drain_lines(self.boot_timeout) if not _is_final(ln)], "s-nak-[none]"
            lines += got
            reply = parse_reply(final)
            if reply is not None and reply.kind == "ack":
                return lines, rejected
            rejected.append(reply.groups[0] if reply else final)
            self.faults.append(f"frame rejected ({rejected[-1]}), resent")
        raise DeviceError(f"the device rejected a frame {self.max_resends + 1} times ({', '.join(rejected)})",
                          hint="check the wiring and baud rate (`tinykit stream --trace` logs every line)")
