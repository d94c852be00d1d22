"""Reductions bit-exact against the tflite-micro runtime: MEAN and SUM (int8, 16x8) and REDUCE_MAX/MIN
(int8) over any axes with and without keep_dims, REDUCE_ALL (bool), ARG_MAX/ARG_MIN (int8 into int32
indices), CUMSUM (int8, exclusive and reverse); refusals of what TFLM does not run.
"""

from __future__ import annotations

import numpy as np
import opzoo
import pytest
from math_models import REDUCERS, arg_min_max, muls_to_cumsum, reduce, scaled_copies, tf_function_model

pytestmark = pytest.mark.host

ALL4 = ("mean", "sum", "max", "min")


def _cases() -> dict[str, opzoo.Case]:
    c = opzoo.Case
    cases = [
        c("red8_hw", reduce, dict(kinds=ALL4, shape=(5, 6, 3), axes=(1, 2))),
        c("red8_channels_keep", reduce, dict(kinds=ALL4, shape=(4, 5, 6), axes=(-1,), keepdims=True)),
        c("red8_rank3", reduce, dict(kinds=ALL4, shape=(7, 4), axes=(1,))),
        c("red8_batch_keep", reduce, dict(kinds=("mean", "sum", "max"), shape=(3, 4, 5), axes=(0, 2), keepdims=True,
                                          batch=2)),
        c("red8_all", reduce, dict(kinds=("mean", "sum", "min"), shape=(3, 5), axes=(0, 1, 2))),
        c("red8_meansum", reduce, dict(kinds=("mean", "sum"), shape=(5, 6, 3), axes=(1, 2))),
        c("red8_rank5", reduce, dict(kinds=("mean", "max"), shape=(2, 3, 4, 5), axes=(1, 3))),
        c("red16_hw", reduce, dict(kinds=("mean", "sum"), shape=(5, 6, 3), axes=(1, 2)), activations="int16"),
        c("red16_rank3_keep", reduce, dict(kinds=("mean", "sum"), shape=(7, 4), axes=(1,), keepdims=True),
          activations="int16"),
        c("red16_multi", reduce, dict(kinds=("mean", "sum"), shape=(3, 4, 5), axes=(0, 2), batch=2),
          activations="int16"),
        c("arg8_last", arg_min_max, dict(shape=(4, 6), axis=-1)),
        c("arg8_middle", arg_min_max, dict(shape=(5, 3, 4), axis=1)),
        c("avgpool16_same_s2", opzoo.pool, dict(shape=(7, 9, 3), kind="avg", size=(3, 3), strides=2, padding="same"),
          activations="int16"),
        c("avgpool16_valid_relu", opzoo.pool, dict(shape=(6, 5, 2), kind="avg", size=(2, 3), strides=(1, 2),
                                                   padding="valid", relu=True), activations="int16"),
        c("maxpool16_same", opzoo.pool, dict(shape=(7, 6, 4), kind="max", size=(3, 2), strides=(2, 1),
                                             padding="same"), activations="int16"),
        c("maxpool16_valid_relu", opzoo.pool, dict(shape=(5, 5, 3), kind="max", size=2, strides=2, padding="valid",
                                                   relu=True), activations="int16"),
        c("cumsum8", scaled_copies, dict(shape=(4, 6)), edit=muls_to_cumsum(1)),
        c("cumsum8_middle", scaled_copies, dict(shape=(3, 4, 5)), edit=muls_to_cumsum(-2)),
    ]
    return {case.name: case for case in cases}


CASES = _cases()


def _expected(case: opzoo.Case) -> set[str]:
    if case.build is reduce:
        return {REDUCERS[k] for k in case.kwargs["kinds"]}
    if case.build is opzoo.pool:
        return {"AVERAGE_POOL_2D" if case.kwargs["kind"] == "avg" else "MAX_POOL_2D"}
    return {"ARG_MAX", "ARG_MIN"} if case.build is arg_min_max else {"CUMSUM"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reduce_bit_exact(name: str) -> None:
    case = CASES[name]
    graph = opzoo.graph_of(case)
    found = {op.opcode for op in graph.operators}
    assert _expected(case) <= found, f"{name}: converter produced {sorted(found)}"
    if case.activations == "int16":
        assert all(graph.tensors[op.outputs[0]].dtype == "int16" for op in graph.operators
                   if op.opcode in _expected(case))
    if case.kwargs.get("relu"):
        assert {op.options.get("fused_activation_function") for op in graph.operators
                if op.opcode in _expected(case)} == {"RELU"}
    if case.kwargs.get("keepdims"):
        assert all(op.options.get("keep_dims") for op in graph.operators if op.opcode in _expected(case))
    opzoo.check_bit_exact(case)


def test_cumsum_options_present() -> None:
    graph = opzoo.graph_of(CASES["cumsum8"])
    flags = {(op.options["exclusive"], op.options["reverse"]) for op in graph.operators if op.opcode == "CUMSUM"}
    assert flags == {(False, False), (False, True), (True, False), (True, True)}


def _check_mean_sum(name: str, trial: int, tmp_path) -> None:
    case = CASES[name]
    index = trial % 2  # op 0 MEAN, op 1 SUM
    assert opzoo.graph_of(case).operators[index].opcode == ("MEAN", "SUM")[index]
    rng = np.random.default_rng(9000 + trial + 7 * len(name))
    bits = 16 if name.startswith("red16") else 8
    q = [(float(np.float32(10 ** rng.uniform(-4.5 if bits == 16 else -3, 0))),
          0 if bits == 16 else int(rng.integers(-128, 128))) for _ in range(2)]
    opzoo.check_requantized(case, opzoo.requantize_first_op(q, op_index=index), tmp_path / "m.tflite",
                            n_random=4, seed=trial)


@pytest.mark.parametrize("trial", range(4))
@pytest.mark.parametrize("name", ["red8_meansum", "red16_multi"])
def test_mean_sum_over_quantizations(name: str, trial: int, tmp_path) -> None:
    """MEAN and SUM under random input/output scales (and int8 zero points): the folded 1/count
    multiplier, SUM's multipliers above one, int32 wrap-around."""
    _check_mean_sum(name, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(4, 30))
@pytest.mark.parametrize("name", ["red8_meansum", "red16_multi", "red16_hw", "red16_rank3_keep"])
def test_mean_sum_over_quantizations_sweep(name: str, trial: int, tmp_path) -> None:
    _check_mean_sum(name, trial, tmp_path)


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
