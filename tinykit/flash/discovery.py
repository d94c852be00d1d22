"""What is plugged in: USB serial ports and debug probes, matched to boards by USB VID:PID.

Three sources, each optional (a machine without USB, or without permission to open it, simply
sees nothing): pyserial's ``list_ports`` (serial ports with their USB ids), pyOCD's probe discovery
(CMSIS-DAP, ST-LINK, J-Link probes it can drive) and a plain USB enumeration through pyusb and the
libusb that pyOCD brings (devices that are neither, such as an RP2040 boot ROM in BOOTSEL mode).
Which USB ids belong to a board is board data (``usb:`` in its file); which ids are debug probes
is the table below.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass

from tinykit.targets.boards import Board, list_boards

# Debug probes by USB VID:PID (the vendors' published ids).
KNOWN_PROBES: dict[tuple[int, int], str] = {
    (0x0483, 0x3748): "ST-LINK/V2", (0x0483, 0x374B): "ST-LINK/V2-1", (0x0483, 0x3752): "ST-LINK/V2-1",
    (0x0483, 0x374E): "STLINK-V3", (0x0483, 0x374F): "STLINK-V3", (0x0483, 0x3753): "STLINK-V3",
    (0x0483, 0x3754): "STLINK-V3", (0x0D28, 0x0204): "CMSIS-DAP (Arm DAPLink)",
    (0x2E8A, 0x000C): "Raspberry Pi Debug Probe (CMSIS-DAP)", (0x1366, 0x0101): "SEGGER J-Link",
    (0x1366, 0x0105): "SEGGER J-Link", (0x1366, 0x1015): "SEGGER J-Link", (0x1366, 0x1020): "SEGGER J-Link",
    (0x1366, 0x1051): "SEGGER J-Link",
}


@dataclass(frozen=True)
class UsbDevice:
    """One USB device seen on this machine (a serial port, a probe, or anything else)."""

    vid: int
    pid: int
    description: str = ""
    serial_number: str | None = None
    port: str | None = None  # its serial device, if it has one (/dev/ttyACM0)
    source: str = "usb"  # list_ports, pyocd or usb

    @property
    def id(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def probe(self) -> str | None:
        """The debug probe it is, if it is one."""
        return KNOWN_PROBES.get((self.vid, self.pid))

    def boards(self, boards: list[Board] | None = None) -> list[tuple[str, str]]:
        """(board id, role) of every board whose file lists this VID:PID."""
        return [(b.id, u.role) for b in (boards or list_boards()) for u in b.usb
                if (u.vid, u.pid) == (self.vid, self.pid)]

    def to_dict(self, boards: list[Board] | None = None) -> dict:
        return {**asdict(self), "id": self.id, "probe": self.probe,
                "boards": [{"board": b, "role": role} for b, role in self.boards(boards)]}

    def __str__(self) -> str:
        named = (u.name for b in list_boards() for u in b.usb if (u.vid, u.pid) == (self.vid, self.pid))
        what = self.probe or self.description or next(named, "USB device")
        return f"{what} ({self.id}{', ' + self.port if self.port else ''})"


def serial_ports() -> list[UsbDevice]:
    """Serial ports that have a USB identity (pyserial's list_ports)."""
    from serial.tools import list_ports

    return [UsbDevice(p.vid, p.pid, p.description or p.product or "", p.serial_number, p.device, "list_ports")
            for p in list_ports.comports() if p.vid is not None and p.pid is not None]


def pyocd_probes() -> list[UsbDevice]:
    """Debug probes pyOCD can open; empty without pyOCD or without USB access."""
    try:
        from pyocd.core.helpers import ConnectHelper
    except ImportError:
        return []
    logging.getLogger("pyocd").setLevel(logging.CRITICAL)
    found = []
    with contextlib.suppress(Exception):  # pyOCD's backends raise many kinds of USB errors
        for probe in ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False):
            vid, pid = getattr(probe, "vid", None) or 0, getattr(probe, "pid", None) or 0
            found.append(UsbDevice(vid, pid, probe.description, probe.unique_id, None, "pyocd"))
    return found


def usb_enumeration() -> list[UsbDevice]:
    """Every USB device libusb lists (pyusb with the libusb that pyOCD installs)."""
    try:
        import libusb_package
        import usb.core
    except ImportError:
        return []
    devices = []
    with contextlib.suppress(Exception):  # no USB bus, no permission: nothing seen
        backend = libusb_package.get_libusb1_backend()
        for dev in usb.core.find(find_all=True, backend=backend) or []:
            devices.append(UsbDevice(dev.idVendor, dev.idProduct, "", None, None, "usb"))
    return devices


def attached_devices() -> list[UsbDevice]:
    """Every USB device seen, each once (a serial port's entry wins over the bare USB one)."""
    seen: dict[tuple[int, int, str | None], UsbDevice] = {}
    for dev in (*serial_ports(), *pyocd_probes(), *usb_enumeration()):
        key = (dev.vid, dev.pid, dev.serial_number)
        bare = (dev.vid, dev.pid, None)
        if key in seen or (dev.serial_number is None and any(k[:2] == bare[:2] for k in seen)):
            continue
        seen[key] = dev
    return list(seen.values())


def probes_for(board: Board, devices: list[UsbDevice]) -> list[UsbDevice]:
    """The probes that can flash ``board``: its own (``usb:`` role probe) if it has one, else any known probe."""
    own = {(u.vid, u.pid) for u in board.usb if u.role == "probe"}
    if own:
        return [d for d in devices if (d.vid, d.pid) in own]
    return [d for d in devices if d.probe is not None or d.source == "pyocd"]


def describe(devices: list[UsbDevice]) -> str:
    return ", ".join(map(str, devices)) if devices else "no USB devices"
