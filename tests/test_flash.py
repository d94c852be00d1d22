"""Flashers: selection, QEMU start/stop (library and CLI), missing tools, UF2 images, bad input."""

from __future__ import annotations

import json
import os
import struct

import pytest
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile
from firmware_helpers import FIXTURE_IO, FixtureLibrary, RawDevice

from tinykit.cli import main
from tinykit.errors import FlashError, ToolMissingError
from tinykit.firmware.build import build_firmware
from tinykit.flash import get_flasher
from tinykit.flash.probes import OpenocdFlasher, PyocdFlasher
from tinykit.flash.qemu import QemuFlasher
from tinykit.flash.uf2 import UF2_MAGIC_END, UF2_MAGIC_START0, Uf2Flasher, elf_to_uf2


@pytest.fixture(scope="module")
def m4_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("flash_m4")
    return build_firmware(None, "qemu-m4", out, library=FixtureLibrary(), model_io=FIXTURE_IO).dir


@pytest.fixture(scope="module")
def pico_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("flash_pico")
    return build_firmware(None, "pico", out, library=FixtureLibrary(), model_io=FIXTURE_IO).dir


def test_flasher_per_board():
    assert isinstance(get_flasher("qemu-m4"), QemuFlasher)
    assert isinstance(get_flasher("nano33ble"), PyocdFlasher)
    assert isinstance(get_flasher("nucleo-l4r5zi"), OpenocdFlasher)
    assert isinstance(get_flasher("stm32f746g-disco"), OpenocdFlasher)
    assert isinstance(get_flasher("pico"), Uf2Flasher)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is not alive
        return fh.read().split()[2] != "Z"


@pytest.mark.qemu
def test_qemu_link_stops_qemu(m4_dir):
    with get_flasher("qemu-m4").flash(m4_dir) as link:
        assert link.url.startswith("socket://127.0.0.1:")
        d = RawDevice(link.url)
        assert d.until_ready()[-1] == "m-init-done"
        d.close()
        pid = link.pid
        assert _alive(pid)
    assert not _alive(pid)


@pytest.mark.qemu
def test_cli_flash_detached_then_stop(m4_dir):
    runner = CliRunner()
    res = runner.invoke(main, ["flash", str(m4_dir), "--board", "qemu-m4", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert json.loads((m4_dir / "device.json").read_text()) == info
    try:
        d = RawDevice(info["url"])
        assert d.until_ready()[-1] == "m-init-done"
        assert d.cmd("name") == ["m-name-dut-[tinykit]"]
        d.close()
    finally:
        res = runner.invoke(main, ["flash", "--stop", str(m4_dir), "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == {"stopped": True}
    assert not (m4_dir / "device.json").exists()


def _one_line_error(res, text):
    assert res.exit_code == 2, res.output
    errors = [x for x in res.output.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and text in errors[0], res.output


def test_cli_flash_wrong_board(m4_dir):
    res = CliRunner().invoke(main, ["flash", str(m4_dir), "--board", "qemu-m3"])
    _one_line_error(res, "was built for qemu-m4, not qemu-m3")


def test_cli_flash_not_a_build(tmp_path):
    res = CliRunner().invoke(main, ["flash", str(tmp_path), "--board", "qemu-m4"])
    _one_line_error(res, "is not a tinykit firmware build")


def test_missing_qemu(m4_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as err:
        get_flasher("qemu-m4").flash(m4_dir)
    assert "qemu-system-arm" in err.value.message and "apt-get install qemu-system-arm" in err.value.hint


@pytest.mark.parametrize(("board", "tool"), [("nucleo-l4r5zi", "openocd"), ("stm32f746g-disco", "openocd")])
def test_missing_probe_tool(board, tool, tmp_path, monkeypatch):
    out = build_firmware(None, board, tmp_path / "b", library=FixtureLibrary(), model_io=FIXTURE_IO).dir
    monkeypatch.setenv("PATH", str(tmp_path))
    res = CliRunner().invoke(main, ["flash", str(out), "--port", "/dev/null"])
    _one_line_error(res, f"{tool} not found on PATH")
    assert "install it:" in res.output


def test_uf2_image_round_trips(pico_dir):
    elf = pico_dir / "firmware.elf"
    uf2 = elf_to_uf2(elf, 0xE48BFF56)
    assert len(uf2) % 512 == 0
    blocks = [uf2[i: i + 512] for i in range(0, len(uf2), 512)]
    image = {}
    for n, block in enumerate(blocks):
        magic0, _, flags, addr, size, blockno, total, family = struct.unpack("<8I", block[:32])
        assert (magic0, blockno, total, family, size) == (UF2_MAGIC_START0, n, len(blocks), 0xE48BFF56, 256)
        assert struct.unpack("<I", block[508:])[0] == UF2_MAGIC_END and flags & 0x2000
        image[addr] = block[32: 32 + 256]
    assert min(image) == 0x10000000
    with open(elf, "rb") as fh:
        text = ELFFile(fh).get_section_by_name(".text")
        start, data = text["sh_addr"], text.data()
    page = start & ~0xFF
    assert image[page][start - page: start - page + 64] == data[:64]


def test_uf2_without_drive(pico_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYKIT_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.setattr("tinykit.flash.uf2.MOUNT_PATTERNS", (str(tmp_path / "{label}"),))
    with pytest.raises(FlashError, match="no RPI-RP2 drive is mounted") as err:
        get_flasher("pico").flash(pico_dir)
    assert "BOOTSEL" in err.value.hint


def test_uf2_copy_to_configured_drive(pico_dir, tmp_path, monkeypatch):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    cfg = tmp_path / "boards.yaml"
    cfg.write_text(f"pico: {{drive: {drive}, port: /dev/ttyACM3}}\n")
    monkeypatch.setenv("TINYKIT_CONFIG", str(cfg))
    link = get_flasher("pico").flash(pico_dir)
    assert (drive / "firmware.uf2").read_bytes()[:4] == b"UF2\n"
    assert link.url == "/dev/ttyACM3"


def test_real_board_without_port(pico_dir, tmp_path, monkeypatch):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    cfg = tmp_path / "boards.yaml"
    cfg.write_text(f"pico: {{drive: {drive}}}\n")
    monkeypatch.setenv("TINYKIT_CONFIG", str(cfg))
    with pytest.raises(FlashError, match="no serial port known for pico"):
        get_flasher("pico").flash(pico_dir)
