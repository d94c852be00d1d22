"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, RESHAPE: every option, bit-exact vs tflite-micro.

Small Keras models (converted to int8 by TensorFlow, cached on disk) cover padding, strides,
dilations, fused activations, per-channel vs per-tensor weights, odd and prime sizes, 1x1 and
large kernels and depth multipliers. Each runs through both C paths: plain C and the DSP (SMLAD)
path with portable stand-ins for the instructions (TK_DSP_EMULATE). Zero mismatches allowed.
"""

from __future__ import annotations

import pytest
from codegen_helpers import CONV_MODELS as MODELS
from codegen_helpers import conv_stack, host_library, int8_tflite

from tinykit import oracle
from tinykit.verify import compare_outputs

N_INPUTS = 40


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_path(request):
    shape, layers, per_channel = MODELS[request.param]
    return int8_tflite(conv_stack(shape, layers), shape, request.param, per_channel=per_channel)


def _check(path, dsp, defines=()):
    host, _ = host_library(path, dsp, defines)
    blobs = oracle.random_inputs(path, N_INPUTS, seed=7)
    refs = oracle.reference_outputs(path, blobs)
    dtypes = [s.dtype for s in oracle.output_specs(path)]
    bad = 0
    for blob, ref in zip(blobs, refs, strict=True):
        bad += compare_outputs(host.run([blob]), ref, dtypes)[0]
    assert bad == 0, f"{bad} mismatched bytes"


@pytest.mark.host
def test_bit_exact_plain_c(model_path):
    _check(model_path, dsp=False)


@pytest.mark.host
def test_bit_exact_dsp_path(model_path):
    _check(model_path, dsp=True)


@pytest.mark.host
def test_bit_exact_general_requantization(model_path):
    """The general requantization path (what layers that cannot prove fast_requant run)."""
    _check(model_path, dsp=True, defines=("TK_NO_FAST_REQUANT",))


@pytest.mark.host
def test_models_use_the_ops_under_test(model_path):
    from tinykit.ir import read_model

    ops = {op.opcode for op in read_model(model_path).operators}
    assert ops & {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
