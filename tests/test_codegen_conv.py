"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, RESHAPE: every option, bit-exact vs tflite-micro.

Small Keras models (converted to int8 by TensorFlow, cached on disk) cover padding, strides,
dilations, fused activations, per-channel vs per-tensor weights, odd and prime sizes, 1x1 and
large kernels and depth multipliers. Each runs through both C paths: plain C and the DSP (SMLAD)
path with portable stand-ins for the instructions (TK_DSP_EMULATE). Zero mismatches allowed.
"""

from __future__ import annotations

import pytest
from codegen_helpers import host_library, int8_tflite, randomize_weights

from tinykit import oracle
from tinykit.verify import compare_outputs

N_INPUTS = 40


def _keras():
    import tensorflow as tf

    return tf.keras


def _conv_stack(shape, layers_fn):
    def build():
        keras = _keras()
        inp = keras.Input(shape, batch_size=1)
        x = inp
        for make in layers_fn(keras.layers):
            x = make(x)
        model = keras.Model(inp, x)
        randomize_weights(model)
        return model
    return build


MODELS = {
    # name: (input shape, layers, per_channel)
    "conv_same_stride2_relu": ((11, 9, 3), lambda L: [
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        L.Conv2D(5, 5, padding="same", activation="relu6"),
        L.Conv2D(7, 1, padding="valid")], True),
    "conv_valid_dilated_prime": ((13, 7, 5), lambda L: [
        L.Conv2D(7, 3, dilation_rate=2, padding="valid", activation="relu"),
        L.Conv2D(3, (2, 3), dilation_rate=(1, 2), padding="same"),
        L.Conv2D(11, (3, 1), strides=(2, 1), padding="same", activation="relu6")], True),
    "conv_per_tensor": ((10, 10, 4), lambda L: [
        L.Conv2D(6, 3, strides=(1, 2), padding="same", activation="relu"),
        L.Conv2D(9, 4, strides=3, padding="valid"),
        L.Conv2D(4, 1, activation="relu6")], False),
    "conv_large_kernel": ((16, 12, 1), lambda L: [
        L.Conv2D(16, (10, 4), strides=(2, 2), padding="same", activation="relu"),
        L.Conv2D(2, 7, padding="same")], True),
    "depthwise_multipliers": ((9, 8, 6), lambda L: [
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="valid", activation="relu6"),
        L.DepthwiseConv2D(2, depth_multiplier=3, padding="same")], True),
    "depthwise_dilated_wide": ((12, 10, 40), lambda L: [
        L.DepthwiseConv2D(3, dilation_rate=2, padding="same", activation="relu6"),
        L.DepthwiseConv2D(5, strides=(2, 1), padding="same"),
        L.DepthwiseConv2D((1, 3), padding="valid", activation="relu")], True),
    "depthwise_per_tensor": ((7, 7, 5), lambda L: [
        L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu"),
        L.DepthwiseConv2D(3, strides=2, padding="same")], False),
    "fc_stack": ((37,), lambda L: [
        L.Dense(29, activation="relu"), L.Dense(13, activation="relu6"), L.Dense(1)], True),
    "fc_keep_num_dims_reshape": ((5, 12), lambda L: [
        L.Dense(7, activation="relu"), L.Reshape((35,)), L.Dense(10)], True),
    "fc_per_tensor": ((33,), lambda L: [L.Dense(17, activation="relu"), L.Dense(3)], False),
    "conv_flatten_fc": ((8, 6, 2), lambda L: [
        L.Conv2D(4, 3, padding="same", activation="relu"), L.Flatten(), L.Dense(5)], True),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_path(request):
    shape, layers, per_channel = MODELS[request.param]
    return int8_tflite(_conv_stack(shape, layers), shape, request.param, per_channel=per_channel)


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
