"""Dataset loaders: Speech Commands-layout audio, image folders, and ``.npz`` arrays.

Every loader returns a :class:`Dataset` with train / validation / test splits as float32 model
inputs and int32 labels. Audio keeps the raw training waveforms and background noise so training
can augment (time shift, noise) before computing features.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit.data import layout
from tinykit.data.features import FeatureConfig, compute_features
from tinykit.data.wav import fit_length, read_wav, resample
from tinykit.errors import DataError

BACKGROUND_DIR = layout.BACKGROUND_DIR
AUDIO_EXT = (".wav",)
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
VAL_PERCENT = 10
TEST_PERCENT = 10
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """A labelled data set split three ways; ``x_*`` are model inputs, ``y_*`` class indices."""

    kind: str
    labels: tuple[str, ...]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    feature_config: FeatureConfig | None = None
    waves: dict[str, np.ndarray] = field(default_factory=dict)
    background: list[np.ndarray] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x["train"].shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def digest(self) -> str:
        """A digest of everything training and evaluation read (inputs, labels, waveforms, noise)."""
        h = hashlib.sha256(repr((self.kind, self.labels, self.feature_config)).encode())
        for part in (*(self.x[s] for s in SPLITS), *(self.y[s] for s in SPLITS), *self.waves.values(),
                     *self.background):
            h.update(np.ascontiguousarray(part).tobytes())
        return h.hexdigest()

    def counts(self) -> dict[str, list[int]]:
        """Clips per label in each split (for reports and class weighting); sample counts if unlabelled."""
        if not self.labels:
            return {s: [len(self.x[s])] for s in SPLITS}
        return {s: np.bincount(self.y[s], minlength=self.num_classes).tolist() for s in SPLITS}


def hash_split(relative_name: str) -> str:
    """The official Speech Commands split: a hash of the speaker (the name before ``_nohash_``)."""
    return layout.which_split(relative_name)


def _label_dirs(root: Path, exts: tuple[str, ...]) -> dict[str, list[Path]]:
    if not root.is_dir():
        raise DataError(f"data set directory {root} does not exist")
    layout.check_complete(root)
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND_DIR)
    if not dirs:
        raise DataError(f"{root} has no label folders", hint="one folder of files per label")
    files = {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in exts) for d in dirs}
    empty = [name for name, fs in files.items() if not fs]
    if empty:
        raise DataError(f"label folder(s) {', '.join(empty)} in {root} hold no {'/'.join(exts)} files")
    if len(files) < 2:
        raise DataError(f"{root} has a single class ({dirs[0].name}); a classifier needs at least two")
    return files


def _read_list(root: Path, name: str) -> set[str]:
    path = root / name
    return {ln.strip() for ln in path.read_text().splitlines() if ln.strip()} if path.exists() else set()


def _assign_splits(root: Path, files: dict[str, list[Path]]) -> dict[str, list[tuple[Path, int]]]:
    val, test = _read_list(root, "validation_list.txt"), _read_list(root, "testing_list.txt")
    out: dict[str, list[tuple[Path, int]]] = {s: [] for s in SPLITS}
    for index, (label, paths) in enumerate(files.items()):
        for path in paths:
            rel = f"{label}/{path.name}"
            split = ("val" if rel in val else "test" if rel in test else "train") if val or test \
                else hash_split(rel)
            out[split].append((path, index))
    for split in ("val", "test"):
        if not out[split] and not (val or test) and len(out["train"]) >= 10:
            # tiny sets: the hash may leave a split empty; take every 10th training file instead
            out[split] = out["train"][::10]
            out["train"] = [item for i, item in enumerate(out["train"]) if i % 10]
    for split, items in out.items():
        if not items:
            raise DataError(f"the {split} split of {root} is empty", hint="add more files per label")
    return out


def _load_wave(path: Path, rate: int, length: int, notes: list[str]) -> np.ndarray:
    samples, file_rate = read_wav(path)
    if file_rate != rate:
        notes.append(f"resampled {path.name} from {file_rate} Hz to {rate} Hz")
        samples = resample(samples, file_rate, rate)
    return fit_length(samples, length)


def load_audio(root: Path, cfg: FeatureConfig | None = None) -> Dataset:
    """Speech Commands layout: label folders of mono WAVs; wrong-rate files are resampled (noted)."""
    cfg = cfg or FeatureConfig()
    split_files = _assign_splits(root, _label_dirs(root, AUDIO_EXT))
    labels = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND_DIR))
    notes: list[str] = []
    ds = Dataset("audio", labels, {}, {}, feature_config=cfg, notes=notes)
    for split, items in split_files.items():
        waves = np.stack([_load_wave(p, cfg.sample_rate, cfg.clip_samples, notes) for p, _ in items])
        ds.waves[split] = waves
        ds.x[split] = compute_features(waves, cfg)
        ds.y[split] = np.array([i for _, i in items], np.int32)
    bg = root / BACKGROUND_DIR
    if bg.is_dir():
        ds.background = [resample(*read_wav(p), cfg.sample_rate) for p in sorted(bg.glob("*.wav"))]
    return ds


def _decode_image(path: Path) -> np.ndarray:
    import tensorflow as tf

    try:
        img = tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as err:
        raise DataError(f"cannot decode image {path}") from err
    return img.numpy().astype(np.float32) / 255.0


def load_images(root: Path) -> Dataset:
    """One folder of images per label; all images must share one shape (pixels scaled to [0, 1])."""
    split_files = _assign_splits(root, _label_dirs(root, IMAGE_EXT))
    labels = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND_DIR))
    ds = Dataset("image", labels, {}, {})
    shape = None
    for split, items in split_files.items():
        imgs = []
        for path, _ in items:
            img = _decode_image(path)
            if shape is not None and img.shape != shape:
                raise DataError(f"image {path} is {img.shape}, others are {shape}",
                                hint="resize all images to one size")
            shape = img.shape
            imgs.append(img)
        ds.x[split], ds.y[split] = np.stack(imgs), np.array([i for _, i in items], np.int32)
    return ds


def load_arrays(path: Path, seed: int = 0) -> Dataset:
    """``.npz`` with ``x`` and ``y`` (class indices, or omitted for autoencoders: y = x)."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    if "x" not in arrays:
        raise DataError(f"{path} has no 'x' array (found {', '.join(arrays) or 'nothing'})")
    x = arrays["x"].astype(np.float32)
    y = arrays.get("y")
    if y is not None and len(y) != len(x):
        raise DataError(f"{path}: x has {len(x)} samples but y has {len(y)}")
    if len(x) < 10:
        raise DataError(f"{path} holds {len(x)} samples; need at least 10 to split")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = n_test = max(1, len(x) * VAL_PERCENT // 100)
    parts = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    if y is None:
        return Dataset("array", (), {s: x[i] for s, i in parts.items()}, {s: x[i] for s, i in parts.items()})
    y = y.astype(np.int32)
    if len(np.unique(y)) < 2:
        raise DataError(f"{path} has a single class; a classifier needs at least two")
    labels = tuple(str(i) for i in range(int(y.max()) + 1))
    return Dataset("array", labels, {s: x[i] for s, i in parts.items()}, {s: y[i] for s, i in parts.items()})


def detect_kind(root: Path) -> str:
    """'array' for .npz files, else 'audio' or 'image' from the files in the label folders."""
    if root.is_file():
        if root.suffix == ".npz":
            return "array"
        raise DataError(f"{root} is a file but not an .npz array set")
    if not root.exists():
        raise DataError(f"data set {root} does not exist")
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and sub.name != BACKGROUND_DIR:
            for f in sub.iterdir():
                if f.suffix.lower() in AUDIO_EXT:
                    return "audio"
                if f.suffix.lower() in IMAGE_EXT:
                    return "image"
    raise DataError(f"{root} holds no .wav or image files in label folders",
                    hint="use the Speech Commands layout, image folders, or an .npz with x/y")


def load_dataset(path: Path, feature_config: FeatureConfig | None = None, seed: int = 0) -> Dataset:
    """Load any supported data set, detecting its kind."""
    path = Path(path)
    kind = detect_kind(path)
    if kind == "audio":
        return load_audio(path, feature_config)
    if kind == "image":
        return load_images(path)
    return load_arrays(path, seed)
