"""Structured pruning: remove whole filters / units, fine-tune between steps, report each step.

Channels are ranked per coupled group (see :mod:`tinykit.compress.surgery`) by the L1 or L2 norm of
the producers' filters, or by mean |activation| on training data ("activation"). A per-layer ratio
removes the same fraction from every group; a global ratio ranks all channels together after
normalising each group's scores by its mean. ``target_macs`` finds the ratio that brings MACs to
that fraction of the original. Each step reports accuracy, params, MACs and (via an int8
conversion, the IR and the memory planner) weight bytes and arena bytes.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinykit.compress import surgery
from tinykit.data.datasets import Dataset
from tinykit.data.features import write_json
from tinykit.errors import TinykitError, TrainingError
from tinykit.train.artifacts import copy_sidecars, load_keras
from tinykit.train.trainer import TrainConfig, compile_model, fit, score, set_seed

CRITERIA = ("l1", "l2", "activation")
MIN_KEEP = 0.05
SEARCH_STEPS = 12
ACTIVATION_SAMPLES = 256


@dataclass
class PruneConfig:
    ratio: float = 0.5
    target_macs: float | None = None
    criterion: str = "l1"
    mode: str = "layer"  # "layer": same ratio per group; "global": one ranking over all channels
    steps: int = 2
    finetune_epochs: int = 3
    learning_rate: float = 5e-4
    seed: int = 0


@dataclass
class PruneStep:
    step: int
    ratio: float
    accuracy: float
    params: int
    macs: int
    weight_bytes: int | None = None
    arena_bytes: int | None = None
    channels: dict[str, int] = field(default_factory=dict)


def channel_scores(model, cp: surgery.Coupling, criterion: str, x: np.ndarray | None) -> dict[int, np.ndarray]:
    """Importance of every channel of every prunable group (higher = keep)."""
    if criterion not in CRITERIA:
        raise TrainingError(f"unknown criterion {criterion!r}", hint=f"use one of {', '.join(CRITERIA)}")
    scores = {}
    for g, names in cp.prunable().items():
        if criterion == "activation":
            scores[g] = _activation_scores(model, names, x)
            continue
        total = 0.0
        for n in names:
            k = model.get_layer(n).get_weights()[0]
            k = k.reshape(-1, k.shape[-1])
            total = total + (np.abs(k).mean(0) if criterion == "l1" else np.sqrt((k**2).mean(0)))
        scores[g] = np.asarray(total)
    return scores


def _activation_scores(model, names: list[str], x: np.ndarray | None) -> np.ndarray:
    import keras

    if x is None:
        raise TrainingError("the activation criterion needs data")
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x[:ACTIVATION_SAMPLES], verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return sum(np.abs(o).reshape(-1, o.shape[-1]).mean(0) for o in outs)


def select(scores: dict[int, np.ndarray], ratio: float, mode: str) -> dict[int, np.ndarray]:
    """Kept channel indices per group for removing ``ratio`` of the channels."""
    if not 0 <= ratio < 1:
        raise TrainingError(f"pruning ratio must be in [0, 1), got {ratio}")
    keep = {}
    if mode == "global":
        allv = np.concatenate([s / (s.mean() + 1e-12) for s in scores.values()])
        cut = np.quantile(allv, ratio) if allv.size else 0
    for g, s in scores.items():
        floor = max(1, int(np.ceil(MIN_KEEP * s.size)))
        if mode == "global":
            n = max(floor, int(np.sum(s / (s.mean() + 1e-12) > cut)))
        elif mode == "layer":
            n = max(floor, round(s.size * (1 - ratio)))
        else:
            raise TrainingError(f"unknown pruning mode {mode!r}", hint="use layer or global")
        keep[g] = np.sort(np.argsort(-s, kind="stable")[:n])
    return keep


def prune_once(model, ratio: float, criterion: str = "l1", mode: str = "layer", x=None):
    """One structural pruning step (no training); returns the new, smaller model."""
    cp = surgery.analyse(model)
    if not cp.prunable():
        raise TrainingError("no prunable layers found (every channel group is frozen)")
    return surgery.apply(model, cp, select(channel_scores(model, cp, criterion, x), ratio, mode))


def ratio_for_macs(model, fraction: float, criterion: str, mode: str, x=None) -> float:
    """Smallest ratio whose pruned model has at most ``fraction`` of the original MACs (bisection)."""
    base = surgery.count_macs(model)
    lo, hi = 0.0, 0.95
    if surgery.count_macs(prune_once(model, hi, criterion, mode, x)) > fraction * base:
        raise TrainingError(f"cannot reach {fraction:.0%} of the MACs by pruning; the frozen layers cost more")
    for _ in range(SEARCH_STEPS):
        mid = (lo + hi) / 2
        if surgery.count_macs(prune_once(model, mid, criterion, mode, x)) <= fraction * base:
            hi = mid
        else:
            lo = mid
    return hi


def int8_footprint(model, ds: Dataset) -> tuple[int | None, int | None]:
    """(weight bytes, arena bytes) of the int8 conversion, from the IR and memory planner."""
    from tinykit.compress.quantize import convert

    try:
        from tinykit.ir import read_model
        from tinykit.plan import plan_memory

        data = convert(model, ds.x["train"][:100])
        with tempfile.NamedTemporaryFile(suffix=".tflite") as fh:
            fh.write(data)
            fh.flush()
            graph = read_model(Path(fh.name))
            return int(graph.weight_bytes), int(plan_memory(graph).arena_bytes)
    except (ImportError, TinykitError):
        return None, None


def _channels(model) -> dict[str, int]:
    return {layer.name: int(layer.output.shape[-1]) for layer in model.layers
            if type(layer).__name__ in surgery.PRODUCERS}


def describe(model, ds: Dataset, step: int, ratio: float, footprint: bool = True) -> PruneStep:
    weights, arena = int8_footprint(model, ds) if footprint else (None, None)
    return PruneStep(step, ratio, score(model, ds, "test"), int(model.count_params()),
                     surgery.count_macs(model), weights, arena, _channels(model))


def prune(model, ds: Dataset, cfg: PruneConfig, progress=None, footprint: bool = True):
    """Iterative schedule: ``steps`` equal multiplicative cuts, each followed by fine-tuning."""
    set_seed(cfg.seed)
    x = ds.x["train"]
    ratio = cfg.ratio
    if cfg.target_macs is not None:
        ratio = ratio_for_macs(model, cfg.target_macs, cfg.criterion, cfg.mode, x)
    steps = [describe(model, ds, 0, 0.0, footprint)]
    per_step = 1 - (1 - ratio) ** (1 / max(1, cfg.steps))
    for i in range(1, max(1, cfg.steps) + 1):
        model = prune_once(model, per_step, cfg.criterion, cfg.mode, x)
        if cfg.finetune_epochs > 0:
            compile_model(model, ds, cfg.learning_rate)
            fit(model, ds, TrainConfig(epochs=cfg.finetune_epochs, learning_rate=cfg.learning_rate,
                                       seed=cfg.seed + i, patience=cfg.finetune_epochs))
        steps.append(describe(model, ds, i, 1 - (1 - per_step) ** i, footprint))
        if progress:
            progress(steps[-1])
    return model, steps


def sensitivity(model, ds: Dataset, ratio: float = 0.5, criterion: str = "l1") -> list[dict]:
    """Validation accuracy when each group alone loses ``ratio`` of its channels (no fine-tuning)."""
    cp = surgery.analyse(model)
    scores = channel_scores(model, cp, criterion, ds.x["train"])
    base = score(model, ds, "val")
    rows = []
    for g, names in cp.prunable().items():
        keep = select({g: scores[g]}, ratio, "layer")
        pruned = surgery.apply(model, cp, keep)
        rows.append({"layers": names, "channels": int(scores[g].size), "kept": int(keep[g].size),
                     "val_accuracy": score(pruned, ds, "val"), "drop": base - score(pruned, ds, "val")})
    return rows


def prune_file(model_path: Path, ds: Dataset, output: Path, cfg: PruneConfig, progress=None,
               with_sensitivity: bool = False) -> dict:
    """Prune a saved model and write the result, prune_report.json and the sidecars."""
    output = Path(output)
    if output.suffix != ".keras":
        raise TrainingError(f"output {output} must end in .keras")
    model = load_keras(model_path)
    report: dict = {"config": asdict(cfg), "source": str(model_path)}
    if with_sensitivity:
        report["sensitivity"] = sensitivity(model, ds, criterion=cfg.criterion)
    pruned, steps = prune(model, ds, cfg, progress)
    output.parent.mkdir(parents=True, exist_ok=True)
    pruned.save(output)
    copy_sidecars(model_path, output)
    report["steps"] = [asdict(s) for s in steps]
    write_json(output.with_suffix(".prune.json"), report)
    return report
