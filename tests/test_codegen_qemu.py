"""The Cortex-M code paths the host cannot run, on emulated cores: the DSP + inline-assembly path
(qemu-m4) and the plain C path compiled for ARMv6-M (qemu-m0), byte for byte against the
tflite-micro runtime, on the conv/depthwise/fully-connected op matrix of test_codegen_conv.py."""

from __future__ import annotations

import shutil

import pytest
from codegen_helpers import CONV_MODELS, conv_stack, int8_tflite

from tinykit import oracle
from tinykit.errors import BoardFitError

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                                    reason="qemu-system-arm not installed")]

M0_MODELS = ("conv_same_stride2_relu", "depthwise_multipliers", "fc_stack")


def _device_mismatches(path, board_id, build_dir, n=3) -> int:
    from tinykit.device import DeviceClient
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher
    from tinykit.targets.boards import load_board

    board = load_board(board_id)
    try:
        build = build_firmware(path, board, build_dir)
    except BoardFitError as err:
        pytest.skip(f"does not fit {board_id}: {err.message}")
    blobs = oracle.random_inputs(path, n, seed=5)
    refs = oracle.reference_outputs(path, blobs)
    bad = 0
    with get_flasher(board).flash(build.dir) as link, DeviceClient(link.url) as dev:
        dev.wait_ready()
        for blob, ref in zip(blobs, refs, strict=True):
            dev.load_input(blob)
            dev.run_once()
            bad += dev.outputs() != ref
    return bad


def _model(name):
    shape, layers, per_channel = CONV_MODELS[name]
    return int8_tflite(conv_stack(shape, layers), shape, name, per_channel=per_channel)


@pytest.mark.parametrize("name", sorted(CONV_MODELS))
def test_dsp_assembly_path_bit_exact_on_m4(name, tmp_path):
    assert _device_mismatches(_model(name), "qemu-m4", tmp_path / "fw") == 0


@pytest.mark.parametrize("name", M0_MODELS)
def test_plain_c_path_bit_exact_on_m0(name, tmp_path):
    assert _device_mismatches(_model(name), "qemu-m0", tmp_path / "fw") == 0
