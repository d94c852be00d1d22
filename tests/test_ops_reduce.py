"""Reductions bit-exact against the tflite-micro runtime: MEAN and SUM (int8, 16x8) and REDUCE_MAX/MIN
(int8) over any axes with and without keep_dims, REDUCE_ALL (bool), ARG_MAX/ARG_MIN (int8 into int32
indices), CUMSUM (int8, exclusive and reverse); refusals of what TFLM does not run.
"""

from __future__ import annotations

import numpy as np
import opzoo
import pytest
from math_models import (
    REDUCERS,
    arg_min_max,
    arg_set,
    muls_to_cumsums,
    pool_set,
    reduce,
    reduce_set,
    scaled_copies,
    tf_function_model,
)
from test_ops_binary import op_index

pytestmark = pytest.mark.host

ALL4 = ("mean", "sum", "max", "min")
# (kinds, shape with batch, axes, keep_dims): H,W; channels kept; rank 3 (Keras 1-D); batch 2 with
# axes (0, 2); all axes to a scalar; rank 5; a MEAN/SUM-only group for the quantization sweeps
RED8 = [(ALL4, (1, 5, 6, 3), (1, 2), False), (ALL4, (1, 4, 5, 6), (-1,), True), (ALL4, (1, 7, 4), (1,), False),
        (("mean", "sum", "max"), (2, 3, 4, 5), (0, 2), True), (("mean", "sum", "min"), (1, 3, 5), (0, 1, 2), False),
        (("mean", "max"), (1, 2, 3, 4, 5), (1, 3), False), (("mean", "sum"), (1, 5, 6, 3), (1, 2), False)]
RED16 = [(("mean", "sum"), (1, 5, 6, 3), (1, 2), False), (("mean", "sum"), (1, 7, 4), (1,), True),
         (("mean", "sum"), (2, 3, 4, 5), (0, 2), False)]
# (kind, shape, size, strides, padding, fused RELU)
POOL16 = [("avg", (7, 9, 3), (3, 3), 2, "same", False), ("avg", (6, 5, 2), (2, 3), (1, 2), "valid", True),
          ("max", (7, 6, 4), (3, 2), (2, 1), "same", False), ("max", (5, 5, 3), 2, 2, "valid", True)]


def _cases() -> dict[str, opzoo.Case]:
    c = opzoo.Case
    cases = [
        c("red8", reduce_set, dict(groups=RED8)),
        c("red16", reduce_set, dict(groups=RED16), activations="int16"),
        c("arg8", arg_set, dict(groups=[((4, 6), -1), ((5, 3, 4), 1)])),
        c("pool16", pool_set, dict(groups=POOL16), activations="int16"),
        c("cumsum8", scaled_copies, dict(shape=(3, 4, 5), count=8), edit=muls_to_cumsums((1, -2))),
    ]
    return {case.name: case for case in cases}


CASES = _cases()


def _expected(case: opzoo.Case) -> set[str]:
    if case.build is reduce_set:
        return {REDUCERS[k] for group in case.kwargs["groups"] for k in group[0]}
    if case.build is pool_set:
        return {"AVERAGE_POOL_2D", "MAX_POOL_2D"}
    return {"ARG_MAX", "ARG_MIN"} if case.build is arg_set else {"CUMSUM"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reduce_bit_exact(name: str) -> None:
    case = CASES[name]
    graph = opzoo.graph_of(case)
    ops = [op for op in graph.operators if op.opcode in _expected(case)]
    assert _expected(case) <= {op.opcode for op in ops}, f"{name}: converter produced {graph.operators}"
    assert {graph.tensors[op.inputs[0]].dtype for op in ops} == {case.activations}
    if case.build is pool_set:
        assert {op.options.get("fused_activation_function") for op in ops} == {"NONE", "RELU"}
    if case.build is reduce_set:
        assert {bool(op.options.get("keep_dims")) for op in ops} == {False, True}
        assert {len(graph.tensors[op.inputs[0]].shape) for op in ops} >= {3, 4}
    opzoo.check_bit_exact(case)


def test_cumsum_options_present() -> None:
    graph = opzoo.graph_of(CASES["cumsum8"])
    flags = {(op.options["exclusive"], op.options["reverse"]) for op in graph.operators if op.opcode == "CUMSUM"}
    assert flags == {(False, False), (False, True), (True, False), (True, True)}


def _check_mean_sum(name: str, opcode: str, trial: int, tmp_path) -> None:
    """Random scales on one MEAN/SUM op whose input no REDUCE_MAX/MIN reads (those need one
    quantization in and out)."""
    case = CASES[name]
    index = op_index(opzoo.graph_of(case), opcode, ("REDUCE_MAX", "REDUCE_MIN"))
    rng = np.random.default_rng(9000 + trial + 7 * len(name) + len(opcode))
    bits = 16 if name == "red16" else 8
    q = [(float(np.float32(10 ** rng.uniform(-4.5 if bits == 16 else -3, 0))),
          0 if bits == 16 else int(rng.integers(-128, 128))) for _ in range(2)]
    opzoo.check_requantized(case, opzoo.requantize_first_op(q, op_index=index), tmp_path / "m.tflite",
                            n_random=4, seed=trial)


@pytest.mark.parametrize("trial", range(2))
@pytest.mark.parametrize("opcode", ["MEAN", "SUM"])
@pytest.mark.parametrize("name", ["red8", "red16"])
def test_mean_sum_over_quantizations(name: str, opcode: str, trial: int, tmp_path) -> None:
    """MEAN and SUM under random input/output scales (and int8 zero points): the folded 1/count
    multiplier, SUM's multipliers above one, int32 wrap-around."""
    _check_mean_sum(name, opcode, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(2, 20))
@pytest.mark.parametrize("opcode", ["MEAN", "SUM"])
@pytest.mark.parametrize("name", ["red8", "red16"])
def test_mean_sum_over_quantizations_sweep(name: str, opcode: str, trial: int, tmp_path) -> None:
    _check_mean_sum(name, opcode, trial, tmp_path)


def reduce_all(tf, p):
    return {"rows": tf.reduce_all(p, axis=1), "all": tf.reduce_all(p, axis=[0, 2], keepdims=True)}


def test_reduce_all_bool_bit_exact() -> None:
    from tinykit.verify import verify_host

    path = tf_function_model(reduce_all, [((2, 3, 4), "bool")], "reduce_all")
    assert {op.opcode for op in opzoo.read_path(path).operators} == {"REDUCE_ALL"}
    assert verify_host(path, n_inputs=16).mismatched_bytes == 0


def _first_line_of_generate(model, tmp_path) -> str:
    from click.testing import CliRunner

    from tinykit.cli import main

    result = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "lib")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "lib").exists()
    return result.output.strip().splitlines()[0]


def test_int16_reduce_max_and_int64_arg_max_are_one_line_errors(tmp_path) -> None:
    """TFLM reduces int16 with MEAN/SUM only and writes int32 indices only: both refused by name."""
    int16_max = opzoo.Case("red16_max", reduce, dict(kinds=("max", "min"), shape=(4, 5), axes=(1,)),
                           activations="int16")
    first = _first_line_of_generate(opzoo.convert(int16_max), tmp_path)
    assert "REDUCE_MAX" in first and "REDUCE_MIN" in first and "int16" in first, first
    arg64 = opzoo.Case("arg8_int64", arg_min_max, dict(shape=(4, 6), axis=-1, output_type="int64"))
    first = _first_line_of_generate(opzoo.convert(arg64), tmp_path / "b")
    assert "ARG_MAX" in first and "int64" in first and "int32" in first, first
