"""Knowledge distillation: the loss, and a teacher -> student run compared with the student alone."""

from __future__ import annotations

import json

import numpy as np
import pipeline_helpers
import pytest
from pipeline_helpers import assert_user_error, run_cli

from tinykit.train.distill import kd_loss

# session fixtures shared by the pipeline tests
tiny_kws, tiny_model = pipeline_helpers.tiny_kws, pipeline_helpers.tiny_model


def test_kd_loss_reduces_to_cross_entropy_and_kl():
    logits = np.array([[2.0, 0.5, -1.0]], np.float32)
    onehot = np.array([[1.0, 0.0, 0.0]], np.float32)
    p = np.exp(logits) / np.exp(logits).sum()
    y = np.concatenate([onehot, p], axis=1)  # teacher == student at T=1
    hard_only = float(kd_loss(3, 1.0, 1.0)(y, logits)[0])
    assert hard_only == pytest.approx(-np.log(p[0, 0]), rel=1e-4)
    assert float(kd_loss(3, 1.0, 0.0)(y, logits)[0]) == pytest.approx(0.0, abs=1e-4)
    t = 4.0
    soft_t = np.exp(logits / t) / np.exp(logits / t).sum()
    other = np.array([[0.1, 0.8, 0.1]], np.float32)
    kl = float(np.sum(other * (np.log(other) - np.log(soft_t))))
    got = float(kd_loss(3, t, 0.0)(np.concatenate([onehot, other], 1), logits)[0])
    assert got == pytest.approx(t * t * kl, rel=1e-3)


def test_distill_cli_reports_student_and_baseline(tiny_model, tiny_kws, tmp_path):
    out = tmp_path / "student.keras"
    res = run_cli("distill", "--teacher", tiny_model, "--student-model", "ds-cnn", "--width", "0.25",
                  "--data", tiny_kws, "--epochs", "4", "-o", out, "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output.strip().splitlines()[-1])
    assert info["student_params"] < info["teacher_params"] / 2
    for key in ("teacher_accuracy", "student_accuracy", "baseline_accuracy"):
        assert 0.0 <= info[key] <= 1.0
    assert info["teacher_accuracy"] >= 0.75
    assert json.loads(out.with_suffix(".distill.json").read_text()) == info
    assert (tmp_path / "features.json").exists()


def test_distill_bad_inputs(tiny_model, tiny_kws, tmp_path):
    assert_user_error(run_cli("distill", "--teacher", tiny_model, "--data", tiny_kws, "--temperature", "0",
                              "-o", tmp_path / "s.keras"), "temperature")
    assert_user_error(run_cli("distill", "--teacher", tmp_path / "none.keras", "--data", tiny_kws,
                              "-o", tmp_path / "s.keras"), "does not exist")
