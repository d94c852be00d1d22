"""Firmware on emulated boards: MLPerf Tiny protocol, tk- extensions, robustness, calibration and
bit-exact hello_world against the tflite-micro runtime. Plain pyserial, not tinykit's client."""

from __future__ import annotations

import random
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from firmware_helpers import FIXTURE_DIR, FIXTURE_IO, FixtureLibrary, RawDevice, fixture_outputs

from tinykit.device import protocol
from tinykit.firmware.build import build_firmware
from tinykit.flash import get_flasher
from tinykit.measure import device_bytes
from tinykit.models import reference_model

pytestmark = pytest.mark.qemu

EMULATED = ["qemu-m4", "qemu-m3", "qemu-m7", "qemu-m55", "qemu-m0"]
CALIB_DIR = FIXTURE_DIR.parent / "fw_calib"
CALIB_INSTRUCTIONS = 1_000_000  # 500,000 iterations of subs/bne
INPUTS_PER_BOARD = 20


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fw_fixture")
    return build_firmware(None, "qemu-m4", out, library=FixtureLibrary(), model_io=FIXTURE_IO).dir


@pytest.fixture
def dev(fixture_build):
    with get_flasher("qemu-m4").flash(fixture_build) as link:
        d = RawDevice(link.url)
        boot = d.until_ready()
        d.boot = boot
        yield d
        d.close()


def test_boot_lines(dev):
    assert dev.boot[0] == "m-timestamp-mode-performance"
    assert re.fullmatch(r"m-lap-us-\d+", dev.boot[1])
    assert dev.boot[-1] == "m-init-done"


def test_mlperf_commands(dev):
    assert dev.cmd("name") == ["m-name-dut-[tinykit]"]
    assert dev.cmd("profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[tinykit]"]
    assert re.fullmatch(r"m-lap-us-\d+", dev.cmd("timestamp")[0])
    data = bytes(range(250, 256)) + bytes(range(10))
    assert dev.cmd("db load 16") == ["m-[Expecting 16 bytes]"]
    assert dev.cmd("db " + data[:7].hex()) == []
    assert dev.cmd("db " + data[7:].hex().upper()) == ["m-load-done"]
    assert dev.cmd("db print") == ["m-buffer-" + "-".join(f"{b:02x}" for b in data[:8]),
                                   "m-buffer-" + "-".join(f"{b:02x}" for b in data[8:])]
    lines = dev.cmd("infer 3 2")
    assert lines[:3] == ["m-warmup-start-2", "m-warmup-done", "m-infer-start-3"]
    t0, t1 = (int(x.rsplit("-", 1)[1]) for x in lines[3:5])
    assert t1 >= t0
    assert lines[5] == "m-infer-done"
    out0, out1 = fixture_outputs(data)
    expected = ",".join(f"{0.25 * ((b - 256 if b > 127 else b) + 3):.3f}" for b in out0)
    assert lines[6] == f"m-results-[{expected}]"
    assert dev.cmd("results") == [lines[6]]
    assert dev.outputs() == [out0, out1]


def test_tk_extensions(dev):
    data = bytes(random.Random(1).randrange(256) for _ in range(16))
    dev.load(data)
    assert dev.cmd("tk-crc") == [f"m-tk-crc-[{zlib.crc32(data):08x}]"]
    assert dev.cmd("tk-run") == ["m-tk-run-done"]
    assert dev.outputs() == list(fixture_outputs(data))
    assert dev.cmd("tk-reset") == ["m-tk-reset-done"]  # a stateless model: nothing to reset
    cycles = int(re.fullmatch(r"m-tk-cycles-\[(\d+)\]", dev.cmd("tk-cycles")[0]).group(1))
    assert 0 < cycles < 10_000
    layers = dev.cmd("tk-layers")
    assert [re.fullmatch(r"m-tk-layer-(\d+)-\[(\w+),(\d+)\]", x).group(2) for x in layers] == ["SUM4", "XOR"]
    info = dev.cmd("tk-info")[0]
    fields = dict(kv.split("=") for kv in re.fullmatch(r"m-tk-info-\[(.*)\]", info).group(1).split(","))
    assert fields["board"] == "qemu-m4" and fields["model"] == "ab" * 8
    assert fields["arena"] == "48" and fields["stack"] == "8192" and fields["counter"] == "systick"
    assert 0 < int(fields["stack_used"]) < 8192
    assert (fields["clock"], fields["emulated"], fields["inputs"], fields["outputs"], fields["input_bytes"]) == \
        ("25000000", "1", "1", "2", "16")


BAD_COMMANDS = [
    ("x" * 81, "e-[Command too long]"),
    ("", "e-[Empty command]"),
    ("frobnicate", "e-[Unknown command: frobnicate]"),
    ("name extra", "e-[Unexpected argument: extra]"),
    ("tk-reset 1", "e-[Unexpected argument: 1]"),
    ("db", "e-[Command 'db' requires a subcommand]"),
    ("db load", "e-[Command 'db load' requires the # of bytes]"),
    ("db load 0", "e-[Command 'db load' must be >0 bytes]"),
    ("db load 17", "e-[db load 17 exceeds the input size 16]"),
    ("db load 99999999999", "e-[Invalid byte count: 99999999999]"),
    ("db load -1", "e-[Invalid byte count: -1]"),
    ("db 0g", "e-[Invalid hex digit g]"),
    ("db 012", "e-[Insufficent number of hex digits]"),
    ("db " + "00" * 17, "e-[Too many bytes: expecting 16 more]"),
    ("infer 0", "e-[Inference iterations must be >0 and <=100000: 0]"),
    ("infer 100001", "e-[Inference iterations must be >0 and <=100000: 100001]"),
    ("infer 1 x", "e-[Inference warmup must be >=0 and <=10000: x]"),
    ("infer 1 1 1", "e-[Unexpected argument: 1]"),
    ("a b c d e", "e-[Too many arguments]"),
]


def test_bad_commands_are_rejected_and_change_nothing(dev):
    data = bytes(range(16))
    dev.load(data)
    dev.cmd("db load 16")  # a load in progress, nothing received yet
    for text, error in BAD_COMMANDS:
        assert dev.cmd(text) == [error], text
    # the rejected `db load 17` and the oversized chunk left the announced size (16) and the bytes
    assert dev.cmd("db " + data.hex()) == ["m-load-done"]
    assert dev.cmd("db 00") == ["e-[No db load in progress]"]
    assert dev.cmd("tk-crc") == [f"m-tk-crc-[{zlib.crc32(data):08x}]"]
    dev.cmd("tk-run")
    assert dev.outputs() == list(fixture_outputs(data))


def test_random_bytes_never_hang_the_firmware(dev):
    rng = random.Random(1234)
    for _ in range(40):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        dev.port.write(junk.replace(b"%", b"") + b"%")
        lines = dev.until_ready()
        assert all(protocol.parse_line(line) is not None for line in lines), lines
    data = bytes(rng.randrange(256) for _ in range(16))
    assert dev.load(data)[-1] == "m-load-done"
    assert dev.cmd("tk-run") == ["m-tk-run-done"]
    assert dev.outputs() == list(fixture_outputs(data))
    assert dev.cmd("name") == ["m-name-dut-[tinykit]"]


@pytest.mark.parametrize("board", EMULATED)
def test_instruction_count_calibration(board, tmp_path):
    """A loop of exactly 1,000,000 instructions must read as that many (+ call overhead)."""
    lib = FixtureLibrary(sources=[CALIB_DIR / "model.c"])
    res = build_firmware(None, board, tmp_path, library=lib, model_io=FIXTURE_IO)
    with get_flasher(board).flash(res.dir) as link:
        d = RawDevice(link.url)
        d.until_ready()
        d.load(bytes(16))
        assert d.cmd("tk-run") == ["m-tk-run-done"]
        cycles = int(re.fullmatch(r"m-tk-cycles-\[(\d+)\]", d.cmd("tk-cycles")[0]).group(1))
        d.close()
    assert CALIB_INSTRUCTIONS <= cycles <= CALIB_INSTRUCTIONS + 200


def _oracle(model_path: Path, inputs: list[np.ndarray]) -> list[bytes]:
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model_path.read_bytes())
    outs = []
    for x in inputs:
        it.set_input(x, 0)
        it.invoke()
        outs.append(it.get_output(0).tobytes())
    return outs


def run_model_on_board(model_path: Path, board: str, out_dir: Path, n_inputs: int = INPUTS_PER_BOARD):
    """Build, run n random inputs, return (mismatch count, instructions of the last inference)."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model_path.read_bytes())
    spec = it.get_input_details(0)
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, size=spec["shape"], dtype=np.int8) for _ in range(n_inputs)]
    expected = _oracle(model_path, inputs)
    res = build_firmware(model_path, board, out_dir)
    mismatched = 0
    with get_flasher(board).flash(res.dir) as link:
        d = RawDevice(link.url)
        d.until_ready()
        info = protocol.parse_info(re.fullmatch(r"m-tk-info-\[(.*)\]", d.cmd("tk-info")[-1]).group(1))
        for x, want in zip(inputs, expected, strict=True):
            assert d.load(device_bytes(info, x.tobytes()))[-1] == "m-load-done"
            assert d.cmd("tk-run", timeout=300) == ["m-tk-run-done"]
            got = d.outputs()[0]
            mismatched += sum(a != b for a, b in zip(got, want, strict=True))
        cycles = int(re.fullmatch(r"m-tk-cycles-\[(\d+)\]", d.cmd("tk-cycles")[0]).group(1))
        d.close()
    return mismatched, cycles


@pytest.mark.parametrize("board", EMULATED)
def test_hello_world_bit_exact(board, tmp_path):
    mismatched, cycles = run_model_on_board(reference_model("hello_world"), board, tmp_path)
    assert mismatched == 0
    assert 0 < cycles < 100_000


def test_energy_mode_firmware_on_qemu(tmp_path):
    """Energy mode compiles and runs; the timestamp is a GPIO pulse (unobservable in QEMU), no line."""
    res = build_firmware(None, "qemu-m0", tmp_path, energy_mode=True, library=FixtureLibrary(),
                         model_io=FIXTURE_IO)
    with get_flasher("qemu-m0").flash(res.dir) as link:
        d = RawDevice(link.url)
        assert d.until_ready() == ["m-timestamp-mode-energy", "m-init-done"]
        assert d.cmd("timestamp") == []
        d.load(bytes(range(16)))
        lines = d.cmd("infer 2 0")
        assert lines[:4] == ["m-warmup-start-0", "m-warmup-done", "m-infer-start-2", "m-infer-done"]
        d.close()
