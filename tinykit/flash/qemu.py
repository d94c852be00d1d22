"""QEMU "flasher": runs the firmware ELF on an emulated board with the UART on a local TCP socket.

`-icount shift=0` makes every guest instruction advance virtual time by exactly 1 ns, so the
SysTick-based counts are deterministic instruction counts. The serial socket waits for the first
client before the guest starts, so no boot line is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
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
DEVICE_FILE = "device.json"
LOG_FILE = "qemu.log"


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

    def command(self, elf: Path, port: int) -> list[str]:
        return [self.require_tool(), "-M", str(self.board.emulator), "-display", "none",
                "-monitor", "none", "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
                "-icount", "shift=0", "-kernel", str(elf)]

    def _start(self, elf: Path, log: Path) -> tuple[subprocess.Popen, int]:
        last = ""
        for _ in range(QEMU_START_ATTEMPTS):
            port = _free_port()
            with open(log, "w") as fh:
                proc = subprocess.Popen(self.command(elf, port), stdin=subprocess.DEVNULL,
                                        stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
            end = time.monotonic() + QEMU_START_TIMEOUT_S
            while time.monotonic() < end:
                last = log.read_text(errors="replace")
                if READY_MARKER in last:
                    return proc, port
                if proc.poll() is not None:
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                stop_pid(proc.pid)
        raise FlashError(f"QEMU ({self.board.emulator}) did not start: {last.strip()[-300:]}",
                         hint=f"run the command by hand: {' '.join(self.command(elf, 0))}")

    def flash(self, build_dir: Path | str, port: str | None = None) -> DeviceLink:
        """Start QEMU; the returned link stops it when closed. ``port`` is ignored (always a socket)."""
        elf = self.firmware(build_dir)
        proc, tcp = self._start(elf, Path(build_dir) / LOG_FILE)

        def release() -> None:
            stop_pid(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(QEMU_STOP_TIMEOUT_S)

        return DeviceLink(url=f"socket://127.0.0.1:{tcp}", board=self.board.id, pid=proc.pid,
                          _release=release)

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
