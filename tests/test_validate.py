"""The validation pass (tinykit/ir/validate.py and the handlers' declared contracts): every way a
model file can be malformed that reached a traceback once, refused with one error naming the op
index, the tensor and what is wrong."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinykit.errors import ModelFormatError, TinykitError, UnsupportedOpError
from tinykit.inspect import inspect_graph, with_lowering_refusals
from tinykit.ir import parse_model
from tinykit.models import reference_model

TT = schema.TensorType


def _model(name: str):
    return schema.ModelT.InitFromPackedBuf(bytearray(reference_model(name).read_bytes()), 0)


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _sub(model):
    return model.subgraphs[0]


def _tensor(model, op: int, role: str, position: int):
    sub = _sub(model)
    return sub.tensors[getattr(sub.operators[op], role)[position]]


def _set_type(model, index: int, tensor_type: int, itemsize: int) -> None:
    t = _sub(model).tensors[index]
    t.type = tensor_type
    if model.buffers[t.buffer].data is not None:
        model.buffers[t.buffer].data = np.zeros(int(np.prod(t.shape)) * itemsize, np.uint8)


def _quant(model, op: int, role: str, position: int):
    return _tensor(model, op, role, position).quantization


def _options(model, op: int):
    return _sub(model).operators[op].builtinOptions


def _set_option(op: int, name: str, value) -> Callable:
    return lambda m: setattr(_options(m, op), name, value)


def _swap_first_ops(m) -> None:
    ops = _sub(m).operators
    ops[0], ops[1] = ops[1], ops[0]


def _per_channel_output(m) -> None:
    q = _quant(m, 0, "outputs", 0)
    q.scale, q.zeroPoint, q.quantizedDimension = np.full(64, q.scale[0], np.float32), np.zeros(64, np.int64), 3


def _drop_options(m) -> None:
    op = _sub(m).operators[0]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None


def _wrong_options(m) -> None:
    op = _sub(m).operators[0]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.Pool2DOptions, schema.Pool2DOptionsT()


def _write_constant(m) -> None:
    _sub(m).operators[0].outputs[0] = _sub(m).operators[0].inputs[1]


def _shape(op: int, role: str, position: int, shape: list[int]) -> Callable:
    return lambda m: setattr(_tensor(m, op, role, position), "shape", np.array(shape, np.int32))


# (id, model, edit, error class, what the message must say)
MALFORMED = [
    ("string-tensor", "hello_world", lambda m: _set_type(m, 7, TT.STRING, 1), UnsupportedOpError,
     r"tensor 7 \(.*\): type string has no fixed size"),
    ("unknown-type", "hello_world", lambda m: setattr(_sub(m).tensors[7], "type", 99), ModelFormatError,
     r"tensor 7 \(.*\): unknown tensor type"),
    ("uint16-weights-wrong-size", "hello_world",
     lambda m: setattr(_sub(m).tensors[6], "type", TT.UINT16), ModelFormatError,
     r"tensor 6 .* holds 16 bytes but its shape \[16, 1\] needs 32"),
    ("stride-0", "kws", _set_option(0, "strideW", 0), ModelFormatError,
     r"CONV_2D \(op 0\): option stride_w = 0 is outside \[1, 65536\]"),
    ("dilation-0", "kws", _set_option(1, "dilationHFactor", 0), ModelFormatError,
     r"DEPTHWISE_CONV_2D \(op 1\): option dilation_h_factor = 0"),
    ("pool-filter-0", "kws", _set_option(9, "filterHeight", 0), ModelFormatError,
     r"AVERAGE_POOL_2D \(op 9\): option filter_height = 0"),
    ("softmax-beta-nan", "kws", _set_option(12, "beta", math.nan), ModelFormatError,
     r"SOFTMAX \(op 12\): option beta = nan is not a finite number"),
    ("input-rank-3", "kws", _shape(0, "inputs", 0, [1, 49, 10]), ModelFormatError,
     r"CONV_2D \(op 0\): input 0 \(input_1\) has rank 3, expected 4"),
    ("required-input-absent", "kws", lambda m: _sub(m).operators[0].inputs.__setitem__(1, -1), ModelFormatError,
     r"CONV_2D \(op 0\): required input 1 is absent"),
    ("no-outputs", "kws", lambda m: setattr(_sub(m).operators[3], "outputs", np.array([], np.int32)),
     ModelFormatError, r"DEPTHWISE_CONV_2D \(op 3\): has no outputs"),
    ("options-missing", "kws", _drop_options, ModelFormatError,
     r"CONV_2D \(op 0\): its Conv2DOptions table is missing"),
    ("options-wrong-table", "kws", _wrong_options, ModelFormatError,
     r"CONV_2D \(op 0\): carries a Pool2DOptions table, expected Conv2DOptions"),
    ("scale-0", "kws", lambda m: _quant(m, 0, "outputs", 0).scale.__setitem__(0, 0.0), ModelFormatError,
     r"tensor 22 \(.*\): quantization scale 0.0 is not a positive, finite"),
    ("scale-nan", "kws", lambda m: _quant(m, 12, "inputs", 0).scale.__setitem__(0, np.nan), ModelFormatError,
     r"tensor 33 .*scale nan"),
    ("zero-point-out-of-int8", "kws", lambda m: _quant(m, 0, "inputs", 0).zeroPoint.__setitem__(0, 200),
     ModelFormatError, r"tensor 0 \(input_1\): zero point 200 is outside the int8 range \[-128, 127\]"),
    ("more-zero-points-than-scales", "kws",
     lambda m: setattr(_quant(m, 0, "inputs", 0), "zeroPoint", np.array([1, 2], np.int64)), ModelFormatError,
     r"tensor 0 \(input_1\): 1 quantization scales but 2 zero points"),
    ("batch-2^31-1", "kws", _shape(0, "inputs", 0, [2**31 - 1, 49, 10, 1]), ModelFormatError,
     r"tensor 0 \(input_1\): shape \[2147483647, 49, 10, 1\] of int8 is 1,052,266,987,030 bytes; "
     r"a tensor must stay under 2 GiB"),
    ("negative-dimension", "kws", _shape(0, "inputs", 0, [1, -5, 10, 1]), ModelFormatError,
     r"tensor 0 \(input_1\): negative dimension in shape \[1, -5, 10, 1\]"),
    ("rank-9", "kws", _shape(0, "inputs", 0, [1] * 9), ModelFormatError, r"tensor 0 \(input_1\): rank 9"),
    ("weights-buffer-short", "kws",
     lambda m: setattr(m.buffers[_tensor(m, 0, "inputs", 1).buffer], "data", np.zeros(10, np.uint8)),
     ModelFormatError, r"tensor 17 .* holds 10 bytes but its shape \[64, 10, 4, 1\] needs 2560"),
    ("per-channel-count", "kws",
     lambda m: setattr(_quant(m, 0, "inputs", 1), "scale", np.ones(63, np.float32)), ModelFormatError,
     r"tensor 17 .*: 63 quantization scales but 64 zero points"),
    ("per-channel-axis-beyond-rank", "kws",
     lambda m: setattr(_quant(m, 0, "inputs", 1), "quantizedDimension", 5), ModelFormatError,
     r"tensor 17 .*: quantized per channel along axis 5, but its rank is 4"),
    ("per-channel-activation", "kws", _per_channel_output, ModelFormatError,
     r"CONV_2D \(op 0\): output 0 \(.*\) is quantized per channel \(64 scales\); CONV_2D takes one scale there"),
    ("asymmetric-weights", "kws", lambda m: _quant(m, 0, "inputs", 1).zeroPoint.__setitem__(5, 3), ModelFormatError,
     r"CONV_2D \(op 0\): input 1 \(.*\) has zero point 3; int8 weights are symmetric"),
    ("unquantized-activation", "kws", lambda m: setattr(_tensor(m, 0, "outputs", 0), "quantization", None),
     ModelFormatError, r"CONV_2D \(op 0\): output 0 \(.*\) is int8 without quantization"),
    ("bias-length", "hello_world", _shape(0, "inputs", 2, [15]), ModelFormatError,
     r"tensor 5 .* holds 64 bytes but its shape \[15\] needs 60"),
    ("read-before-write", "kws", _swap_first_ops, ModelFormatError,
     r"DEPTHWISE_CONV_2D \(op 0\): reads tensor 22 \(.*\) before the op that writes it"),
    ("reads-nothing", "kws", lambda m: setattr(_sub(m), "inputs", np.array([], np.int32)), ModelFormatError,
     r"CONV_2D \(op 0\): reads tensor 0 \(input_1\), which no op writes: it is not a variable tensor"),
    ("writes-a-constant", "kws", _write_constant, ModelFormatError, r"CONV_2D \(op 0\): writes tensor 17 .*a constant"),
    ("model-output-absent", "kws", lambda m: _sub(m).outputs.__setitem__(0, -1), ModelFormatError,
     r"a model output is absent"),
    ("model-output-constant", "kws", lambda m: _sub(m).outputs.__setitem__(0, 17), ModelFormatError,
     r"model output tensor 17 .* is written by no op"),
    ("input-index-beyond", "kws", lambda m: _sub(m).operators[2].inputs.__setitem__(0, 999), ModelFormatError,
     r"operator 2 \(CONV_2D\) input refers to tensor 999, which does not exist"),
]


@pytest.mark.parametrize(("model", "edit", "error", "message"),
                         [pytest.param(*row[1:], id=row[0]) for row in MALFORMED])
def test_malformed_model_refused(model: str, edit: Callable, error: type, message: str) -> None:
    m = _model(model)
    edit(m)
    with pytest.raises(error, match=message) as info:
        parse_model(_pack(m))
    assert type(info.value) is error
    assert "\n" not in info.value.message


def test_bias_with_wrong_channel_count_is_malformed() -> None:
    m = _model("hello_world")
    bias = _tensor(m, 0, "inputs", 2)
    bias.shape = np.array([15], np.int32)
    m.buffers[bias.buffer].data = np.zeros(60, np.uint8)
    with pytest.raises(ModelFormatError, match=r"FULLY_CONNECTED \(op 0\): bias \(.*\) has 15 values for 16 output"):
        parse_model(_pack(m))


def test_empty_zero_point_list_means_zeros() -> None:
    m = _model("kws")
    _quant(m, 0, "inputs", 0).zeroPoint = np.array([], np.int64)
    graph = parse_model(_pack(m))
    assert graph.tensors[0].zero_point == 0 and graph.tensors[0].quantization.zero_point == (0,)
    inspect_graph(graph)


def test_uint16_weights_sized_and_reported_unsupported() -> None:
    m = _model("hello_world")
    _set_type(m, 6, TT.UINT16, 2)
    graph = parse_model(_pack(m))
    assert graph.tensors[6].nbytes == 32
    report = inspect_graph(graph)  # no KeyError in the byte counts
    assert report["totals"]["weight_bytes"] == graph.weight_bytes
    (bad,) = graph.unsupported_ops
    assert bad.index == 0 and "uint16 weights" in bad.unsupported_reason


def test_empty_activation_is_unsupported_not_a_crash() -> None:
    m = _model("kws")
    _tensor(m, 11, "inputs", 0).shape = np.array([1, 0], np.int32)  # RESHAPE -> FULLY_CONNECTED
    graph = parse_model(_pack(m))
    fc = graph.operators[11]
    assert not fc.supported and "input 0 (" in fc.unsupported_reason and "has no elements" in fc.unsupported_reason


def test_activation_bound_beyond_int32_refused_as_tflm_does() -> None:
    from tinykit.codegen.quant import activation_range

    assert activation_range("RELU6", 1e-6, 0) == (0, 127)
    with pytest.raises(UnsupportedOpError, match=r"activation bound 6 is .* steps of scale .* beyond int32"):
        activation_range("RELU6", 1e-37, 0)


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda m: setattr(_quant(m, 12, "outputs", 0), "scale", np.array([0.5], np.float32)),
     r"output quantization:? scale 0.5"),
    (lambda m: _quant(m, 11, "outputs", 0).scale.__setitem__(0, 1e-37),
     r"bias scale .* differs from input x weight scale"),
])
def test_inspect_lists_what_generate_refuses(tmp_path, edit: Callable, reason: str) -> None:
    """An op the code generator refuses is unsupported in inspect's report too (same reason)."""
    from tinykit.codegen import generate

    m = _model("kws")
    edit(m)
    path = tmp_path / "m.tflite"
    path.write_bytes(_pack(m))
    graph = with_lowering_refusals(parse_model(path.read_bytes()))
    assert len(graph.unsupported_ops) == 1
    assert re.search(reason, graph.unsupported_ops[0].unsupported_reason)
    with pytest.raises(UnsupportedOpError, match=reason.lstrip("^")):
        generate(path, tmp_path / "lib")


def test_every_real_model_still_reads(tmp_path) -> None:
    """No false refusals: the bundled models and the corpus all pass validation."""
    from pathlib import Path

    corpus = sorted((Path(__file__).parent / "corpus").glob("*.tflite"))
    for path in [*sorted(reference_model("kws").parent.glob("*.tflite")), *corpus]:
        try:
            parse_model(path.read_bytes())
        except TinykitError as err:  # pragma: no cover - the assertion names the model
            pytest.fail(f"{path.name}: {err}")


def _hello_world_batch(batch: int) -> bytes:
    """hello_world with a batch of ``batch``: every activation grows by that factor."""
    m = _model("hello_world")
    sub = _sub(m)
    for op in sub.operators:
        for index in (op.inputs[0], op.outputs[0]):
            shape = list(sub.tensors[index].shape)
            sub.tensors[index].shape = np.array([batch, *shape[1:]], np.int32)
    return _pack(m)


@pytest.mark.parametrize(("batch", "force", "error", "message"), [
    (200_000, False, "BoardFitError", r"needs an arena of 6,400,000 bytes; no supported board has the RAM for it "
                                      r"\(largest: .*, 4,194,304 bytes of RAM"),
    (200_000, True, None, None),
    (100_000_000, True, "CodegenError", r"arena would take 3,200,000,000 bytes, beyond a 32-bit target"),
])
def test_generate_refuses_what_no_board_holds(tmp_path, batch: int, force: bool, error: str | None,
                                              message: str | None) -> None:
    from click.testing import CliRunner

    from tinykit.cli import main

    path = tmp_path / "big.tflite"
    path.write_bytes(_hello_world_batch(batch))
    args = ["generate", str(path), "-o", str(tmp_path / "lib"), *(["--force"] if force else [])]
    result = CliRunner().invoke(main, args)
    if error is None:
        assert result.exit_code == 0, result.output
        assert "arena 6400000 B" in result.output
        return
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and re.search(message, errors[0]), result.output
    assert not (tmp_path / "lib").exists()


def test_tensor_names_cannot_break_the_generated_c(tmp_path) -> None:
    """Names from the file land in C comments: delimiters, trigraphs and control bytes are defused."""
    from tinykit.codegen import generate
    from tinykit.verify import build_host_library

    m = _model("hello_world")
    for i, t in enumerate(_sub(m).tensors):
        t.name = f"evil{i}/*open*/close??/\x01\x00tail\\".encode("latin-1")
    path = tmp_path / "names.tflite"
    path.write_bytes(_pack(m))
    lib = generate(path, tmp_path / "lib")
    text = "".join(p.read_text() for p in lib.sources)
    assert "evil6/ *open* /close? ?/? ?tail\\" in text and "/*open" not in text
    build_host_library(lib.dir)  # -Wall -Wextra -Werror: no "/*" within comment, no NUL, no trigraph


def _abort() -> None:
    import os

    os.abort()


def _sleep() -> None:
    import time

    time.sleep(30)


def test_tflite_micro_runs_in_a_child_that_may_crash_or_hang(monkeypatch) -> None:
    """The runtime aborts on some malformed ops (an int16 + float32 ADD): tinykit survives it."""
    from tinykit.ir import tflm

    assert tflm.in_child(sum, [1, 2, 3]) == (True, 6)
    assert tflm.in_child(_abort) == (False, "crashed (SIGABRT)")
    monkeypatch.setattr(tflm, "CHILD_TIMEOUT_S", 1)
    assert tflm.in_child(_sleep) == (False, "did not finish in 1 s")
