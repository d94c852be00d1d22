"""Helpers for the code generator tests: tiny Keras models converted to int8 .tflite, and a
session-wide cache of compiled host libraries so each model is compiled once per test session."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
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
