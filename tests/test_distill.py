"""Knowledge distillation: the loss, and a teacher -> student run compared with the student alone."""

from __future__ import annotations

import json

import numpy as np
import pipeline_helpers
import pytest
from pipeline_helpers import assert_user_error, run_cli

from tinykit.train.distill import kd_loss, soft_targets, teacher_logits

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


def test_soft_targets_soften_logits_and_survive_huge_gaps():
    logits = np.array([[40.0, 0.0, -5.0, 3.0]])  # float32 softmax underflows the small classes
    hot = soft_targets(logits, 1.0)
    assert hot[0, 0] == pytest.approx(1.0) and np.all(hot[0, 1:] > 0)
    assert np.all(np.diff(soft_targets(logits, 1.0)[0, [2, 1, 3]]) > 0)  # ranking kept, not clipped flat
    flat = soft_targets(logits, 1e4)
    np.testing.assert_allclose(flat, np.full((1, 4), 0.25), atol=2e-3)  # T large -> uniform
    mid = soft_targets(logits, 4.0)
    np.testing.assert_allclose(mid, np.exp(logits / 4) / np.exp(logits / 4).sum(), rtol=1e-5)


def test_teacher_logits_are_pre_softmax():
    import keras

    inp = keras.Input(shape=(3,))
    bias = keras.initializers.Constant([30.0, 0, -30, 5])
    z = keras.layers.Dense(4, name="logits", kernel_initializer="ones", bias_initializer=bias)(inp)
    teacher = keras.Model(inp, keras.layers.Softmax(name="softmax")(z))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(teacher_logits(teacher)(x), [[33.0, 3, -27, 8]] * 2, rtol=1e-5)
    fused = keras.Model(inp, keras.layers.Activation("relu")(z))  # no softmax: log of outputs
    assert teacher_logits(fused)(x).shape == (2, 4)


def test_kd_gradient_is_t_squared_scaled_logit_matching():
    """At large T the soft-term gradient is (z_s - z_t)/N: T^2 keeps it from vanishing as 1/T^2."""
    import tensorflow as tf

    zs = tf.Variable([[1.0, -0.5, 0.2]])
    zt = np.array([[0.5, 0.3, -0.8]])
    for t in (10.0, 50.0):
        y = np.concatenate([[[1.0, 0.0, 0.0]], soft_targets(zt, t)], 1).astype(np.float32)
        with tf.GradientTape() as tape:
            loss = kd_loss(3, t, 0.0)(y, zs)
        grad = tape.gradient(loss, zs).numpy()
        diff = zs.numpy() - zt
        np.testing.assert_allclose(grad, (diff - diff.mean()) / 3, atol=0.02)


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
