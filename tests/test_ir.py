"""The .tflite reader: graph contents, MAC/param counts, and every way a file can be bad."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

from tinykit.errors import ModelFormatError, QuantizationError
from tinykit.ir import parse_model, read_model, supported_ops
from tinykit.ir.ops import OpHandler, register
from tinykit.models import all_reference_models, reference_model

# Independent counts from the models' SOURCES.md: (MACs, params).
EXPECTED_COUNTS = {
    "kws": (2_656_768, 22_606),
    "ic": (12_501_632, 77_708),
    "vww": (7_489_664, 210_852),
    "ad": (264_192, 265_864),
    "hello_world": (288, 321),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_reference_model_counts(name: str) -> None:
    graph = read_model(reference_model(name))
    assert (graph.total_macs, graph.params) == EXPECTED_COUNTS[name]
    assert graph.unsupported_ops == []


def test_kws_graph_contents() -> None:
    graph = read_model(reference_model("kws"))
    ops = [op.opcode for op in graph.operators]
    assert ops.count("CONV_2D") == 5 and ops.count("DEPTHWISE_CONV_2D") == 4
    assert ops[-3:] == ["RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    (inp,) = graph.input_tensors
    assert inp.shape == (1, 49, 10, 1) and inp.dtype == "int8"
    conv = graph.operators[0]
    assert conv.options["padding"] == "SAME" and conv.options["stride_w"] == 2
    assert conv.options["fused_activation_function"] == "RELU"
    weights = graph.tensors[conv.inputs[1]]
    assert weights.is_constant and weights.data.shape == weights.shape
    assert weights.quantization.per_channel and len(weights.quantization.scale) == weights.shape[0]
    with pytest.raises(ValueError):
        weights.data[0, 0, 0, 0] = 1  # constants are read-only


def test_graph_is_immutable() -> None:
    graph = read_model(reference_model("hello_world"))
    with pytest.raises(AttributeError):
        graph.operators = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        graph.operators[0].options["x"] = 1  # type: ignore[index]


def test_registry_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="duplicate handler for CONV_2D"):
        register(type("Again", (OpHandler,), {"opcode": "CONV_2D"}))
    assert "CONV_2D" in supported_ops() and "SOFTMAX" in supported_ops()


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ModelFormatError, match="no such file"):
        read_model(tmp_path / "nope.tflite")


def test_not_a_flatbuffer() -> None:
    with pytest.raises(ModelFormatError, match="not a flatbuffer"):
        parse_model(b"this is plainly a text file, not a model at all")
    with pytest.raises(ModelFormatError, match="not a flatbuffer"):
        parse_model(b"\x00\x01")


def test_flatbuffer_but_not_tflite() -> None:
    builder = flatbuffers.Builder(64)
    builder.StartObject(1)
    builder.PrependInt32Slot(0, 42, 0)
    builder.Finish(builder.EndObject(), file_identifier=b"ABCD")
    with pytest.raises(ModelFormatError, match="a flatbuffer but not a TFLite model"):
        parse_model(bytes(builder.Output()))


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
@pytest.mark.parametrize("fraction", [0.02, 0.25, 0.5, 0.75, 0.98])
def test_truncated_models(name: str, fraction: float) -> None:
    data = reference_model(name).read_bytes()
    with pytest.raises(ModelFormatError, match=r"truncated or corrupt|not a flatbuffer"):
        parse_model(data[: int(len(data) * fraction)])


def test_multiple_subgraphs_rejected() -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("hello_world").read_bytes()), 0)
    model.subgraphs.append(model.subgraphs[0])
    with pytest.raises(ModelFormatError, match="2 subgraphs"):
        parse_model(_pack(model))


@pytest.mark.parametrize(("float_weights", "kind"), [(True, "float model"), (False, "hybrid")])
def test_float_and_hybrid_models_rejected_with_hint(float_weights: bool, kind: str) -> None:
    with pytest.raises(QuantizationError, match=kind) as info:
        parse_model(_hello_world_as_float(float_weights))
    assert "tinykit quantize" in info.value.hint


def test_unsupported_op_recorded() -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("hello_world").read_bytes()), 0)
    model.operatorCodes[model.subgraphs[0].operators[1].opcodeIndex].builtinCode = schema.BuiltinOperator.SIN
    model.operatorCodes[model.subgraphs[0].operators[1].opcodeIndex].deprecatedBuiltinCode = (
        schema.BuiltinOperator.SIN)
    graph = parse_model(_pack(model))
    # all three ops share one operator code, so every one of them is now SIN
    assert [(op.index, op.opcode) for op in graph.unsupported_ops] == [(0, "SIN"), (1, "SIN"), (2, "SIN")]


def test_unsupported_activation_named() -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("hello_world").read_bytes()), 0)
    model.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = (
        schema.ActivationFunctionType.SIGN_BIT)
    graph = parse_model(_pack(model))
    (bad,) = graph.unsupported_ops
    assert bad.index == 0 and "fused activation SIGN_BIT" in bad.unsupported_reason


def test_int16_activations_named() -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("hello_world").read_bytes()), 0)
    sub = model.subgraphs[0]
    out = sub.operators[0].outputs[0]
    sub.tensors[out].type = schema.TensorType.INT16
    graph = parse_model(_pack(model))
    reasons = [op.unsupported_reason for op in graph.unsupported_ops]
    assert any("int16" in r for r in reasons)


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _hello_world_as_float(float_weights: bool) -> bytes:
    """hello_world with float activations, and float weights too unless a hybrid model is wanted."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model("hello_world").read_bytes()), 0)
    for t in model.subgraphs[0].tensors:
        constant = model.buffers[t.buffer].data is not None
        if constant and not float_weights:
            continue
        if constant:
            model.buffers[t.buffer].data = np.zeros(int(np.prod(t.shape)), np.float32).view(np.uint8)
        t.type = schema.TensorType.FLOAT32
        t.quantization = None
    return _pack(model)


def test_all_reference_models_read_quickly() -> None:
    for path in all_reference_models().values():
        graph = read_model(path)
        assert graph.sha256 and len(graph.operators) > 0
        assert all(np.all(np.isfinite(t.quantization.scale)) for t in graph.tensors if t.quantization)
