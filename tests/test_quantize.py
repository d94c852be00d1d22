"""Full-integer quantization and its health check (including a deliberately broken calibration)."""

from __future__ import annotations

import json

import numpy as np
import pipeline_helpers
import pytest
from pipeline_helpers import assert_user_error, run_cli

from tinykit.compress.health import check, predict, sqnr_db
from tinykit.compress.quantize import convert, quantize_model
from tinykit.errors import QuantizationError
from tinykit.train.artifacts import load_keras

# session fixtures shared by the pipeline tests
tiny_int8, tiny_kws, tiny_model = pipeline_helpers.tiny_int8, pipeline_helpers.tiny_kws, pipeline_helpers.tiny_model


def _ops(path) -> list[str]:
    from tinykit.compress.health import interpreter

    return [op["op_name"] for op in interpreter(path.read_bytes())._get_ops_details()]


def test_ptq_is_full_int8_and_healthy(tiny_int8, tiny_model):
    from tinykit.ir import read_model

    graph = read_model(tiny_int8)
    ins, outs = [graph.tensors[i] for i in graph.inputs], [graph.tensors[i] for i in graph.outputs]
    assert [t.dtype for t in ins + outs] == ["int8", "int8"]
    assert ins[0].shape == (1, 49, 10, 1) and outs[0].shape == (1, 4)
    assert _ops(tiny_int8) == ["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 4 + \
        ["AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]
    conv = next(t for t in graph.tensors if t.is_constant and t.dtype == "int8" and len(t.shape) == 4)
    assert conv.quantization is not None and len(conv.quantization.scale) == conv.shape[0]  # per channel
    meta = json.loads(tiny_int8.with_suffix(".quant.json").read_text())
    assert meta["io"]["inputs"][0]["scale"] == pytest.approx(ins[0].scale)
    assert meta["io"]["inputs"][0]["zero_point"] == ins[0].zero_point
    assert meta["io"]["outputs"][0]["scale"] == pytest.approx(1 / 256)
    health = meta["health"]
    assert health["warnings"] == [], health["warnings"]
    assert health["agreement"] >= 0.9
    assert abs(health["float_accuracy"] - health["int8_accuracy"]) <= 0.1
    assert min(layer["sqnr_db"] for layer in health["layers"]) > 12
    assert (tiny_int8.parent / "features.json").exists() and (tiny_int8.parent / "labels.json").exists()


def test_int8_matches_keras_on_test_split(tiny_int8, tiny_model, tiny_kws):
    from tinykit.data import load_dataset

    ds = load_dataset(tiny_kws)
    keras_pred = load_keras(tiny_model).predict(ds.x["test"], verbose=0).argmax(-1)
    int8_pred = predict(tiny_int8.read_bytes(), ds.x["test"]).argmax(-1)
    assert np.mean(keras_pred == int8_pred) >= 0.9


def test_broken_calibration_is_caught(tiny_model, tiny_kws, tmp_path):
    res = quantize_model(tiny_model, tiny_kws, tmp_path / "bad.tflite", calibration_scale=0.02)
    assert res.health.warnings, "a 50x mis-scaled representative set must be reported"
    bad_layers = [w for w in res.health.warnings if "SQNR" in w]
    assert bad_layers and "conv0" in bad_layers[0]
    assert res.health.layers[0].sqnr_db < 6
    result = run_cli("quantize", tiny_model, "--data", tiny_kws, "-o", tmp_path / "bad2.tflite",
                     "--calibration-scale", "0.02", "--strict")
    assert_user_error(result, "unhealthy")
    assert not (tmp_path / "bad2.tflite").exists()


def test_quantize_cli_reports_scales(tiny_model, tiny_kws, tmp_path):
    res = run_cli("quantize", tiny_model, "--data", tiny_kws, "-o", tmp_path / "q.tflite", "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output.strip().splitlines()[-1])
    assert info["io"]["inputs"][0]["dtype"] == "int8" and info["size_bytes"] == (tmp_path / "q.tflite").stat().st_size


def test_quantize_bad_inputs(tiny_model, tiny_kws, tmp_path):
    assert_user_error(run_cli("quantize", tiny_model, "--data", tiny_kws, "-o", tmp_path / "q.bin"), ".tflite")
    assert_user_error(run_cli("quantize", tmp_path / "none.keras", "--data", tiny_kws, "-o", tmp_path / "q.tflite"),
                      "does not exist")
    assert_user_error(run_cli("quantize", tiny_model, "--data", tmp_path / "nodata", "-o", tmp_path / "q.tflite"),
                      "does not exist")


def test_health_check_strict_raises_on_drop(tiny_model, tiny_kws):
    from tinykit.data import load_dataset

    ds = load_dataset(tiny_kws)
    model = load_keras(tiny_model)
    good, bad = convert(model, None), convert(model, ds.x["train"], calibration_scale=0.02)
    assert check(good, good, ds.x["test"], ds.y["test"]).warnings == []
    with pytest.raises(QuantizationError, match="unhealthy"):
        check(good, bad, ds.x["test"], ds.y["test"], strict=True)


def test_sqnr():
    a = np.ones(100)
    assert sqnr_db(a, a) == 99.0
    assert sqnr_db(a, a * 0.9) == pytest.approx(20.0)


@pytest.mark.slow
def test_qat_produces_healthy_full_int8(tiny_model, tiny_kws, tmp_path):
    from tinykit.ir import read_model

    res = quantize_model(tiny_model, tiny_kws, tmp_path / "qat.tflite", qat=True, qat_epochs=1)
    graph = read_model(res.tflite_path)
    assert [graph.tensors[i].dtype for i in (*graph.inputs, *graph.outputs)] == ["int8", "int8"]
    assert res.health.agreement >= 0.85 and res.health.layers
    assert min(layer.sqnr_db for layer in res.health.layers) > 12
    meta = json.loads((tmp_path / "qat.quant.json").read_text())
    assert meta["qat"] is True and meta["io"]["inputs"][0]["dtype"] == "int8"


def test_savedmodel_import_quantizes(tiny_model, tiny_kws, tmp_path):
    import shutil

    sm = tmp_path / "sm"
    load_keras(tiny_model).export(str(sm), verbose=False)
    shutil.copyfile(tiny_model.parent / "features.json", sm / "features.json")
    res = quantize_model(sm, tiny_kws, tmp_path / "out" / "sm.tflite")
    assert res.io["inputs"][0]["dtype"] == "int8" and res.io["inputs"][0]["shape"][1:] == [49, 10, 1]
    assert res.health.agreement >= 0.9
    assert (tmp_path / "out" / "features.json").exists()


def test_quantize_refuses_mismatched_data(tiny_model, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(40, 49, 10, 1)), y=rng.integers(0, 7, 40))
    assert_user_error(run_cli("quantize", tiny_model, "--data", tmp_path / "d.npz", "-o", tmp_path / "q.tflite"),
                      "outputs but")


def test_inspect_quantizes_a_keras_model_given_data(tiny_model, tiny_kws):
    """`inspect` on a Keras file with --data calibrates it and reports the int8 model."""
    result = run_cli("inspect", str(tiny_model), "--data", str(tiny_kws), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["totals"]["macs"] > 0 and report["unsupported_ops"] == []
    assert report["ops"][0]["op"] == "CONV_2D"
    assert report["model"]["inputs"][0]["dtype"] == "int8"
