"""The hardware tier for one real board: `make test PYTEST_ARGS='-m hw --board nucleo-l4r5zi --port /dev/ttyACM0'`.

Whoever first has a board on the desk learns within minutes whether tinykit's figures are real:
the protocol answers as the MLPerf Tiny runner expects, the MLPerf reference models run bit-exact,
the clock the board file states is the clock the chip runs at (the device's own microseconds
against the host's wall clock, and against its DWT cycle count at that clock), and the keyword
model's latency in microseconds stands next to the MLPerf Tiny published figure for that board.
Every figure is recorded with ``record_property`` (it lands in ``--junitxml``). Skipped without
--board/--port (tests/conftest.py).
"""

from __future__ import annotations

import time

import pytest
from firmware_helpers import RawDevice

from tinykit.firmware.build import build_firmware
from tinykit.flash import get_flasher
from tinykit.measure import MeasureRequest, measure
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.hw

BOOT_WAIT_S = 2.0  # the board resets after flashing
INPUTS = 10
CLOCK_CHECK_S = 3.0  # the inference run timed by the host and by the device
CLOCK_TOLERANCE = 0.02  # host wall clock vs device microseconds (serial latency is ~2 ms of 3 s)
# MLPerf Tiny v0.5-v1.3 closed division on the NUCLEO-L4R5ZI at 120 MHz, median latency in ms
# (../shared/ANCHORS.md): the TFLite Micro + CMSIS-NN reference stack and the fastest published stack.
MLPERF_MS = {"nucleo-l4r5zi": {"kws_ref_model": (181.9, 43.2), "ad01_int8": (10.05, 4.05),
                               "pretrainedResnet_quant": (704.2, 165.1), "vww_96_int8": (600.6, 88.9)}}
MODELS = ("hello_world", "kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8")


@pytest.fixture(scope="module")
def board(hw_board):
    board_id, port = hw_board
    return load_board(board_id), port


_flashed: dict[str, str] = {}


def flashed(board, model: str, tmp_path_factory) -> str:
    """Build and flash ``model`` once per session; returns the serial URL."""
    b, port = board
    if _flashed.get("model") != model:
        res = build_firmware(reference_model(model), b, tmp_path_factory.mktemp(f"hw_{model}"))
        get_flasher(b).flash(res.dir, port=port)
        time.sleep(BOOT_WAIT_S)
        _flashed["model"] = model
    return port


@pytest.fixture
def device(board, tmp_path_factory):
    url = flashed(board, "kws_ref_model", tmp_path_factory)
    d = RawDevice(url, baud=board[0].uart.baud)
    d.port.reset_input_buffer()
    d.cmd("")  # whatever the boot left on the line ends with this m-ready
    yield d
    d.close()


def test_protocol_as_the_mlperf_runner_expects(device, board):
    b, _ = board
    assert device.cmd("name") == ["m-name-dut-[tinykit]"]
    assert device.cmd("profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]"]
    assert device.cmd("bogus") == ["e-[Unknown command: bogus]"]
    info = device.cmd("tk-info")[0]
    assert f"board={b.id}," in info and f"clock={b.clock_hz}," in info
    assert device.cmd("db load 4") == ["m-[Expecting 4 bytes]"]
    assert device.cmd("db 01020304") == ["m-load-done"]
    assert device.cmd("db print") == ["m-buffer-01-02-03-04"]


def _lap_us(lines: list[str]) -> list[int]:
    return [int(x.rsplit("-", 1)[1]) for x in lines if x.startswith("m-lap-us-")]


def test_the_stated_clock_is_the_real_clock(device, board, record_property):
    """Device µs (SysTick at clock_hz) vs the host's wall clock, and vs cycles / clock_hz (DWT)."""
    b, _ = board
    one = _lap_us(device.cmd("infer 1 0"))
    per_inference_us = one[1] - one[0]
    n = max(1, round(CLOCK_CHECK_S * 1e6 / max(per_inference_us, 1)))
    device.port.write(f"infer {n} 0%".encode())
    stamps = []
    while len(stamps) < 2:
        line = device.readline()
        if line.startswith("m-lap-us-"):
            stamps.append((time.monotonic(), int(line.rsplit("-", 1)[1])))
    device.until_ready()
    host_s, device_s = stamps[1][0] - stamps[0][0], (stamps[1][1] - stamps[0][1]) / 1e6
    record_property("clock_check_host_s", host_s)
    record_property("clock_check_device_s", device_s)
    assert abs(host_s / device_s - 1) < CLOCK_TOLERANCE, \
        f"{b.id} is not running at {b.clock_hz / 1e6:g} MHz: device says {device_s:.3f} s, host saw {host_s:.3f} s"
    if b.cycle_counter == "dwt":
        cycles = int(device.cmd("tk-cycles")[0].split("[")[1].rstrip("]"))
        record_property("cycles_per_inference", cycles)
        assert abs(cycles / b.clock_hz * 1e6 / (device_s * 1e6 / n) - 1) < CLOCK_TOLERANCE


@pytest.mark.parametrize("model", MODELS)
def test_model_bit_exact_with_latency(model, board, tmp_path_factory, record_property):
    """Each reference model that fits: bit-exact on INPUTS inputs; latency in µs at the board's clock,
    next to the MLPerf Tiny published figure for the board where one exists."""
    b, _ = board
    try:
        url = flashed(board, model, tmp_path_factory)
    except Exception as err:  # a model that does not fit the board is not a failure of the board
        if type(err).__name__ == "BoardFitError":
            pytest.skip(str(err))
        raise
    result = measure(MeasureRequest(url=url, board=b, model_path=reference_model(model), num_inputs=INPUTS))
    record_property("latency_us", result["latency_us"])
    record_property("cycles_per_inference", result["cycles_per_inference"])
    assert result["mismatched_bytes"] == 0
    published = MLPERF_MS.get(b.id, {}).get(model)
    if published is None:
        return
    reference_ms, best_ms = published
    latency_ms = result["latency_us"] / 1000
    record_property("mlperf_reference_ms", reference_ms)
    record_property("mlperf_best_ms", best_ms)
    record_property("ratio_to_mlperf_best", latency_ms / best_ms)
    # tinykit's kernels execute fewer instructions than TFLite Micro with CMSIS-NN on the emulated M4
    # (docs/BENCHMARKS.md), so slower than that stack's published figure means a wrong clock or flash set-up.
    assert latency_ms < reference_ms, f"{model}: {latency_ms:.1f} ms, the TFLM + CMSIS-NN reference is {reference_ms}"
