"""Structured pruning: coupling analysis, exact surgery, MAC targets, fine-tuned accuracy."""

from __future__ import annotations

import json

import numpy as np
import pipeline_helpers
import pytest
from pipeline_helpers import assert_user_error, run_cli

from tinykit.compress import surgery
from tinykit.compress.prune import PruneConfig, prune, prune_once, ratio_for_macs, select
from tinykit.errors import TrainingError
from tinykit.train.artifacts import load_keras
from tinykit.train.zoo import build_model

# session fixtures shared by the pipeline tests
tiny_kws, tiny_model = pipeline_helpers.tiny_kws, pipeline_helpers.tiny_model

X49 = np.random.default_rng(0).normal(size=(3, 49, 10, 1)).astype(np.float32)


def test_mlp_surgery_is_exact_when_pruned_units_are_dead():
    model = build_model("mlp", (20,), 3)
    w, b = model.get_layer("fc1").get_weights()
    w[:, ::2] = 0  # half of fc1's units carry nothing: removing them must not change the output
    b[::2] = 0
    model.get_layer("fc1").set_weights([w, b])
    x = np.random.default_rng(1).normal(size=(5, 20)).astype(np.float32)
    cp = surgery.analyse(model)
    g_fc1 = cp.find(cp.layer_out["fc1"])
    keep = {g_fc1: np.arange(1, 64, 2)}
    pruned = surgery.apply(model, cp, keep)
    assert pruned.get_layer("fc1").units == 32 and pruned.get_layer("fc2").get_weights()[0].shape == (32, 64)
    np.testing.assert_allclose(pruned(x).numpy(), model(x).numpy(), atol=1e-6)


def test_ds_cnn_coupling_depthwise_bn_flatten_and_classifier():
    model = build_model("ds-cnn", (49, 10, 1), 12, width=0.5)
    cp = surgery.analyse(model)
    groups = cp.prunable()
    assert sorted(n for names in groups.values() for n in names) == ["conv0", "pw1", "pw2", "pw3", "pw4"]
    pruned = prune_once(model, 0.5)
    assert pruned.get_layer("logits").units == 12  # classifier output never pruned
    for i in range(1, 5):
        dw = pruned.get_layer(f"dw{i}").get_weights()[0]
        prev = "conv0" if i == 1 else f"pw{i - 1}"
        assert dw.shape[2] == pruned.get_layer(prev).filters == 16  # depthwise follows its input
        assert pruned.get_layer(f"dw{i}_bn").get_weights()[0].shape == (16,)  # BN pruned with it
    assert pruned.get_layer("logits").get_weights()[0].shape == (16, 12)
    assert pruned(X49).shape == (3, 12)


def test_identity_ratio_keeps_function():
    model = build_model("resnet8", (32, 32, 3), 10, width=0.5)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(prune_once(model, 0.0)(x).numpy(), model(x).numpy(), atol=1e-6)


def test_resnet_residual_branches_stay_consistent():
    model = build_model("resnet8", (32, 32, 3), 10)
    pruned = prune_once(model, 0.5, criterion="l2")
    for i in (1, 2, 3):
        add = pruned.get_layer(f"stack{i}_add")
        a, b = (t.shape[-1] for t in add.input)
        assert a == b  # both branches of every ADD keep the same channels
    # stack1's ADD couples conv0 with stack1_b: one group, pruned identically
    assert pruned.get_layer("conv0").filters == pruned.get_layer("stack1_b").filters == 8
    assert pruned.get_layer("stack2_short").filters == pruned.get_layer("stack2_b").filters == 16
    assert pruned.count_params() < 0.3 * model.count_params()


def test_global_mode_and_mac_target():
    model = build_model("ds-cnn", (49, 10, 1), 12)
    ratio = ratio_for_macs(model, 0.5, "l1", "layer")
    pruned = prune_once(model, ratio)
    base = surgery.count_macs(model)
    assert surgery.count_macs(pruned) <= 0.5 * base
    assert surgery.count_macs(pruned) > 0.4 * base  # the bisection finds the smallest such ratio
    assert base == 2_656_768  # MLPerf Tiny KWS DS-CNN (SOURCES.md)
    scores = {0: np.array([1.0, 2.0, 3.0, 4.0]), 1: np.array([10.0, 0.1, 0.1, 0.1])}
    keep = select(scores, 0.5, "global")
    assert 3 in keep[0] and 0 in keep[1] and all(len(k) >= 1 for k in keep.values())
    with pytest.raises(TrainingError):
        select(scores, 1.0, "layer")


def test_frozen_layers_and_sequential_rejected():
    import keras

    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    with pytest.raises(TrainingError, match="functional"):
        surgery.analyse(seq)
    inp = keras.Input((4,))
    x = keras.layers.Dense(8, name="a")(inp)
    x = keras.layers.Reshape((2, 4))(x)  # unknown to the analysis: freezes its input group
    out = keras.layers.Dense(2, name="b")(keras.layers.Flatten()(x))
    model = keras.Model(inp, out)
    with pytest.raises(TrainingError, match="no prunable"):
        prune_once(model, 0.5)


def test_iterative_prune_tiny_model_keeps_accuracy(tiny_model, tiny_kws):
    from tinykit.compress.quantize import load_for_model

    ds = load_for_model(tiny_model, tiny_kws)
    model = load_keras(tiny_model)
    cfg = PruneConfig(target_macs=0.5, steps=2, finetune_epochs=5, learning_rate=1e-3, batch_size=16)
    _, steps = prune(model, ds, cfg)
    assert [s.step for s in steps] == [0, 1, 2]
    assert steps[-1].macs <= 0.5 * steps[0].macs
    assert steps[2].params < steps[1].params < steps[0].params
    assert steps[2].weight_bytes < steps[0].weight_bytes and steps[2].arena_bytes < steps[0].arena_bytes
    # 20 test clips (5 points each): half the MACs may cost at most 3 clips after fine-tuning
    assert steps[-1].accuracy >= steps[0].accuracy - 0.15, [s.accuracy for s in steps]


def test_prune_cli_writes_report(tiny_model, tiny_kws, tmp_path):
    out = tmp_path / "p" / "model.keras"
    res = run_cli("prune", tiny_model, "--data", tiny_kws, "--ratio", "0.5", "--steps", "1",
                  "--finetune-epochs", "1", "--sensitivity", "-o", out)
    assert res.exit_code == 0, res.output
    report = json.loads(out.with_suffix(".prune.json").read_text())
    assert len(report["steps"]) == 2 and len(report["sensitivity"]) == 5
    assert report["steps"][1]["channels"]["pw4"] == 16
    assert (out.parent / "features.json").exists()
    assert_user_error(run_cli("prune", tiny_model, "--data", tiny_kws, "--ratio", "1.5", "-o", out, "--force"),
                      "ratio")
    assert_user_error(run_cli("prune", tiny_model, "--data", tiny_kws, "-o", tmp_path / "x.tflite"), ".keras")


def test_per_layer_ratio_overrides():
    model = build_model("ds-cnn", (49, 10, 1), 12, width=0.5)
    pruned = prune_once(model, 0.5, layer_ratios={"pw4": 0.25, "conv0": 0.0})
    assert pruned.get_layer("conv0").filters == 32 and pruned.get_layer("pw4").filters == 24
    assert pruned.get_layer("pw2").filters == 16
    with pytest.raises(TrainingError, match="no prunable layer named logits"):
        prune_once(model, 0.5, layer_ratios={"logits": 0.5})
