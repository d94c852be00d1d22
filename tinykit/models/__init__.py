"""Reference int8 models bundled with tinykit (see SOURCES.md for their origin and licence)."""

from __future__ import annotations

from pathlib import Path

from tinykit.errors import ModelFormatError
from tinykit.resources import models_dir

MODELS_DIR = models_dir()

# Short names used by the CLI, tests and benchmarks.
REFERENCE_MODELS = {
    "kws": "kws_ref_model.tflite",
    "ic": "pretrainedResnet_quant.tflite",
    "vww": "vww_96_int8.tflite",
    "ad": "ad01_int8.tflite",
    "hello_world": "hello_world_int8.tflite",
}


def reference_model(name: str) -> Path:
    """Path of a bundled model by short name (``kws``) or file name (``kws_ref_model.tflite``)."""
    file_name = REFERENCE_MODELS.get(name, name)
    return MODELS_DIR / file_name


def resolve_model(value: str | Path) -> Path:
    """A model file path, or the short name of a bundled model (``kws``) for commands that accept both."""
    path = Path(value)
    if path.exists():  # a file, or a Keras SavedModel folder (the stage reading it judges it)
        return path
    if str(value) in REFERENCE_MODELS:
        return reference_model(str(value))
    raise ModelFormatError(f"no such file: {value} (nor the name of a bundled model)",
                           hint=f"give a .tflite path or a bundled model: {', '.join(REFERENCE_MODELS)}")


def all_reference_models() -> dict[str, Path]:
    return {short: MODELS_DIR / file_name for short, file_name in REFERENCE_MODELS.items()}
