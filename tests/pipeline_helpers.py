"""Shared fixtures for the pipeline tests: a tiny synthetic keyword set and a tiny trained model.

Both are built once per test session (cached under pytest's base temp dir, so every test module
reuses them) and kept small: 3 words + _silence_, 50 clips each, DS-CNN at width 0.5.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

WORDS = ["yes", "no", "up"]
PER_WORD = 50
TINY_EPOCHS = 12
TINY_WIDTH = 0.5


def _cached(factory: pytest.TempPathFactory, name: str) -> tuple[Path, bool]:
    path = factory.getbasetemp() / name
    return path, path.exists()


@pytest.fixture(scope="session")
def tiny_kws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Speech Commands-layout set: yes/no/up/_silence_, 50 clean clips each (seed 0)."""
    from tinykit.data.synth import synth_kws

    path, done = _cached(tmp_path_factory, "pipe_tiny_kws")
    if not done:
        synth_kws(path, WORDS, per_word=PER_WORD, seed=0, unknown=False, clean=True)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_kws: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DS-CNN (width 0.5) trained on tiny_kws; returns model.keras (with metrics.json etc.)."""
    from tinykit.train.trainer import TrainConfig, train

    out, done = _cached(tmp_path_factory, "pipe_tiny_model")
    model = out / "model.keras"
    if not done or not model.exists():
        # no augmentation: 150 clean clips must be learnt in a few seconds (tests/test_augment.py covers it)
        train(tiny_kws, "ds-cnn", model, TrainConfig(epochs=TINY_EPOCHS, seed=0, patience=TINY_EPOCHS, batch_size=16,
                                                     augment=False), width=TINY_WIDTH)
    return model


@pytest.fixture(scope="session")
def tiny_int8(tiny_model: Path, tiny_kws: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PTQ int8 of tiny_model."""
    from tinykit.compress.quantize import quantize_model

    out, _done = _cached(tmp_path_factory, "pipe_tiny_int8")
    path = out / "model.tflite"
    if not path.exists():
        quantize_model(tiny_model, tiny_kws, path)
    return path


def run_cli(*args: str):
    """Invoke the tinykit CLI in-process; returns click's Result."""
    from tinykit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(result, fragment: str = "") -> None:
    """Exit code 2 and one `error:` line (optionally containing ``fragment``), no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.output
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in result.output
