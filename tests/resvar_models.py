"""Models with tf.Variable state for the resource-variable tests, converted by TensorFlow itself.

A ``tf.Module`` keeps its state in ``tf.Variable``s updated on every call (a sliding window of the
last frames, an exponentially decaying sum); the converter, with
``experimental_enable_resource_variables``, emits CALL_ONCE + an init subgraph assigning the
variables' initial values, and VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE in the main graph.
``_experimental_variable_quantization`` makes the variables int8 (without it they stay float32 behind
QUANTIZE/DEQUANTIZE). Files are cached by the builder's source under /tmp like the op zoo's.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import numpy as np

from tinykit.files import write_atomic

CACHE_DIR = Path(os.environ.get("TINYKIT_OPZOO_CACHE", "/tmp/tinykit-opzoo"))
FRAME = 4


def _module(window: int, units: int, decay: bool):
    """Sliding window of ``window`` frames (and, with ``decay``, a decaying sum of the frames) -> dense -> ReLU."""
    import tensorflow as tf

    rng = np.random.default_rng(7)

    class Stream(tf.Module):
        def __init__(self):
            super().__init__()
            self.buf = tf.Variable(rng.uniform(-0.5, 1.0, (1, window * FRAME)).astype(np.float32), trainable=False)
            self.acc = tf.Variable(np.full((1, FRAME), 0.25, np.float32), trainable=False) if decay else None
            self.w = tf.constant(rng.normal(0, 0.5, (window * FRAME, units)).astype(np.float32))
            self.b = tf.constant(rng.normal(0, 0.2, (units,)).astype(np.float32))
            self.w2 = tf.constant(rng.normal(0, 0.5, (FRAME, units)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, FRAME], tf.float32)])
        def __call__(self, x):
            new = tf.concat([self.buf[:, FRAME:], x], axis=1)
            self.buf.assign(new)
            y = tf.matmul(new, self.w) + self.b
            if self.acc is not None:
                acc = self.acc * 0.5 + x
                self.acc.assign(acc)
                y = y + tf.matmul(acc, self.w2)
            return tf.nn.relu(y)

    return Stream()


def stream_model(window: int = 3, units: int = 5, decay: bool = False, quantize_variables: bool = True,
                 int16: bool = False) -> Path:
    """The converted int8 model (int8 I/O; ``int16``: 16x8 with int16 I/O and variables), converted
    once then read from the cache."""
    key = hashlib.sha256(f"{inspect.getsource(_module)}{inspect.getsource(stream_model)}"
                         f"{window},{units},{decay},{quantize_variables},{int16}".encode()).hexdigest()[:16]
    path = CACHE_DIR / f"resvar_stream-{key}.tflite"
    if path.is_file():
        return path
    import tensorflow as tf

    module = _module(window, units, decay)
    rng = np.random.default_rng(1)

    def representative():
        for _ in range(32):
            yield [rng.uniform(0.0, 1.0, (1, FRAME)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    converter.experimental_enable_resource_variables = True
    converter._experimental_variable_quantization = quantize_variables
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    ops = tf.lite.OpsSet
    converter.target_spec.supported_ops = [
        ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16 else ops.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int16 if int16 else tf.int8
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, converter.convert())


def edited(src: Path, name: str, edit) -> Path:
    """A copy of ``src`` with ``edit(model)`` applied to the schema's object API (malformed cases)."""
    from tests.recurrent_models import _pack, _schema, _write_cached

    model = _schema().ModelT.InitFromPackedBuf(bytearray(Path(src).read_bytes()), 0)
    edit(model)
    return _write_cached(name, _pack(model))
