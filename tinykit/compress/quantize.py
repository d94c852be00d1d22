"""Full-integer quantization: Keras (or SavedModel) -> int8 ``.tflite`` with a health check.

Post-training quantization uses TFLiteConverter with a representative set drawn from the training
split (int8 weights per channel, int8 activations, int8 input and output). ``qat=True`` first
fine-tunes with quantization-aware training (see :mod:`tinykit.compress.qat`). Next to the output it
writes ``<stem>.quant.json``: input/output scale and zero point for host and device code, the
health report and the resolved configuration. Sidecars (features.json, labels.json) are carried.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit.compress.health import Health, check, interpreter
from tinykit.data.datasets import Dataset, load_dataset
from tinykit.data.features import FeatureConfig, write_json
from tinykit.errors import DataError, QuantizationError
from tinykit.files import write_atomic
from tinykit.train.artifacts import check_inputs_match, copy_sidecars, load_keras

CALIBRATION_SAMPLES = 300
HEALTH_SAMPLES = 1000


@dataclass
class QuantizeResult:
    tflite_path: Path
    health: Health
    io: dict
    size_bytes: int


def representative(x: np.ndarray, n: int, seed: int, scale: float = 1.0):
    """Generator factory of single-sample batches; ``scale`` != 1 exists to test the health check."""
    idx = np.random.default_rng(seed).permutation(len(x))[:n]

    def gen():
        for i in idx:
            yield [x[i : i + 1].astype(np.float32) * scale]

    return gen


def _converter(model_or_path):
    import tensorflow as tf

    if isinstance(model_or_path, (str, Path)):
        return tf.lite.TFLiteConverter.from_saved_model(str(model_or_path))
    return tf.lite.TFLiteConverter.from_keras_model(fixed_batch(model_or_path))


def fixed_batch(model):
    """The same model with batch size 1, so every shape is static and Flatten becomes one RESHAPE.

    Rebuilt from its config by its own class (a Sequential model's config is not a functional
    one's). A model that cannot be rebuilt this way (subclassed, custom layers) is converted as it
    is: its dynamic batch then arrives as SHAPE -> STRIDED_SLICE -> PACK, which the reader folds.
    """
    config = model.get_config()
    layers = config.get("layers", []) if isinstance(config, dict) else []
    inputs = [layer["config"] for layer in layers
              if layer.get("class_name") == "InputLayer" and layer.get("config", {}).get("batch_shape")]
    if not inputs:
        return model
    for layer_config in inputs:
        layer_config["batch_shape"] = [1, *layer_config["batch_shape"][1:]]
    try:
        clone = type(model).from_config(config)
        clone.set_weights(model.get_weights())
    except (ValueError, TypeError, KeyError):
        return model
    return clone


def convert(model, x_calib: np.ndarray | None, seed: int = 0, calibration_scale: float = 1.0) -> bytes:
    """Float (x_calib None) or full-int8 TFLite flatbuffer of a Keras model or SavedModel path."""
    import tensorflow as tf

    conv = _converter(model)
    if x_calib is not None:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative(x_calib, CALIBRATION_SAMPLES, seed, calibration_scale)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return conv.convert()
    except Exception as err:  # the converter raises many unrelated types (ConverterError, ValueError...)
        raise QuantizationError(f"TFLite conversion failed: {str(err).splitlines()[0][:300]}") from err


def io_params(model: bytes) -> dict:
    """Scale / zero point / dtype / shape of every input and output, for host and device code."""
    interp = interpreter(model)

    def one(d: dict) -> dict:
        scale, zp = d["quantization"]
        return {"name": d["name"], "dtype": np.dtype(d["dtype"]).name, "shape": d["shape"].tolist(),
                "scale": float(scale), "zero_point": int(zp)}

    return {"inputs": [one(d) for d in interp.get_input_details()],
            "outputs": [one(d) for d in interp.get_output_details()]}


def load_for_model(model_path: Path, data_path: Path, dataset: Dataset | None = None) -> Dataset:
    """The data set, with the feature parameters the model was trained with (features.json)."""
    if dataset is not None:
        return dataset
    return load_dataset(data_path, FeatureConfig.load(Path(model_path)))


def write_tflite(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def quantize_model(model_path: Path, data_path: Path | None, output_path: Path, qat: bool = False,
                   strict: bool = False, seed: int = 0, max_drop: float = 0.01,
                   calibration_scale: float = 1.0, dataset: Dataset | None = None,
                   qat_epochs: int = 3) -> QuantizeResult:
    """Quantize a Keras model to a full-int8 .tflite and check its health against the float model."""
    model_path, output_path = Path(model_path), Path(output_path)
    if output_path.suffix != ".tflite":
        raise QuantizationError(f"output {output_path} must end in .tflite")
    ds = load_for_model(model_path, data_path, dataset)
    model = model_path if model_path.is_dir() else load_keras(model_path)
    if not model_path.is_dir():
        check_inputs_match(model, ds, model_path, data_path)
    if ds.labels and not model_path.is_dir() and model.output_shape[-1] != ds.num_classes:
        raise DataError(f"{model_path} has {model.output_shape[-1]} outputs but {data_path} has "
                        f"{ds.num_classes} classes", hint="quantize with the data set the model was trained on")
    if qat:
        from tinykit.compress.qat import qat_convert

        int8 = qat_convert(model_path, ds, seed=seed, epochs=qat_epochs)
    else:
        int8 = convert(model, ds.x["train"], seed, calibration_scale)
    float_model = convert(model, None)
    held_out = ds.x["test"][:HEALTH_SAMPLES]
    y = ds.y["test"][:HEALTH_SAMPLES] if ds.labels else None
    health = check(float_model, int8, held_out, y, max_drop=max_drop, strict=strict)
    io = io_params(int8)
    write_tflite(output_path, int8)
    copy_sidecars(model_path if not model_path.is_dir() else model_path / "x", output_path)
    write_json(output_path.with_suffix(".quant.json"),
               {"source": str(model_path), "data": str(data_path), "qat": qat, "seed": seed,
                "calibration_samples": CALIBRATION_SAMPLES, "io": io, "health": health.to_dict(),
                "size_bytes": len(int8)})
    return QuantizeResult(output_path, health, io, len(int8))
