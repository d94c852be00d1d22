"""Clock trees as board data: the plans tinykit computes, the limits it refuses, `--clock reset`."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner
from firmware_helpers import FIXTURE_IO, FixtureLibrary

from tinykit.cli import main
from tinykit.errors import BoardError
from tinykit.firmware.build import build_firmware
from tinykit.resources import boards_dir
from tinykit.targets.boards import board_at_clock, load_board, parse_board
from tinykit.targets.clocks import uart_divisors

pytestmark = pytest.mark.host

REAL_MHZ = {"nucleo-l4r5zi": 120, "stm32f746g-disco": 216, "nano33ble": 64, "pico": 125}


def _board(bid: str) -> dict:
    return yaml.safe_load((boards_dir() / f"{bid}.yaml").read_text())


def test_tinykit_boards_shows_the_full_clocks():
    res = CliRunner().invoke(main, ["boards", "--json"])
    boards = {b["id"]: b for b in json.loads(res.output)["boards"]}
    for bid, mhz in REAL_MHZ.items():
        assert boards[bid]["clock_hz"] == mhz * 1_000_000 and f"{mhz} MHz" in boards[bid]["clock_tree"]
    table = CliRunner().invoke(main, ["boards"], env={"COLUMNS": "220"}).output
    for mhz in REAL_MHZ.values():
        assert f"{mhz} MHz" in table


def test_clock_plans_follow_the_manuals():
    l4 = load_board("nucleo-l4r5zi").clock_plan
    assert dict(l4.defines)["TK_CLK_FLASH_LATENCY"] == 5 and dict(l4.defines)["TK_CLK_BOOST"] == 1
    assert "M=1, N=60, R=2" in l4.summary
    f7 = load_board("stm32f746g-disco").clock_plan
    assert dict(f7.defines)["TK_CLK_FLASH_LATENCY"] == 7 and dict(f7.defines)["TK_CLK_OVERDRIVE"] == 1
    assert f7.uart_clock_hz == 108_000_000 and "M=25, N=432, P=2, Q=9" in f7.summary
    rp = load_board("pico").clock_plan
    assert "FBDIV=125" in rp.summary and "POSTDIV 6x2" in rp.summary


def test_user_board_at_80_mhz_needs_no_boost():
    data = _board("nucleo-l4r5zi") | {"clock_hz": 80_000_000}
    plan = parse_board(data, "x.yaml").clock_plan
    assert dict(plan.defines)["TK_CLK_BOOST"] == 0 and dict(plan.defines)["TK_CLK_FLASH_LATENCY"] == 3


def test_nucleo_f746zg_style_hse_bypass():
    data = _board("stm32f746g-disco") | {"clock": {"source": "hse", "source_hz": 8_000_000, "bypass": True}}
    plan = parse_board(data, "x.yaml").clock_plan
    assert "HSE bypass 8 MHz" in plan.summary and "M=4, N=216, P=2" in plan.summary
    assert dict(plan.defines)["TK_CLK_OSC_BYPASS"] == 1 << 18


@pytest.mark.parametrize(("bid", "change", "message"), [
    ("nucleo-l4r5zi", {"clock_hz": 130_000_000}, "at most 120 MHz"),
    ("nucleo-l4r5zi", {"clock_hz": 119_000_000}, "no PLL setting"),
    ("nucleo-l4r5zi", {"clock": {"source": "xosc", "source_hz": 12_000_000}}, "not one of stm32l4's"),
    ("nucleo-l4r5zi", {"clock": {"source": "msi", "source_hz": 8_000_000}}, "msi runs at 4000000 Hz"),
    ("nucleo-l4r5zi", {"clock": None}, "needs a clock: section"),
    ("stm32f746g-disco", {"clock_hz": 240_000_000}, "at most 216 MHz"),
    ("nano33ble", {"clock_hz": 32_000_000}, "always runs at 64 MHz"),
    ("pico", {"clock_hz": 200_000_000}, "at most 133 MHz"),
    ("pico", {"clock": {"source": "xosc", "source_hz": 12_000_000, "bypass": True}}, "bypass applies to an HSE"),
    ("qemu-m4", {"clock": {"source": "hse", "source_hz": 8_000_000}}, "fixed clock"),
    ("pico", {"cycle_counter": "dwt"}, "no DWT cycle counter"),
])
def test_impossible_clocks_are_board_file_errors(bid, change, message):
    with pytest.raises(BoardError, match=re.escape(message)):
        parse_board(_board(bid) | change, "x.yaml")


def test_unknown_clock_key_is_rejected():
    data = _board("pico")
    data["clock"]["pll_mhz"] = 125
    with pytest.raises(BoardError, match=r"clock\.pll_mhz"):
        parse_board(data, "x.yaml")


@pytest.mark.parametrize(("kind", "hz", "baud", "want"), [
    ("stm32_lpuart", 120_000_000, 115200, [("TK_UART_PRESC", 0), ("TK_UART_BRR", 266667)]),
    ("stm32_lpuart", 120_000_000, 9600, [("TK_UART_PRESC", 2), ("TK_UART_BRR", 800000)]),
    ("stm32_usart", 108_000_000, 115200, [("TK_UART_BRR", 938)]),
    ("rp2040_pl011", 125_000_000, 115200, [("TK_UART_IBRD", 67), ("TK_UART_FBRD", 52)]),
    ("nrf_uart", 16_000_000, 115200, [("TK_UART_BAUDRATE", 0x01D7E000)]),
    ("nrf_uart", 16_000_000, 9600, [("TK_UART_BAUDRATE", 0x00275000)]),
])
def test_uart_divisors(kind, hz, baud, want):
    assert uart_divisors(kind, hz, baud) == want


def test_reset_clock_board():
    b = board_at_clock(load_board("nucleo-l4r5zi"), "reset")
    assert b.clock_hz == 4_000_000 and b.power.active_current_ma == 0.44 and b.clock.speed == "reset"
    assert board_at_clock(load_board("qemu-m4"), "reset") == load_board("qemu-m4")
    with pytest.raises(BoardError, match="unknown clock setting"):
        board_at_clock(load_board("pico"), "turbo")


def test_build_clock_reset_is_recorded(tmp_path):
    res = build_firmware(None, "pico", tmp_path, library=FixtureLibrary(), model_io=FIXTURE_IO, clock="reset")
    record = json.loads((tmp_path / "build.json").read_text())
    assert (record["clock"], record["clock_hz"]) == ("reset", 12_000_000) == (res.clock, res.clock_hz)
    assert "#define TK_CLOCK_HZ 12000000u" in (tmp_path / "tk_board.h").read_text()


def test_cli_build_clock_option_is_checked(tmp_path):
    res = CliRunner().invoke(main, ["build", "hello_world", "--board", "pico", "--clock", "turbo", "-o",
                                    str(tmp_path)])
    assert res.exit_code == 2 and "turbo" in res.output


def test_measure_follows_the_clock_the_device_reports():
    from tinykit.errors import DeviceError
    from tinykit.measure import MeasureRequest, at_device_clock

    req = MeasureRequest(url="socket://x", board=load_board("nucleo-l4r5zi"))
    assert at_device_clock(req, {"clock": "120000000"}) is req
    slow = at_device_clock(req, {"clock": "4000000"})
    assert slow.board.clock_hz == 4_000_000 and slow.board.power.active_current_ma == 0.44
    with pytest.raises(DeviceError, match="reports a 16 MHz clock"):
        at_device_clock(req, {"clock": "16000000"})
