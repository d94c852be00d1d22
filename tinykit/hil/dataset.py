"""A labelled folder of model inputs, for on-device accuracy (`min_accuracy`, the plugin's floor).

Layout: one sub-folder per class, holding the class's inputs as the model receives them (``.npy``,
``.npz`` or raw ``.bin``, one or more inputs per file, read by :func:`tinykit.measure.load_inputs`).
Class indices follow ``labels.txt`` (one class name a line, in the model's output order) when the
folder has one, else the sorted sub-folder names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinykit.errors import DataError
from tinykit.measure import load_inputs

LABELS_FILE = "labels.txt"


@dataclass(frozen=True)
class LabelledInputs:
    inputs: list[bytes]
    labels: list[int]
    classes: tuple[str, ...]


def _class_names(root: Path) -> list[str]:
    listed = root / LABELS_FILE
    if listed.is_file():
        return [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_labelled_inputs(root: Path | str, input_bytes: int) -> LabelledInputs:
    """Every input of every class folder, with its class index; DataError for a folder that is not one."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist", hint="give a folder of class sub-folders")
    names = _class_names(root)
    inputs: list[bytes] = []
    labels: list[int] = []
    for index, name in enumerate(names):
        folder = root / name
        if not folder.is_dir() or not any(folder.iterdir()):
            continue  # a class listed in labels.txt without samples here: nothing to score
        blobs = load_inputs(folder, input_bytes)
        inputs += blobs
        labels += [index] * len(blobs)
    if not inputs:
        raise DataError(f"dataset folder {root} holds no inputs", hint="one sub-folder per class of .npy/.bin inputs")
    return LabelledInputs(inputs, labels, tuple(names))
