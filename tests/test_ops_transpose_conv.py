"""TRANSPOSE_CONV in int8 and 16x8, bit-exact vs tflite-micro.

Keras Conv2DTranspose stacks converted by TensorFlow (cached, see opzoo.py) cover SAME/VALID,
strides larger and smaller than the kernel (phases without taps), non-square kernels and strides,
output padding, fused RELU/RELU6, per-tensor weights, no bias, batch 2; an int16 bias (which TFLM
widens to int64) is a flatbuffer edit. Plain C, the emulated DSP path and the general int64 path.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import opzoo
import pytest
from conv16_helpers import BUILD_IDS, BUILDS, retype_biases, run_on_board

pytestmark = pytest.mark.host


def tconv_stack(shape, layers, batch=1):
    """Input(shape) through Conv2DTranspose layers (filters, kernel, strides, padding, output_padding,
    activation, bias)."""
    import tf_keras as k

    inp = k.Input(shape, batch_size=batch)
    x = inp
    for filters, kernel, strides, padding, out_pad, act, bias in layers:
        x = k.layers.Conv2DTranspose(filters, kernel, strides=strides, padding=padding, output_padding=out_pad,
                                     use_bias=bias)(x)
        if act == "relu6":
            x = k.layers.ReLU(6.0)(x)
        elif act:
            x = k.layers.Activation(act)(x)
    return k.Model(inp, x)


def bias_to_int16(model) -> None:
    """Flatbuffer edit: every int64 bias becomes int16 (TFLM widens a 16x8 TRANSPOSE_CONV's to int64)."""
    retype_biases(model, "INT64", "INT16", np.int64, np.int16)


STACK = [(4, 3, 2, "same", None, "relu", True), (3, 2, 3, "valid", None, None, True),
         (5, (3, 4), (1, 2), "same", (0, 1), "relu6", True)]
PLAIN = [(6, 4, 2, "same", None, None, False), (2, (1, 3), (2, 1), "valid", (1, 0), None, False)]


def _case(name, kwargs, activations, **kw) -> opzoo.Case:
    tag = "s8" if activations == "int8" else "s16"
    return opzoo.Case(f"tc_{name}_{tag}", tconv_stack, kwargs, ("TRANSPOSE_CONV",), activations=activations, **kw)


CASES = [
    *[_case("stack", dict(shape=(4, 5, 3), layers=STACK), a) for a in ("int8", "int16")],
    *[_case("plain_pt_batch2", dict(shape=(3, 4, 5), layers=PLAIN, batch=2), a, per_channel=False)
      for a in ("int8", "int16")],
    _case("bias_int16", dict(shape=(3, 3, 4), layers=STACK[:1]), "int16", edit=bias_to_int16),
]
CASES_BY_NAME = {c.name: c for c in CASES}

OPTION_CHECKS = (
    ("tc_stack_s8", "fused_activation_function", "RELU"),
    ("tc_stack_s16", "fused_activation_function", "RELU6"),
    ("tc_stack_s8", "padding", "VALID"),
    ("tc_stack_s16", "stride_w", 3),
    ("tc_plain_pt_batch2_s8", "stride_h", 2),
)


@pytest.mark.parametrize("name", sorted(CASES_BY_NAME))
@pytest.mark.parametrize(("dsp", "defines"), BUILDS, ids=BUILD_IDS)
def test_transpose_conv_bit_exact(name: str, dsp: bool, defines: tuple[str, ...]) -> None:
    opzoo.check_bit_exact(CASES_BY_NAME[name], dsp_emulate=dsp, defines=defines)


@pytest.mark.parametrize(("name", "option", "value"), OPTION_CHECKS)
def test_transpose_conv_options_present(name: str, option: str, value: object) -> None:
    graph = opzoo.graph_of(CASES_BY_NAME[name])
    found = [op.options.get(option) for op in graph.operators if op.opcode == "TRANSPOSE_CONV"]
    assert value in found, f"{name}: TRANSPOSE_CONV.{option} values {found}, expected {value!r}"


@pytest.mark.parametrize(("name", "act", "bias"), [("tc_stack_s8", "int8", "int32"), ("tc_stack_s16", "int16", "int64"),
                                                  ("tc_plain_pt_batch2_s16", "int16", None),
                                                  ("tc_bias_int16_s16", "int16", "int16")])
def test_transpose_conv_cases_have_the_types_under_test(name: str, act: str, bias: str | None) -> None:
    graph = opzoo.graph_of(CASES_BY_NAME[name])
    ops = [op for op in graph.operators if op.opcode == "TRANSPOSE_CONV"]
    assert ops
    for op in ops:
        assert graph.tensors[op.inputs[2]].dtype == act
        assert (graph.tensors[op.inputs[3]].dtype if len(op.inputs) > 3 and op.inputs[3] >= 0 else None) == bias


def test_transpose_conv_scratch_matches_the_kernel_formula() -> None:
    from tinykit.codegen.lowering import get_lowering
    from tinykit.ir.ops import op_handler

    class Ctx:
        def symbol(self, op, suffix):
            return f"m_op{op.index}_{suffix}"

    for name in ("tc_stack_s8", "tc_plain_pt_batch2_s16"):
        graph = opzoo.graph_of(CASES_BY_NAME[name])
        for op in graph.operators:
            _, kh, kw, in_c = graph.tensors[op.inputs[1]].shape
            taps = -(-kh // op.options["stride_h"]) * -(-kw // op.options["stride_w"])
            expected = 4 * ((taps * in_c + 3) // 4 * 4)
            assert op_handler(op.opcode).scratch_bytes(op, graph) == expected
            assert get_lowering(op.opcode)(op, graph, Ctx()).scratch_bytes == expected


# ---- refusals ----------------------------------------------------------------------------------


def _bias_to_int32(model) -> None:
    retype_biases(model, "INT16", "INT32", np.int16, np.int32)


def _zero_stride(model) -> None:
    model.subgraphs[0].operators[0].builtinOptions.strideW = 0


@pytest.mark.parametrize(("edit", "words"), [
    (_bias_to_int32, ("TRANSPOSE_CONV", "op 0", "int32 bias")),
    (_zero_stride, ("TRANSPOSE_CONV", "op 0", "stride_w 0")),
])
def test_transpose_conv_refusals_are_one_line(edit, words, tmp_path: Path) -> None:
    from codegen_helpers import edit_tflite

    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = edit_tflite(opzoo.convert(CASES_BY_NAME["tc_bias_int16_s16"]), tmp_path / "bad.tflite", edit)
    with pytest.raises(UnsupportedOpError) as err:
        generate(model, tmp_path / "lib")
    message = str(err.value)
    assert all(w in message for w in words) and "\n" not in message, message


# ---- randomized shapes (seeded) and emulated cores ----------------------------------------------


def _sweep_case(i: int) -> opzoo.Case:
    rng = random.Random(20261202 + i)
    kernel = (rng.randint(1, 5), rng.randint(1, 5))
    strides = (rng.randint(1, 3), rng.randint(1, 3))
    layer = (rng.randint(1, 7), kernel, strides, rng.choice(("same", "valid")), None,
             rng.choice((None, "relu")), rng.random() < 0.7)
    shape = (rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 7))
    return _case(f"sweep{i}", dict(shape=shape, layers=[layer]), rng.choice(("int8", "int16")),
                 per_channel=rng.random() < 0.7)


SWEEP = [_sweep_case(i) for i in range(12)]


@pytest.mark.slow
@pytest.mark.parametrize("case", SWEEP, ids=[c.name for c in SWEEP])
def test_transpose_conv_sweep_bit_exact(case: opzoo.Case) -> None:
    for dsp, defines in BUILDS[:2]:
        opzoo.check_bit_exact(case, dsp_emulate=dsp, defines=defines)


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize(("name", "board"), [("tc_stack_s8", "qemu-m4"), ("tc_stack_s16", "qemu-m4"),
                                           ("tc_plain_pt_batch2_s8", "qemu-m0"), ("tc_plain_pt_batch2_s16", "qemu-m0")])
def test_transpose_conv_on_emulated_cores(name: str, board: str, tmp_path: Path) -> None:
    run_on_board(opzoo.convert(CASES_BY_NAME[name]), board, tmp_path)
