"""The serial line under both protocols: open a pyserial URL, write, read lines with deadlines, trace.

The runner protocol's client (:mod:`tinykit.device.client`) and the stream protocol's client
(:mod:`tinykit.device.stream`) share these primitives, so both have the same ``--trace`` output,
the same deadline on every read and the same notion of a transient fault worth retrying.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable

import serial

from tinykit.errors import DeviceError

# pyserial read timeout: how often the read loop checks its deadline.
POLL_S = 0.05
# Silence that ends a re-synchronisation drain: the device has finished whatever it was saying.
QUIET_S = 0.3
# A "line" longer than this without a newline is noise, not protocol.
MAX_LINE_BYTES = 1 << 20
# Bytes of a binary write shown by --trace.
TRACE_BINARY_BYTES = 16

Trace = Callable[[str], None]
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class TransientDeviceError(DeviceError):
    """A fault worth retrying: timeout, garbled line, reset, CRC mismatch."""


class DeviceTimeoutError(TransientDeviceError):
    """The device did not finish its reply in time."""


class GarbledLineError(TransientDeviceError):
    """A reply line matches nothing in the protocol grammar."""


def port_url(url: str) -> str:
    """``url`` as pyserial should open it: ``rfc2217://`` gains ``ign_set_control``.

    ser2net (what labgrid exporters run) does not answer the RFC 2217 'control' option the way
    pyserial's client waits for, so without it every open times out (labgrid's own serial driver
    passes the same parameter). Flow control is not used on these links.
    """
    if not url.startswith("rfc2217://") or "ign_set_control" in url:
        return url
    return url + ("&" if "?" in url else "?") + "ign_set_control"


def open_port(url: str, baud: int) -> serial.SerialBase:
    """A pyserial port for ``url`` (device path, socket://, rfc2217://); DeviceError if it cannot open."""
    try:
        return serial.serial_for_url(port_url(url), baudrate=baud, timeout=POLL_S)
    except (serial.SerialException, ValueError, OSError) as err:
        raise DeviceError(
            f"cannot open serial port {url}: {err}",
            hint="check --port (a device path, socket://HOST:PORT or rfc2217://HOST:PORT)",
        ) from None


def trace_text(data: bytes) -> str:
    """How --trace shows bytes sent: the text of a command, the head of a binary frame in hex."""
    if data.isascii() and all(b >= 0x20 or b in b"\r\n\t" for b in data):
        return data.decode("ascii")
    more = "..." if len(data) > TRACE_BINARY_BYTES else ""
    return f"[{len(data)} bytes] {data[:TRACE_BINARY_BYTES].hex()}{more}"


class SerialLine:
    """Line-oriented I/O on an open port; subclasses set ``url``, ``_port``, ``_trace`` and ``_buf``."""

    url: str
    _port: serial.SerialBase
    _trace: Trace | None
    _buf: bytearray

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()

    def _write(self, data: bytes) -> None:
        if self._trace:
            self._trace(f"> {trace_text(data)}")
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as err:
            raise DeviceError(f"cannot write to {self.url}: {err}") from None

    def _quick_ack(self) -> None:
        """On a TCP link (socket://, e.g. QEMU's UART), acknowledge at once.

        The far end sends a reply a few bytes at a time; with Nagle's algorithm there and delayed
        ACKs here every round trip costs ~40 ms. TCP_QUICKACK (Linux) is cleared by the kernel after
        use, so it is re-armed before every read.
        """
        sock = getattr(self._port, "_socket", None)
        if sock is not None and _QUICKACK is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def _read_line(self, deadline: float) -> str:
        """Next non-empty line (CR/LF stripped) before ``deadline``, else DeviceTimeoutError."""
        while True:
            newline = self._buf.find(b"\n")
            if newline >= 0:
                raw = bytes(self._buf[:newline]).rstrip(b"\r")
                del self._buf[: newline + 1]
                text = raw.decode("ascii", errors="replace")
                if self._trace:
                    self._trace(f"< {text}")
                if text.strip():
                    return text
                continue
            if len(self._buf) > MAX_LINE_BYTES:
                self._buf.clear()
                raise GarbledLineError(f"more than {MAX_LINE_BYTES} bytes without a line end")
            if time.monotonic() >= deadline:
                raise DeviceTimeoutError("timed out waiting for a line")
            self._quick_ack()
            try:
                chunk = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as err:
                raise DeviceError(f"lost the connection to {self.url}: {err}") from None
            self._buf += chunk

    def _drain_lines(self, limit_s: float) -> list[str]:
        """Discard input until the line is quiet for QUIET_S (at most ``limit_s``); the lines discarded."""
        seen: list[str] = []
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            try:
                seen.append(self._read_line(min(end, time.monotonic() + QUIET_S)))
            except DeviceTimeoutError:
                break
        return seen
