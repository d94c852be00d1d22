"""Binary arithmetic ops bit-exact against the tflite-micro runtime: ADD, SUB, MUL, SQUARED_DIFFERENCE,
MAXIMUM, MINIMUM, DIV, ADD_N, PRELU in int8 and 16x8 (int16), with TFLite broadcasting up to 6-D.

Models are converted from Keras/TF with real TensorFlow (cached, see tests/opzoo.py); several ops
share one model (one output each) to keep conversions few.
"""

from __future__ import annotations

import numpy as np
import opzoo
import pytest
from math_models import (
    TF_OPS,
    add_chain,
    add_sub_to_max_min,
    adds_to_add_n,
    arith,
    arith_set,
    prelu_set,
    prelu_to_int16,
    tf_function_model,
)

pytestmark = pytest.mark.host

BINARY8 = ("add", "sub", "rsub", "mul", "sqdiff", "max", "min")
BINARY16 = ("add", "sub", "rsub", "mul", "sqdiff")


def _groups(ops: tuple[str, ...], bcast4: tuple[str, ...]) -> list:
    """Same shapes, 4-D/5-D/6-D broadcasts (both sides), fused RELU/RELU6: one pair of inputs each."""
    return [(ops, (1, 4, 5, 3), (1, 4, 5, 3)), (bcast4, (1, 4, 1, 3), (1, 1, 5, 3)),
            (("add", "sub", "mul"), (1, 2, 1, 3, 4), (1, 1, 5, 1, 4)),
            (("add", "sub", "mul"), (2, 1, 2, 1, 3, 2), (1, 2, 1, 3, 1, 2)),
            (("sub_relu", "add_relu6"), (1, 6, 7), (1, 6, 7))]


PRELU_GROUPS = [((4, 5, 3), [1, 2]), ((6, 3), None)]


def _cases() -> list[opzoo.Case]:
    c = opzoo.Case
    const8 = [(("sub", "rsub", "add", "mul", "max", "min"), (1, 3, 4, 5), (4, 1))]
    const16 = [(("sub", "rsub", "add", "mul"), (1, 3, 4, 5), (4, 1))]
    return [
        c("arith8", arith_set, dict(groups=_groups(BINARY8, BINARY8[:-1]), const_groups=const8), rep_range=(-4, 4)),
        c("arith16", arith_set, dict(groups=_groups(BINARY16, BINARY16), const_groups=const16),
          activations="int16", rep_range=(-4, 4)),
        c("minmax16_bcast", arith, dict(ops=("add", "sub"), shape_a=(1, 3, 1, 4), shape_b=(1, 1, 5, 4)),
          activations="int16", edit=add_sub_to_max_min),
        # every input byte pair (256 x 32 broadcast), also under random quantizations below
        c("pairs8", arith, dict(ops=("sub", "sqdiff", "div", "max", "min"), shape_a=(1, 256, 1), shape_b=(1, 1, 32)),
          exhaustive=True),
        c("prelu8", prelu_set, dict(groups=PRELU_GROUPS)),
        c("prelu16", prelu_set, dict(groups=PRELU_GROUPS), edit=prelu_to_int16),
        c("add_n8", add_chain, dict(shape=(4, 5), count=3), edit=adds_to_add_n),
    ]


CASES = {case.name: case for case in _cases()}

# (case, op, option, value): the converter really produced the option under test
OPTION_CHECKS = (
    ("arith8", "SUB", "fused_activation_function", "RELU"),
    ("arith8", "ADD", "fused_activation_function", "RELU6"),
    ("arith16", "SUB", "fused_activation_function", "RELU"),
    ("arith16", "ADD", "fused_activation_function", "RELU6"),
)


def _expected_ops(case: opzoo.Case) -> set[str]:
    if case.build is prelu_set:
        return {"PRELU"}
    if case.build is add_chain:
        return {"ADD_N"}
    groups = case.kwargs.get("groups", []) + list(case.kwargs.get("const_groups", ()))
    names = [n for ops, *_ in groups for n in ops] if groups else list(case.kwargs["ops"])
    ops = {TF_OPS[name][0] for name in names}
    if case.edit is add_sub_to_max_min:
        return {{"ADD": "MAXIMUM", "SUB": "MINIMUM"}[o] for o in ops}
    return ops


@pytest.mark.parametrize("name", sorted(CASES))
def test_binary_bit_exact(name: str) -> None:
    case = CASES[name]
    graph = opzoo.graph_of(case)
    found = {op.opcode for op in graph.operators}
    assert _expected_ops(case) <= found, f"{name}: converter produced {sorted(found)}"
    dtypes = {graph.tensors[op.outputs[0]].dtype for op in graph.operators if op.opcode in _expected_ops(case)}
    assert dtypes == {"int16" if case.edit is prelu_to_int16 else case.activations}, dtypes
    ranks = {len(graph.tensors[op.outputs[0]].shape) for op in graph.operators if op.opcode == "MUL"}
    assert case.build is not arith_set or {4, 5, 6} <= ranks, ranks
    opzoo.check_bit_exact(case)


@pytest.mark.parametrize(("name", "opcode", "option", "value"), OPTION_CHECKS)
def test_binary_options_present(name: str, opcode: str, option: str, value: object) -> None:
    graph = opzoo.graph_of(CASES[name])
    found = [op.options.get(option) for op in graph.operators if op.opcode == opcode]
    assert value in found, f"{name}: {opcode}.{option} values {found}"


def op_index(graph, opcode: str, avoid: tuple[str, ...] = ()) -> int:
    """The first ``opcode`` op whose inputs no ``avoid`` op reads (a requantized input stays valid)."""
    readers: dict[int, set[str]] = {}
    for op in graph.operators:
        for i in op.inputs:
            readers.setdefault(i, set()).add(op.opcode)
    for op in graph.operators:
        activations = [i for i in op.inputs if i >= 0 and not graph.tensors[i].is_constant]
        if op.opcode == opcode and not any(readers[i] & set(avoid) for i in activations):
            return op.index
    raise AssertionError(f"no {opcode} op clear of {avoid}")


def _random_quant(rng, n: int, bits: int = 8, zero: bool = False) -> list[tuple[float, int]]:
    zp = (lambda: 0) if zero else (lambda: int(rng.integers(-(1 << (bits - 1)), 1 << (bits - 1))))
    low = -3 if bits == 8 else -5.5
    return [(float(np.float32(10 ** rng.uniform(low, low + 3))), zp()) for _ in range(n)]


def _check_int8_pairs(opcode: str, trial: int, tmp_path) -> None:
    case = CASES["pairs8"]
    rng = np.random.default_rng(5000 + trial + 97 * len(opcode))
    options = {"fusedActivationFunction": int(rng.integers(0, 4))} if opcode in ("SUB", "DIV") else None
    edit = opzoo.requantize_first_op(_random_quant(rng, 3), options, op_index(opzoo.graph_of(case), opcode))
    opzoo.check_requantized(case, edit, tmp_path / "m.tflite", opzoo.exhaustive_inputs)


@pytest.mark.parametrize("trial", range(4))
@pytest.mark.parametrize("opcode", ["SUB", "SQUARED_DIFFERENCE", "DIV"])
def test_int8_all_byte_pairs_over_quantizations(opcode: str, trial: int, tmp_path) -> None:
    """All 65,536 input byte pairs under random scales, zero points and fused activations."""
    _check_int8_pairs(opcode, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(4, 28))
@pytest.mark.parametrize("opcode", ["SUB", "SQUARED_DIFFERENCE", "DIV"])
def test_int8_all_byte_pairs_sweep(opcode: str, trial: int, tmp_path) -> None:
    _check_int8_pairs(opcode, trial, tmp_path)


def _int16_extremes(sizes: list[int]) -> list[bytes]:
    """Random int16 inputs plus every input at its minimum, its maximum and alternating."""
    rng = np.random.default_rng(7)
    blobs = [rng.integers(-32768, 32768, sum(sizes) // 2, dtype=np.int16).tobytes() for _ in range(6)]
    for values in ((-32768,), (32767,), (-32768, 32767), (32767, -32768, 0, 1)):
        blobs.append(np.resize(np.array(values, np.int16), sum(sizes) // 2).tobytes())
    return blobs


def _check_int16(opcode: str, trial: int, tmp_path) -> None:
    case = CASES["arith16"]
    zero = opcode in ("MUL", "SQUARED_DIFFERENCE") or trial % 2 == 0  # TFLM requires 0 for these
    # a non-zero input zero point only where no MUL/SQUARED_DIFFERENCE reads the same input
    index = op_index(opzoo.graph_of(case), opcode, () if zero else ("MUL", "SQUARED_DIFFERENCE"))
    rng = np.random.default_rng(6000 + trial + 31 * index)
    options = {"fusedActivationFunction": int(rng.integers(0, 4))} if opcode != "SQUARED_DIFFERENCE" else None
    edit = opzoo.requantize_first_op(_random_quant(rng, 3, bits=16, zero=zero), options, op_index=index)
    opzoo.check_requantized(case, edit, tmp_path / "m.tflite", _int16_extremes)


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
def test_int16_over_quantizations(opcode: str, trial: int, tmp_path) -> None:
    """16x8 ADD/SUB/MUL/SQUARED_DIFFERENCE under random scales (and zero points where TFLM allows
    them), with random and extreme int16 inputs."""
    _check_int16(opcode, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3, 20))
@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
def test_int16_over_quantizations_sweep(opcode: str, trial: int, tmp_path) -> None:
    _check_int16(opcode, trial, tmp_path)


def test_int32_fold_wraps_and_clamps_like_tflm() -> None:
    from tinykit.ir.graph import Operator
    from tinykit.ir.ops import op_handler

    a = np.array([2**31 - 1, -5, 7, -(2**31)], np.int32)
    b = np.array([1, 3, -2, -1], np.int32)

    def fold(opcode: str, act: str = "NONE") -> list[int]:
        op = Operator(0, opcode, {"fused_activation_function": act}, (0, 1), (2,))
        return op_handler(opcode).fold(op, None, [a, b])[0].tolist()

    assert fold("ADD", "RELU") == [-(2**31), -2, 5, 2**31 - 1]  # wraps; int32 ADD ignores RELU
    assert fold("SUB", "RELU6") == [6, 0, 6, 0]
    assert fold("MUL") == [2**31 - 1, -15, -14, -(2**31)]
    assert fold("MAXIMUM") == [2**31 - 1, 3, 7, -1]
    assert fold("FLOOR_DIV") == [2**31 - 1, -2, -4, -(2**31)]  # -2^31 // -1 wraps back to -2^31
    assert fold("FLOOR_MOD") == [0, 1, -1, 0]
    assert op_handler("ADD").fold(Operator(0, "ADD", {}, (0, 1), (2,)), None, [a.astype(np.int8), b]) is None


def _zero_point_edit(opcode: str, zero_point: int):
    def edit(model) -> None:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        code = getattr(schema.BuiltinOperator, opcode)
        sub = model.subgraphs[0]
        for op in sub.operators:
            if model.operatorCodes[op.opcodeIndex].builtinCode == code:
                sub.tensors[op.outputs[0]].quantization.zeroPoint = [zero_point]

    return edit


def test_int16_mul_with_zero_point_is_a_one_line_error(tmp_path) -> None:
    from click.testing import CliRunner

    from tinykit.cli import main

    path = tmp_path / "m.tflite"
    path.write_bytes(opzoo._edit(opzoo.convert(CASES["arith16"]).read_bytes(), _zero_point_edit("MUL", 3)))
    result = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "lib")])
    assert result.exit_code == 2, result.output
    first = result.output.strip().splitlines()[0]
    assert first.startswith("error: ") and "MUL" in first and "zero point 3" in first, first
    assert "Traceback" not in result.output and not (tmp_path / "lib").exists()


def int32_arith(tf, a, b):
    return {"add": a + b, "sub": a - b, "mul": a * b, "max": tf.maximum(a, b), "min": tf.minimum(a, b),
            "sqdiff": tf.math.squared_difference(a, b), "div": tf.truncatediv(a, b)}


def test_int32_arithmetic_on_activations_bit_exact() -> None:
    """int32 ADD/SUB/MUL/MAXIMUM/MINIMUM/SQUARED_DIFFERENCE/DIV on graph inputs (TFLM runs them on
    non-constant int32 tensors): wrapping arithmetic, truncating division, broadcasting."""
    from tinykit.verify import verify_host

    path = tf_function_model(int32_arith, [((1, 3, 4), "int32"), ((1, 1, 4), "int32")], "int32_arith")
    ops = {op.opcode for op in opzoo.read_path(path).operators}
    assert {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "DIV"} <= ops, ops
    assert verify_host(path, n_inputs=12).mismatched_bytes == 0

