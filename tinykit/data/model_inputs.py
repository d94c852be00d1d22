"""Model input blobs from files: what ``tinykit measure --inputs`` reads.

A *blob* is one inference's input: every model input's bytes back to back, in model order (what
``db load`` sends to a device). Accepted files, each checked against the model's inputs:

- ``.npy``: a model with one input: an array of that input's type (uint8 for an int8 input: each
  value minus 128, as MLPerf's image data), shaped like the input or a batch ``(N, *shape)``;
- ``.npz``: one input: every array (by sorted name) as for ``.npy``; several inputs: one array per
  input named ``input_0``, ``input_1``, ... (each one input or a batch; every batch of the same N);
- ``.bin``: one blob, raw bytes;
- a directory of such files (sorted by name).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinykit.errors import DataError
from tinykit.oracle import TensorSpec

INPUT_SUFFIXES = (".npy", ".npz", ".bin")
# uint8 data -> int8 model input, as the MLPerf image-classification firmware converts it.
UINT8_OFFSET = 128


def _samples(arr: np.ndarray, spec: TensorSpec, source: str) -> list[bytes]:
    """One input (an array of the input's size) or a batch of them, as bytes per sample."""
    if arr.dtype == np.uint8 and spec.dtype == np.int8:  # MLPerf-style uint8 data: each byte minus 128
        arr = (arr.astype(np.int16) - UINT8_OFFSET).astype(np.int8)
    if arr.dtype != spec.dtype:
        raise DataError(f"{source}: inputs must be {spec.dtype} arrays (the model's input type), got {arr.dtype}")
    if arr.nbytes == spec.nbytes:
        return [arr.tobytes()]
    if arr.ndim >= 2 and arr[0].nbytes == spec.nbytes:
        return [a.tobytes() for a in arr]
    raise DataError(f"{source}: array of shape {arr.shape} ({arr.nbytes} bytes) does not hold inputs of "
                    f"{spec.nbytes} bytes each")


def _from_npz(npz: np.lib.npyio.NpzFile, specs: Sequence[TensorSpec], path: Path) -> list[bytes]:
    if len(specs) == 1:
        return [b for key in sorted(npz.files) for b in _samples(npz[key], specs[0], f"{path}[{key}]")]
    names = [f"input_{i}" for i in range(len(specs))]
    missing = [n for n in names if n not in npz.files]
    if missing:
        raise DataError(f"{path}: a model with {len(specs)} inputs needs arrays {', '.join(names)} "
                        f"(missing {', '.join(missing)}; found {', '.join(sorted(npz.files)) or 'none'})")
    columns = [_samples(npz[n], spec, f"{path}[{n}]") for n, spec in zip(names, specs, strict=True)]
    if len({len(c) for c in columns}) != 1:
        raise DataError(f"{path}: inputs hold different numbers of samples ({[len(c) for c in columns]})")
    return [b"".join(parts) for parts in zip(*columns, strict=True)]


def _load_file(path: Path, specs: Sequence[TensorSpec]) -> list[bytes]:
    blob_bytes = sum(s.nbytes for s in specs)
    if path.suffix == ".bin":
        data = path.read_bytes()
        if len(data) != blob_bytes:
            raise DataError(f"{path}: {len(data)} bytes, the model's input has {blob_bytes}")
        return [data]
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable {path.suffix} file ({err})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return _from_npz(loaded, specs, path)
    if len(specs) != 1:
        raise DataError(f"{path}: a .npy holds one array, the model has {len(specs)} inputs",
                        hint="use an .npz with arrays input_0, input_1, ... or one .bin per sample")
    return _samples(loaded, specs[0], str(path))


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in INPUT_SUFFIXES)
        if not files:
            raise DataError(f"{path}: no {', '.join(INPUT_SUFFIXES)} files in this directory")
        return files
    if path.is_file():
        if path.suffix not in INPUT_SUFFIXES:
            raise DataError(f"{path}: inputs must be {', '.join(INPUT_SUFFIXES)} files")
        return [path]
    raise DataError(f"input file {path} does not exist")


def load_inputs(path: str | Path, specs: int | Sequence[TensorSpec]) -> list[bytes]:
    """Input blobs from ``path`` for a model whose inputs are ``specs`` (an int: one int8 input of
    that many bytes, when only the device's input size is known)."""
    if isinstance(specs, int):
        specs = [TensorSpec((specs,), np.dtype(np.int8))]
    path = Path(path)
    blobs = [b for f in _files(path) for b in _load_file(f, specs)]
    if not blobs:
        raise DataError(f"{path}: holds no inputs")
    return blobs
