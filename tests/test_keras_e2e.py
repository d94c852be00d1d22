"""Keras models as people write them, deployed as written: a textbook accelerometer classifier
(Conv1D, MaxPool1D, GlobalAveragePooling1D, Dense) with a fixed and with the default dynamic batch
size, and Keras' own MobileNet (whose RESHAPE a dynamic batch feeds through SHAPE -> STRIDED_SLICE
-> PACK). Two ways in: `tinykit quantize` of the saved .keras model, and a .tflite the user
converted with TensorFlow's converter themselves (dynamic batch kept). Each is inspected, built
and run on qemu-m4, every output byte compared with the tflite-micro runtime.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinykit.cli import main
from tinykit.files import write_atomic
from tinykit.ir import read_model

pytestmark = [pytest.mark.slow, pytest.mark.qemu,
              pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")]

CACHE = Path(os.environ.get("TINYKIT_TEST_MODEL_CACHE", "/tmp/tinykit-test-models"))
WINDOW, AXES, CLASSES = 128, 3, 6


def accelerometer(batch_size=None):
    """The classifier of every activity-recognition tutorial (Keras 3, as `import keras` gives)."""
    import keras

    return keras.Sequential([
        keras.Input((WINDOW, AXES), batch_size=batch_size),
        keras.layers.Conv1D(8, 5, activation="relu"),
        keras.layers.MaxPool1D(2),
        keras.layers.Conv1D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


def mobilenet(batch_size=None):
    """keras.applications.MobileNet, small. Untrained, its activations fade through the layers (and
    logits spanning ~1e-6 make TF's and TFLite Micro's int8 SOFTMAX abort), so one training step at
    learning rate 0 with batch-norm momentum 0 gives every batch norm the statistics of the data, as
    training would; then the classifier is scaled so the logits span a trained model's few units."""
    import keras

    model = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None, classes=4)
    x = np.random.default_rng(2).normal(0, 1, (16, 32, 32, 3)).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    model.fit(x, np.zeros(len(x)), batch_size=len(x), epochs=1, verbose=0)
    head = model.get_layer("conv_preds")
    gain = 2.0 / max(float(np.std(keras.Model(model.inputs, head.output).predict(x, verbose=0))), 1e-12)
    kernel, bias = head.get_weights()
    head.set_weights([kernel * gain, bias])
    return model


def _key(build, **kwargs) -> str:
    return hashlib.sha256((inspect.getsource(build) + repr(sorted(kwargs.items())) + "v1").encode()).hexdigest()[:16]


def _dataset(path: Path, shape: tuple[int, ...], classes: int, n: int = 40) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(0.0, 1.0, (n, *shape)).astype(np.float32), y=rng.integers(0, classes, n))
    return path


def _saved(build, tmp_path: Path, **kwargs) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    path = tmp_path / f"{build.__name__}.keras"
    build(**kwargs).save(path)
    return path


def _user_converted(build, shape: tuple[int, ...]) -> Path:
    """What a user's own TFLiteConverter call gives (dynamic batch kept), cached by the builder's source."""
    path = CACHE / f"keras-e2e-{build.__name__}-{_key(build)}.tflite"
    if path.is_file():
        return path
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(build())
    rng = np.random.default_rng(1)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.normal(0, 1, (1, *shape)).astype(np.float32)] for _ in range(20))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    data = converter.convert()
    write_atomic(path, data)
    return path


def _cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def _deploy(model: Path, out: Path) -> dict:
    """inspect (every op supported), then build + run on qemu-m4: the results."""
    report = json.loads(_cli("inspect", str(model), "--json").stdout)
    assert report["unsupported_ops"] == []
    data = json.loads(_cli("run", str(model), "--board", "qemu-m4", "--json", "-o", str(out), "--count", "5").stdout)
    assert data["mismatched_bytes"] == 0 and data["validation"]["compared_bytes"] > 0
    return report


@pytest.mark.parametrize("batch_size", [1, None], ids=["fixed_batch", "dynamic_batch"])
def test_accelerometer_quantize_then_run(tmp_path: Path, batch_size) -> None:
    keras_model = _saved(accelerometer, tmp_path, batch_size=batch_size)
    data = _dataset(tmp_path / "accel.npz", (WINDOW, AXES), CLASSES)
    out = tmp_path / "accel.tflite"
    _cli("quantize", str(keras_model), "--data", str(data), "-o", str(out))
    report = _deploy(out, tmp_path / "run")
    assert {"CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= {row["op"] for row in report["ops"]}


def test_accelerometer_user_converted_dynamic_batch(tmp_path: Path) -> None:
    model = _user_converted(accelerometer, (WINDOW, AXES))
    assert read_model(model).input_tensors[0].shape == (1, WINDOW, AXES)
    _deploy(model, tmp_path / "run")


def test_mobilenet_quantize_then_run(tmp_path: Path) -> None:
    keras_model = _saved(mobilenet, tmp_path)
    data = _dataset(tmp_path / "img.npz", (32, 32, 3), 4)
    out = tmp_path / "mobilenet.tflite"
    _cli("quantize", str(keras_model), "--data", str(data), "-o", str(out))
    _deploy(out, tmp_path / "run")


def test_mobilenet_user_converted_reshape_chain_folds(tmp_path: Path) -> None:
    model = _user_converted(mobilenet, (32, 32, 3))
    unfolded = [op.opcode for op in read_model(model, fold=False).operators]
    assert {"SHAPE", "STRIDED_SLICE", "PACK"} <= set(unfolded)
    report = _deploy(model, tmp_path / "run")
    assert {row["op"] for row in report["folded"]} == {"SHAPE", "STRIDED_SLICE", "PACK"}
    assert not {"SHAPE", "STRIDED_SLICE", "PACK"} & {row["op"] for row in report["ops"]}
