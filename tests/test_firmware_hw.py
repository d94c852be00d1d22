"""Firmware on a real board (`pytest -m hw --board nucleo-l4r5zi --port /dev/ttyACM0`): flash, then
the same protocol and bit-exactness checks as on QEMU. Skipped without --board/--port."""

from __future__ import annotations

import time

import numpy as np
import pytest
from firmware_helpers import RawDevice
from test_firmware import INPUTS_PER_BOARD, _oracle

from tinykit.firmware.build import build_firmware
from tinykit.flash import get_flasher
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.hw

BOOT_WAIT_S = 2.0  # the board resets after flashing; its boot lines may be gone before we listen


def test_hello_world_on_real_board(hw_board, tmp_path):
    board_id, port = hw_board
    board = load_board(board_id)
    model = reference_model("hello_world")
    res = build_firmware(model, board, tmp_path)
    link = get_flasher(board).flash(res.dir, port=port)
    time.sleep(BOOT_WAIT_S)
    d = RawDevice(link.url, baud=board.uart.baud)
    try:
        d.port.reset_input_buffer()
        assert d.cmd("name") == ["m-name-dut-[tinykit]"]
        info = d.cmd("tk-info")[0]
        assert f"board={board.id}," in info and f"clock={board.clock_hz}," in info
        rng = np.random.default_rng(0)
        inputs = [rng.integers(-128, 128, size=(1, 1), dtype=np.int8) for _ in range(INPUTS_PER_BOARD)]
        for x, want in zip(inputs, _oracle(model, inputs), strict=True):
            assert d.load(x.tobytes())[-1] == "m-load-done"
            assert d.cmd("tk-run") == ["m-tk-run-done"]
            assert d.outputs()[0] == want
    finally:
        d.close()
        link.close()
