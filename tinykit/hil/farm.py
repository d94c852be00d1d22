"""labgrid places: acquire one, find its serial port, release it however the run ends.

A board farm under labgrid has a coordinator, exporters that publish resources (a ser2net port is a
``NetworkSerialPort``), and places that group one board's resources; a client acquires a place for
exclusive use and releases it after. tinykit is such a client, through labgrid's own client session
(the same code as ``labgrid-client``). The place's ``NetworkSerialPort`` becomes the pyserial URL
(``rfc2217://host:port``, or ``socket://`` for a raw port); the place is released in a ``finally``,
so a failure, an exception or Ctrl-C in the middle of a run does not leave it locked.

labgrid is the optional extra ``tinykit[farm]``; see the README for the pyserial fork it asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tinykit.errors import TinykitError

COORDINATOR_ENV = "LG_COORDINATOR"
DEFAULT_COORDINATOR_PORT = 20408
# Seconds to reach the coordinator, and for one acquire or release, before it counts as unreachable.
COORDINATOR_TIMEOUT_S = 20.0
SERIAL_CLASSES = ("NetworkSerialPort",)
# Resources a place may carry to flash its board. tinykit does not drive them yet (see docs/hil.md).
FLASH_CLASSES = ("NetworkUSBDebugger", "USBDebugger", "NetworkUSBMassStorage", "USBMassStorage",
                 "NetworkUSBFlashableDevice", "USBFlashableDevice")
_STDOUT_LOCK = threading.Lock()  # labgrid's client prints "acquired place ..." on stdout


class FarmError(TinykitError):
    """A labgrid place cannot be used: coordinator unreachable, place taken or unknown, no serial port."""


@dataclass
class Place:
    """An acquired place: where its board answers, and what else it offers."""

    name: str
    coordinator: str
    serial_url: str
    resources: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"place": self.name, "coordinator": self.coordinator, "place_serial": self.serial_url,
                "place_resources": self.resources}


def _labgrid():
    try:
        from labgrid.remote import client
    except ImportError:
        raise FarmError("labgrid is not installed (needed for --place)",
                        hint="pip install 'tinykit[farm]' && pip install --no-deps labgrid==26.0.1") from None
    return client


def coordinator_address(value: str | None) -> str:
    address = value or os.environ.get(COORDINATOR_ENV)
    if not address:
        raise FarmError("no labgrid coordinator: pass --coordinator HOST[:PORT] or set LG_COORDINATOR")
    return address if ":" in address else f"{address}:{DEFAULT_COORDINATOR_PORT}"


def serial_url(resource: Any) -> str:
    params = resource.args
    scheme = "socket" if params.get("protocol") == "raw" else "rfc2217"
    return f"{scheme}://{params['host']}:{params['port']}"


def _quiet_labgrid_logging() -> None:
    """labgrid logs a lost coordinator stream with a traceback on the root logger; the user gets one
    FarmError line instead (Python prints unhandled records only while the root logger has no handler)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


class _Session:
    """labgrid's ClientSession on a private event loop (check runs one per worker thread)."""

    def __init__(self, address: str, place: str) -> None:
        self.client = _labgrid()
        self.address = address
        _quiet_labgrid_logging()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # the gRPC channel binds to the loop current at its creation
        args = argparse.Namespace(place=place, allow_unmatched=False, kick=False)
        try:
            self.session = self.client.ClientSession(address, self.loop, args=args)
            self.run(self.session.start(), "connect to")
        except BaseException:
            self.loop.close()
            raise

    def run(self, coro, what: str):
        try:
            with _STDOUT_LOCK, contextlib.redirect_stdout(sys.stderr):
                return self.loop.run_until_complete(asyncio.wait_for(coro, COORDINATOR_TIMEOUT_S))
        except TimeoutError:
            raise FarmError(f"cannot {what} the labgrid coordinator at {self.address}: no answer in "
                            f"{COORDINATOR_TIMEOUT_S:.0f} s", hint="is labgrid-coordinator running there?") from None
        except self.client.Error as err:
            text = str(err)
            if "connect" in text.lower():
                raise FarmError(f"cannot reach the labgrid coordinator at {self.address}",
                                hint="is labgrid-coordinator running there? (--coordinator / LG_COORDINATOR)") from None
            raise FarmError(f"labgrid: {text.removeprefix('Error: ')}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.session.stop(), "disconnect from")
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.session.close())
        self.loop.close()


def _describe(session: _Session, name: str) -> Place:
    place = session.session.get_place(name)
    resources = session.session.get_target_resources(place)
    serial = [r for (_, cls), r in resources.items() if cls in SERIAL_CLASSES]
    if not serial:
        raise FarmError(f"place {name} has no serial port (no NetworkSerialPort among "
                        f"{', '.join(sorted(c for _, c in resources)) or 'its resources'})",
                        hint="export the board's UART with ser2net (RawSerialPort/NetworkSerialPort) and "
                             f"`labgrid-client -p {name} add-match EXPORTER/GROUP/NetworkSerialPort`")
    flashers = sorted(c for _, c in resources if c in FLASH_CLASSES)
    if flashers:
        raise FarmError(f"place {name} flashes through {flashers[0]}, which tinykit does not drive yet",
                        hint=f"flash it with labgrid (labgrid-client -p {name} ...), then run tinykit with "
                             "the place: it checks the model the board runs")
    return Place(name=name, coordinator=session.address, serial_url=serial_url(serial[0]),
                 resources=sorted(f"{n}:{c}" for n, c in resources), tags=dict(place.tags))


@contextlib.contextmanager
def acquire_place(name: str, coordinator: str | None = None) -> Iterator[Place]:
    """Acquire ``name``, yield its :class:`Place`, release it on the way out (also on Ctrl-C)."""
    session = _Session(coordinator_address(coordinator), name)
    try:
        session.run(session.session.acquire(), "acquire a place through")
        try:
            yield _describe(session, name)
        finally:
            session.run(session.session.release(), "release a place through")
    finally:
        session.close()
