"""The serial protocol's command formats and line grammar, in one place.

The device speaks the MLPerf Tiny / EEMBC runner protocol (commands end with ``%``, replies are
``\\r\\n``-terminated lines, every command ends with ``m-ready``) plus tinykit's ``tk-`` extensions.
Everything that knows how a command is spelled or how a reply line looks lives here, so the client
(:mod:`tinykit.device.client`), the simulator in the tests and the docs agree on one grammar.
A line that matches none of these patterns is *garbled*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# MLPerf Tiny performance mode runs at 115200 8N1.
DEFAULT_BAUD = 115200
# Longest command the firmware accepts, not counting the terminating '%'.
MAX_COMMAND_CHARS = 80
# Bytes per `db HEX%` chunk: "db " + 64 hex digits = 67 characters, inside MAX_COMMAND_CHARS.
DB_CHUNK_BYTES = 32
TERMINATOR = "%"
# `tk-sync TOKEN`: the device echoes TOKEN (lowercase hex, at most this many digits).
SYNC_TOKEN_DIGITS = 16

# Boot lines: seeing one of these outside a deliberate wait means the device reset.
BOOT_KINDS = frozenset({"timestamp_mode", "init_done"})

# kind -> compiled pattern; groups are the payload. Order matters only for readability.
_GRAMMAR: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "ready": r"m-ready",
        "timestamp_mode": r"m-timestamp-mode-(performance|energy)",
        "init_done": r"m-init-done",
        "lap_us": r"m-lap-us-(\d+)",
        "name": r"m-name-dut-\[([^\]]*)\]",
        "profile": r"m-profile-\[([^\]]*)\]",
        "model": r"m-model-\[([^\]]*)\]",
        "expecting": r"m-\[Expecting (\d+) bytes\]",
        "load_done": r"m-load-done",
        "buffer": r"m-buffer(?:-([0-9a-f]{2}))+",
        "warmup_start": r"m-warmup-start-(\d+)",
        "warmup_done": r"m-warmup-done",
        "infer_start": r"m-infer-start-(\d+)",
        "infer_done": r"m-infer-done",
        "results": r"m-results-\[([^\]]*)\]",
        "tk_out": r"m-tk-out-(\d+)-\[((?:[0-9a-f]{2})*)\]",
        "tk_crc": r"m-tk-crc-\[([0-9a-f]{8})\]",
        "tk_cycles": r"m-tk-cycles-\[(\d+)\]",
        "tk_layer": r"m-tk-layer-(\d+)-\[([^,\]]+),(\d+)\]",
        "tk_info": r"m-tk-info-\[([^\]]*)\]",
        "tk_run_done": r"m-tk-run-done",
        "tk_reset_done": r"m-tk-reset-done",
        "help": r"m-help-\[([^\]]*)\]",
        "tk_sync": r"m-tk-sync-\[([0-9a-f]{1,16})\]",
        "error": r"e-\[([^\]]*)\]",
    }.items()
}


@dataclass(frozen=True)
class Line:
    """One parsed reply line: its grammar kind, the regex groups, and the raw text."""

    kind: str
    groups: tuple[str, ...]
    text: str


def parse_line(text: str) -> Line | None:
    """Classify one reply line (without its CR/LF); ``None`` if it matches no rule (garbled)."""
    for kind, pattern in _GRAMMAR.items():
        match = pattern.fullmatch(text)
        if match:
            return Line(kind, tuple(g for g in match.groups() if g is not None), text)
    return None


def command(*tokens: object) -> bytes:
    """Encode one command: tokens joined by one space, ``%``-terminated, no CR/LF."""
    text = " ".join(str(t) for t in tokens)
    if len(text) > MAX_COMMAND_CHARS:
        raise ValueError(f"command longer than {MAX_COMMAND_CHARS} characters: {text[:20]}...")
    return (text + TERMINATOR).encode("ascii")


def sync_command(token: str) -> bytes:
    """A lone ``%`` (ends any partial command the device holds) then ``tk-sync TOKEN%``."""
    return TERMINATOR.encode("ascii") + command("tk-sync", token)


def db_chunks(data: bytes) -> list[bytes]:
    """The `db HEX%` commands that upload ``data`` after a `db load N%`."""
    return [
        command("db", data[i : i + DB_CHUNK_BYTES].hex()) for i in range(0, len(data), DB_CHUNK_BYTES)
    ]


def parse_results(payload: str) -> list[float]:
    """``m-results-[0.000,1.500]`` payload -> floats (the dequantized output 0)."""
    return [float(v) for v in payload.split(",") if v.strip()]


def parse_info(payload: str) -> dict[str, object]:
    """``tk-info`` payload ``k=v,k=v`` -> dict; integer-looking values become ints."""
    info: dict[str, object] = {}
    for item in payload.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"malformed tk-info field {item!r}")
        info[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return info


def format_info(info: dict[str, object]) -> str:
    """Inverse of :func:`parse_info` (used by the simulator and the docs)."""
    return ",".join(f"{k}={v}" for k, v in info.items())
