"""Every serial transport end to end: QEMU's UART on TCP, on a pseudo-terminal (a USB CDC port), and
on that pseudo-terminal exported as RFC 2217 by a real ser2net; `tinykit measure` gives the same
bytes and the same instruction counts over each. A CPU-starved QEMU (`-icount shift=10,align=on`)
on a pty must pass run after run: no stale line is ever taken as a reply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from firmware_helpers import RawDevice
from hil_helpers import ser2net

from tinykit.cli import main
from tinykit.firmware.build import build_firmware
from tinykit.flash.qemu import MAX_ICOUNT_SHIFT, QemuFlasher
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.qemu

BOARD = "qemu-m4"
MODEL = "hello_world"
INPUTS = 4
# The starved emulator: QEMU's largest shift, ~1e6 guest instructions per second of host time.
SLOW_SHIFT = MAX_ICOUNT_SHIFT
QUICK_SLOW_RUNS = 2
SOAK_RUNS = 20


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    return build_firmware(reference_model(MODEL), BOARD, tmp_path_factory.mktemp("hil_fw")).dir


def measure(url: str, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["measure", "--board", BOARD, "--port", url, "--model", MODEL,
                                       "--count", str(INPUTS), "--json", *extra])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mismatched_bytes"] == 0 and data["validation"]["compared_bytes"] > 0, data["validation"]
    return data


def figures(data: dict) -> tuple:
    """What must not depend on the transport: counts per inference, per layer, and memory."""
    lat = data["latency"]
    return (lat["median"], lat["min"], lat["max"], [x["cycles"] for x in data["layers"]],
            data["arena_bytes"], data["stack_used_bytes"])


def test_measure_is_the_same_over_tcp_pty_and_rfc2217(build, tmp_path):
    board = load_board(BOARD)
    with QemuFlasher(board).flash(build) as link:
        assert link.url.startswith("socket://")
        tcp = measure(link.url)
    with QemuFlasher(board, serial="pty").flash(build) as link:
        assert link.url.startswith("/dev/")
        pty = measure(link.url)
    with QemuFlasher(board, serial="pty").flash(build) as link, ser2net(link.url, tmp_path) as url:
        assert url.startswith("rfc2217://127.0.0.1:")
        rfc = measure(url)
        assert rfc["device"]["url"] == url
    assert figures(tcp) == figures(pty) == figures(rfc)
    assert tcp["instructions_per_inference"] > 0


def test_firmware_echoes_sync_tokens(build):
    with QemuFlasher(load_board(BOARD)).flash(build) as link:
        dev = RawDevice(link.url)
        try:
            dev.until_ready()  # boot lines
            assert dev.cmd("tk-sync 0123456789abcdef") == ["m-tk-sync-[0123456789abcdef]"]
            assert dev.cmd("tk-sync") == ["e-[Command 'tk-sync' requires one token]"]
            assert dev.cmd("tk-sync 0123456789abcdef0") == ["e-[Invalid sync token: 0123456789abcdef0]"]
            assert dev.cmd("tk-sync AB") == ["e-[Invalid sync token: AB]"]
            assert dev.cmd("tk-sync 1 2") == ["e-[Command 'tk-sync' requires one token]"]
            # a partial command from an earlier session is ended by the lone '%' of a sync
            dev.port.write(b"db 0")
            assert dev.cmd("%tk-sync 7") == ["e-[Insufficent number of hex digits]"]
            assert dev.until_ready() == ["m-tk-sync-[7]"]
        finally:
            dev.close()


def _starved_runs(build: Path, runs: int) -> None:
    board = load_board(BOARD)
    for run in range(runs):
        with QemuFlasher(board, serial="pty", icount_shift=SLOW_SHIFT).flash(build) as link:
            data = measure(link.url)
        # virtual time runs 2^shift ns per instruction: the counts scale, the bytes do not change
        assert data["instructions_per_inference"] % (1 << SLOW_SHIFT) == 0, (run, data["latency"])


def test_starved_emulator_on_a_pty(build):
    _starved_runs(build, QUICK_SLOW_RUNS)


@pytest.mark.slow
def test_starved_emulator_on_a_pty_many_runs_in_a_row(build):
    _starved_runs(build, SOAK_RUNS)


def test_unknown_qemu_serial_backend_is_refused():
    from tinykit.errors import FlashError

    with pytest.raises(FlashError, match="unknown QEMU serial backend 'usb'"):
        QemuFlasher(load_board(BOARD), serial="usb")
    with pytest.raises(FlashError, match=r"outside 0\.\.10"):
        QemuFlasher(load_board(BOARD), icount_shift=11)
