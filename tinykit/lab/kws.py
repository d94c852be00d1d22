"""`tinykit lab kws`: the keyword-spotting lab in one command.

Chains the stage functions the other modules own (data synthesis, training, pruning,
quantization with its health check, board fit, firmware build, flashing, on-device measurement
over the whole test split, streaming) and hands their results to :mod:`tinykit.lab.report`.
It holds no logic of its own beyond choosing file names and passing artefacts along; every
stage writes its usual files under OUT, so each step can be rerun by hand (docs/labs/kws.md).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit.data.features import write_json
from tinykit.files import check_output_dir

Progress = Callable[[str, str], None]  # (stage, message)
STAGES = ("data", "train", "prune", "quantize", "fit", "build", "measure", "stream", "report")
SENTENCE_GAP_S = (0.9, 1.3)  # silence + noise between keywords
SENTENCE_NOISE = 0.01
SENTENCE_VOICE = ("en-us", 50, 150)


@dataclass
class LabConfig:
    """Everything the lab run chooses; written to OUT/lab_config.json."""

    board: str = "qemu-m4"
    data: Path | None = None  # a Speech Commands folder; None = synthesize
    words: tuple[str, ...] = ("yes", "no", "up", "down")
    per_word: int = 150
    epochs: int = 20
    prune_ratio: float = 0.25
    finetune_epochs: int = 2
    fit_ratios: tuple[float, ...] = (0.0, 0.25, 0.5)
    sentence_words: tuple[str, ...] | None = None  # default: every keyword once
    seed: int = 0


@dataclass
class LabResult:
    """What each stage returned (JSON-able) and how long it took."""

    out: Path
    config: LabConfig
    stages: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _stage(res: LabResult, name: str, progress: Progress | None, fn: Callable[[], dict]) -> dict:
    if progress:
        progress(name, "start")
    t0 = time.monotonic()
    out = fn()
    res.seconds[name] = round(time.monotonic() - t0, 1)
    res.stages[name] = out
    if progress:
        progress(name, f"done in {res.seconds[name]:.0f} s")
    return out


def stage_data(cfg: LabConfig, out: Path) -> dict:
    from tinykit.data.synth import synth_kws

    if cfg.data is not None:
        return {"path": str(cfg.data), "synthetic": False}
    res = synth_kws(out / "data", list(cfg.words), per_word=cfg.per_word, seed=cfg.seed)
    return {"path": str(res.directory), "synthetic": True, "labels": list(res.labels), "counts": res.counts}


def stage_train(cfg: LabConfig, data: Path, ds, out: Path) -> dict:
    from tinykit.train.trainer import TrainConfig, train

    res = train(data, "ds-cnn", out / "train" / "model.keras",
                TrainConfig(epochs=cfg.epochs, seed=cfg.seed), dataset=ds)
    return {"model": str(res.model_path), "metrics": res.metrics}


def stage_prune(cfg: LabConfig, model: Path, ds, out: Path) -> dict:
    from tinykit.compress.prune import PruneConfig, prune_file

    dst = out / "prune" / "model.keras"
    if cfg.prune_ratio <= 0:
        return {"model": str(model), "skipped": True}
    report = prune_file(model, ds, dst, PruneConfig(ratio=cfg.prune_ratio, steps=1,
                                                    finetune_epochs=cfg.finetune_epochs, seed=cfg.seed))
    return {"model": str(dst), "report": report}


def stage_quantize(cfg: LabConfig, model: Path, data: Path, ds, out: Path) -> dict:
    from tinykit.compress.quantize import quantize_model

    res = quantize_model(model, data, out / "int8" / "model.tflite", seed=cfg.seed, dataset=ds)
    return {"model": str(res.tflite_path), "health": res.health.to_dict(), "io": res.io, "size_bytes": res.size_bytes}


def stage_fit(cfg: LabConfig, model: Path, ds, out: Path) -> dict:
    from tinykit.compress.fit import fit_model
    from tinykit.errors import BoardFitError

    try:
        report = fit_model(model, cfg.board, ds, out / "fit", ratios=cfg.fit_ratios,
                           finetune_epochs=cfg.finetune_epochs, seed=cfg.seed)
    except BoardFitError as err:  # the lab goes on with the quantized model; the report shows why
        report = {"error": err.message}
    return {"report": report, "pareto_png": str(out / "fit" / "pareto.png")}


def export_testset(model: Path, ds, path: Path) -> tuple[Path, Path]:
    """The whole test split as the model's int8 inputs (.npz) and its labels (.npy)."""
    from tinykit.audio.frontend import input_quantization

    scale, zp = input_quantization(model)
    x = np.clip(np.round(ds.x["test"] / scale + zp), -128, 127).astype(np.int8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x)
    labels = path.with_name(path.stem + "_labels.npy")
    np.save(labels, ds.y["test"].astype(np.int64))
    return path, labels


def stage_build(cfg: LabConfig, model: Path, out: Path) -> dict:
    from tinykit.firmware.build import build_firmware

    res = build_firmware(model, cfg.board, out / "build")
    return {"dir": str(res.dir), "size": dataclasses.asdict(res.size), "toolchain": res.toolchain}


def stage_measure(cfg: LabConfig, model: Path, ds, build_dir: Path, out: Path) -> dict:
    from tinykit.flash import get_flasher
    from tinykit.measure import MeasureRequest, measure
    from tinykit.targets.boards import load_board

    inputs, labels = export_testset(model, ds, out / "testset.npz")
    board = load_board(cfg.board)
    with get_flasher(board).flash(build_dir) as link:
        return measure(MeasureRequest(url=link.url, board=board, model_path=model, inputs_path=inputs,
                                      labels_path=labels))


def make_sentence(words: list[str], path: Path, seed: int = 0) -> list[dict]:
    """A WAV of keywords separated by silence and noise; returns where each word is (samples)."""
    from tinykit.data.synth import RATE, _trim, noise, speak
    from tinykit.data.wav import write_wav

    rng = np.random.default_rng(seed)
    parts, truth, pos = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for word in words:
            gap = int(rng.uniform(*SENTENCE_GAP_S) * RATE)
            parts.append(SENTENCE_NOISE * noise(str(rng.choice(["pink", "white", "brown"])), gap, rng))
            speech = _trim(speak(word, *SENTENCE_VOICE, Path(tmp)))
            speech = 0.5 * speech / (np.abs(speech).max() + 1e-9)
            parts.append(speech + SENTENCE_NOISE * noise("pink", speech.size, rng))
            truth.append({"word": word, "start": pos + gap, "end": pos + gap + speech.size})
            pos += gap + speech.size
    parts.append(SENTENCE_NOISE * noise("pink", RATE, rng))
    write_wav(path, np.clip(np.concatenate(parts), -1, 1))
    return truth


def match_detections(truth: list[dict], detections: list[dict], window: int) -> dict:
    """Each spoken keyword needs one detection of that word whose window covers the word's middle."""
    used, rows = set(), []
    for t in truth:
        mid = (t["start"] + t["end"]) // 2
        hit = next((i for i, d in enumerate(detections) if i not in used and d["label"] == t["word"]
                    and d["sample"] - window <= mid <= d["sample"]), None)
        if hit is not None:
            used.add(hit)
        rows.append({**t, "detected": hit is not None,
                     "detection": detections[hit] if hit is not None else None})
    extra = [d for i, d in enumerate(detections) if i not in used]
    return {"words": rows, "found": sum(r["detected"] for r in rows), "expected": len(truth),
            "false_alarms": extra}


def stage_stream(cfg: LabConfig, model: Path, out: Path) -> dict:
    from tinykit.audio.frontend import feature_config_for
    from tinykit.audio.stream import build_stream_firmware, run_stream

    words = list(cfg.sentence_words or cfg.words)
    wav = out / "sentence.wav"
    truth = make_sentence(words, wav, cfg.seed)
    build = build_stream_firmware(model, cfg.board, out / "stream")
    res = run_stream(build.dir, cfg.board, wav)
    result = res.to_dict()
    window = feature_config_for(model).clip_samples
    result["match"] = match_detections(truth, result["detections"], window)
    result["wav"] = str(wav)
    result["firmware_size"] = dataclasses.asdict(build.size)
    return result


def run_lab(cfg: LabConfig, out: Path, progress: Progress | None = None, force: bool = False) -> LabResult:
    """Run every stage in order; returns the results and writes OUT/lab.json and OUT/report.html
    (into a non-empty OUT only with ``force``)."""
    from tinykit.data.datasets import load_dataset
    from tinykit.data.features import FeatureConfig
    from tinykit.lab.report import write_report

    out = check_output_dir(out, force)
    out.mkdir(parents=True, exist_ok=True)
    res = LabResult(out, cfg)
    data = Path(_stage(res, "data", progress, lambda: stage_data(cfg, out))["path"])
    ds = load_dataset(data, FeatureConfig(), seed=cfg.seed)
    trained = Path(_stage(res, "train", progress, lambda: stage_train(cfg, data, ds, out))["model"])
    pruned = Path(_stage(res, "prune", progress, lambda: stage_prune(cfg, trained, ds, out))["model"])
    int8 = Path(_stage(res, "quantize", progress, lambda: stage_quantize(cfg, pruned, data, ds, out))["model"])
    _stage(res, "fit", progress, lambda: stage_fit(cfg, trained, ds, out))
    build = Path(_stage(res, "build", progress, lambda: stage_build(cfg, int8, out))["dir"])
    _stage(res, "measure", progress, lambda: stage_measure(cfg, int8, ds, build, out))
    _stage(res, "stream", progress, lambda: stage_stream(cfg, int8, out))
    _stage(res, "report", progress, lambda: {"path": str(write_report(res, int8))})
    write_json(out / "lab.json", {"config": dataclasses.asdict(cfg), "seconds": res.seconds,
                                  "total_seconds": round(sum(res.seconds.values()), 1), "stages": res.stages})
    return res
