"""User board files: --boards-dir and $TINYKIT_BOARDS_PATH, `extends`, where each board comes from."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from tinykit.cli import main
from tinykit.errors import BoardError
from tinykit.targets import boards

pytestmark = pytest.mark.host
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="qemu-system-arm and arm-none-eabi-gcc are needed")

# A custom PCB with the NUCLEO's MCU: PLL at 80 MHz, the USART on other pins, less RAM reserved.
MY_L4 = {"extends": "nucleo-l4r5zi", "id": "my-l4", "name": "My L4R5 board", "clock_hz": 80_000_000,
         "memory": {"ram": {"size": 0x40000}},
         "uart": {"kind": "stm32_usart", "base": 0x40004400, "tx_pin": "PD5", "rx_pin": "PD6", "alternate_function": 7}}
# An emulated one: qemu-m4 with 256 KB of RAM and a bigger stack.
MY_M4 = {"extends": "qemu-m4", "id": "my-m4", "name": "qemu-m4 with 256 KB RAM",
         "memory": {"ram": {"size": 0x40000}}, "stack_bytes": 12288}


def _write(folder, data: dict):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(autouse=True)
def _clean_search_path(monkeypatch):
    monkeypatch.delenv(boards.BOARDS_PATH_ENV, raising=False)
    yield
    boards.set_boards_dirs([])


def test_user_board_extends_a_shipped_one(tmp_path):
    _write(tmp_path, MY_L4)
    boards.set_boards_dirs([tmp_path])
    b = boards.load_board("my-l4")
    base = boards.load_board("nucleo-l4r5zi")
    assert (b.clock_hz, b.memory.ram.size, b.memory.ram.origin) == (80_000_000, 0x40000, base.memory.ram.origin)
    assert b.memory.flash == base.memory.flash and b.flasher == base.flasher and b.power == base.power
    assert (b.uart.tx_pin, b.uart.alternate_function, b.uart.baud) == ("PD5", 7, 115200)
    src = boards.board_file("my-l4")
    assert not src.packaged and src.extends == "nucleo-l4r5zi" and str(tmp_path) in src.origin
    assert boards.board_file("nucleo-l4r5zi").packaged


def test_search_path_order_env_and_listing(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    _write(second, MY_M4)
    _write(first, {**MY_M4, "name": "the first on the path"})
    monkeypatch.setenv(boards.BOARDS_PATH_ENV, str(second))
    assert boards.load_board("my-m4").name == "qemu-m4 with 256 KB RAM"
    res = CliRunner().invoke(main, ["--boards-dir", str(first), "boards", "--json"])
    assert res.exit_code == 0, res.output
    listed = {b["id"]: b for b in json.loads(res.output)["boards"]}
    assert listed["my-m4"]["source"] == str((first / "my-m4.yaml").resolve())
    assert listed["my-m4"]["extends"] == "qemu-m4" and listed["qemu-m4"]["source"] == "tinykit"
    assert boards.load_board("my-m4").name == "the first on the path"
    table = CliRunner().invoke(main, ["--boards-dir", str(first), "boards"], env={"COLUMNS": "300"})
    assert "(extends qemu-m4)" in table.output


@pytest.mark.parametrize(("change", "message"), [
    ({"clock_mhz": 80}, "clock_mhz: Extra inputs"),
    ({"extends": "no-such-board"}, "extends unknown board 'no-such-board'"),
    ({"extends": "my-l4"}, "extends itself"),
    ({"extends": "loop"}, "goes round in a circle"),
    ({"id": "other"}, "must match the file name"),
    ({"uart": {"tx_pin": None, "kind": "usb"}}, "uart.kind"),
])
def test_bad_user_boards_get_the_same_errors(tmp_path, change, message):
    _write(tmp_path, {**MY_L4, "id": "loop", "extends": "my-l4"})
    (tmp_path / "my-l4.yaml").write_text(yaml.safe_dump({**MY_L4, **change}))
    boards.set_boards_dirs([tmp_path])
    with pytest.raises(BoardError, match=message):
        boards.load_board("my-l4")


def test_missing_boards_dir_is_a_cli_error(tmp_path, monkeypatch):
    res = CliRunner().invoke(main, ["--boards-dir", str(tmp_path / "nope"), "boards"])
    assert res.exit_code == 2 and "error: boards directory" in res.output
    monkeypatch.setenv(boards.BOARDS_PATH_ENV, str(tmp_path / "nope"))
    res = CliRunner().invoke(main, ["boards"])
    assert res.exit_code == 2 and "TINYKIT_BOARDS_PATH" in res.output


def test_user_board_for_real_hardware_builds(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    _write(tmp_path / "boards", MY_L4)
    res = CliRunner().invoke(main, ["--boards-dir", str(tmp_path / "boards"), "build", "hello_world", "--board",
                                    "my-l4", "-o", str(tmp_path / "fw"), "--json"])
    assert res.exit_code == 0, res.output
    header = (tmp_path / "fw" / "tk_board.h").read_text()
    assert "#define TK_CLOCK_HZ 80000000u" in header and "#define TK_UART_TX_PORT 3" in header
    assert "#define TK_UART_AF 7" in header and "LENGTH = 0x40000" in (tmp_path / "fw" / "linker.ld").read_text()


@pytest.mark.qemu
@needs_qemu
def test_user_board_builds_and_runs_on_qemu(tmp_path):
    _write(tmp_path / "boards", MY_M4)
    res = CliRunner().invoke(main, ["--boards-dir", str(tmp_path / "boards"), "run", "hello_world", "--board",
                                    "my-m4", "-o", str(tmp_path / "run"), "--count", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["board"] == "my-m4" and out["mismatched_bytes"] == 0 and out["inputs"] == 3
    assert out["ram_total"] == 0x40000 and out["stack_bytes"] == 12288
