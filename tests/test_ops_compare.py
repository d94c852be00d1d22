"""Comparisons, SELECT_V2 and the logical ops bit-exact against the tflite-micro runtime: int8 (and
TFLM's int16 GREATER, int16 SELECT_V2), int32 and bool tensors, with broadcasting.

int8 models come from Keras; what TFLite's converter leaves in float or has no 16x8 mode for (int8
EQUAL/NOT_EQUAL, int16 GREATER and SELECT_V2) is made by editing a converted flatbuffer; the int32
and bool graphs come from tf.function without quantization.
"""

from __future__ import annotations

import numpy as np
import opzoo
import pytest
from math_models import (
    CMP_OPS,
    compare,
    int16_activations,
    less_greater_to_equal,
    select_int16,
    select_set,
    tf_function_model,
)

pytestmark = pytest.mark.host

ALL_PAIRS = dict(shape_a=(1, 256, 1), shape_b=(1, 1, 32))


def _cases() -> dict[str, opzoo.Case]:
    c = opzoo.Case
    cases = [
        # every input byte pair through a 256 x 32 broadcast
        c("cmp8_all_pairs", compare, dict(ops=("lt", "le", "gt", "ge"), **ALL_PAIRS), exhaustive=True),
        c("cmp8_const", compare, dict(ops=("gt", "le"), shape_a=(1, 3, 4), shape_b=(4,), const_b=True)),
        c("eq8_all_pairs", compare, dict(ops=("lt", "gt"), **ALL_PAIRS), exhaustive=True,
          edit=less_greater_to_equal),
        c("select8", select_set, dict(shape=(2, 3, 4), cond_shapes=((1, 3, 4), (2, 1, 1), (1, 1, 4)))),
        c("select16", select_set, dict(shape=(3, 4), cond_shapes=((1, 4), (3, 1))), edit=select_int16),
    ]
    return {case.name: case for case in cases}


CASES = _cases()
EXPECT = {"cmp8_const": {"GREATER", "LESS_EQUAL"}, "cmp8_all_pairs": {"LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"},
          "eq8_all_pairs": {"EQUAL", "NOT_EQUAL"}, "select8": {"SELECT_V2"}, "select16": {"SELECT_V2"}}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compare_bit_exact(name: str) -> None:
    case = CASES[name]
    graph = opzoo.graph_of(case)
    found = {op.opcode for op in graph.operators}
    assert EXPECT[name] <= found, f"{name}: converter produced {sorted(found)}"
    if name.endswith("16"):
        assert {graph.tensors[i].dtype for op in graph.operators for i in op.inputs} >= {"int16"}
    opzoo.check_bit_exact(case)


GREATER16 = opzoo.Case("greater16", compare, dict(ops=("gt",), shape_a=(1, 3, 4), shape_b=(1, 1, 4)),
                       edit=int16_activations)


def test_int16_greater_is_refused_in_one_line(tmp_path) -> None:
    """TFLM's int16 GREATER reads rescaling parameters its Prepare never writes (the runtime's
    answers change with whatever the arena held before): tinykit refuses it, naming the reason."""
    from click.testing import CliRunner

    from tinykit.cli import main

    model = opzoo.convert(GREATER16)
    assert opzoo.graph_of(GREATER16).operators[0].opcode == "GREATER"
    result = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "lib")])
    assert result.exit_code == 2, result.output
    first = result.output.strip().splitlines()[0]
    assert first.startswith("error: ") and "GREATER" in first and "op 0" in first and "uninitialised" in first, first
    assert "Traceback" not in result.output


def _input_quant(q: list[tuple[float, int]]):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        for index, (scale, zp) in zip(sub.inputs, q, strict=True):
            sub.tensors[index].quantization.scale = [scale]
            sub.tensors[index].quantization.zeroPoint = [zp]

    return edit


def _check_pairs(name: str, trial: int, tmp_path) -> None:
    rng = np.random.default_rng(8000 + trial + 53 * len(name))
    q = [(float(np.float32(10 ** rng.uniform(-3, -0.05))), int(rng.integers(-128, 128))) for _ in range(2)]
    if trial % 3 == 0:
        q[1] = q[0]  # one quantization: equal bytes compare equal
    opzoo.check_requantized(CASES[name], _input_quant(q), tmp_path / "m.tflite", opzoo.exhaustive_inputs)


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("name", ["cmp8_all_pairs", "eq8_all_pairs"])
def test_int8_comparisons_all_pairs_over_quantizations(name: str, trial: int, tmp_path) -> None:
    """Every input byte pair under random input scales and zero points (TFLM compares rescaled values)."""
    _check_pairs(name, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3, 20))
@pytest.mark.parametrize("name", ["cmp8_all_pairs", "eq8_all_pairs"])
def test_int8_comparisons_all_pairs_sweep(name: str, trial: int, tmp_path) -> None:
    _check_pairs(name, trial, tmp_path)


def int32_compare_logic(tf, a, b, p):
    lt, ge = tf.less(a, b), tf.greater_equal(a, b)
    return {"eq": tf.equal(a, b), "ne": tf.not_equal(a, b), "lt": lt, "le": tf.less_equal(a, b),
            "gt": tf.greater(a, b), "ge": ge, "and": tf.logical_and(lt, p), "or": tf.logical_or(ge, p),
            "not": tf.logical_not(p), "beq": tf.equal(lt, p), "bne": tf.not_equal(p, ge)}


def test_int32_and_bool_comparisons_and_logic_bit_exact() -> None:
    """int32 comparisons with broadcasting, bool EQUAL/NOT_EQUAL, LOGICAL_AND/OR/NOT on graph inputs."""
    from tinykit.verify import verify_host

    signature = [((2, 3, 4), "int32"), ((1, 1, 4), "int32"), ((2, 1, 4), "bool")]
    path = tf_function_model(int32_compare_logic, signature, "int32_compare_logic")
    ops = {op.opcode for op in opzoo.read_path(path).operators}
    assert {op for op, _ in CMP_OPS.values()} | {"LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"} <= ops, ops
    assert verify_host(path, n_inputs=12).mismatched_bytes == 0
