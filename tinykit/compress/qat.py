"""Quantization-aware training with TensorFlow Model Optimization, in a tf-keras subprocess.

tensorflow-model-optimization 0.8.1 works only with tf-keras (Keras 2), which TensorFlow selects
when ``TF_USE_LEGACY_KERAS=1`` is set before it is imported. So the parent process (Keras 3) saves
the model and the training arrays to a temporary directory and runs this module as a script with
that variable set. The worker loads the Keras 3 model with ``keras``, rebuilds the same functional
graph layer by layer in tf-keras (configs filtered to what tf-keras accepts, weights copied),
wraps it with ``quantize_model``, fine-tunes, then copies the trained weights into a batch-1 twin so
the int8 conversion has static shapes, and writes the full-int8 ``.tflite``.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tinykit.errors import QuantizationError

QAT_TIMEOUT_S = 3600
QAT_LEARNING_RATE = 1e-4
CALIBRATION_SAMPLES = 300


def qat_model_bytes(model, ds, seed: int = 0, epochs: int = 3, batch_size: int = 64) -> bytes:
    """Run QAT on an in-memory Keras 3 model; returns the int8 .tflite bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return _run_worker(path, ds, seed, epochs, batch_size, Path(tmp))


def qat_convert(model_path: Path, ds, seed: int = 0, epochs: int = 3, batch_size: int = 64) -> bytes:
    """Run QAT on a saved Keras model; returns the int8 .tflite bytes."""
    if Path(model_path).is_dir():
        raise QuantizationError("--qat needs a Keras model file (.keras/.h5), not a SavedModel")
    with tempfile.TemporaryDirectory() as tmp:
        return _run_worker(Path(model_path), ds, seed, epochs, batch_size, Path(tmp))


def _run_worker(model_path: Path, ds, seed: int, epochs: int, batch_size: int, tmp: Path) -> bytes:
    if not ds.labels:
        raise QuantizationError("--qat is implemented for classifiers only")
    np.savez(tmp / "data.npz", x=ds.x["train"], y=ds.y["train"])
    out = tmp / "qat.tflite"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "tinykit.compress.qat", str(model_path), str(tmp / "data.npz"), str(out),
           str(epochs), str(seed), str(batch_size)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=QAT_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise QuantizationError(f"quantization-aware training timed out after {QAT_TIMEOUT_S} s") from err
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise QuantizationError(f"quantization-aware training failed: {tail[:300]}",
                                hint="models with layers tfmot cannot quantize need plain PTQ")
    return out.read_bytes()


# ---------------------------------------------------------------- worker (runs under tf-keras)

def _clean_config(cls, config: dict) -> dict:
    """Keep only the arguments the tf-keras layer accepts; initializers etc. are irrelevant (weights
    are copied) and Keras 3's dtype policies are not understood by tf-keras."""
    params = inspect.signature(cls.__init__).parameters
    out = {}
    for key, value in config.items():
        if key in ("dtype",) or key.endswith(("_initializer", "_regularizer", "_constraint")):
            continue
        if key in params or key in ("name", "trainable"):
            out[key] = value
    return out


def to_tf_keras(model, tfk, batch_size: int | None = None):
    """Rebuild a Keras 3 functional model in tf-keras, layer by layer, with the same weights."""
    tensors: dict[int, object] = {}
    for layer in model.layers:
        cls_name = type(layer).__name__
        if cls_name == "InputLayer":
            tensors[id(layer.output)] = tfk.Input(shape=tuple(layer.output.shape[1:]), batch_size=batch_size,
                                                  name=layer.name)
            continue
        cls = getattr(tfk.layers, cls_name)
        new = cls(**_clean_config(cls, layer.get_config()))
        ins = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        args = [tensors[id(t)] for t in ins]
        tensors[id(layer.output)] = new(args if len(args) > 1 else args[0])
        new.set_weights(layer.get_weights())
    outputs = [tensors[id(t)] for t in model.outputs]
    inputs = [tensors[id(t)] for t in model.inputs]
    return tfk.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=model.name)


def _worker(model_path: str, data_path: str, out_path: str, epochs: int, seed: int, batch_size: int) -> None:
    import keras  # Keras 3, to read the model
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras as tfk

    tfk.utils.set_random_seed(seed)
    data = np.load(data_path)
    x, y = data["x"], data["y"]
    src = keras.models.load_model(model_path, compile=False)
    qat = tfmot.quantization.keras.quantize_model(to_tf_keras(src, tfk))
    qat.compile(optimizer=tfk.optimizers.Adam(QAT_LEARNING_RATE), loss="sparse_categorical_crossentropy")
    if epochs > 0:
        qat.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    twin = tfmot.quantization.keras.quantize_model(to_tf_keras(src, tfk, batch_size=1))
    twin.set_weights(qat.get_weights())
    conv = tf.lite.TFLiteConverter.from_keras_model(twin)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    idx = np.random.default_rng(seed).permutation(len(x))[:CALIBRATION_SAMPLES]
    conv.representative_dataset = lambda: ([x[i : i + 1].astype(np.float32)] for i in idx)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    Path(out_path).write_bytes(conv.convert())


if __name__ == "__main__":
    a = sys.argv[1:]
    _worker(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
