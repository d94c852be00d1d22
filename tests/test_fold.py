"""Constant folding and dead-op removal in the reader (tinykit/ir/fold.py), and what they feed.

Folded ops are evaluated by the tflite-micro runtime on the host; every model here is also run
whole by that runtime (with the folded ops executed at run time) and compared byte for byte with
the generated C, so a folding mistake shows up as a mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from codegen_helpers import edit_tflite, int8_tflite

from tinykit.cli import main
from tinykit.ir import read_model
from tinykit.ir.reader import decode_options
from tinykit.ir.tflm import encode_options
from tinykit.models import reference_model
from tinykit.verify import verify_host

pytestmark = pytest.mark.host

SHAPE_CHAIN = ("SHAPE", "STRIDED_SLICE", "PACK")


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    return s


def mobilenet_head():
    """Keras' MobileNet head with the default dynamic batch: each Reshape becomes
    SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE in the converted model."""
    import tf_keras as k

    inp = k.Input((10, 10, 3))
    x = k.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Reshape((1, 1, 8))(x)
    x = k.layers.Conv2D(4, 1)(x)
    x = k.layers.Reshape((4,))(x)
    x = k.layers.Softmax()(x)
    return k.Model(inp, x)


@pytest.fixture(scope="module")
def dynamic_head() -> Path:
    return int8_tflite(mobilenet_head, (10, 10, 3), "fold-mobilenet-head")


def test_dynamic_batch_shape_chain_is_folded(dynamic_head: Path) -> None:
    unfolded = read_model(dynamic_head, fold=False)
    assert [op.opcode for op in unfolded.operators].count("SHAPE") == 2
    assert {op.opcode for op in unfolded.unsupported_ops} >= {"SHAPE"}
    graph = read_model(dynamic_head)
    assert [op.opcode for op in graph.operators] == ["CONV_2D", "MEAN", "RESHAPE", "CONV_2D", "RESHAPE", "SOFTMAX"]
    assert graph.unsupported_ops == []
    assert [(r.opcode, r.kind) for r in graph.folded] == [(op, "folded") for op in SHAPE_CHAIN * 2]
    # the folded op indices are the file's, and the ops that run keep theirs
    assert [r.index for r in graph.folded] == [2, 3, 4, 7, 8, 9]
    assert [op.index for op in graph.operators] == [0, 1, 5, 6, 10, 11]
    pack = graph.tensors[graph.folded[2].outputs[0]]
    assert pack.dtype == "int32" and pack.data.tolist() == [1, 1, 1, 8]
    assert graph.tensors[graph.folded[5].outputs[0]].data.tolist() == [1, 4]
    # the dynamic batch (-1 in shape_signature) is read as TFLite Micro reads it: 1
    assert graph.input_tensors[0].shape == (1, 10, 10, 3)


def test_dynamic_batch_model_is_bit_exact(dynamic_head: Path) -> None:
    result = verify_host(dynamic_head, n_inputs=20)
    assert result.mismatched_bytes == 0


def test_inspect_shows_folded_ops(dynamic_head: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["inspect", str(dynamic_head)])
    assert text.exit_code == 0, text.output
    assert "folded op 2 SHAPE -> tensor" in text.output and "int32[4] = [1, 1, 1, 8]" in text.output
    report = json.loads(runner.invoke(main, ["inspect", str(dynamic_head), "--json"]).stdout)
    assert [row["op"] for row in report["folded"]] == list(SHAPE_CHAIN * 2)
    assert report["folded"][2]["kind"] == "folded"
    assert report["folded"][2]["tensors"][0]["values"] == [1, 1, 1, 8]
    assert [row["index"] for row in report["ops"]] == [0, 1, 5, 6, 10, 11]
    assert all(row["live_bytes"] is not None for row in report["ops"])


def _new_tensor(model, like: int, name: bytes, shape, ttype, data: np.ndarray | None = None) -> int:
    """Append a tensor (a copy of tensor ``like``'s quantization) and, with ``data``, its buffer."""
    s = schema()
    sub = model.subgraphs[0]
    t = s.TensorT()
    t.shape, t.type, t.name = list(shape), ttype, name
    t.quantization = sub.tensors[like].quantization
    t.buffer = 0
    if data is not None:
        buf = s.BufferT()
        buf.data = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        model.buffers.append(buf)
        t.buffer = len(model.buffers) - 1
    sub.tensors.append(t)
    return len(sub.tensors) - 1


def _insert_op(model, position: int, builtin: int, inputs, outputs, options_type=0, options=None) -> None:
    s = schema()
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = builtin
    code.version = 1
    model.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex = len(model.operatorCodes) - 1
    op.inputs, op.outputs = list(inputs), list(outputs)
    op.builtinOptionsType, op.builtinOptions = options_type, options
    model.subgraphs[0].operators.insert(position, op)


def _weights_behind_transpose(model) -> None:
    """hello_world's second FULLY_CONNECTED reads its weights from TRANSPOSE(W^T, [1, 0])."""
    s = schema()
    sub = model.subgraphs[0]
    w = sub.operators[1].inputs[1]
    weights = np.frombuffer(bytes(model.buffers[sub.tensors[w].buffer].data), np.int8).reshape(sub.tensors[w].shape)
    wt = _new_tensor(model, w, b"weights_t", weights.T.shape, s.TensorType.INT8, weights.T.copy())
    perm = _new_tensor(model, w, b"perm", [2], s.TensorType.INT32, np.array([1, 0], np.int32))
    sub.tensors[perm].quantization = None
    sub.tensors[w].buffer = 0  # now computed
    _insert_op(model, 0, s.BuiltinOperator.TRANSPOSE, [wt, perm], [w], s.BuiltinOptions.TransposeOptions,
               s.TransposeOptionsT())


def _bias_from_int32_add(model) -> None:
    """The first FULLY_CONNECTED's int32 bias is ADD(bias - 7, 7), computed on int32 constants."""
    s = schema()
    sub = model.subgraphs[0]
    b = sub.operators[0].inputs[2]
    bias = np.frombuffer(bytes(model.buffers[sub.tensors[b].buffer].data), np.int32)
    part = _new_tensor(model, b, b"bias_part", bias.shape, s.TensorType.INT32, bias - 7)
    seven = _new_tensor(model, b, b"seven", [1], s.TensorType.INT32, np.array([7], np.int32))
    for t in (part, seven, b):
        sub.tensors[t].quantization = None
    sub.tensors[b].buffer = 0
    _insert_op(model, 0, s.BuiltinOperator.ADD, [part, seven], [b], s.BuiltinOptions.AddOptions, s.AddOptionsT())


def _dead_fully_connected(model) -> None:
    """A copy of the first op writing a tensor nothing reads."""
    s = schema()
    sub = model.subgraphs[0]
    first = sub.operators[0]
    out = _new_tensor(model, first.outputs[0], b"unused", sub.tensors[first.outputs[0]].shape, s.TensorType.INT8)
    copy = s.OperatorT()
    copy.opcodeIndex, copy.inputs, copy.outputs = first.opcodeIndex, list(first.inputs), [out]
    copy.builtinOptionsType, copy.builtinOptions = first.builtinOptionsType, first.builtinOptions
    sub.operators.insert(1, copy)


@pytest.mark.parametrize(("edit", "folded"), [
    (_weights_behind_transpose, [("TRANSPOSE", "folded")]),
    (_bias_from_int32_add, [("ADD", "folded")]),
    (_dead_fully_connected, [("FULLY_CONNECTED", "dead")]),
])
def test_folded_constants_feed_runtime_ops_bit_exact(tmp_path: Path, edit, folded) -> None:
    path = edit_tflite(reference_model("hello_world"), tmp_path / "edited.tflite", edit)
    graph = read_model(path)
    assert [(r.opcode, r.kind) for r in graph.folded] == folded
    assert [op.opcode for op in graph.operators] == ["FULLY_CONNECTED"] * 3
    assert graph.params == read_model(reference_model("hello_world")).params
    result = verify_host(path, n_inputs=64)
    assert result.mismatched_bytes == 0


def test_dead_op_tinykit_cannot_run_is_dropped(tmp_path: Path) -> None:
    def edit(model):
        _dead_fully_connected(model)
        s = schema()
        code = s.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.HASHTABLE_LOOKUP
        model.operatorCodes.append(code)
        dead = model.subgraphs[0].operators[1]
        dead.opcodeIndex, dead.builtinOptionsType, dead.builtinOptions = len(model.operatorCodes) - 1, 0, None

    path = edit_tflite(reference_model("hello_world"), tmp_path / "dead.tflite", edit)
    graph = read_model(path)
    assert graph.unsupported_ops == [] and [(r.index, r.kind) for r in graph.folded] == [(1, "dead")]
    assert read_model(path, fold=False).unsupported_ops[0].opcode == "HASHTABLE_LOOKUP"


@pytest.mark.parametrize("name", ["kws", "vww", "ic", "ad"])
def test_options_round_trip(name: str) -> None:
    """Cutting an op out re-encodes its options: decoding them again gives the reader's dict."""
    for op in read_model(reference_model(name)).operators:
        _, encoded = encode_options(op)
        assert (decode_options(encoded) if encoded is not None else {}) == dict(op.options)
