"""The math stream as a whole: every op it owns appears in its test models in int8 and, where TFLite
Micro has one, int16; its kernels compile warning-free for every Cortex-M class; a sample of its
models runs as firmware on emulated boards with the reference runtime's bytes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import opzoo
import pytest
import test_ops_binary
import test_ops_compare
import test_ops_reduce
from math_models import mix8, mix16, tf_function_model

KERNELS = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
MATH_KERNELS = ("tk_binary.c", "tk_compare.c", "tk_reduce.c", "tk_pool.c")

# The ops of the stream, by the element type of their first input, as TFLite Micro runs them.
INT8_OPS = {"ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "DIV", "ADD_N", "PRELU", "EQUAL",
            "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "ARG_MAX", "ARG_MIN", "REDUCE_MAX",
            "REDUCE_MIN", "SUM", "MEAN", "CUMSUM"}  # int8 poolings: the op zoo (tests/test_opzoo.py)
INT16_OPS = {"ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "PRELU", "SELECT_V2", "SUM", "MEAN",
             "AVERAGE_POOL_2D", "MAX_POOL_2D"}
SELECT_BOOL_OPS = {"SELECT_V2"}  # int8 values, bool condition first
INT32_BOOL_OPS = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "DIV", "EQUAL", "NOT_EQUAL",
                  "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT",
                  "REDUCE_ALL"}

SAMPLE = {"mix8": opzoo.Case("mix8", mix8, dict(shape=(4, 6, 3))),
          "mix16": opzoo.Case("mix16", mix16, dict(shape=(4, 6, 3)), activations="int16")}


def _seen(cases) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for case in cases:
        graph = opzoo.graph_of(case)
        for op in graph.operators:
            values = [t for t in graph.op_inputs(op) if t is not None and t.dtype != "bool"] or graph.op_inputs(op)
            seen.setdefault(values[0].dtype, set()).add(op.opcode)
    return seen


def test_stream_ops_are_covered_in_int8_and_int16() -> None:
    cases = [*test_ops_binary.CASES.values(), *test_ops_compare.CASES.values(), *test_ops_reduce.CASES.values(),
             *SAMPLE.values()]
    seen = _seen(cases)
    assert seen["int8"] >= INT8_OPS - SELECT_BOOL_OPS, sorted(INT8_OPS - seen["int8"])
    assert seen["int8"] >= SELECT_BOOL_OPS and seen["int16"] >= INT16_OPS, sorted(INT16_OPS - seen["int16"])
    graphs = [test_ops_binary.int32_arith, test_ops_compare.int32_compare_logic, test_ops_reduce.reduce_all]
    signatures = [[((1, 3, 4), "int32"), ((1, 1, 4), "int32")],
                  [((2, 3, 4), "int32"), ((1, 1, 4), "int32"), ((2, 1, 4), "bool")], [((2, 3, 4), "bool")]]
    names = ["int32_arith", "int32_compare_logic", "reduce_all"]
    ops = set()
    for fn, signature, name in zip(graphs, signatures, names, strict=True):
        ops |= {op.opcode for op in opzoo.read_path(tf_function_model(fn, signature, name)).operators}
    assert ops >= INT32_BOOL_OPS, sorted(INT32_BOOL_OPS - ops)


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_math_kernels_compile_for_arm(cpu: str, tmp_path: Path) -> None:
    """Warning-free under arm-none-eabi-gcc from the smallest core to Helium."""
    cc = shutil.which("arm-none-eabi-gcc")
    assert cc is not None, "arm-none-eabi-gcc is part of the set-up"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", f"-mcpu={cpu}",
             f"-I{KERNELS / 'include'}", f"-I{KERNELS}"]
    for src in MATH_KERNELS:
        proc = subprocess.run([cc, *flags, "-c", str(KERNELS / src), "-o", str(tmp_path / "k.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src}: {proc.stderr}"


@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_board_sample_bit_exact_on_host(name: str) -> None:
    opzoo.check_bit_exact(SAMPLE[name])


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_math_sample_on_emulated_boards(name: str, board: str, tmp_path: Path) -> None:
    """The sample models as firmware on qemu-m4 (Thumb-2, SMLAL paths) and qemu-m0 (plain C),
    driven over the serial protocol: the reference runtime's bytes."""
    from tinykit.run import run

    assert shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"), "part of the set-up"
    result = run(opzoo.convert(SAMPLE[name]), board, tmp_path, num_inputs=3, runs=1)
    assert result["validation"]["checked"] and result["validation"]["compared_bytes"] > 0
    assert result["mismatched_bytes"] == 0, result["validation"]
