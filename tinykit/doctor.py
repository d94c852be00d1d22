"""`tinykit doctor`: what this machine can do with tinykit, and what to run next.

It lists the external tools each stage needs (found or not, their versions), the USB serial ports
and debug probes attached (matched to board ids by VID:PID from the board files), and for every
board whether it is usable here: an emulated board needs the cross compiler and QEMU; a real one
its flashing tool and, to flash, its probe (or, for UF2, its boot ROM drive).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from tinykit.flash.discovery import UsbDevice, attached_devices, probes_for
from tinykit.targets.boards import Board, list_boards

VERSION_TIMEOUT_S = 10


@dataclass(frozen=True)
class Tool:
    """An external program (or Python package) a stage needs."""

    name: str
    needed_for: str
    install: str
    python_package: bool = False


TOOLS = (
    Tool("arm-none-eabi-gcc", "building firmware", "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"),
    Tool("gcc", "host verification of generated C", "sudo apt-get install gcc"),
    Tool("qemu-system-arm", "emulated boards (qemu-*)", "sudo apt-get install qemu-system-arm"),
    Tool("openocd", "flashing the ST boards over their ST-LINK", "sudo apt-get install openocd"),
    Tool("pyocd", "flashing over CMSIS-DAP / ST-LINK / J-Link, probe discovery", "pip install pyocd==0.46.0",
         python_package=True),
    Tool("espeak-ng", "synthetic keyword recordings (lab)", "sudo apt-get install espeak-ng"),
)


def _version(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def check_tool(tool: Tool) -> dict[str, Any]:
    if tool.python_package:
        try:
            version = importlib.metadata.version(tool.name)
        except importlib.metadata.PackageNotFoundError:
            version = None
        path = f"python package {tool.name}" if version else None
    else:
        path = shutil.which(tool.name)
        version = _version([path]) if path else None
    return {"name": tool.name, "found": path is not None, "path": path, "version": version,
            "needed_for": tool.needed_for, "install": tool.install}


def _board_status(board: Board, tools: dict[str, dict], devices: list[UsbDevice]) -> dict[str, Any]:
    kind = board.flasher.kind
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm" if kind == "qemu" else kind)
               if t in tools and not tools[t]["found"]]
    attached: list[str] = []
    if kind in ("pyocd", "openocd"):
        attached = [str(d) for d in probes_for(board, devices)]
    elif kind == "uf2":
        attached = [str(d) for d in devices if (d.vid, d.pid) in {(u.vid, u.pid) for u in board.usb}]
    if missing:
        state = f"missing {', '.join(missing)}"
    elif kind == "qemu":
        state = "usable (emulated)"
    else:
        state = "ready: " + ", ".join(attached) if attached else "tools installed, no board attached"
    own = {(u.vid, u.pid) for u in board.usb}
    port = next((d.port for d in devices if d.port and (d.vid, d.pid) in own), None)
    return {"id": board.id, "emulated": board.emulated, "flasher": kind, "usable": not missing,
            "attached": attached, "port": port, "state": state}


def _next_steps(tools: dict[str, dict], boards: list[dict]) -> list[str]:
    steps = [f"install {t['name']} ({t['needed_for']}): {t['install']}" for t in tools.values() if not t["found"]]
    ready = [b for b in boards if b["attached"]]
    for b in ready:
        steps.append(f"flash and measure: tinykit run MODEL --board {b['id']} --port {b['port'] or 'PORT'}")
    if not ready:
        steps.append("try the emulated board: tinykit run hello_world --board qemu-m4")
        steps.append("attach a board by USB and run `tinykit doctor` again to see it matched")
    return steps


def doctor() -> dict[str, Any]:
    """Tools, attached USB devices (matched to boards), each board's status, and what to run next."""
    tools = {t.name: check_tool(t) for t in TOOLS}
    devices = attached_devices()
    boards = list_boards()
    board_status = [_board_status(b, tools, devices) for b in boards]
    return {
        "tools": list(tools.values()),
        "serial_ports": [d.to_dict(boards) for d in devices if d.port],
        "probes": [d.to_dict(boards) for d in devices if d.probe or d.source == "pyocd"],
        "usb_devices": [d.to_dict(boards) for d in devices],
        "boards": board_status,
        "next": _next_steps(tools, board_status),
    }

