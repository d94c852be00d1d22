"""Fit to a board: the most accurate int8 model whose arena + runtime fit RAM and weights + code fit flash.

Candidates come from progressively pruning the model (each ratio starts from the previous, smaller
candidate and is fine-tuned), each quantized to int8 (QAT instead of PTQ when PTQ loses more than
the allowed drop and ``qat`` is on). Sizes come from the IR (weight bytes) and the memory planner
(arena bytes), and :func:`tinykit.targets.boards.estimate_fit` adds the runtime reserves. The chosen
``.tflite`` is written with its ``metrics.json``, the candidate table and a Pareto plot.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinykit.compress.health import predict
from tinykit.compress.prune import channels, prune_once
from tinykit.compress.quantize import convert, write_tflite
from tinykit.data.datasets import Dataset
from tinykit.data.features import write_json
from tinykit.errors import BoardFitError, TrainingError
from tinykit.train.artifacts import check_inputs_match, copy_sidecars, load_keras
from tinykit.train.trainer import TrainConfig, compile_model, fit, set_seed

DEFAULT_RATIOS = (0.0, 0.25, 0.35, 0.45, 0.55, 0.7)
FINETUNE_EPOCHS = 8
FINETUNE_LR = 1e-3


@dataclass
class Candidate:
    ratio: float
    accuracy: float
    params: int
    weight_bytes: int
    arena_bytes: int
    ram_needed: int
    flash_needed: int
    fits: bool
    method: str = "ptq"


def measure(tflite: bytes, board, ds: Dataset, ratio: float, params: int, method: str) -> Candidate:
    """Accuracy on the test split plus planner sizes and the board fit estimate."""
    from tinykit.ir import read_model
    from tinykit.plan import plan_memory
    from tinykit.targets.boards import estimate_fit

    with tempfile.NamedTemporaryFile(suffix=".tflite") as fh:
        fh.write(tflite)
        fh.flush()
        graph = read_model(Path(fh.name))
        weights, arena = int(graph.weight_bytes), int(plan_memory(graph).arena_bytes)
    acc = float(np.mean(predict(tflite, ds.x["test"]).argmax(-1) == ds.y["test"]))
    est = estimate_fit(board, arena, weights)
    return Candidate(ratio, acc, params, weights, arena, est.ram_needed, est.flash_needed, est.fits, method)


def _quantize(model, ds: Dataset, seed: int, qat: bool, floor: float | None, board, ratio: float,
              max_drop: float):
    """PTQ candidate, replaced by a QAT one when QAT is allowed and PTQ is what loses the accuracy:
    the candidate's float accuracy meets the floor (for the unpruned model: float - max_drop) but
    its PTQ accuracy does not. Candidates that cannot fit are not worth a QAT run (except the
    unpruned one, which sets the floor)."""
    tflite = convert(model, ds.x["train"], seed)
    cand = measure(tflite, board, ds, ratio, int(model.count_params()), "ptq")
    if not qat or not (cand.fits or floor is None):
        return tflite, cand
    float_acc = float(np.mean(model.predict(ds.x["test"], verbose=0).argmax(-1) == ds.y["test"]))
    need = floor if floor is not None else float_acc - max_drop
    if float_acc >= need > cand.accuracy:
        from tinykit.compress.qat import qat_model_bytes

        q = qat_model_bytes(model, ds, seed=seed)
        qcand = measure(q, board, ds, ratio, int(model.count_params()), "qat")
        if qcand.accuracy > cand.accuracy:
            return q, qcand
    return tflite, cand


def search(model, ds: Dataset, board, max_drop: float, ratios=DEFAULT_RATIOS,
           finetune_epochs: int = FINETUNE_EPOCHS,
           seed: int = 0, qat: bool = True, progress=None, batch_size: int = 64):
    """All candidates (ascending ratio) with their int8 bytes and Keras models, and the floor."""
    if not ds.labels:
        raise TrainingError("fit needs a classifier (labelled data set)")
    set_seed(seed)
    results, current, original = [], model, channels(model)
    floor = None
    for ratio in sorted(set(ratios)):
        if ratio > 0:
            current = prune_once(current, ratio, x=ds.x["train"], original=original)
            if finetune_epochs:
                compile_model(current, ds, FINETUNE_LR)
                fit(current, ds, TrainConfig(epochs=finetune_epochs, learning_rate=FINETUNE_LR, seed=seed,
                                             patience=finetune_epochs, batch_size=batch_size))
        tflite, cand = _quantize(current, ds, seed, qat, floor, board, ratio, max_drop)
        if floor is None:
            floor = cand.accuracy - max_drop
        results.append((cand, tflite, current))
        if progress:
            progress(cand)
    return results, floor


def pareto_plot(cands: list[Candidate], chosen: Candidate | None, path: Path, board) -> None:
    """Accuracy vs flash and vs RAM, board limits as dashed lines, chosen point circled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, limit, label in ((axes[0], "flash_needed", board.memory.flash.size, "flash bytes"),
                                  (axes[1], "ram_needed", board.memory.ram.size, "RAM bytes")):
        xs = [getattr(c, key) for c in cands]
        ax.scatter(xs, [c.accuracy for c in cands], c=["tab:green" if c.fits else "tab:red" for c in cands])
        for c, x in zip(cands, xs, strict=True):
            ax.annotate(f"{c.ratio:.2f}", (x, c.accuracy), fontsize=8)
        if chosen is not None:
            ax.scatter([getattr(chosen, key)], [chosen.accuracy], s=200, facecolors="none", edgecolors="k")
        ax.axvline(limit, ls="--", color="gray")
        ax.set(xlabel=f"{label} (needed, incl. runtime)", ylabel="int8 test accuracy")
    fig.suptitle(f"fit to {board.id}: green fits, red does not; labels = pruning ratio")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def fit_model(model_path: Path, board_id: str, ds: Dataset, output: Path, max_drop: float = 0.02,
              ratios=DEFAULT_RATIOS, finetune_epochs: int = FINETUNE_EPOCHS, seed: int = 0, qat: bool = True,
              progress=None, batch_size: int = 64) -> dict:
    """Search, write OUT/model.tflite + metrics.json + pareto.png; BoardFitError if nothing qualifies."""
    from tinykit.targets.boards import load_board

    board = load_board(board_id)
    output = Path(output)
    model = load_keras(model_path)
    check_inputs_match(model, ds, model_path, None)
    results, floor = search(model, ds, board, max_drop, ratios, finetune_epochs, seed, qat, progress, batch_size)
    cands = [c for c, _, _ in results]
    ok = [r for r in results if r[0].fits and r[0].accuracy >= floor]
    best = max(ok, key=lambda r: (r[0].accuracy, -r[0].ram_needed)) if ok else None
    output.mkdir(parents=True, exist_ok=True)
    report = {"board": board.id, "source": str(model_path), "max_drop": max_drop,
              "baseline_int8_accuracy": cands[0].accuracy, "accuracy_floor": floor,
              "candidates": [asdict(c) for c in cands], "chosen": asdict(best[0]) if best else None}
    pareto_plot(cands, best[0] if best else None, output / "pareto.png", board)
    write_json(output / "metrics.json", report)
    if best is None:
        raise BoardFitError(f"no candidate fits {board.id} with int8 accuracy >= {floor:.4f} "
                            f"(best fitting: {_best_fitting(cands)})",
                            hint="allow a larger --max-drop, add higher pruning ratios, or use a smaller model")
    write_tflite(output / "model.tflite", best[1])
    best[2].save(output / "model.keras")
    copy_sidecars(model_path, output / "model.tflite")
    return report


def _best_fitting(cands: list[Candidate]) -> str:
    fitting = [c for c in cands if c.fits]
    if not fitting:
        return "none fits at all"
    c = max(fitting, key=lambda c: c.accuracy)
    return f"ratio {c.ratio:.2f} at {c.accuracy:.4f}"
