"""QEMU "flasher": runs the firmware ELF on an emulated board with the UART on a local TCP socket
or a pseudo-terminal.

`-icount shift=0` makes every guest instruction advance virtual time by exactly 1 ns, so the
SysTick-based counts are deterministic instruction counts. The TCP serial socket waits for the first
client before the guest starts, so no boot line is lost. A pseudo-terminal (``serial="pty"``) is
what a USB CDC board looks like to the host (a /dev/pts path, opened like /dev/ttyACM0, and what
ser2net exports): the guest starts at once, and what it prints before a client opens the path is
lost, as on a board that was already running.

``icount_shift`` > 0 starves the emulated CPU on purpose: each instruction is 2^shift ns of virtual
time and ``align=on`` keeps virtual time from running ahead of the host's clock, so the guest
executes at most 1e9 / 2^shift instructions per second (about a million at the maximum, 10).
Robustness tests use it; its counts are 2^shift times the instruction count.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tinykit.errors import FlashError
from tinykit.files import write_json
from tinykit.flash.base import DeviceLink, Flasher

QEMU = "qemu-system-arm"
QEMU_START_TIMEOUT_S = 10.0
QEMU_STOP_TIMEOUT_S = 5.0
QEMU_START_ATTEMPTS = 3
READY_MARKER = "waiting for connection"
PTY_MARKER = re.compile(r"char device redirected to (/dev/\S+)")
SERIAL_BACKENDS = ("tcp", "pty")
MAX_ICOUNT_SHIFT = 10  # QEMU's limit
DEVICE_FILE = "device.json"
LOG_PREFIX = "qemu-"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_pid(pid: int) -> None:
    """Stop a QEMU we started (SIGTERM, then SIGKILL)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + QEMU_STOP_TIMEOUT_S
        while time.monotonic() < end:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


class QemuFlasher(Flasher):
    kind = "qemu"
    tool = QEMU
    install_hint = "sudo apt-get install qemu-system-arm"

    def __init__(self, board, *, serial: str = "tcp", icount_shift: int = 0) -> None:
        super().__init__(board)
        if serial not in SERIAL_BACKENDS:
            raise FlashError(f"unknown QEMU serial backend {serial!r}", hint=f"use one of {', '.join(SERIAL_BACKENDS)}")
        if not 0 <= icount_shift <= MAX_ICOUNT_SHIFT:
            raise FlashError(f"icount shift {icount_shift} is outside 0..{MAX_ICOUNT_SHIFT}")
        self.serial, self.icount_shift = serial, icount_shift

    def command(self, elf: Path, port: int) -> list[str]:
        serial = "pty" if self.serial == "pty" else f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"
        icount = f"shift={self.icount_shift}" + (",align=on,sleep=on" if self.icount_shift else "")
        return [self.require_tool(), "-M", str(self.board.emulator), "-display", "none",
                "-monitor", "none", "-serial", serial, "-icount", icount, "-kernel", str(elf)]

    def _ready(self, log_text: str, port: int) -> str | None:
        """The device's URL once QEMU's log says the serial backend is up."""
        if self.serial == "pty":
            match = PTY_MARKER.search(log_text)
            return match.group(1) if match else None
        return f"socket://127.0.0.1:{port}" if READY_MARKER in log_text else None

    def _start(self, elf: Path, log: Path) -> tuple[subprocess.Popen, str]:
        last = ""
        for _ in range(QEMU_START_ATTEMPTS):
            port = _free_port()
            with open(log, "w") as fh:
                proc = subprocess.Popen(self.command(elf, port), stdin=subprocess.DEVNULL,
                                        stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
            end = time.monotonic() + QEMU_START_TIMEOUT_S
            while time.monotonic() < end:
                last = log.read_text(errors="replace")
                url = self._ready(last, port)
                if url:
                    return proc, url
                if proc.poll() is not None:
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                stop_pid(proc.pid)
        raise FlashError(f"QEMU ({self.board.emulator}) did not start: {last.strip()[-300:]}",
                         hint=f"run the command by hand: {' '.join(self.command(elf, 0))}")

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        """Start QEMU; the returned link stops it when closed. ``port`` is ignored (QEMU makes its own)."""
        elf = self.firmware(build_dir)
        # One log per QEMU: several sessions (pytest-xdist workers) may run the same cached build at once,
        # and a shared log would show one QEMU the other's "waiting for connection".
        fd, log_name = tempfile.mkstemp(dir=build_dir, prefix=LOG_PREFIX, suffix=".log")
        os.close(fd)
        proc, url = self._start(elf, Path(log_name))

        def release() -> None:
            stop_pid(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(QEMU_STOP_TIMEOUT_S)
            Path(log_name).unlink(missing_ok=True)

        return DeviceLink(url=url, board=self.board.id, pid=proc.pid, _release=release)

    def start_detached(self, build_dir: Path | str) -> DeviceLink:
        """Start QEMU and leave it running; DIR/device.json records the URL and pid for `measure`."""
        link = self.flash(build_dir)
        link._release = None  # keep it running past this process
        write_json(Path(build_dir) / DEVICE_FILE, {"url": link.url, "pid": link.pid, "board": self.board.id})
        return link


def stop_detached(build_dir: Path | str) -> bool:
    """Stop the QEMU recorded in DIR/device.json; False if none was running."""
    path = Path(build_dir) / DEVICE_FILE
    if not path.exists():
        return False
    info = json.loads(path.read_text())
    pid = int(info.get("pid") or 0)
    running = pid > 0 and _is_our_qemu(pid, Path(build_dir))
    if running:
        stop_pid(pid)
    path.unlink()
    return running


def _is_our_qemu(pid: int, build_dir: Path) -> bool:
    """Only stop a process that is QEMU running this build's ELF (the pid may have been reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    elf = str((build_dir / "firmware.elf").resolve()).encode()
    return bool(cmdline) and cmdline[0].endswith(QEMU.encode()) and any(
        str(Path(a.decode(errors="replace")).resolve()).encode() == elf for a in cmdline if a)
