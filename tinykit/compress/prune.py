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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from tinykit.compress import surgery
from tinykit.data.datasets import Dataset
from tinykit.data.features import write_json
from tinykit.errors import TinykitError, TrainingError
from tinykit.train.artifacts import check_inputs_match, copy_sidecars, load_keras, trained_with_augmentation
from tinykit.train.trainer import compile_model, finetune_config, fit, score, set_seed

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
    layer_ratios: dict[str, float] = field(default_factory=dict)  # per-layer overrides (layer mode)
    steps: int = 3
    finetune_epochs: int = 3
    learning_rate: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    augment: bool = True  # fine-tuning augments audio (prune_file: only if the model's training did)


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
            k = k.reshape(-1, k.shape[-1]) * _bn_scale(model, n)
            total = total + (np.abs(k).mean(0) if criterion == "l1" else np.sqrt((k**2).mean(0)))
        scores[g] = np.asarray(total)
    return scores


def _bn_scale(model, producer: str) -> np.ndarray | float:
    """|gamma| / sqrt(var + eps) of a BatchNorm fed directly by ``producer`` (the folded filter scale)."""
    out = model.get_layer(producer).output
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization" and layer.input is out:
            gamma, _, _, var = layer.get_weights() if layer.scale else (1.0, *layer.get_weights())
            return np.abs(gamma) / np.sqrt(var + layer.epsilon)
    return 1.0


def _activation_scores(model, names: list[str], x: np.ndarray | None) -> np.ndarray:
    import keras

    if x is None:
        raise TrainingError("the activation criterion needs data")
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x[:ACTIVATION_SAMPLES], verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return sum(np.abs(o).reshape(-1, o.shape[-1]).mean(0) for o in outs)


def select(scores: dict[int, np.ndarray], ratio: float, mode: str,
           counts: dict[int, int] | None = None) -> dict[int, np.ndarray]:
    """Kept channel indices per group for removing ``ratio`` of the channels (or keeping ``counts``)."""
    if not 0 <= ratio < 1:
        raise TrainingError(f"pruning ratio must be in [0, 1), got {ratio}")
    keep = {}
    if mode == "global":
        allv = np.concatenate([s / (s.mean() + 1e-12) for s in scores.values()])
        cut = np.quantile(allv, ratio) if allv.size else 0
    for g, s in scores.items():
        floor = max(1, int(np.ceil(MIN_KEEP * s.size)))
        if counts is not None and g in counts:
            n = max(floor, min(s.size, counts[g]))
        elif mode == "global":
            n = max(floor, int(np.sum(s / (s.mean() + 1e-12) > cut)))
        elif mode == "layer":
            n = max(floor, round(s.size * (1 - ratio)))
        else:
            raise TrainingError(f"unknown pruning mode {mode!r}", hint="use layer or global")
        keep[g] = np.sort(np.argsort(-s, kind="stable")[:n])
    return keep


def prune_once(model, ratio: float, criterion: str = "l1", mode: str = "layer", x=None,
               original: dict[str, int] | None = None, layer_ratios: dict[str, float] | None = None):
    """One structural pruning step (no training); returns the new, smaller model.

    With ``original`` (producer name -> channels of the unpruned model) in layer mode, each group
    keeps round(original * (1 - ratio)) channels, so iterative steps land exactly where a one-shot
    prune to the same ratio would. ``layer_ratios`` (producer name -> ratio) overrides the ratio of
    the group that layer belongs to."""
    cp = surgery.analyse(model)
    groups = cp.prunable()
    if not groups:
        raise TrainingError("no prunable layers found (every channel group is frozen)")
    layer_ratios = layer_ratios or {}
    unknown = set(layer_ratios) - {n for names in groups.values() for n in names}
    if unknown:
        raise TrainingError(f"no prunable layer named {', '.join(sorted(unknown))}",
                            hint="prunable: " + ", ".join(n for names in groups.values() for n in names))
    counts = None
    if mode == "layer":
        counts = {}
        for g, names in groups.items():
            r = next((layer_ratios[n] for n in names if n in layer_ratios), ratio)
            if not 0 <= r < 1:
                raise TrainingError(f"pruning ratio must be in [0, 1), got {r}")
            base = original.get(names[0]) if original else None
            counts[g] = round((base or int(model.get_layer(names[0]).output.shape[-1])) * (1 - r))
    return surgery.apply(model, cp, select(channel_scores(model, cp, criterion, x), ratio, mode, counts))


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


def channels(model) -> dict[str, int]:
    return {layer.name: int(layer.output.shape[-1]) for layer in model.layers
            if type(layer).__name__ in surgery.PRODUCERS}


def describe(model, ds: Dataset, step: int, ratio: float, footprint: bool = True) -> PruneStep:
    weights, arena = int8_footprint(model, ds) if footprint else (None, None)
    return PruneStep(step, ratio, score(model, ds, "test"), int(model.count_params()),
                     surgery.count_macs(model), weights, arena, channels(model))


def prune(model, ds: Dataset, cfg: PruneConfig, progress=None, footprint: bool = True):
    """Iterative schedule: ``steps`` equal multiplicative cuts, each followed by fine-tuning."""
    if not 0 <= cfg.ratio < 1 or (cfg.target_macs is not None and not 0 < cfg.target_macs <= 1):
        raise TrainingError(f"pruning ratio must be in [0, 1) and target MACs in (0, 1], got {cfg.ratio}, "
                            f"{cfg.target_macs}")
    set_seed(cfg.seed)
    x = ds.x["train"]
    ratio = cfg.ratio
    if cfg.target_macs is not None:
        ratio = ratio_for_macs(model, cfg.target_macs, cfg.criterion, cfg.mode, x)
    steps = [describe(model, ds, 0, 0.0, footprint)]
    original = channels(model)
    n = max(1, cfg.steps)
    for i in range(1, n + 1):
        step_ratio = 1 - (1 - ratio) ** (i / n)
        per_layer = {k: 1 - (1 - r) ** (i / n) for k, r in cfg.layer_ratios.items()}
        # global mode ranks the current model's channels: equal multiplicative cuts per step
        cut = step_ratio if cfg.mode == "layer" else 1 - (1 - ratio) ** (1 / n)
        model = prune_once(model, cut, cfg.criterion, cfg.mode, x, original, per_layer)
        if cfg.finetune_epochs > 0:
            compile_model(model, ds, cfg.learning_rate)
            fit(model, ds, finetune_config(cfg.finetune_epochs, cfg.learning_rate, cfg.seed + i, cfg.batch_size,
                                           cfg.augment))
        steps.append(describe(model, ds, i, step_ratio, footprint))
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
    check_inputs_match(model, ds, model_path, None)
    cfg = replace(cfg, augment=cfg.augment and trained_with_augmentation(model_path))
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
