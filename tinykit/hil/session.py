"""One model's firmware running on one board, with a client connected: what the HIL helpers share.

`open_session` builds (cached, :mod:`tinykit.hil.firmware`), puts the firmware on the board and
connects. Where the board is: an emulated board is started by tinykit (QEMU), a real one is reached
through ``port`` (a device path, ``socket://`` or ``rfc2217://``) or a labgrid ``place``, which is
acquired for the session and released at its end, however it ends (:mod:`tinykit.hil.farm`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykit import oracle
from tinykit.device import DeviceClient
from tinykit.errors import DeviceError
from tinykit.flash import DeviceLink, get_flasher
from tinykit.flash.qemu import QemuFlasher
from tinykit.hil.firmware import Firmware, firmware_for
from tinykit.hil.target import Target
from tinykit.measure import DEFAULT_NUM_INPUTS, MeasureRequest, device_bytes, measure_on
from tinykit.targets.boards import Board, load_board


@dataclass
class Inference:
    """One inference's outputs (raw bytes per output tensor) and its counter reading."""

    outputs: list[bytes]
    count: int  # instructions on an emulated board, cycles on a real one
    unit: str


@dataclass
class BoardSession:
    """The firmware on the board and an open client; figures come from here."""

    firmware: Firmware
    board: Board
    target: Target
    url: str
    client: DeviceClient
    info: dict[str, Any]  # tk-info, read once when the session opened
    place_info: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return "instructions" if self.board.emulated else "cycles"

    def infer(self, data: bytes) -> Inference:
        """Load ``data`` (the model's input bytes), run once, return outputs and the count."""
        self.client.load_input(device_bytes(self.info, bytes(data)))
        self.client.run_once()
        return Inference(self.client.outputs(), self.client.cycles(), self.unit)

    def reference(self, data: bytes) -> list[bytes]:
        """What the tflite-micro runtime computes for ``data``: the bit-exactness oracle."""
        return oracle.reference_outputs(self.firmware.model, [bytes(data)])[0]

    def random_inputs(self, count: int = DEFAULT_NUM_INPUTS) -> list[bytes]:
        return oracle.random_inputs(self.firmware.model, count)

    def measure(self, *, inputs: list[bytes] | None = None, labels: list[int] | None = None,
                count: int = DEFAULT_NUM_INPUTS, runs: int = 1) -> dict[str, Any]:
        """`tinykit measure` on this session: latency, bit-exactness (and accuracy with labels)."""
        req = MeasureRequest(url=self.url, board=self.board, model_path=self.firmware.model, inputs=inputs,
                             labels=labels, num_inputs=count, runs=runs)
        result = measure_on(self.client, req)
        return {**result, **self.firmware.to_dict(), "place": self.target.place, **self.place_info}

    def memory(self) -> dict[str, int | None]:
        info = self.client.info()
        return {"flash_bytes": self.firmware.flash_bytes, "ram_bytes": self.firmware.ram_bytes,
                "arena_bytes": info.get("arena"), "stack_bytes": info.get("stack"),
                "stack_used_bytes": info.get("stack_used")}


def _flash(stack: contextlib.ExitStack, firmware: Firmware, board: Board, port: str | None, serial: str,
           on_place: bool) -> DeviceLink:
    """Start QEMU for an emulated board; flash a real one through its flasher; a place flashed itself."""
    if on_place or (board.emulated and port is not None):  # already running (exported or started by hand)
        return DeviceLink(url=str(port), board=board.id, baud=board.uart.baud)
    if board.emulated:
        return stack.enter_context(QemuFlasher(board, serial=serial).flash(firmware.dir))
    return stack.enter_context(get_flasher(board).flash(firmware.dir, port=port))


def _check_model(client: DeviceClient, firmware: Firmware, where: str) -> dict[str, Any]:
    """The device's tk-info, once it is known to run this firmware's model."""
    info = client.info()
    running = str(info.get("model", ""))
    if not firmware.model_sha256.startswith(running) or not running:
        raise DeviceError(f"the board at {where} runs model {running or '?'}, not {firmware.model.name} "
                          f"({firmware.model_sha256[:16]})",
                          hint="flash this model's firmware on it (the place has no flashing resource)")
    return info


@contextlib.contextmanager
def open_session(model: Path | str, target: Target, *, serial: str = "tcp", trace=None,
                 cache: Path | None = None) -> Iterator[BoardSession]:
    """Build (cached), put on the board, connect; everything started or acquired is released after."""
    board = load_board(target.board)
    firmware = firmware_for(model, board, cache)
    with contextlib.ExitStack() as stack:
        port, place_info = target.port, {}
        if target.place:
            from tinykit.hil.farm import acquire_place

            place = stack.enter_context(acquire_place(target.place, target.coordinator))
            port, place_info = place.serial_url, place.to_dict()
        link = _flash(stack, firmware, board, port, serial, on_place=bool(target.place))
        client = stack.enter_context(DeviceClient(link.url, baud=board.uart.baud, trace=trace,
                                                  stateful=oracle.is_stateful(firmware.model)))
        client.wait_ready()
        info = _check_model(client, firmware, link.url)
        yield BoardSession(firmware, board, target, link.url, client, info, place_info)
