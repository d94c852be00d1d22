"""QUANTIZE, DEQUANTIZE, CAST, ZEROS_LIKE and FILL bit-exact against the tflite-micro runtime.

QUANTIZE/DEQUANTIZE with int16 come from a 16x8 Keras conversion with float32 I/O; every other
type pair TFLM supports is made by editing a converted op (``act_helpers``) into many copies, one
per pair and quantization, side by side in one model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import opzoo
import pytest
from act_helpers import Variant, check_against_oracle, edited, exhaustive_blobs, replicate_op, swap_opcode

from tinykit import oracle

pytestmark = pytest.mark.host


def leaky_float_io(shape):
    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    return k.Model(inp, k.layers.LeakyReLU(0.3)(inp))


FLOAT_IO16 = opzoo.Case("act16_float_io", leaky_float_io, dict(shape=(300,)), ("QUANTIZE", "LEAKY_RELU", "DEQUANTIZE"),
                        activations="int16", float_io=True, rep_range=(-3, 3))


def test_float_io_int16_bit_exact() -> None:
    """float32 -> QUANTIZE -> int16 LEAKY_RELU -> DEQUANTIZE -> float32, with rounding ties."""
    opzoo.check_bit_exact(FLOAT_IO16)
    graph = opzoo.graph_of(FLOAT_IO16)
    pairs = {(op.opcode, graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
             for op in graph.operators}
    assert {("QUANTIZE", "float32", "int16"), ("DEQUANTIZE", "int16", "float32")} <= pairs


# ---- QUANTIZE between integer types ---------------------------------------------------------

QUANTIZE_INT_PAIRS = [("int8", "int16"), ("int8", "int32"), ("int16", "int8"), ("int16", "int16"),
                      ("int16", "int32"), ("int32", "int8"), ("int32", "int16"), ("int8", "int8")]


def _q_for(dtype: str, rng) -> tuple[float, int]:
    lo, hi = {"int8": (-128, 128), "int16": (-3000, 3000), "int32": (-(1 << 20), 1 << 20)}[dtype]
    exponent = {"int8": (-3, 0), "int16": (-5, -2), "int32": (-8, -5)}[dtype]
    return float(np.float32(10 ** rng.uniform(*exponent))), int(rng.integers(lo, hi))


def _quantize_sweep(tmp_path: Path, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    variants = []
    for i in range(k):
        a, b = QUANTIZE_INT_PAIRS[i % len(QUANTIZE_INT_PAIRS)]
        in_q, out_q = _q_for(a, rng), _q_for(b, rng)
        variants.append(Variant(in_q, out_q, a, b, label=f"{a} {in_q} -> {b} {out_q}"))
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "quantize.tflite", replicate_op("RELU", variants, shape=(1024,)),
                   swap_opcode("RELU", "QUANTIZE"))
    graph = opzoo.read_path(model)
    assert {(graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
            for op in graph.operators} == set(QUANTIZE_INT_PAIRS)
    blobs = exhaustive_blobs([v.in_type for v in variants], 1024)[:64] + oracle.random_inputs(model, 8, seed=seed)
    check_against_oracle(model, blobs, [v.label for v in variants])


def test_quantize_between_integer_types(tmp_path: Path) -> None:
    """Every integer pair TFLM quantizes between, random scales and zero points, in one model."""
    _quantize_sweep(tmp_path, 2 * len(QUANTIZE_INT_PAIRS), 7)


@pytest.mark.slow
def test_quantize_between_integer_types_sweep(tmp_path: Path) -> None:
    _quantize_sweep(tmp_path, 12 * len(QUANTIZE_INT_PAIRS), 8)


def test_quantize_float_to_int32_is_refused(tmp_path: Path) -> None:
    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "q.tflite", replicate_op("RELU", [Variant(None, (0.1, 0), "float32", "int32")]),
                   swap_opcode("RELU", "QUANTIZE"))
    with pytest.raises(UnsupportedOpError, match=r"op 0.*QUANTIZE.*float32 -> int32"):
        generate(model, tmp_path / "lib")


# ---- CAST, ZEROS_LIKE, FILL ---------------------------------------------------------------------

CAST_IN = ("int8", "int16", "int32", "uint32", "float32", "bool")
CAST_OUT = ("int8", "int16", "int32", "uint32", "float32")


def test_cast_every_type_pair(tmp_path: Path) -> None:
    """All 30 (from, to) pairs TFLM's CAST runs, side by side in one model."""
    pairs = [(a, b) for a in CAST_IN for b in CAST_OUT]
    variants = [Variant(None, None, a, b, label=f"{a} -> {b}") for a, b in pairs]
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "cast.tflite", replicate_op("RELU", variants, shape=(64,)),
                   swap_opcode("RELU", "CAST"))
    graph = opzoo.read_path(model)
    assert [(graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
            for op in graph.operators] == pairs
    blobs = oracle.random_inputs(model, 6, seed=3)
    # floats beyond every target's range, infinities and NaN: the runtime saturates (NaN -> 0)
    special = np.resize(np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 5e9, 300.7, -300.7, 70000.5, -0.5, 127.9,
                                  -128.9, 32767.5, -32768.5, 2.0**31, -(2.0**31)], np.float32), 64)
    parts = [special.tobytes() if spec.dtype == np.float32 else bytes(spec.nbytes)
             for spec in oracle.input_specs(model)]
    blobs.append(b"".join(parts))
    check_against_oracle(model, blobs, [v.label for v in variants])


def test_zeros_like_every_type(tmp_path: Path) -> None:
    """Raw zeros whatever the quantization (TFLM ignores the zero point)."""
    types = ("int8", "int32", "int64", "float32")
    variants = [Variant((0.05, 17) if t == "int8" else None, (0.05, 17) if t == "int8" else None, t, t, label=t)
                for t in types]
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "zeros.tflite", replicate_op("RELU", variants, shape=(3, 5)),
                   swap_opcode("RELU", "ZEROS_LIKE"))
    check_against_oracle(model, oracle.random_inputs(model, 3, seed=5), types)



def _fill_ops(types: tuple[str, ...], shape: tuple[int, ...]):
    """Flatbuffer edit: replace the ops by FILLs of ``shape``, one per type with a scalar model
    input as the value and one per type with a constant value."""

    def edit(model) -> None:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.FILL
        code.version = 1
        model.operatorCodes.append(code)
        sub = model.subgraphs[0]

        def tensor(dtype: str, dims: list[int], data: np.ndarray | None = None) -> int:
            t = schema.TensorT()
            t.name, t.shape = f"t{len(sub.tensors)}".encode(), dims
            t.type = getattr(schema.TensorType, dtype.upper())
            t.buffer = 0
            if data is not None:
                buf = schema.BufferT()
                buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).tolist()
                model.buffers.append(buf)
                t.buffer = len(model.buffers) - 1
            sub.tensors.append(t)
            return len(sub.tensors) - 1

        dims = tensor("int32", [len(shape)], np.array(shape, np.int32))
        ops, inputs, outputs = [], [], []
        for const in (False, True):
            for dtype in types:
                value = tensor(dtype, [], np.array(-7.25 if dtype == "float32" else -7, dtype) if const else None)
                op = schema.OperatorT()
                op.opcodeIndex, op.inputs, op.outputs = len(model.operatorCodes) - 1, [dims, value], \
                    [tensor(dtype, list(shape))]
                ops.append(op)
                outputs.append(op.outputs[0])
                if not const:
                    inputs.append(value)
        sub.operators, sub.inputs, sub.outputs = ops, inputs, outputs

    return edit


def test_fill_every_type(tmp_path: Path) -> None:
    """FILL of int8, int32 and float32, from a model input and from a constant value."""
    types = ("int8", "int32", "float32")
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "fill.tflite", _fill_ops(types, (2, 3, 5)))
    assert [op.opcode for op in opzoo.read_path(model).operators] == ["FILL"] * 6
    check_against_oracle(model, oracle.random_inputs(model, 4, seed=6))


def test_fill_with_int16_value_is_refused(tmp_path: Path) -> None:
    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "fill.tflite", _fill_ops(("int16",), (4,)))
    with pytest.raises(Exception):  # noqa: B017 - TFLM's Eval refuses it too
        oracle.reference_outputs(model, oracle.random_inputs(model, 1))
    with pytest.raises(UnsupportedOpError, match=r"op 0.*FILL.*int16 value"):
        generate(model, tmp_path / "lib")


def test_fold_of_conversion_ops() -> None:
    """CAST, ZEROS_LIKE and FILL fold with numpy as TFLM computes them (for shape arithmetic)."""
    from tinykit.ir.ops import op_handler

    class _T:
        def __init__(self, dtype, shape):
            self.dtype, self.shape = dtype, shape

    class _G:
        def __init__(self, out):
            self.tensors = [out]

    class _Op:
        outputs = (0,)

    cast = op_handler("CAST").fold(_Op(), _G(_T("int8", (4,))), [np.array([-2.7, 2.7, 300.0, -129.0], np.float32)])
    assert cast[0].tolist() == [-2, 2, 127, -128]
    zeros = op_handler("ZEROS_LIKE").fold(_Op(), _G(_T("int32", (2, 2))), [np.ones((2, 2), np.int32)])
    assert zeros[0].tolist() == [[0, 0], [0, 0]]
    fill = op_handler("FILL").fold(_Op(), _G(_T("int32", (3,))), [np.array([3]), np.array(9, np.int32)])
    assert fill[0].tolist() == [9, 9, 9]


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
def test_quantize_and_cast_on_emulated_boards(board: str, tmp_path: Path) -> None:
    """Every integer QUANTIZE pair, and CASTs from float32, as firmware on qemu: same bytes."""
    from tinykit.run import run

    rng = np.random.default_rng(11)
    variants = [Variant(_q_for(a, rng), _q_for(b, rng), a, b) for a, b in QUANTIZE_INT_PAIRS]
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    quantize = edited(base, tmp_path / "quantize.tflite", replicate_op("RELU", variants, shape=(32,)),
                      swap_opcode("RELU", "QUANTIZE"))
    casts = [Variant(None, None, "float32", b) for b in CAST_OUT] + [Variant(None, None, "int32", "int8")]
    cast = edited(base, tmp_path / "cast.tflite", replicate_op("RELU", casts, shape=(16,)), swap_opcode("RELU", "CAST"))
    for model in (quantize, cast):
        result = run(model, board, tmp_path / model.stem, num_inputs=3, runs=1)
        assert result["validation"]["checked"] and result["mismatched_bytes"] == 0, result["validation"]
