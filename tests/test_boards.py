"""Board files: schema (unknown keys rejected), lookup errors, fit estimate, per-machine attachment."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from tinykit.cli import main
from tinykit.errors import BoardError
from tinykit.resources import boards_dir
from tinykit.targets.boards import (
    attachment,
    board_ids,
    estimate_fit,
    list_boards,
    load_board,
    parse_board,
)

pytestmark = pytest.mark.host

EMULATED = {"qemu-m4": "mps2-an386", "qemu-m3": "mps2-an385", "qemu-m7": "mps2-an500",
            "qemu-m55": "mps3-an547", "qemu-m0": "microbit"}
REAL = {"nucleo-l4r5zi", "nano33ble", "pico", "stm32f746g-disco"}


def test_every_required_board_ships_and_validates():
    boards = {b.id: b for b in list_boards()}
    assert set(EMULATED) | REAL <= set(boards)
    for bid, machine in EMULATED.items():
        assert boards[bid].emulated and boards[bid].emulator == machine
        assert boards[bid].cycle_counter == "systick"  # QEMU reads 0 from DWT CYCCNT
    for bid in REAL:
        assert not boards[bid].emulated
        assert boards[bid].power.datasheet


def test_memory_maps_match_the_emulators():
    m4 = load_board("qemu-m4")
    assert (m4.memory.flash.origin, m4.memory.flash.size) == (0, 4 << 20)
    assert (m4.memory.ram.origin, m4.memory.ram.size) == (0x20000000, 4 << 20)
    assert m4.uart.base == 0x40004000 and m4.clock_hz == 25_000_000
    m0 = load_board("qemu-m0")
    assert m0.memory.ram.size == 16 * 1024 and m0.memory.flash.size == 256 * 1024
    assert m0.uart.base == 0x40002000
    assert load_board("qemu-m55").uart.base == 0x49303000


def _board_dict(bid: str = "qemu-m4") -> dict:
    return yaml.safe_load((boards_dir() / f"{bid}.yaml").read_text())


def test_unknown_key_is_rejected():
    data = _board_dict()
    data["clock_mhz"] = 25
    with pytest.raises(BoardError, match="clock_mhz"):
        parse_board(data, "test.yaml")
    nested = _board_dict()
    nested["uart"]["parity"] = "none"
    with pytest.raises(BoardError, match="parity"):
        parse_board(nested, "test.yaml")


@pytest.mark.parametrize(("key", "value"), [("cpu", "cortex-a53"), ("cycle_counter", "rdtsc"),
                                            ("clock_hz", 0), ("emulator", None)])
def test_bad_values_are_rejected(key, value):
    data = _board_dict()
    data[key] = value
    with pytest.raises(BoardError):
        parse_board(data, "test.yaml")


def test_unknown_board_lists_known_ids():
    with pytest.raises(BoardError) as err:
        load_board("no-such-board")
    assert "qemu-m4" in err.value.hint


def test_board_from_path_must_match_its_id(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(_board_dict()))
    with pytest.raises(BoardError, match="must match"):
        load_board(str(path))
    good = tmp_path / "qemu-m4.yaml"
    good.write_text(yaml.safe_dump(_board_dict()))
    assert load_board(str(good)).id == "qemu-m4"


def test_estimate_fit_small_board():
    assert estimate_fit("qemu-m0", arena_bytes=1000, weight_bytes=2000).fits
    big = estimate_fit("qemu-m0", arena_bytes=20_000, weight_bytes=2000)
    assert not big.fits and big.ram_needed > big.ram_available == 16 * 1024


def test_attachment_from_user_config(tmp_path, monkeypatch):
    cfg = tmp_path / "boards.yaml"
    cfg.write_text("nucleo-l4r5zi: {port: /dev/ttyACM7, probe: 0669FF}\n")
    monkeypatch.setenv("TINYKIT_CONFIG", str(cfg))
    a = attachment("nucleo-l4r5zi")
    assert (a.port, a.probe) == ("/dev/ttyACM7", "0669FF")
    assert attachment("nucleo-l4r5zi", port="/dev/ttyUSB0").port == "/dev/ttyUSB0"
    assert attachment("pico").port is None
    cfg.write_text("pico: {serial: x}\n")
    with pytest.raises(BoardError, match="unknown keys"):
        attachment("pico")


def test_boards_cli_json_and_table():
    runner = CliRunner()
    res = runner.invoke(main, ["boards", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["default"] == "qemu-m4"
    assert sorted(b["id"] for b in data["boards"]) == board_ids()
    res = runner.invoke(main, ["boards"])
    assert res.exit_code == 0 and "qemu-m0" in res.output


@pytest.mark.parametrize(("bid", "params", "message"), [
    ("nano33ble", {}, "flasher.pyocd.params.target: Field required"),
    ("stm32f746g-disco", {"cfg": "x"}, "flasher.openocd.params.cfg: Extra inputs"),
    ("pico", {"family_id": "rp2040"}, "flasher.uf2.params.family_id"),
    ("qemu-m4", {"target": "x"}, "flasher.qemu.params.target: Extra inputs"),
])
def test_flasher_parameters_are_typed_per_kind(bid, params, message):
    """A pyocd board without `target` is a board-file error naming the key, not a KeyError when flashing."""
    data = _board_dict(bid)
    data["flasher"]["params"] = params
    with pytest.raises(BoardError, match=message.replace(".", r"\.")):
        parse_board(data, "test.yaml")


def test_pyocd_board_without_target_is_a_cli_error(tmp_path):
    data = _board_dict("nano33ble")
    del data["flasher"]["params"]
    path = tmp_path / "nano33ble.yaml"
    path.write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(main, ["build", "hello_world", "--board", str(path), "-o", str(tmp_path / "b")])
    assert res.exit_code == 2 and "error: invalid board file" in res.output and "params" in res.output, res.output
    assert "Traceback" not in res.output


def test_board_inherits_cpu_capabilities_and_flags():
    """The CPU table is the one place for flags and capabilities; a board only names its core."""
    m4, m0, m55 = load_board("qemu-m4"), load_board("qemu-m0"), load_board("qemu-m55")
    assert m4.compile_flags == ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    assert (m4.cpu_spec.fpu, m4.cpu_spec.dsp, m4.cpu_spec.mve) == (True, True, False)
    assert (m0.cpu_spec.fpu, m0.cpu_spec.dsp, m0.cpu_spec.vtor) == (False, False, False)
    assert m55.cpu_spec.mve and m55.cpu_spec.kernel_defines(host=True) == ("TK_DSP_EMULATE",)
    assert m0.cpu_spec.kernel_defines(host=True) == () and m4.cpu_spec.kernel_defines() == ()
    data = _board_dict()
    data["cflags"] = ["-fstack-usage"]
    assert parse_board(data, "x.yaml").compile_flags[-1] == "-fstack-usage"


def test_every_cpu_of_the_table_compiles_with_its_flags(tmp_path):
    """Each table entry's flags are accepted by the cross compiler and give the capabilities it claims."""
    import shutil
    import subprocess

    from tinykit.targets.cpus import CPUS

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    src = tmp_path / "caps.c"
    src.write_text("#if defined(__ARM_FEATURE_DSP)\nint dsp = 1;\n#endif\n"
                   "#if defined(__ARM_FP)\nint fpu = 1;\n#endif\n"
                   "#if defined(__ARM_FEATURE_MVE)\nint mve = 1;\n#endif\nint x;\n")
    for cpu in CPUS.values():
        proc = subprocess.run(["arm-none-eabi-gcc", *cpu.cflags, "-E", "-dM", str(src)], capture_output=True, text=True)
        assert proc.returncode == 0, (cpu.id, proc.stderr)
        macros = proc.stdout
        assert ("__ARM_FEATURE_DSP" in macros) == cpu.dsp, cpu.id
        assert ("__ARM_FP " in macros) == cpu.fpu, cpu.id
        assert ("__ARM_FEATURE_MVE" in macros) == cpu.mve, cpu.id
