"""Fit to a board: the most accurate int8 model whose arena + runtime fit RAM and weights + code fit flash.

Candidates come from progressively pruning the model (each ratio starts from the previous, smaller
candidate and is fine-tuned), each quantized to int8 (QAT instead of PTQ when PTQ loses more than
the allowed drop and ``qat`` is on). Sizes come from the IR (weight bytes) and the memory planner
(arena bytes), and :func:`tinykit.targets.boards.estimate_fit` adds the runtime reserves. The chosen
``.tflite`` is written with its ``metrics.json``, the candidate table and a Pareto plot.

Fine-tuning is short (3 epochs), so it uses small batches (many updates), and augments the audio
as the model's own training did (not at all for a model trained on clean clips). It is still the
cost, so every candidate is cached (:mod:`tinykit.cache`) under a key made of
the source model's bytes, the data set, the chain of ratios that led to it and every setting: the
lab's fit and a student's `tinykit fit` of the same model on the same data train each candidate
once. ``keep`` names ratios whose Keras candidate is written next to the result (the lab deploys
one of them).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinykit import cache
from tinykit.compress.health import predict
from tinykit.compress.prune import channels, prune_once
from tinykit.compress.quantize import convert, write_tflite
from tinykit.data.datasets import Dataset
from tinykit.data.features import write_json
from tinykit.errors import BoardFitError, TrainingError
from tinykit.train.artifacts import check_inputs_match, copy_sidecars, load_keras, trained_with_augmentation
from tinykit.train.trainer import compile_model, finetune_config, fit, set_seed

DEFAULT_RATIOS = (0.0, 0.25, 0.5, 0.7)
FINETUNE_EPOCHS = 3
# Three epochs must be enough updates: batches of 16 give 70 per epoch on the lab's 1,120 training
# clips instead of 18 with 64, and recover clearly more of a cut (docs/BENCHMARKS.md).
FINETUNE_BATCH = 16
FINETUNE_LR = 1e-3
CACHE_KIND = "fit"


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
    float_accuracy: float | None = None
    cached: bool = False


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


def _float_accuracy(model, ds: Dataset) -> float:
    return float(np.mean(model.predict(ds.x["test"], verbose=0, batch_size=256).argmax(-1) == ds.y["test"]))


def _quantize(model, ds: Dataset, seed: int, qat: bool, floor: float | None, board, ratio: float,
              max_drop: float):
    """PTQ candidate, replaced by a QAT one when QAT is allowed and PTQ is what loses the accuracy:
    the candidate's float accuracy meets the floor (for the unpruned model: float - max_drop) but
    its PTQ accuracy does not. Candidates that cannot fit are not worth a QAT run (except the
    unpruned one, which sets the floor)."""
    tflite = convert(model, ds.x["train"], seed)
    cand = measure(tflite, board, ds, ratio, int(model.count_params()), "ptq")
    cand.float_accuracy = _float_accuracy(model, ds)
    if not qat or not (cand.fits or floor is None):
        return tflite, cand
    need = floor if floor is not None else cand.float_accuracy - max_drop
    if cand.float_accuracy >= need > cand.accuracy:
        from tinykit.compress.qat import qat_model_bytes

        q = qat_model_bytes(model, ds, seed=seed)
        qcand = measure(q, board, ds, ratio, int(model.count_params()), "qat")
        qcand.float_accuracy = cand.float_accuracy
        if qcand.accuracy > cand.accuracy:
            return q, qcand
    return tflite, cand


@dataclass
class _Step:
    """One candidate: its result, int8 bytes, and its Keras model (in memory or in the cache)."""

    cand: Candidate
    tflite: bytes
    keras_path: Path | None = None
    model: object = None

    def keras(self):
        if self.model is None:
            self.model = load_keras(self.keras_path)
        return self.model


def _cached_step(digest: str, board) -> _Step | None:
    from tinykit.targets.boards import estimate_fit

    folder = cache.entry(CACHE_KIND, digest)
    if folder is None:
        return None
    cand = Candidate(**json.loads((folder / "candidate.json").read_text()))
    est = estimate_fit(board, cand.arena_bytes, cand.weight_bytes)
    cand.ram_needed, cand.flash_needed, cand.fits, cand.cached = est.ram_needed, est.flash_needed, est.fits, True
    return _Step(cand, (folder / "model.tflite").read_bytes(), folder / "model.keras")


def _store(digest: str, step: _Step) -> None:
    with cache.writing(CACHE_KIND, digest) as tmp:
        write_json(tmp / "candidate.json", asdict(step.cand))
        write_tflite(tmp / "model.tflite", step.tflite)
        step.model.save(tmp / "model.keras")


def _finetune(model, ds: Dataset, epochs: int, seed: int, batch_size: int, augment: bool, on_epoch) -> None:
    compile_model(model, ds, FINETUNE_LR)
    fit(model, ds, finetune_config(epochs, FINETUNE_LR, seed, batch_size, augment), progress=on_epoch)


def search(model_path: Path, ds: Dataset, board, max_drop: float, ratios=DEFAULT_RATIOS,
           finetune_epochs: int = FINETUNE_EPOCHS, seed: int = 0, qat: bool = True, progress=None,
           batch_size: int = FINETUNE_BATCH, on_epoch=None) -> tuple[list[_Step], float]:
    """All candidates (ascending ratio) and the accuracy floor; cached candidates are not retrained."""
    if not ds.labels:
        raise TrainingError("fit needs a classifier (labelled data set)")
    augment = trained_with_augmentation(model_path)  # fine-tune on the kind of inputs it was trained on
    base = cache.key(Path(model_path).read_bytes(), ds.digest(), finetune_epochs, seed, qat, max_drop,
                     batch_size, board.id, augment)
    steps: list[_Step] = []
    floor, chain, original = None, [], None
    for ratio in sorted(set(ratios)):
        chain.append(ratio)
        digest = cache.key(base, chain)
        step = _cached_step(digest, board)
        if step is None:
            set_seed(seed)
            current = steps[-1].keras() if steps else load_keras(model_path)
            original = original or channels(load_keras(model_path) if steps else current)
            if ratio > 0:
                current = prune_once(current, ratio, x=ds.x["train"], original=original)
                if finetune_epochs:
                    _finetune(current, ds, finetune_epochs, seed, batch_size, augment,
                              on_epoch and (lambda e, logs, r=ratio: on_epoch(r, e, finetune_epochs)))
            tflite, cand = _quantize(current, ds, seed, qat, floor, board, ratio, max_drop)
            step = _Step(cand, tflite, model=current)
            _store(digest, step)
        floor = step.cand.accuracy - max_drop if floor is None else floor
        steps.append(step)
        if progress:
            progress(step.cand)
    return steps, floor


def pareto_plot(cands: list[Candidate], chosen: Candidate | None, path: Path, board,
                deployed: Candidate | None = None) -> None:
    """Accuracy vs flash and vs RAM on axes scaled to the candidates (log where they span a lot),
    the board's limits as lines where they are in view, the chosen point circled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, limit, label in ((axes[0], "flash_needed", board.memory.flash.size, "flash needed (bytes)"),
                                  (axes[1], "ram_needed", board.memory.ram.size, "RAM needed (bytes)")):
        _pareto_axis(ax, cands, key, limit, label, chosen, deployed)
    axes[1].legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.suptitle(f"fit to {board.id}: accuracy against size (label = pruning ratio)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=96)
    plt.close(fig)


def _pareto_axis(ax, cands, key: str, limit: int, label: str, chosen, deployed) -> None:
    xs = np.array([getattr(c, key) for c in cands], float)
    ys = np.array([c.accuracy for c in cands])
    lo, hi = xs.min(), xs.max()
    log = hi / max(lo, 1) > 4
    pad = (hi / lo) ** 0.15 if log else max((hi - lo) * 0.15, hi * 0.05)
    left, right = (lo / pad, hi * pad) if log else (lo - pad, hi + pad)
    if limit <= right * (1.6 if log else 1.3):  # the limit is near: show it
        right = max(right, limit * 1.05)
    ax.set_xscale("log" if log else "linear")
    ax.set_xlim(left, right)
    ax.scatter(xs, ys, c=["tab:green" if c.fits else "tab:red" for c in cands], zorder=3, s=36)
    for i, (c, x, y) in enumerate(zip(cands, xs, ys, strict=True)):
        ax.annotate(f"{c.ratio:g}", (x, y), textcoords="offset points", fontsize=8,
                    xytext=(6, 6 if i % 2 == 0 else -12))
    if limit <= right:
        ax.axvline(limit, ls="--", color="tab:red", label="board limit")
    else:
        ax.text(0.02, 0.97, f"board limit {limit:,} B (far right, off the axis)", transform=ax.transAxes,
                ha="left", va="top", fontsize=8, color="tab:red")
    if chosen is not None:
        ax.scatter([getattr(chosen, key)], [chosen.accuracy], s=260, facecolors="none", edgecolors="k",
                   label="chosen by fit", zorder=4)
    if deployed is not None:
        ax.scatter([getattr(deployed, key)], [deployed.accuracy], s=140, marker="*", color="gold",
                   edgecolors="k", label="deployed model", zorder=5)
    span = max(ys.max() - ys.min(), 0.02)
    ax.set_ylim(ys.min() - 0.3 * span, min(1.0, ys.max() + 0.3 * span) + 0.005)
    ax.set(xlabel=label + (" (log scale)" if log else ""), ylabel="int8 test accuracy")
    ax.grid(alpha=0.3, which="both")


def fit_model(model_path: Path, board_id: str, ds: Dataset, output: Path, max_drop: float = 0.02,
              ratios=DEFAULT_RATIOS, finetune_epochs: int = FINETUNE_EPOCHS, seed: int = 0, qat: bool = True,
              progress=None, batch_size: int = FINETUNE_BATCH, keep: tuple[float, ...] = (),
              on_epoch=None) -> dict:
    """Search, write OUT/model.tflite + metrics.json + pareto.png; BoardFitError if nothing qualifies."""
    from tinykit.targets.boards import load_board

    board = load_board(board_id)
    output = Path(output)
    check_inputs_match(load_keras(model_path), ds, model_path, None)
    steps, floor = search(Path(model_path), ds, board, max_drop, ratios, finetune_epochs, seed, qat, progress,
                          batch_size, on_epoch)
    cands = [s.cand for s in steps]
    ok = [s for s in steps if s.cand.fits and s.cand.accuracy >= floor]
    best = max(ok, key=lambda s: (s.cand.accuracy, -s.cand.ram_needed)) if ok else None
    output.mkdir(parents=True, exist_ok=True)
    kept = {f"{s.cand.ratio:g}": _keep(s, model_path, output) for s in steps if s.cand.ratio in keep}
    deployed = next((s.cand for s in steps if keep and s.cand.ratio == keep[0]), None)
    report = {"board": board.id, "source": str(model_path), "max_drop": max_drop,
              "baseline_int8_accuracy": cands[0].accuracy, "accuracy_floor": floor,
              "candidates": [asdict(c) for c in cands], "chosen": asdict(best.cand) if best else None,
              "kept": kept}
    pareto_plot(cands, best.cand if best else None, output / "pareto.png", board, deployed)
    write_json(output / "metrics.json", report)
    if best is None:
        err = BoardFitError(f"no candidate fits {board.id} with int8 accuracy >= {floor:.4f} "
                            f"(best fitting: {_best_fitting(cands)})",
                            hint="allow a larger --max-drop, add higher pruning ratios, or use a smaller model")
        err.report = report
        raise err
    write_tflite(output / "model.tflite", best.tflite)
    best.keras().save(output / "model.keras")
    copy_sidecars(model_path, output / "model.tflite")
    return report


def _keep(step: _Step, model_path: Path, output: Path) -> dict:
    """Write one candidate's Keras model and int8 file under OUT/ratio_<r>/ (with the sidecars)."""
    folder = output / f"ratio_{step.cand.ratio:g}"
    folder.mkdir(parents=True, exist_ok=True)
    if step.model is None:
        shutil.copyfile(step.keras_path, folder / "model.keras")
    else:
        step.model.save(folder / "model.keras")
    write_tflite(folder / "model.tflite", step.tflite)
    copy_sidecars(model_path, folder / "model.keras")
    return {"keras": str(folder / "model.keras"), "tflite": str(folder / "model.tflite"),
            "candidate": asdict(step.cand)}


def _best_fitting(cands: list[Candidate]) -> str:
    fitting = [c for c in cands if c.fits]
    if not fitting:
        return "none fits at all"
    c = max(fitting, key=lambda c: c.accuracy)
    return f"ratio {c.ratio:.2f} at {c.accuracy:.4f}"
