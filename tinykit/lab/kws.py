"""`tinykit lab kws`: the keyword-spotting lab in one command, resumable stage by stage.

Chains the stage functions the other modules own (data: synthesis, Speech Commands or a folder;
training; the board-fit search over pruning ratios, whose candidate at ``--prune-ratio`` becomes
the *deployed model*; its int8 health check; firmware build, flashing and on-device measurement
over the whole test split; streaming) and hands their results to :mod:`tinykit.lab.report`.
Every stage writes its usual files under OUT, so each step can be rerun by hand
(docs/labs/kws.md), and OUT/lab_state.json records each finished stage with its result and time:
``--resume`` continues an interrupted run from the first unfinished stage.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit.data.features import write_json
from tinykit.errors import DataError
from tinykit.lab.sentence import make_sentence, match_detections

Progress = Callable[[str, str], None]  # (stage, message)
STAGES = ("data", "train", "fit", "quantize", "build", "measure", "stream", "report")
STATE_FILE = "lab_state.json"
KEEP_ON_START = ("tensorflow.log",)  # files the CLI may create in OUT before the lab starts
SPEECH_COMMANDS = "speech-commands"

__all__ = ["STAGES", "LabConfig", "LabResult", "export_testset", "make_sentence", "match_detections", "run_lab"]


@dataclass
class LabConfig:
    """Everything the lab run chooses; written to OUT/lab_state.json and OUT/lab.json."""

    board: str = "qemu-m4"
    data: str | None = None  # None: synthesize; "speech-commands"; a data set folder or a .tar.gz archive
    words: tuple[str, ...] = ("yes", "no", "up", "down")
    per_word: int = 200
    epochs: int = 30
    prune_ratio: float = 0.25
    finetune_epochs: int = 2
    fit_ratios: tuple[float, ...] = (0.0, 0.25, 0.5)
    sentence_words: tuple[str, ...] | None = None  # default: every keyword once
    seed: int = 0

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass
class LabResult:
    """What each stage returned (JSON-able) and how long it took."""

    out: Path
    config: LabConfig
    stages: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def lab_seconds(self) -> float:
        """The lab's time: every stage before the report (the one figure the report and terminal show)."""
        return round(sum(v for k, v in self.seconds.items() if k != "report"), 1)


def stage_data(cfg: LabConfig, out: Path) -> dict:
    from tinykit.data import layout

    if cfg.data is None:
        from tinykit.data.synth import synth_kws

        res = synth_kws(out / "data", list(cfg.words), per_word=cfg.per_word, seed=cfg.seed, force=True)
        return {"path": str(res.directory), "source": "synthetic", "labels": list(res.labels), "counts": res.counts}
    if cfg.data == SPEECH_COMMANDS or str(cfg.data).endswith((".tar.gz", ".tgz")):
        from tinykit.data import speech_commands as sc

        archive = None if cfg.data == SPEECH_COMMANDS else Path(cfg.data)
        res = sc.get(out / "data", list(cfg.words), archive=archive, seed=cfg.seed, force=True)
        return {"path": res["directory"], "source": "speech-commands", "labels": res["labels"],
                "counts": res["counts"]}
    layout.check_complete(Path(cfg.data))
    return {"path": str(cfg.data), "source": "folder"}


def stage_train(cfg: LabConfig, data: Path, ds, out: Path) -> dict:
    from tinykit.train.trainer import TrainConfig, train

    res = train(data, "ds-cnn", out / "train" / "model.keras", TrainConfig(epochs=cfg.epochs, seed=cfg.seed),
                dataset=ds)
    return {"model": str(res.model_path), "metrics": res.metrics,
            "early_stopped": res.metrics.get("epochs_run", cfg.epochs) < cfg.epochs}


def stage_fit(cfg: LabConfig, model: Path, ds, out: Path) -> dict:
    """Every candidate of the fit search; the one at ``prune_ratio`` is the deployed model."""
    from tinykit.compress.fit import fit_model
    from tinykit.errors import BoardFitError

    try:
        report = fit_model(model, cfg.board, ds, out / "fit", ratios=cfg.fit_ratios,
                           finetune_epochs=cfg.finetune_epochs, seed=cfg.seed, keep=(cfg.prune_ratio,))
    except BoardFitError as err:  # the lab goes on with the deployed candidate; the report shows why
        report = {**err.report, "error": err.message} if getattr(err, "report", None) else {"error": err.message}
    kept = (report.get("kept") or {}).get(f"{cfg.prune_ratio:g}")
    return {"report": report, "pareto_png": str(out / "fit" / "pareto.png"), "deployed": kept}


def stage_quantize(cfg: LabConfig, model: Path, data: Path, ds, out: Path) -> dict:
    from tinykit.compress.quantize import quantize_model

    res = quantize_model(model, data, out / "int8" / "model.tflite", seed=cfg.seed, dataset=ds)
    return {"model": str(res.tflite_path), "source": str(model), "health": res.health.to_dict(), "io": res.io,
            "size_bytes": res.size_bytes}


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


def prepare_output(out: Path, cfg: LabConfig, resume: bool, force: bool = False) -> dict:
    """Check OUT (new, a run of the same configuration to resume, or with ``force`` any folder,
    whose stages then all run again); returns the finished stages."""
    out = Path(out)
    state_path = out / STATE_FILE
    if resume:
        if not state_path.exists():
            raise DataError(f"{out} holds no lab run to resume ({STATE_FILE} is missing)",
                            hint="start a new run without --resume")
        state = json.loads(state_path.read_text())
        if state.get("config") != cfg.to_dict():
            diff = sorted(k for k, v in cfg.to_dict().items() if state.get("config", {}).get(k) != v)
            raise DataError(f"{out} was started with other options ({', '.join(diff)})",
                            hint="resume with the options of the first run, or start a new folder")
        return state
    if out.exists() and any(p.name not in KEEP_ON_START for p in out.iterdir()) and not force:
        raise DataError(f"{out} exists and is not empty",
                        hint="choose a new output directory, or add --resume to continue an interrupted run")
    return {"config": cfg.to_dict(), "stages": {}, "seconds": {}}


class _Runner:
    """Runs stages in order, skipping the ones a resumed run already finished, recording each."""

    def __init__(self, res: LabResult, state: dict, progress: Progress | None) -> None:
        self.res, self.state, self.progress = res, state, progress
        res.stages.update(state["stages"])
        res.seconds.update(state["seconds"])

    def __call__(self, name: str, fn: Callable[[], dict]) -> dict:
        if name in self.state["stages"]:
            if self.progress:
                self.progress(name, "finished before (resumed)")
            return self.state["stages"][name]
        if self.progress:
            self.progress(name, "start")
        t0 = time.monotonic()
        out = fn()
        self.res.seconds[name] = round(time.monotonic() - t0, 1)
        self.res.stages[name] = out
        self.state["stages"][name], self.state["seconds"][name] = out, self.res.seconds[name]
        write_json(Path(self.res.out) / STATE_FILE, self.state)
        if self.progress:
            self.progress(name, f"done in {self.res.seconds[name]:.0f} s")
        return out


def run_lab(cfg: LabConfig, out: Path, progress: Progress | None = None, resume: bool = False,
            force: bool = False) -> LabResult:
    """Run every stage in order; returns the results and writes OUT/lab.json and OUT/report.html."""
    from tinykit.data.datasets import load_dataset
    from tinykit.data.features import FeatureConfig
    from tinykit.lab.report import write_report

    out = Path(out)
    state = prepare_output(out, cfg, resume, force)
    out.mkdir(parents=True, exist_ok=True)
    res = LabResult(out, cfg)
    stage = _Runner(res, state, progress)
    data = Path(stage("data", lambda: stage_data(cfg, out))["path"])
    ds = load_dataset(data, FeatureConfig(), seed=cfg.seed)
    trained = Path(stage("train", lambda: stage_train(cfg, data, ds, out))["model"])
    fit = stage("fit", lambda: stage_fit(cfg, trained, ds, out))
    deployed = Path(fit["deployed"]["keras"]) if fit.get("deployed") else trained
    int8 = Path(stage("quantize", lambda: stage_quantize(cfg, deployed, data, ds, out))["model"])
    build = Path(stage("build", lambda: stage_build(cfg, int8, out))["dir"])
    stage("measure", lambda: stage_measure(cfg, int8, ds, build, out))
    stage("stream", lambda: stage_stream(cfg, int8, out))
    stage("report", lambda: {"path": str(write_report(res, int8))})
    write_json(out / "lab.json", {"config": cfg.to_dict(), "seconds": res.seconds, "lab_seconds": res.lab_seconds,
                                  "stages": res.stages})
    return res
