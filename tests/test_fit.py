"""`tinykit fit`: pruning + int8 candidates searched against a board's RAM and flash."""

from __future__ import annotations

import json
from pathlib import Path

import pipeline_helpers
import pytest
import yaml
from pipeline_helpers import assert_user_error, run_cli

from tinykit.targets.boards import estimate_fit, load_board

# session fixtures shared by the pipeline tests
tiny_kws, tiny_model = pipeline_helpers.tiny_kws, pipeline_helpers.tiny_model

ROOT = Path(__file__).resolve().parents[1]


def _board(tmp_path: Path, board_id: str, ram: int) -> Path:
    """A copy of qemu-m0 with less RAM, loadable by path."""
    data = yaml.safe_load((ROOT / "boards" / "qemu-m0.yaml").read_text())
    data["id"] = board_id
    data["memory"]["ram"]["size"] = ram
    path = tmp_path / f"{board_id}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_fit_prunes_until_the_model_fits(tiny_model, tiny_kws, tmp_path):
    from tinykit.ir import read_model
    from tinykit.plan import plan_memory

    # the unpruned tiny DS-CNN needs ~8.7 KB of arena; 10 KB of RAM minus 3 KB of reserves forces pruning
    board = _board(tmp_path, "small-m0", 10 * 1024)
    out = tmp_path / "fit"
    res = run_cli("fit", tiny_model, "--board", board, "--data", tiny_kws, "--ratios", "0,0.3,0.5",
                  "--finetune-epochs", "5", "--batch-size", "16", "--max-drop", "0.1", "-o", out)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "metrics.json").read_text())
    cands = {round(c["ratio"], 2): c for c in report["candidates"]}
    assert not cands[0.0]["fits"] and cands[0.5]["fits"]
    chosen = report["chosen"]
    assert chosen["ratio"] > 0 and chosen["fits"]
    assert chosen["accuracy"] >= report["baseline_int8_accuracy"] - 0.1
    graph = read_model(out / "model.tflite")  # re-measure the written file with the planner
    est = estimate_fit(load_board(board), plan_memory(graph).arena_bytes, graph.weight_bytes)
    assert est.fits and est.ram_needed <= 10 * 1024 and est.ram_needed == chosen["ram_needed"]
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "features.json").exists() and (out / "labels.json").exists()


def test_fit_qemu_m0_keeps_accuracy(tiny_model, tiny_kws, tmp_path):
    out = tmp_path / "m0"
    res = run_cli("fit", tiny_model, "--board", "qemu-m0", "--data", tiny_kws, "--ratios", "0",
                  "-o", out, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output.strip().splitlines()[-1])
    assert report["chosen"]["fits"] and report["chosen"]["ram_needed"] <= 16 * 1024
    assert report["chosen"]["accuracy"] >= report["baseline_int8_accuracy"] - 0.03


def test_fit_fails_clearly_when_nothing_fits(tiny_model, tiny_kws, tmp_path):
    board = _board(tmp_path, "tiny-m0", 4 * 1024)  # the reserves alone take 3 KB
    res = run_cli("fit", tiny_model, "--board", board, "--data", tiny_kws, "--ratios", "0",
                  "--finetune-epochs", "0", "-o", tmp_path / "none")
    assert_user_error(res, "no candidate fits")
    assert json.loads((tmp_path / "none" / "metrics.json").read_text())["chosen"] is None
    assert not (tmp_path / "none" / "model.tflite").exists()


def test_fit_bad_arguments(tiny_model, tiny_kws, tmp_path):
    assert_user_error(run_cli("fit", tiny_model, "--board", "no-such-board", "--data", tiny_kws,
                              "-o", tmp_path / "o"), "unknown board")
    assert_user_error(run_cli("fit", tiny_model, "--board", "qemu-m0", "--data", tiny_kws, "--ratios", "a,b",
                              "-o", tmp_path / "o"), "ratios")


@pytest.mark.qemu
@pytest.mark.slow
def test_fitted_model_runs_bit_exact_on_qemu_m0(tiny_model, tiny_kws, tmp_path):
    import shutil

    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    out = tmp_path / "m0"
    res = run_cli("fit", tiny_model, "--board", "qemu-m0", "--data", tiny_kws, "--ratios", "0,0.3",
                  "--finetune-epochs", "2", "--batch-size", "16", "--max-drop", "0.1", "-o", out)
    assert res.exit_code == 0, res.output
    run = run_cli("run", out / "model.tflite", "--board", "qemu-m0", "-o", tmp_path / "run", "--count", "3",
                  "--json")
    assert run.exit_code == 0, run.output
    result = json.loads(run.output.strip().splitlines()[-1])
    assert result["mismatched_bytes"] == 0 and result["validation"]["compared_bytes"] > 0
    assert result["ram_bytes"] <= result["ram_total"] == 16 * 1024


@pytest.mark.slow
def test_fit_falls_back_to_qat_when_ptq_loses(tiny_model, tiny_kws, tmp_path, monkeypatch):
    from tinykit.compress import fit as fit_mod
    from tinykit.compress.quantize import convert, load_for_model

    # a broken calibration makes PTQ lose while the float model is fine: fit must try QAT
    monkeypatch.setattr(fit_mod, "convert", lambda m, x, seed=0: convert(m, x, seed, calibration_scale=0.02))
    report = fit_mod.fit_model(tiny_model, "qemu-m0", load_for_model(tiny_model, tiny_kws), tmp_path / "o",
                               max_drop=0.1, ratios=(0.0,), finetune_epochs=0)
    chosen = report["chosen"]
    assert chosen["method"] == "qat" and chosen["fits"] and chosen["accuracy"] >= 0.6
    assert (tmp_path / "o" / "model.tflite").exists()


def test_fine_tuning_augments_only_what_training_augmented(tmp_path):
    """fit and prune fine-tune a model on the kind of inputs its own training used (train_config.json);
    a model without a record is fine-tuned as tinykit's training would (augmented)."""
    from tinykit.train.artifacts import TRAIN_CONFIG_FILE, trained_with_augmentation
    from tinykit.train.trainer import finetune_config

    model = tmp_path / "model.keras"
    assert trained_with_augmentation(model)  # no record
    (tmp_path / TRAIN_CONFIG_FILE).write_text(json.dumps({"config": {"augment": False}}))
    assert not trained_with_augmentation(model)
    (tmp_path / TRAIN_CONFIG_FILE).write_text("{not json")
    assert trained_with_augmentation(model)
    cfg = finetune_config(3, 1e-3, 0, 16, augment=False)
    assert not cfg.augment and cfg.patience == cfg.epochs == 3 and cfg.batch_size == 16
