"""Refusals that help: one error line naming every op tinykit cannot run, from every command that
turns a model into C or firmware (``measure`` drives firmware tinykit may not have built, so only
the oracle's verdict matters there).

The model is hello_world with its first op replaced by TFLite Micro's signal-library custom op
``SignalWindow`` and its second by RFFT2D (a builtin TFLite Micro has no kernel for); a third
variant has int16 activations TFLite Micro's own Prepare refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from codegen_helpers import edit_tflite

from tinykit.cli import main
from tinykit.ir import read_model
from tinykit.models import reference_model

pytestmark = pytest.mark.host


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    return s


def _signal_and_rfft(model) -> None:
    s = schema()
    custom = s.OperatorCodeT()
    custom.builtinCode = custom.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    custom.customCode, custom.version = b"SignalWindow", 1
    rfft = s.OperatorCodeT()
    rfft.builtinCode, rfft.deprecatedBuiltinCode, rfft.version = s.BuiltinOperator.RFFT2D, 127, 1
    model.operatorCodes += [custom, rfft]
    first = len(model.operatorCodes) - 2
    for i, op in enumerate(model.subgraphs[0].operators[:2]):
        op.opcodeIndex, op.builtinOptionsType, op.builtinOptions = first + i, 0, None


def _int16_between_ops(model) -> None:
    sub = model.subgraphs[0]
    sub.tensors[sub.operators[0].outputs[0]].type = schema().TensorType.INT16


@pytest.fixture(scope="module")
def signal_model(tmp_path_factory) -> Path:
    return edit_tflite(reference_model("hello_world"), tmp_path_factory.mktemp("m") / "signal.tflite",
                       _signal_and_rfft)


def test_reader_names_every_op_and_tflm_verdict(signal_model: Path) -> None:
    graph = read_model(signal_model)
    custom, rfft = graph.unsupported_ops
    assert (custom.index, custom.opcode, custom.tflm_runs) == (0, "CUSTOM:SignalWindow", None)
    assert "signal-library" in custom.unsupported_reason
    assert (rfft.index, rfft.opcode, rfft.tflm_runs) == (1, "RFFT2D", False)
    assert "TFLite Micro cannot run it either" in rfft.unsupported_reason
    assert "Didn't find op for builtin opcode 'RFFT2D'" in rfft.unsupported_reason


def test_prepare_refusal_quoted(tmp_path: Path) -> None:
    graph = read_model(edit_tflite(reference_model("hello_world"), tmp_path / "i16.tflite", _int16_between_ops))
    assert [op.index for op in graph.unsupported_ops] == [0, 1]
    for op in graph.unsupported_ops:
        assert op.tflm_runs is False and "input->type != output->type" in op.unsupported_reason


def _first_error_line(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_every_command_refuses_with_the_same_line(signal_model: Path, tmp_path: Path) -> None:
    commands = {
        "inspect": ["inspect", str(signal_model)],
        "generate": ["generate", str(signal_model), "-o", str(tmp_path / "lib")],
        "verify": ["verify", str(signal_model), "--host"],
        "build": ["build", str(signal_model), "--board", "qemu-m4", "-o", str(tmp_path / "fw")],
        "run": ["run", str(signal_model), "-o", str(tmp_path / "run")],
    }
    lines = {name: _first_error_line(args) for name, args in commands.items()}
    first = lines["inspect"]
    assert "2 unsupported ops" in first and "op 0 CUSTOM:SignalWindow" in first and "op 1 RFFT2D" in first
    assert all(line == first for line in lines.values()), lines
    assert not (tmp_path / "lib").exists() and not (tmp_path / "fw" / "firmware.elf").exists()


def test_a_runtime_crash_costs_one_verdict_not_the_process(tmp_path: Path, monkeypatch) -> None:
    """The runtime runs in a child process: one that dies (here: a stand-in that segfaults) gives a
    'crashed' verdict, quoted in the refusal, and tinykit carries on."""
    import os
    import signal

    from tinykit.ir import support, tflm

    path = edit_tflite(reference_model("hello_world"), tmp_path / "i16.tflite", _int16_between_ops)
    monkeypatch.setattr(tflm, "_probe_here", lambda graph, op: os.kill(os.getpid(), signal.SIGSEGV))
    graph = read_model(path)
    op = graph.unsupported_ops[0]
    verdict = tflm.probe(graph, op)
    assert not verdict.ok and verdict.crashed and "SIGSEGV" in verdict.message
    assert "TFLite Micro cannot run it either (its runtime crashed (SIGSEGV))" in support.op_refusal(op)
    monkeypatch.undo()
    assert "input->type != output->type" in tflm.probe(graph, op).message


def test_quantize_ends_with_the_support_check(tmp_path: Path, monkeypatch) -> None:
    """`quantize` writes the model, then judges it as `inspect` does: an op tinykit cannot run (here
    SOFTMAX, its handler taken away for the test) is named in one error line, exit 2, and --json
    lists it too."""
    import json

    import keras
    import numpy as np

    from tinykit.ir.ops import base

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Softmax()])
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(20, 8)).astype(np.float32), y=rng.integers(0, 4, 20))
    monkeypatch.delitem(base._REGISTRY, "SOFTMAX")
    out = tmp_path / "m.tflite"
    line = _first_error_line(["quantize", str(tmp_path / "m.keras"), "--data", str(tmp_path / "d.npz"), "-o", str(out)])
    assert out.is_file() and "1 unsupported op: op 1 SOFTMAX" in line
    result = CliRunner().invoke(main, ["quantize", str(tmp_path / "m.keras"), "--data", str(tmp_path / "d.npz"),
                                       "-o", str(out), "--force", "--json"])
    assert result.exit_code == 2
    assert [row["op"] for row in json.loads(result.stdout)["unsupported_ops"]] == ["SOFTMAX"]
