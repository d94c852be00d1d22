"""The Helium (MVE) kernels on the emulated Cortex-M55 (qemu-m55), byte for byte against the
tflite-micro runtime.

The host cannot run MVE, so every vector path is checked on the emulated core: the conv /
depthwise / fully-connected op matrix of test_codegen_conv.py (strides, dilations, SAME/VALID padding, per-channel
and per-tensor weights, depth multipliers, 1- and 3-channel first layers, channel counts that
leave a partial block of four for the tail predication), layers shaped for the Helium fast paths
(1x1 and 1xN convolutions that read their input in place, 3x3 depthwise rows of 8 pixels or
more at strides 1 and 2, windows of exactly 16 bytes), the general requantization (every layer
through it: -DTK_NO_FAST_REQUANT from a user board file), and one-layer models edited to exact
multipliers of 2 (left shifts) and 1/4 (rounding ties of both signs). The reference models run on qemu-m55
in test_firmware_models_m7_m55.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from codegen_helpers import CONV_MODELS, conv_stack, edit_tflite, int8_tflite
from test_codegen_qemu import _device_mismatches

from tinykit.targets.boards import load_board

on_qemu = [pytest.mark.qemu, pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                                 reason="qemu-system-arm not installed")]


def qemu(test):
    for mark in on_qemu:
        test = mark(test)
    return test

BOARD = "qemu-m55"
MATRIX = sorted(CONV_MODELS)

HELIUM_MODELS = {
    # name: (input shape, layers, per_channel)
    "mve_pointwise_in_place": ((6, 11, 16), lambda L: [
        L.Conv2D(13, 1, activation="relu"),  # 16 deep: the input is the column
        L.Conv2D(32, (1, 3), padding="valid"),  # 1xN, VALID: in place; K = 39 -> 48
        L.Conv2D(17, 1, strides=2, padding="same", activation="relu6")], True),
    "mve_tiny_pointwise": ((3, 5, 1), lambda L: [  # K = 1: no room for whole-vector stores
        L.Conv2D(1, 1), L.Conv2D(3, (1, 2), padding="same", activation="relu")], True),
    "mve_depthwise_rows": ((5, 20, 13), lambda L: [
        L.DepthwiseConv2D(3, padding="same", activation="relu"),  # 20 pixels, step 3
        L.DepthwiseConv2D(3, strides=2, padding="same"),  # 10 pixels, step 6
        L.DepthwiseConv2D(3, strides=(1, 3), padding="same", activation="relu6"),  # step 9
        L.DepthwiseConv2D((4, 4), padding="same")], True),  # a window of 16 bytes
    "mve_fc_batches_tails": ((3, 37), lambda L: [  # 3 rows, depth 37 (a 5-value tail), 18 units
        L.Dense(18, activation="relu"), L.Dense(32), L.Dense(3)], True),
    # single layers whose outputs are the model's (the exact-multiplier edits below)
    "mve_one_conv": ((7, 9, 5), lambda L: [L.Conv2D(11, 3, padding="same")], True),
    "mve_one_pointwise": ((5, 6, 16), lambda L: [L.Conv2D(12, 1)], True),
    "mve_one_depthwise": ((4, 18, 13), lambda L: [L.DepthwiseConv2D(3, padding="same")], True),
    "mve_one_depthwise_s2": ((5, 20, 8), lambda L: [L.DepthwiseConv2D(3, strides=2, padding="same")], True),
    "mve_one_fc": ((40,), lambda L: [L.Dense(23)], True),
    "mve_depthwise_wide_rows": ((3, 3200, 3), lambda L: [  # planes of 9,602 bytes: no 16-bit scatter
        L.DepthwiseConv2D(3, padding="same", activation="relu")], True),
    "mve_depthwise_per_tensor_rows": ((6, 16, 8), lambda L: [
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.DepthwiseConv2D((5, 3), strides=2, padding="valid", depth_multiplier=2)], False),
}


def _model(name: str) -> Path:
    shape, layers, per_channel = {**CONV_MODELS, **HELIUM_MODELS}[name]
    return int8_tflite(conv_stack(shape, layers), shape, name, per_channel=per_channel)


@qemu
@pytest.mark.parametrize("name", MATRIX + sorted(n for n in HELIUM_MODELS if not n.startswith("mve_one_")))
def test_helium_kernels_bit_exact(name, tmp_path):
    assert _device_mismatches(_model(name), BOARD, tmp_path / "fw", n=4) == 0


def _general_board(tmp_path: Path) -> Path:
    """qemu-m55 with every layer sent down the general requantization."""
    import yaml

    data = load_board(BOARD).model_dump(mode="json", exclude_none=True)
    data.update(id="qemu-m55-general", cflags=["-DTK_NO_FAST_REQUANT"])
    path = tmp_path / "qemu-m55-general.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _exact_multiplier(multiplier: float):
    """Flatbuffer edit of a one-layer model: weights -1..1, small biases, power-of-two scales so that
    every channel's multiplier is exactly ``multiplier`` (a power of two), no activation: 2 gives
    left shifts, 1/4 the rounding right shift of 1 where half the sums are ties (the round half away
    from zero of negative ties is what a wrong vector rounding gets wrong); most outputs in range."""

    def edit(model) -> None:
        rng = np.random.default_rng(3)
        sub = model.subgraphs[0]
        for op in sub.operators:
            data, filt, bias = (sub.tensors[i] for i in op.inputs[:3])
            weights = model.buffers[filt.buffer]
            weights.data = rng.integers(-1, 2, size=len(weights.data)).astype(np.int8).view(np.uint8)
            biases = model.buffers[bias.buffer]
            biases.data = rng.integers(-40, 41, size=len(biases.data) // 4).astype("<i4").view(np.uint8)
            filt.quantization.scale = [2.0**-6] * len(filt.quantization.scale)
            scale = float(np.float32(data.quantization.scale[0]))
            sub.tensors[op.outputs[0]].quantization.scale = [scale * 2.0**-6 / multiplier]
            op.builtinOptions.fusedActivationFunction = 0

    return edit


ONE_LAYER = sorted(n for n in HELIUM_MODELS if n.startswith("mve_one_"))


@qemu
@pytest.mark.parametrize("name", ONE_LAYER)
def test_helium_rounding_ties_bit_exact(name, tmp_path):
    """The fast requantization (every shift <= -1) of each vector body on ties of both signs."""
    path = edit_tflite(_model(name), tmp_path / "ties.tflite", _exact_multiplier(0.25))
    assert _device_mismatches(path, BOARD, tmp_path / "fw", n=6) == 0


@qemu
@pytest.mark.slow
@pytest.mark.parametrize("name", ONE_LAYER)
def test_helium_general_requantization_bit_exact(name, tmp_path):
    """The general requantization: left shifts (multiplier 2), and the ties with every layer sent
    down the general path (-DTK_NO_FAST_REQUANT)."""
    path = edit_tflite(_model(name), tmp_path / "left.tflite", _exact_multiplier(2.0))
    assert _device_mismatches(path, BOARD, tmp_path / "fw", n=6) == 0
    path = edit_tflite(_model(name), tmp_path / "ties.tflite", _exact_multiplier(0.25))
    assert _device_mismatches(path, str(_general_board(tmp_path)), tmp_path / "fw_general", n=6) == 0


@qemu
@pytest.mark.slow
@pytest.mark.parametrize("name", ["depthwise_multipliers", "mve_depthwise_rows", "mve_fc_batches_tails"])
def test_helium_general_requantization_op_matrix_bit_exact(name, tmp_path):
    assert _device_mismatches(_model(name), str(_general_board(tmp_path)), tmp_path / "fw", n=4) == 0


@pytest.mark.host
def test_bench_compares_m55_with_cmsis_nn_helium():
    """`tinykit bench --board qemu-m55` puts CMSIS-NN's MVE figures beside ours, not the M4's."""
    from tinykit import bench
    from tinykit.models import reference_model

    row = bench.bench_row("kws", reference_model("kws"), {"instructions_per_inference": 1_328_384}, BOARD)
    table = bench.markdown([row], BOARD)
    assert "1,328,384 (0.50)" in table and "1,813,174 (0.68)" in table and "43,042,792" not in table
