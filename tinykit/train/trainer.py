"""Training loop shared by ``train``, ``distill`` and pruning's fine-tuning.

One epoch at a time so audio can be re-augmented every epoch (time shift, background noise) in
numpy before features are computed, with early stopping on validation accuracy (best weights
restored), class weighting when classes are unbalanced, and a cosine learning-rate decay.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinykit import cache
from tinykit.data.datasets import Dataset, load_dataset
from tinykit.data.features import write_json
from tinykit.errors import TrainingError
from tinykit.train.artifacts import SIDECARS, TRAIN_CONFIG_FILE, classification_metrics, write_sidecars

IMBALANCE_RATIO = 1.5
CACHE_KIND = "train"


@dataclass
class TrainConfig:
    """Resolved training settings, written next to the model as train_config.json."""

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 2e-3
    patience: int = 6
    seed: int = 0
    augment: bool = True


def finetune_config(epochs: int, learning_rate: float, seed: int, batch_size: int, augment: bool) -> TrainConfig:
    """Settings of a fine-tuning after a pruning cut (`prune`, `fit`): every epoch counts (no early
    stop, the best epoch kept), with the training's augmentation when the model's own training
    augmented (:func:`tinykit.train.artifacts.trained_with_augmentation`) and none otherwise."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=epochs,
                       seed=seed, augment=augment)


@dataclass
class TrainResult:
    model_path: Path | None
    metrics: dict
    history: dict = field(default_factory=dict)


def set_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and ask TF for deterministic kernels."""
    import keras

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras.utils.set_random_seed(seed)


def augment_audio(ds: Dataset, rng: np.random.Generator) -> np.ndarray:
    """Training features of this epoch: augmented waveforms (see :mod:`tinykit.train.augment`)."""
    from tinykit.train.augment import AugmentConfig, augment_waves, augmented_features

    cfg = AugmentConfig()
    fcfg = ds.feature_config
    waves = augment_waves(ds.waves["train"], ds.y["train"], ds.labels, ds.background, cfg, rng, fcfg.sample_rate)
    return augmented_features(waves, fcfg, cfg, rng)


def class_weights(y: np.ndarray, num_classes: int, labels: tuple[str, ...] = ()) -> dict[int, float] | None:
    """Inverse-frequency weights, only when the largest class outnumbers the smallest by 1.5x.

    Background classes (``_unknown_``, ``_silence_``: names starting with '_') are large on purpose
    (``_unknown_`` stands for every other word): they keep weight 1 and do not count as imbalance."""
    counts = np.bincount(y, minlength=num_classes).astype(float)
    background = np.array([i < len(labels) and labels[i].startswith("_") for i in range(num_classes)])
    fg = counts[~background]
    if fg.size == 0 or fg.min() == 0 or fg.max() / fg.min() <= IMBALANCE_RATIO:
        return None
    return {i: 1.0 if background[i] else float(fg.sum() / (fg.size * c)) for i, c in enumerate(counts)}


def is_classifier(ds: Dataset) -> bool:
    return bool(ds.labels)


def compile_model(model, ds: Dataset, lr: float) -> None:
    import keras

    if is_classifier(ds):
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    else:
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")


def score(model, ds: Dataset, split: str) -> float:
    """Accuracy for classifiers, negative MSE for autoencoders (higher is better for both)."""
    pred = model.predict(ds.x[split], verbose=0, batch_size=256)
    if is_classifier(ds):
        return float(np.mean(np.argmax(pred, -1) == ds.y[split]))
    return -float(np.mean((pred - ds.y[split]) ** 2))


def fit(model, ds: Dataset, cfg: TrainConfig, progress: Callable[[int, dict], None] | None = None,
        targets: Callable[[np.ndarray], np.ndarray] | None = None, eval_model=None) -> dict:
    """Train epoch by epoch with early stopping; returns the history. ``model`` must be compiled."""
    rng = np.random.default_rng(cfg.seed)
    eval_model = eval_model or model
    weights = class_weights(ds.y["train"], ds.num_classes, ds.labels) if is_classifier(ds) and targets is None else None
    history: dict[str, list] = {"loss": [], "val_score": [], "lr": []}
    best, best_weights, waited = -math.inf, model.get_weights(), 0
    for epoch in range(cfg.epochs):
        lr = cfg.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / max(1, cfg.epochs)))
        model.optimizer.learning_rate.assign(lr)
        use_aug = cfg.augment and ds.kind == "audio" and ds.waves
        x = augment_audio(ds, rng) if use_aug else ds.x["train"]
        y = targets(x) if targets else ds.y["train"]
        out = model.fit(x, y, batch_size=cfg.batch_size, epochs=1, verbose=0, class_weight=weights,
                        shuffle=True)
        val = score(eval_model, ds, "val")
        history["loss"].append(float(out.history["loss"][0]))
        history["val_score"].append(val)
        history["lr"].append(lr)
        if progress:
            progress(epoch, {"loss": history["loss"][-1], "val": val})
        if val > best:
            best, best_weights, waited = val, model.get_weights(), 0
        else:
            waited += 1
            if waited >= cfg.patience:
                break
    model.set_weights(best_weights)
    return history


def evaluate(model, ds: Dataset, split: str = "test") -> dict:
    """Test metrics: classification report for classifiers, MSE for autoencoders."""
    pred = model.predict(ds.x[split], verbose=0, batch_size=256)
    if is_classifier(ds):
        return classification_metrics(pred, ds.y[split], ds.labels)
    return {"mse": float(np.mean((pred - ds.y[split]) ** 2)), "samples": len(pred)}


def plot_history(history: dict, path: Path, title: str) -> None:
    """PNG of training loss and validation score per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(history["loss"], marker="o")
    a.set(title="training loss", xlabel="epoch")
    b.plot(history["val_score"], marker="o", color="tab:green")
    b.set(title="validation accuracy (or -MSE)", xlabel="epoch")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train(data: Path, model_name: str, output: Path, cfg: TrainConfig | None = None,
          width: float | None = None, progress=None, dataset: Dataset | None = None,
          use_cache: bool = True) -> TrainResult:
    """Train a zoo model on a data set and write model, metrics.json, curves PNG and sidecars.

    Training is deterministic for a data set and settings, so its result is cached
    (:mod:`tinykit.cache`): the same training asked again (the lab, then the handout's `train`)
    copies the earlier model instead of training it twice; ``metrics["cached"]`` says so."""
    from tinykit.train.zoo import build_model

    cfg = cfg or TrainConfig()
    if cfg.epochs < 1:
        raise TrainingError(f"epochs must be at least 1, got {cfg.epochs}")
    output = Path(output)
    if output.suffix != ".keras":
        raise TrainingError(f"output {output} must end in .keras")
    ds = dataset or load_dataset(data)
    digest = cache.key(ds.digest(), model_name, width, asdict(cfg))
    if use_cache and (hit := _from_cache(digest, output, ds, data)) is not None:
        return hit
    set_seed(cfg.seed)
    model = build_model(model_name, ds.input_shape, ds.num_classes, width)
    compile_model(model, ds, cfg.learning_rate)
    history = fit(model, ds, cfg, progress)
    metrics = evaluate(model, ds)
    metrics.update(model=model_name, width=width, params=int(model.count_params()),
                   epochs_run=len(history["loss"]), labels=list(ds.labels), data=str(data),
                   counts=ds.counts(), notes=ds.notes[:20])
    save_model(model, output, ds, metrics, {"config": asdict(cfg), "model": model_name, "width": width})
    plot_history(history, output.with_suffix(".png"), f"{model_name} on {Path(str(data)).name}")
    write_json(output.with_suffix(".history.json"), history)
    if use_cache:
        with cache.writing(CACHE_KIND, digest) as tmp:
            for cached, f in _train_files(output).items():
                shutil.copyfile(f, tmp / cached)
    return TrainResult(output, metrics, history)


def _train_files(output: Path) -> dict[str, Path]:
    """The files one training writes, by their name in the cache (the model as model.*)."""
    files = {f"model{suffix}": output.with_suffix(suffix) for suffix in (".keras", ".png", ".history.json")}
    files |= {name: output.parent / name for name in ("metrics.json", TRAIN_CONFIG_FILE, *SIDECARS)}
    return {k: v for k, v in files.items() if v.exists()}


def _from_cache(digest: str, output: Path, ds: Dataset, data: Path) -> TrainResult | None:
    folder = cache.entry(CACHE_KIND, digest)
    if folder is None or not (folder / "model.keras").exists():
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        name = output.stem + f.name[len("model"):] if f.name.startswith("model.") else f.name
        shutil.copyfile(f, output.parent / name)
    metrics = json.loads((output.parent / "metrics.json").read_text()) | {"cached": True, "data": str(data)}
    write_json(output.parent / "metrics.json", metrics)
    history = json.loads(output.with_suffix(".history.json").read_text())
    return TrainResult(output, metrics, history)


def save_model(model, output: Path, ds: Dataset, metrics: dict, config: dict) -> None:
    """Save the Keras model with metrics.json, train_config.json and the sidecars."""
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    write_json(output.parent / "metrics.json", metrics)
    write_json(output.parent / TRAIN_CONFIG_FILE, config)
    write_sidecars(output, ds.labels, ds.feature_config)
