"""MLPerf Tiny harness compatibility: uint8 input data converted on the device as the benchmark's image
classification firmware does (each byte minus 128 into the int8 input), declared per model and shown
by tk-info; the runner's accuracy session (db load, 31-byte db chunks, `infer 1 0`, m-results) gives
the same results as `tinykit measure` for the same uint8 data. Plain pyserial plays the runner."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from firmware_helpers import RawDevice

from tinykit import oracle
from tinykit.cli import main
from tinykit.device.protocol import parse_info
from tinykit.firmware.build import build_firmware
from tinykit.firmware.context import model_io_from_graph
from tinykit.flash.qemu import QemuFlasher
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.qemu

BOARD = "qemu-m4"
RUNNER_CHUNK = 31  # bytes per `db` command, as the MLPerf runner sends them
IMAGES = 3


def uint8_data(model, count: int, seed: int = 5) -> np.ndarray:
    """uint8 'pixels' shaped like the model's input."""
    size = sum(s.nbytes for s in oracle.input_specs(model))
    return np.random.default_rng(seed).integers(0, 256, size=(count, size), dtype=np.uint8)


def expected_results(model, data: np.ndarray) -> list[str]:
    """m-results of the reference: output 0 of (pixel - 128), dequantized, 3 decimals."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model.read_bytes())
    q = interp.get_output_details(0)["quantization_parameters"]
    scale, zp = float(q["scales"][0]), int(q["zero_points"][0])
    lines = []
    for row in data:
        out = oracle.reference_outputs(model, [(row.astype(np.int16) - 128).astype(np.int8).tobytes()])[0][0]
        values = np.frombuffer(out, dtype=np.int8).astype(np.float32)
        lines.append("m-results-[" + ",".join(f"{np.float32(scale) * (v - zp):.3f}" for v in values) + "]")
    return lines


def runner_session(url: str, data: np.ndarray) -> list[str]:
    """What the MLPerf runner does in accuracy mode, image by image."""
    dev = RawDevice(url)
    try:
        # QEMU's TCP UART delivers the boot lines; a board the runner opens after it booted (or QEMU's
        # pty, which drops them while unopened) does not, and the runner does not flush: read them here.
        dev.until_ready()
        assert dev.cmd("name") == ["m-name-dut-[tinykit]"]
        results = []
        for row in data:
            assert dev.cmd(f"db load {row.size}") == [f"m-[Expecting {row.size} bytes]"]
            for i in range(0, row.size, RUNNER_CHUNK):
                dev.cmd("db " + row[i:i + RUNNER_CHUNK].tobytes().hex())
            lines = dev.cmd("infer 1 0")
            results.append(next(x for x in lines if x.startswith("m-results-")))
        return results
    finally:
        dev.close()


def _fmt(line: str) -> list[float]:
    return [float(v) for v in re.fullmatch(r"m-results-\[(.*)\]", line).group(1).split(",")]


def _run(model, build_dir, data, tmp_path) -> tuple[dict, list[str], dict]:
    np.save(tmp_path / "images.npy", data)
    with QemuFlasher(load_board(BOARD)).flash(build_dir) as link:
        res = CliRunner().invoke(main, ["measure", "--board", BOARD, "--port", link.url, "--model", str(model),
                                        "--inputs", str(tmp_path / "images.npy"), "--json"])
    assert res.exit_code == 0, res.output
    with QemuFlasher(load_board(BOARD)).flash(build_dir) as link:
        results = runner_session(link.url, data)
        dev = RawDevice(link.url)
        info = parse_info(re.fullmatch(r"m-tk-info-\[(.*)\]", dev.cmd("tk-info")[-1]).group(1))
        dev.close()
    return json.loads(res.stdout), results, info


def test_uint8_input_declared_on_a_user_model(tmp_path):
    model = reference_model("hello_world")
    build = build_firmware(model, BOARD, tmp_path / "fw", uint8_input=True)
    data = uint8_data(model, IMAGES)
    measured, results, info = _run(model, build.dir, data, tmp_path)
    assert info["input_data"] == "uint8"
    assert measured["mismatched_bytes"] == 0 and measured["inputs"] == IMAGES
    assert results == expected_results(model, data)


def test_without_the_conversion_the_runner_sees_other_inputs(tmp_path):
    model = reference_model("hello_world")
    build = build_firmware(model, BOARD, tmp_path / "fw")
    data = np.array([[200], [17], [255]], dtype=np.uint8)
    _, results, info = _run(model, build.dir, data, tmp_path)
    assert info["input_data"] == "raw"
    assert [_fmt(r) for r in results] != [_fmt(r) for r in expected_results(model, data)]


def test_uint8_input_refused_for_a_non_int8_input(tmp_path):
    """A float-input model (QUANTIZE on its input) cannot take uint8 data: one clear build error."""
    import opzoo

    from tinykit.errors import BuildError

    model = opzoo.convert(opzoo.CASES_BY_NAME["float_io_dense"])  # the op zoo's (cached) float-I/O model
    res = CliRunner().invoke(main, ["build", str(model), "--board", BOARD, "-o", str(tmp_path), "--uint8-input"])
    assert res.exit_code == 2 and "--uint8-input needs int8 model inputs; this model's are float32" in res.stderr
    with pytest.raises(BuildError):
        build_firmware(model, BOARD, tmp_path / "fw", uint8_input=True)


@pytest.mark.slow
def test_image_classification_model_declares_uint8_and_matches_the_runner(tmp_path):
    model = reference_model("ic")
    assert model_io_from_graph(model).input_uint8  # declared by the MLPerf model table (ic01)
    build = build_firmware(model, BOARD, tmp_path / "fw")
    data = uint8_data(model, 2)
    measured, results, info = _run(model, build.dir, data, tmp_path)
    assert info["input_data"] == "uint8" and measured["mismatched_bytes"] == 0
    assert results == expected_results(model, data)
