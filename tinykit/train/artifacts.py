"""Model artefacts on disk: loading any Keras model, sidecar files, classification metrics.

A trained model travels with ``features.json`` (audio front end, :class:`FeatureConfig`) and
``labels.json`` (class names); every later stage copies them next to its output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tinykit.data.features import FEATURES_FILE, FeatureConfig, write_json
from tinykit.errors import DataError, ModelFormatError

LABELS_FILE = "labels.json"
SIDECARS = (FEATURES_FILE, LABELS_FILE)
TRAIN_CONFIG_FILE = "train_config.json"


def load_keras(path: Path):
    """Load a ``.keras`` / ``.h5`` model, or wrap a SavedModel directory as a Keras model."""
    import keras

    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"model {path} does not exist")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ModelFormatError(f"{path} is a directory but not a SavedModel (no saved_model.pb)")
        return _wrap_saved_model(keras, path)
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelFormatError(f"{path} is not a Keras model", hint="use a .keras, .h5 or SavedModel")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError, KeyError) as err:
        raise ModelFormatError(f"cannot load Keras model {path}: {err}") from err


def check_inputs_match(model, ds, model_path: Path, data_path: Path | None) -> None:
    """The data set's inputs have the model's input shape (batch aside), checked before any work:
    otherwise the mismatch surfaces deep in Keras or the converter, minutes later."""
    want = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    got = tuple(ds.input_shape)
    if want is None:
        return  # several inputs: the zoo and the converter check them
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got, strict=False)):
        shown = [d if d is not None else "any" for d in want]
        where = f"{data_path}: its inputs have" if data_path else "the data set's inputs have"
        raise DataError(f"{where} shape {list(got)}, but {Path(model_path).name} takes {shown}",
                        hint="give the data set the model was trained on")


def _wrap_saved_model(keras, path: Path):
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    spec = next(iter(loaded.signatures["serving_default"].structured_input_signature[1].values()))
    inp = keras.Input(shape=tuple(spec.shape[1:]), name="input")
    out = layer(inp)
    if isinstance(out, dict):
        out = next(iter(out.values()))
    return keras.Model(inp, out, name=path.name)


def write_sidecars(model_path: Path, labels, feature_config: FeatureConfig | None) -> None:
    """Write labels.json (and features.json for audio) in the model's directory."""
    directory = Path(model_path).parent
    write_json(directory / LABELS_FILE, list(labels))
    if feature_config is not None:
        feature_config.save(directory)


def copy_sidecars(src_model: Path, dst_model: Path) -> None:
    """Carry features.json / labels.json from one stage's model to the next."""
    src, dst = Path(src_model).parent, Path(dst_model).parent
    dst.mkdir(parents=True, exist_ok=True)
    for name in SIDECARS:
        if (src / name).exists() and src.resolve() != dst.resolve():
            shutil.copyfile(src / name, dst / name)


def trained_with_augmentation(model_path: Path) -> bool:
    """Whether the model's own training augmented its audio (``train_config.json`` next to it).

    Fine-tuning (after pruning) must show the model the same kind of inputs its training did: a
    model trained on clean clips that is fine-tuned for a few epochs on noisy, reverberant,
    SpecAugmented ones spends those epochs adapting to a new input distribution instead of
    recovering from the cut, and loses accuracy on the clean test split. Without a record (a model
    trained elsewhere) fine-tuning augments, as tinykit's training does by default."""
    path = Path(model_path).parent / TRAIN_CONFIG_FILE
    try:
        return bool(json.loads(path.read_text()).get("config", {}).get("augment", True))
    except (OSError, ValueError, AttributeError):
        return True


def read_labels(model_path: Path) -> list[str] | None:
    path = Path(model_path).parent / LABELS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def classification_metrics(probs: np.ndarray, y: np.ndarray, labels) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix (rows = truth)."""
    pred = np.argmax(probs, axis=-1)
    n = max(len(labels), int(max(pred.max(initial=0), y.max(initial=0))) + 1)
    conf = np.zeros((n, n), np.int64)
    np.add.at(conf, (y, pred), 1)
    per_class = {}
    for i in range(n):
        name = labels[i] if i < len(labels) else str(i)
        tp, support, predicted = conf[i, i], conf[i].sum(), conf[:, i].sum()
        per_class[name] = {"precision": float(tp / predicted) if predicted else 0.0,
                           "recall": float(tp / support) if support else 0.0, "support": int(support)}
    return {"accuracy": float(np.mean(pred == y)) if len(y) else 0.0, "samples": len(y),
            "per_class": per_class, "confusion_matrix": conf.tolist()}
