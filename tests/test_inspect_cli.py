"""`tinykit inspect`: JSON report and the one-line errors for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_ir import EXPECTED_COUNTS, _hello_world_as_float, _pack
from test_plan import TFLM_ARENA_BYTES

from tinykit.cli import main
from tinykit.models import reference_model


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, stderr: str, pattern: str) -> None:
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and pattern in lines[0], stderr
    assert "Traceback" not in stderr and len(lines) <= 2


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_json_report(name: str) -> None:
    code, out, _ = run_cli("inspect", str(reference_model(name)), "--json")
    assert code == 0
    report = json.loads(out)
    totals = report["totals"]
    assert (totals["macs"], totals["params"]) == EXPECTED_COUNTS[name]
    assert totals["arena_bytes"] <= TFLM_ARENA_BYTES[name]
    assert totals["arena_lower_bound_bytes"] <= totals["arena_bytes"]
    assert report["unsupported_ops"] == []
    assert sum(op["macs"] for op in report["ops"]) == totals["macs"]
    assert sum(op["weight_bytes"] for op in report["ops"]) >= totals["weight_bytes"]
    for row in report["ops"]:
        assert set(row) >= {"index", "op", "output_shape", "macs", "weight_bytes"}


def test_human_table() -> None:
    code, out, _ = run_cli("inspect", str(reference_model("kws")))
    assert code == 0
    assert "DEPTHWISE_CONV_2D" in out and "2,656,768" in out
    assert re.search(r"arena [\d,]+ B   lower bound [\d,]+ B", out)


def test_missing_path(tmp_path: Path) -> None:
    assert_one_line_error(*_err("inspect", str(tmp_path / "missing.tflite")), "no such file")


def test_not_a_flatbuffer(tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("hello, this is not a model\n" * 10)
    assert_one_line_error(*_err("inspect", str(bad)), "not a flatbuffer")


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_truncated(tmp_path: Path, name: str) -> None:
    data = reference_model(name).read_bytes()
    for cut in (0.1, 0.6, 0.95):
        bad = tmp_path / f"cut{cut}.tflite"
        bad.write_bytes(data[: int(len(data) * cut)])
        code, _, err = run_cli("inspect", str(bad))
        assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_float_model_says_how_to_quantize(tmp_path: Path) -> None:
    bad = tmp_path / "float.tflite"
    bad.write_bytes(_hello_world_as_float(float_weights=True))
    code, _, err = run_cli("inspect", str(bad))
    assert_one_line_error(code, err, "float model")
    assert "hint: " in err and "tinykit quantize" in err


def test_unsupported_ops_listed_with_supported_set(tmp_path: Path) -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("kws").read_bytes()), 0)
    sub = model.subgraphs[0]
    model.operatorCodes[sub.operators[12].opcodeIndex].builtinCode = schema.BuiltinOperator.NEG
    model.operatorCodes[sub.operators[12].opcodeIndex].deprecatedBuiltinCode = schema.BuiltinOperator.NEG
    bad = tmp_path / "unsupported.tflite"
    bad.write_bytes(_pack(model))
    code, out, err = run_cli("inspect", str(bad), "--json")
    assert_one_line_error(code, err, "op 12 NEG")
    assert "supported ops: " in err and "CONV_2D" in err
    assert json.loads(out)["unsupported_ops"][0]["index"] == 12


def test_keras_model_needs_data(tmp_path: Path) -> None:
    keras_file = tmp_path / "model.keras"
    keras_file.write_bytes(b"PK\x03\x04")
    code, _, err = run_cli("inspect", str(keras_file))
    assert_one_line_error(code, err, "needs --data")


def test_console_script_exit_code(tmp_path: Path) -> None:
    """The installed entry point maps errors to exit 2 without a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "tinykit", "inspect", str(tmp_path / "nope.tflite")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def _err(*args: str) -> tuple[int, str]:
    code, _, err = run_cli(*args)
    return code, err


def test_board_fit_reported() -> None:
    code, out, _ = run_cli("inspect", str(reference_model("kws")), "--board", "qemu-m4", "--json")
    assert code == 0
    fit = json.loads(out)["board"]
    assert fit["id"] == "qemu-m4" and fit["fits"] is True
    assert fit["ram_needed"] > 16_000 and fit["ram_missing"] == 0


def test_board_misfit_says_by_how_much() -> None:
    code, out, _ = run_cli("inspect", str(reference_model("vww")), "--board", "qemu-m0", "--json")
    assert code == 0
    fit = json.loads(out)["board"]
    assert fit["fits"] is False and fit["ram_missing"] == fit["ram_needed"] - fit["ram_available"] > 0
    code, out, _ = run_cli("inspect", str(reference_model("vww")), "--board", "qemu-m0")
    assert "does not fit" in out and "short by" in out


def test_unknown_board() -> None:
    code, _, err = run_cli("inspect", str(reference_model("kws")), "--board", "no-such-board")
    assert_one_line_error(code, err, "unknown board")
