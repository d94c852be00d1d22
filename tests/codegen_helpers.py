"""Helpers for the code generator tests: tiny Keras models converted to int8 .tflite, and a
session-wide cache of compiled host libraries so each model is compiled once per test session."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinykit.files import write_atomic

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_CACHE = Path(os.environ.get("TINYKIT_TEST_MODEL_CACHE", "/tmp/tinykit-test-models"))


def int8_tflite(build: Callable[[], object], input_shape: tuple[int, ...], key: str,
                per_channel: bool = True, seed: int = 0) -> Path:
    """Build a Keras model with ``build()``, convert it to full-int8 TFLite, cache it by ``key``."""
    digest = hashlib.sha256(f"{key}|{input_shape}|{per_channel}|{seed}|v1".encode()).hexdigest()[:16]
    path = MODEL_CACHE / f"{digest}.tflite"
    if path.is_file():
        return path
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.uniform(-1.0, 1.0, size=(1, *input_shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if not per_channel:
        converter._experimental_disable_per_channel = True
    data = converter.convert()
    write_atomic(path, data)
    return path


def randomize_weights(model, seed: int = 0, bias_scale: float = 0.3) -> None:
    """Give every layer non-trivial weights and biases (default bias init is zero)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, 0.5 if w.ndim > 1 else bias_scale, w.shape).astype(np.float32)
                               for w in weights])


def edit_tflite(src: Path, dst: Path, edit: Callable[[object], None]) -> Path:
    """Unpack a .tflite with the schema bindings, let ``edit(model)`` change it, pack it to ``dst``."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(Path(src).read_bytes()), 0)
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def host_library(model_path: Path, dsp_emulate: bool = False, defines: tuple[str, ...] = ()):
    """Generate + compile (cached on disk by source hash) + load; one compile per model per session."""
    from tinykit.verify import load_host_model

    key = (str(model_path), dsp_emulate, defines)
    if key not in _HOST_CACHE:
        _HOST_CACHE[key] = load_host_model(model_path, dsp_emulate, defines=defines)
    return _HOST_CACHE[key]


_HOST_CACHE: dict = {}


# ---- the conv / depthwise / fully-connected op matrix (test_codegen_conv.py, test_codegen_qemu.py)


def _keras():
    import tensorflow as tf

    return tf.keras


def conv_stack(shape, layers_fn):
    """A Keras model: Input(shape) followed by the layers layers_fn(keras.layers) makes."""
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


CONV_MODELS = {
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
