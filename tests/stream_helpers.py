"""Fixtures for streaming tests: a keyword model directory and the sentence WAV generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tinykit.data.features import FeatureConfig
from tinykit.models import reference_model

# The MLPerf Tiny KWS model's classes (its output order).
MLPERF_KWS_LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "_silence_", "_unknown_"]


def reference_kws_dir(tmp: Path) -> Path:
    """The bundled int8 KWS model with a features.json and labels.json next to it.

    Its weights were trained with another front end, so its detections mean nothing; it exercises
    the stream firmware, the front end and the protocol without training a model.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    model = tmp / "model.tflite"
    shutil.copyfile(reference_model("kws"), model)
    FeatureConfig().save(tmp)
    (tmp / "labels.json").write_text(json.dumps(MLPERF_KWS_LABELS))
    return model


def have_tools(*names: str) -> bool:
    return all(shutil.which(n) for n in names)


def silence_and_noise(seconds: float, rng: np.random.Generator, level: float = 0.01) -> np.ndarray:
    from tinykit.data.synth import noise

    n = int(seconds * 16000)
    return (level * noise("pink", n, rng)).astype(np.float32) if n else np.zeros(0, np.float32)
