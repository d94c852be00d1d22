"""`tinykit doctor`, USB matching of boards and probes, and flashing without a probe attached."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from firmware_helpers import FIXTURE_IO, FixtureLibrary
from serial.tools.list_ports_common import ListPortInfo

from tinykit.cli import main
from tinykit.errors import FlashError
from tinykit.firmware.build import build_firmware
from tinykit.flash import discovery, get_flasher
from tinykit.flash.discovery import UsbDevice

pytestmark = pytest.mark.host


def _port(device: str, vid: int, pid: int, description: str, serial: str) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description, info.serial_number = vid, pid, description, serial
    return info


@pytest.fixture
def fake_usb(monkeypatch):
    """A desk with a NUCLEO (ST-LINK V2-1 + its VCP), a Pico in BOOTSEL, a Nano 33 BLE and a USB mouse."""
    ports = [_port("/dev/ttyACM0", 0x0483, 0x374B, "STM32 STLink", "066DFF"),
             _port("/dev/ttyACM1", 0x2341, 0x805A, "Nano 33 BLE", "A1B2"),
             _port("/dev/ttyS0", None, None, "ttyS0", None)]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    monkeypatch.setattr(discovery, "pyocd_probes", lambda: [])
    monkeypatch.setattr(discovery, "usb_enumeration", lambda: [
        UsbDevice(0x0483, 0x374B), UsbDevice(0x2E8A, 0x0003), UsbDevice(0x046D, 0xC077)])


def test_doctor_json_here_reports_qemu_boards_and_no_probes():
    res = CliRunner().invoke(main, ["doctor", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    boards = {b["id"]: b for b in report["boards"]}
    for bid in ("qemu-m4", "qemu-m0", "qemu-m3", "qemu-m7", "qemu-m55"):
        assert boards[bid]["usable"] and boards[bid]["state"] == "usable (emulated)"
    assert report["probes"] == [] and report["serial_ports"] == []
    tools = {t["name"]: t for t in report["tools"]}
    for name in ("arm-none-eabi-gcc", "qemu-system-arm", "openocd", "pyocd"):  # installed by `make setup`
        assert tools[name]["found"] and tools[name]["version"], name
    assert not boards["nucleo-l4r5zi"]["attached"]
    assert any("qemu-m4" in step for step in report["next"])


def test_doctor_matches_usb_ids_to_boards(fake_usb):
    report = json.loads(CliRunner().invoke(main, ["doctor", "--json"]).stdout)
    by_id = {d["id"]: d for d in report["usb_devices"]}
    assert set(by_id) == {"0483:374b", "2341:805a", "2e8a:0003", "046d:c077"}  # ttyS0 has no USB id
    stlink = by_id["0483:374b"]
    assert stlink["probe"] == "ST-LINK/V2-1" and stlink["port"] == "/dev/ttyACM0"
    assert {b["board"] for b in stlink["boards"]} == {"nucleo-l4r5zi", "stm32f746g-disco"}
    assert by_id["2e8a:0003"]["boards"] == [{"board": "pico", "role": "bootloader"}]
    assert by_id["2341:805a"]["boards"][0]["board"] == "nano33ble" and by_id["046d:c077"]["boards"] == []
    assert [p["id"] for p in report["probes"]] == ["0483:374b"]
    boards = {b["id"]: b for b in report["boards"]}
    assert boards["nucleo-l4r5zi"]["state"].startswith("ready: ST-LINK/V2-1 (0483:374b, /dev/ttyACM0)")
    assert boards["pico"]["attached"] == ["RP2040 boot ROM (BOOTSEL) (2e8a:0003)"]
    assert boards["nano33ble"]["attached"] == [str(UsbDevice(0x0483, 0x374B, "STM32 STLink", "066DFF",
                                                             "/dev/ttyACM0"))]  # pyOCD takes any probe
    assert "flash and measure: tinykit run MODEL --board nucleo-l4r5zi --port /dev/ttyACM0" in report["next"]


def test_doctor_table(fake_usb):
    res = CliRunner().invoke(main, ["doctor"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "ST-LINK/V2-1" in res.output and "nucleo-l4r5zi (probe)" in res.output


def test_flash_nucleo_without_probe_is_one_error_about_the_probe(tmp_path):
    """`tinykit flash` for the NUCLEO here: the tool is installed, the probe is not attached."""
    out = build_firmware(None, "nucleo-l4r5zi", tmp_path / "b", library=FixtureLibrary(), model_io=FIXTURE_IO).dir
    res = CliRunner().invoke(main, ["flash", str(out), "--port", "/dev/null"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no probe found for nucleo-l4r5zi" in errors[0], res.output
    assert "ST-LINK/V2-1 0483:374b" in errors[0] and "saw no USB devices" in errors[0]
    assert "not found on PATH" not in res.output and "Traceback" not in res.output


def test_flash_sees_another_probe_only(tmp_path, monkeypatch):
    monkeypatch.setattr(discovery, "attached_devices", lambda: [UsbDevice(0x0D28, 0x0204, "DAPLink")])
    out = build_firmware(None, "nucleo-l4r5zi", tmp_path / "b", library=FixtureLibrary(), model_io=FIXTURE_IO).dir
    with pytest.raises(FlashError, match=r"saw CMSIS-DAP \(Arm DAPLink\) \(0d28:0204\)"):
        get_flasher("nucleo-l4r5zi").flash(out, port="/dev/null")


def test_pyocd_nano_without_probe(tmp_path):
    """pyOCD runs from tinykit's own environment; nrf52840 is a built-in target; no probe: a clean error."""
    out = build_firmware(None, "nano33ble", tmp_path / "b", library=FixtureLibrary(), model_io=FIXTURE_IO).dir
    res = CliRunner().invoke(main, ["flash", str(out), "--port", "/dev/null"])
    assert res.exit_code == 2 and "error: no probe found for nano33ble" in res.output, res.output


def test_pyocd_target_without_pack_is_named(tmp_path):
    from tinykit.flash.probes import PyocdFlasher
    from tinykit.targets.boards import load_board

    board = load_board("nano33ble").model_copy(update={"flasher": load_board("nano33ble").flasher.model_copy(
        update={"params": load_board("nano33ble").flasher.params.model_copy(update={"target": "stm32l4r5zitx"})})})
    with pytest.raises(FlashError, match="no target 'stm32l4r5zitx' built in"):
        PyocdFlasher(board).require_target()
