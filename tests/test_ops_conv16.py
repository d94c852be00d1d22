"""16x8 weighted ops (int16 activations, int8 weights): CONV_2D, bit-exact vs tflite-micro.

Models are converted from Keras by TensorFlow in 16x8 mode (cached, see opzoo.py) and checked to
really contain the op and options under test; bias variants TFLite Micro accepts but the
converter does not emit (int32 bias, no bias with quantized_bias_type INT32) are flatbuffer edits.
Every case runs in three builds: plain C, the DSP path with portable stand-ins for SMLAD/SXTB16
(TK_DSP_EMULATE), and the DSP path with the general int64 accumulation (TK_NO_FAST_REQUANT).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import opzoo
import pytest
from conv16_helpers import (
    BUILD_IDS,
    BUILDS,
    compile_for_arm,
    retype_biases,
    retype_constant,
    run_on_board,
    tensor_type,
)

pytestmark = pytest.mark.host



def _k():
    import tf_keras

    return tf_keras


def conv_stack(shape, layers, batch=1):
    """Input(shape) through Conv2D layers given as (filters, kernel, strides, padding, dilation, activation, bias)."""
    k = _k()
    inp = k.Input(shape, batch_size=batch)
    x = inp
    for filters, kernel, strides, padding, dilation, act, bias in layers:
        x = k.layers.Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                            use_bias=bias)(x)
        if act == "relu6":
            x = k.layers.ReLU(6.0)(x)
        elif act == "relu_n1_to_1":
            import tensorflow as tf

            x = k.layers.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(x)
        elif act:
            x = k.layers.Activation(act)(x)
    return k.Model(inp, x)


def depthwise_stack(shape, layers, batch=1):
    """Input(shape) through DepthwiseConv2D layers (kernel, strides, padding, dilation, multiplier, activation)."""
    k = _k()
    inp = k.Input(shape, batch_size=batch)
    x = inp
    for kernel, strides, padding, dilation, multiplier, act in layers:
        x = k.layers.DepthwiseConv2D(kernel, strides=strides, padding=padding, dilation_rate=dilation,
                                     depth_multiplier=multiplier)(x)
        if act == "relu6":
            x = k.layers.ReLU(6.0)(x)
        elif act:
            x = k.layers.Activation(act)(x)
    return k.Model(inp, x)


def dense_stack(shape, layers):
    """Input(shape) through Dense layers given as (units, activation)."""
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = inp
    for units, act in layers:
        x = k.layers.Dense(units)(x)
        if act == "relu6":
            x = k.layers.ReLU(6.0)(x)
        elif act:
            x = k.layers.Activation(act)(x)
    return k.Model(inp, x)


def fc_per_channel_offsets(model) -> None:
    """Flatbuffer edit: per-unit weight scales on every FULLY_CONNECTED, and non-zero int16 zero
    points on its input and output (TFLM's 16x8 FC applies both offsets)."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        if type(op.builtinOptions).__name__ != "FullyConnectedOptionsT":
            continue
        w = sub.tensors[op.inputs[1]]
        units = w.shape[0]
        w.quantization.scale = [float(np.float32(w.quantization.scale[0] * (0.6 + 0.1 * (i % 7))))
                                for i in range(units)]
        w.quantization.zeroPoint = [0] * units
        w.quantization.quantizedDimension = 0
        sub.tensors[op.inputs[0]].quantization.zeroPoint = [37]
        sub.tensors[op.outputs[0]].quantization.zeroPoint = [-23]


def weights_per_tensor(model) -> None:
    """Flatbuffer edit: one weight scale (the first channel's) for every weighted op (the 16x8
    converter cannot make per-tensor depthwise weights)."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        q = sub.tensors[op.inputs[1]].quantization
        q.scale, q.zeroPoint, q.quantizedDimension = [q.scale[0]], [0], 0


def bias_to_int32(model) -> None:
    """Flatbuffer edit: every int64 bias becomes int32 (TFLM's int32 accumulator)."""
    retype_biases(model, "INT64", "INT32", np.int64, np.int32)


def drop_bias_int32_accumulator(model) -> None:
    """Flatbuffer edit: remove every conv bias and ask for TFLM's int32 accumulator instead
    (quantized_bias_type INT32)."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        if len(op.inputs) == 3 and hasattr(op.builtinOptions, "quantizedBiasType"):
            op.inputs = list(op.inputs[:2])
            op.builtinOptions.quantizedBiasType = tensor_type("INT32")


def drop_bias(model) -> None:
    """Flatbuffer edit: remove every conv bias (int64 accumulator, no bias)."""
    for op in model.subgraphs[0].operators:
        if len(op.inputs) == 3 and hasattr(op.builtinOptions, "quantizedBiasType"):
            op.inputs = list(op.inputs[:2])


def _case(name, build, kwargs, expect, **kw) -> opzoo.Case:
    return opzoo.Case(f"c16_{name}", build, kwargs, expect, activations="int16", **kw)


STACK = [(8, 3, 1, "same", 1, "relu", True), (6, (2, 3), 2, "valid", 1, "relu6", True),
         (5, 3, 1, "same", 2, None, True), (7, 1, 1, "valid", 1, None, True)]
ODD = [(3, (3, 1), (1, 2), "same", 1, "relu", True), (5, 2, 3, "same", 1, None, True),
       (4, 2, 1, "valid", (2, 1), "relu_n1_to_1", True)]

CASES = [
    _case("conv_stack", conv_stack, dict(shape=(9, 10, 3), layers=STACK), ("CONV_2D",)),
    _case("conv_odd_pt_batch2", conv_stack, dict(shape=(10, 9, 5), layers=ODD, batch=2), ("CONV_2D",),
          per_channel=False),
    # K = 5*5*64: the int32 sum is not provably exact, the kernel sums int64 chunks
    _case("conv_deep_k", conv_stack, dict(shape=(4, 5, 64), layers=[(4, 5, 1, "same", 1, None, True)]),
          ("CONV_2D",), rep_range=(-4.0, 4.0)),
    _case("conv_bias_int32", conv_stack, dict(shape=(7, 6, 4), layers=STACK[:2]), ("CONV_2D",),
          edit=bias_to_int32),
    _case("conv_nobias_acc32", conv_stack, dict(shape=(6, 6, 4), layers=STACK[:2]), ("CONV_2D",),
          edit=drop_bias_int32_accumulator),
    _case("conv_nobias_acc64", conv_stack, dict(shape=(6, 5, 4), layers=STACK[2:]), ("CONV_2D",),
          edit=drop_bias),
]
FC = [(13, "relu"), (7, "relu6"), (1, None)]
CASES += [
    _case("fc_stack", dense_stack, dict(shape=(37,), layers=FC), ("FULLY_CONNECTED",)),
    _case("fc_keep_dims_odd", dense_stack, dict(shape=(5, 13), layers=[(6, None)]), ("FULLY_CONNECTED",),
          per_channel=False),
    _case("fc_bias_int32", dense_stack, dict(shape=(21,), layers=FC[:2]), ("FULLY_CONNECTED",), edit=bias_to_int32),
    _case("fc_nobias_acc32", dense_stack, dict(shape=(18,), layers=FC[1:]), ("FULLY_CONNECTED",),
          edit=drop_bias_int32_accumulator),
    _case("fc_per_channel_offsets", dense_stack, dict(shape=(3, 22), layers=FC[:2]), ("FULLY_CONNECTED",),
          edit=fc_per_channel_offsets),
]
DW = [(3, 1, "same", 1, 1, "relu"), (3, 2, "valid", 1, 2, "relu6"), ((2, 3), 1, "same", 2, 1, None)]
CASES += [
    _case("dw_stack", depthwise_stack, dict(shape=(11, 10, 6), layers=DW), ("DEPTHWISE_CONV_2D",)),
    _case("dw_pt_batch2", depthwise_stack, dict(shape=(7, 6, 5), layers=[((3, 2), (2, 1), "same", 1, 3, "relu"),
                                                                         (5, 1, "same", 1, 1, None)], batch=2),
          ("DEPTHWISE_CONV_2D",), edit=weights_per_tensor),
    _case("dw_wide_quads", depthwise_stack, dict(shape=(6, 7, 16), layers=[(3, 1, "same", 1, 1, None)]),
          ("DEPTHWISE_CONV_2D",), rep_range=(-3.0, 3.0)),
]
CASES_BY_NAME = {c.name: c for c in CASES}

# (case, opcode, option, value): the converter (or the edit) really produced what is under test
OPTION_CHECKS = (
    ("c16_conv_stack", "CONV_2D", "fused_activation_function", "RELU"),
    ("c16_conv_stack", "CONV_2D", "fused_activation_function", "RELU6"),
    ("c16_conv_stack", "CONV_2D", "padding", "VALID"),
    ("c16_conv_stack", "CONV_2D", "dilation_h_factor", 2),
    ("c16_conv_odd_pt_batch2", "CONV_2D", "fused_activation_function", "RELU_N1_TO_1"),
    ("c16_conv_odd_pt_batch2", "CONV_2D", "stride_w", 3),
    ("c16_conv_nobias_acc32", "CONV_2D", "quantized_bias_type", 2),
    ("c16_fc_stack", "FULLY_CONNECTED", "fused_activation_function", "RELU6"),
    ("c16_dw_stack", "DEPTHWISE_CONV_2D", "depth_multiplier", 2),
    ("c16_dw_stack", "DEPTHWISE_CONV_2D", "dilation_h_factor", 2),
    ("c16_dw_stack", "DEPTHWISE_CONV_2D", "fused_activation_function", "RELU6"),
    ("c16_dw_pt_batch2", "DEPTHWISE_CONV_2D", "depth_multiplier", 3),
    ("c16_fc_keep_dims_odd", "FULLY_CONNECTED", "keep_num_dims", True),
    ("c16_fc_nobias_acc32", "FULLY_CONNECTED", "quantized_bias_type", 2),
)


@pytest.mark.parametrize("name", sorted(CASES_BY_NAME))
@pytest.mark.parametrize(("dsp", "defines"), BUILDS, ids=BUILD_IDS)
def test_conv16_bit_exact(name: str, dsp: bool, defines: tuple[str, ...]) -> None:
    opzoo.check_bit_exact(CASES_BY_NAME[name], dsp_emulate=dsp, defines=defines)


@pytest.mark.parametrize(("name", "opcode", "option", "value"), OPTION_CHECKS)
def test_conv16_options_present(name: str, opcode: str, option: str, value: object) -> None:
    graph = opzoo.graph_of(CASES_BY_NAME[name])
    found = [op.options.get(option) for op in graph.operators if op.opcode == opcode]
    assert value in found, f"{name}: {opcode}.{option} values {found}, expected {value!r}"


def _weighted(name: str):
    graph = opzoo.graph_of(CASES_BY_NAME[name])
    return graph, [op for op in graph.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]


@pytest.mark.parametrize(("name", "bias_type"), [("c16_conv_stack", "int64"), ("c16_conv_bias_int32", "int32"),
                                                 ("c16_conv_nobias_acc32", None), ("c16_conv_nobias_acc64", None),
                                                 ("c16_fc_stack", "int64"), ("c16_fc_bias_int32", "int32"),
                                                 ("c16_fc_nobias_acc32", None), ("c16_dw_stack", "int64")])
def test_conv16_cases_have_int16_activations_and_the_bias_under_test(name: str, bias_type: str | None) -> None:
    graph, ops = _weighted(name)
    assert ops
    for op in ops:
        assert graph.tensors[op.inputs[0]].dtype == "int16" and graph.tensors[op.inputs[1]].dtype == "int8"
        bias = graph.tensors[op.inputs[2]].dtype if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        assert bias == bias_type


def test_fc16_cases_cover_per_tensor_and_per_channel_weights() -> None:
    for name, per_channel in (("c16_fc_stack", True), ("c16_fc_keep_dims_odd", False)):
        graph, ops = _weighted(name)
        assert all((len(graph.tensors[op.inputs[1]].quantization.scale) > 1) == per_channel for op in ops
                   if graph.tensors[op.inputs[1]].shape[0] > 1)


def test_fc16_edit_gives_per_channel_weights_and_offsets() -> None:
    graph, ops = _weighted("c16_fc_per_channel_offsets")
    for op in ops:
        assert len(graph.tensors[op.inputs[1]].quantization.scale) == graph.tensors[op.inputs[1]].shape[0] > 1
        assert graph.tensors[op.inputs[0]].zero_point == 37
    assert graph.tensors[ops[-1].outputs[0]].zero_point == -23


def test_conv16_modes_cover_every_accumulator(tmp_path: Path) -> None:
    """The cases reach each output stage: int32 accumulator, int64 proved to fit int32, int64."""
    from tinykit.codegen import generate

    modes = set()
    for name in ("c16_conv_stack", "c16_conv_deep_k", "c16_conv_bias_int32"):
        lib = generate(opzoo.convert(CASES_BY_NAME[name]), tmp_path / name)
        text = (lib.dir / "model.c").read_text()
        modes |= {int(text[i + 8]) for i in range(len(text)) if text.startswith(".mode = ", i)}
    assert modes == {0, 1, 2}


def test_conv16_scratch_matches_the_kernel_formula() -> None:
    """The handler's scratch formula is the C buffer-size formula (2 pixels x ceil4(K) int16)."""
    from tinykit.ir.ops import op_handler

    graph, ops = _weighted("c16_conv_stack")
    for op in ops:
        _, kh, kw, in_c = graph.tensors[op.inputs[1]].shape
        assert op_handler("CONV_2D").scratch_bytes(op, graph) == 4 * ((kh * kw * in_c + 3) // 4 * 4)


# ---- randomized shapes (seeded) ----------------------------------------------------------------


def _sweep_case(rng: random.Random, i: int) -> opzoo.Case:
    kind = ("conv", "depthwise", "dense")[i % 3]
    h, w, c = rng.randint(3, 10), rng.randint(3, 10), rng.randint(1, 9)
    rep = (-rng.uniform(0.5, 4), rng.uniform(0.5, 4))
    act = rng.choice((None, "relu", "relu6"))
    if kind == "dense":
        shape = (rng.randint(1, 4), rng.randint(1, 40)) if rng.random() < 0.4 else (rng.randint(1, 70),)
        return _case(f"sweep{i}_fc", dense_stack, dict(shape=shape, layers=[(rng.randint(1, 11), act)]),
                     ("FULLY_CONNECTED",), rep_range=rep)
    kernel = (rng.randint(1, min(4, h)), rng.randint(1, min(4, w)))
    dilation = rng.choice((1, 1, 2)) if max(kernel) * 2 <= min(h, w) else 1
    strides = 1 if dilation > 1 else (rng.randint(1, 3), rng.randint(1, 3))
    padding = rng.choice(("same", "valid"))
    if kind == "depthwise":
        layer = (kernel, strides, padding, dilation, rng.choice((1, 1, 2)), act)
        return _case(f"sweep{i}_dw", depthwise_stack, dict(shape=(h, w, c), layers=[layer]), ("DEPTHWISE_CONV_2D",),
                     rep_range=rep)
    layer = (rng.randint(1, 9), kernel, strides, padding, dilation, act, rng.random() < 0.8)
    return _case(f"sweep{i}_conv", conv_stack, dict(shape=(h, w, c), layers=[layer]), ("CONV_2D",),
                 per_channel=rng.random() < 0.7, rep_range=rep)


SWEEP = [_sweep_case(random.Random(20261201 + i), i) for i in range(24)]


@pytest.mark.slow
@pytest.mark.parametrize("case", SWEEP, ids=[c.name for c in SWEEP])
def test_conv16_sweep_bit_exact(case: opzoo.Case) -> None:
    for dsp, defines in BUILDS[:2]:
        opzoo.check_bit_exact(case, dsp_emulate=dsp, defines=defines)


# ---- refusals ----------------------------------------------------------------------------------


def _retype_output(type_name: str):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        sub.tensors[sub.operators[0].outputs[0]].type = tensor_type(type_name)

    return edit


def _weights_to_int16(model) -> None:
    retype_constant(model, model.subgraphs[0].operators[0].inputs[1], "INT16", np.int8, np.int16)


def _huge_output_multiplier(model) -> None:
    """Output scale 10^6 times below the input scale: shift >= 8, which TFLM's int64 requantization
    cannot take."""
    sub = model.subgraphs[0]
    op = sub.operators[0]
    sub.tensors[op.outputs[0]].quantization.scale = [sub.tensors[op.inputs[0]].quantization.scale[0] * 1e-6]


def _bias_scale_off(model) -> None:
    """The first op's bias scale 5 % of an output step away from input x weight scale: TFLM's
    FULLY_CONNECTED Prepare refuses it (it allows 2 %)."""
    sub = model.subgraphs[0]
    op = sub.operators[0]
    out_scale = sub.tensors[op.outputs[0]].quantization.scale[0]
    q = sub.tensors[op.inputs[2]].quantization
    q.scale = [s + 0.05 * out_scale for s in q.scale]


@pytest.mark.parametrize(("case", "edit", "words"), [
    ("c16_conv_nobias_acc64", _retype_output("INT8"), ("CONV_2D", "op 0", "int16 input with int8 output")),
    ("c16_conv_nobias_acc64", _weights_to_int16, ("CONV_2D", "op 0", "int16 weights")),
    ("c16_dw_stack", bias_to_int32, ("DEPTHWISE_CONV_2D", "op 0", "int32 bias")),
    ("c16_fc_stack", _huge_output_multiplier, ("FULLY_CONNECTED", "op 0", "shifts < 8")),
    ("fc_pt_relu6", _bias_scale_off, ("FULLY_CONNECTED", "op 0", "bias scale")),
])
def test_conv16_refusals_are_one_line(case, edit, words, tmp_path: Path) -> None:
    from codegen_helpers import edit_tflite

    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = edit_tflite(opzoo.convert({**opzoo.CASES_BY_NAME, **CASES_BY_NAME}[case]), tmp_path / "bad.tflite", edit)
    with pytest.raises(UnsupportedOpError) as err:
        generate(model, tmp_path / "lib")
    message = str(err.value)
    assert all(w in message for w in words) and "\n" not in message, message
    if edit is _bias_scale_off:  # a refusal TFLM shares
        from tinykit import oracle
        from tinykit.errors import ModelFormatError

        with pytest.raises(ModelFormatError):
            oracle.output_specs(model)


def test_conv16_cli_refusal_exits_2(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from codegen_helpers import edit_tflite

    from tinykit.cli import main

    model = edit_tflite(opzoo.convert(CASES_BY_NAME["c16_conv_nobias_acc64"]), tmp_path / "bad.tflite",
                        _weights_to_int16)
    result = CliRunner().invoke(main, ["generate", str(model), "-o", str(tmp_path / "lib")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "int16 weights" in lines[0]
    assert "Traceback" not in result.output


# ---- emulated cores: the assembly (qemu-m4) and plain C built for ARMv6-M (qemu-m0) -------------

QEMU_CASES = ("c16_conv_stack", "c16_conv_deep_k", "c16_conv_bias_int32", "c16_fc_keep_dims_odd",
              "c16_fc_per_channel_offsets", "c16_dw_stack")


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
@pytest.mark.parametrize("name", QEMU_CASES)
def test_conv16_on_emulated_cores(name: str, board: str, tmp_path: Path) -> None:
    run_on_board(opzoo.convert(CASES_BY_NAME[name]), board, tmp_path)


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_conv16_kernels_compile_for_arm(cpu: str, tmp_path: Path) -> None:
    compile_for_arm(cpu, ("tk_conv2d_s16.c", "tk_transpose_conv.c", "tk_fully_connected_s16.c",
                          "tk_depthwise_conv2d_s16.c"), tmp_path)


# ---- int4 packed weights (int8 activations): TFLM unpacks them and runs its int8 kernels --------


def weights_to_int4(model) -> None:
    """Flatbuffer edit: every int8 weight tensor becomes packed int4 (value w // 16 rounded, clipped
    to [-8, 7], element 2i in the low nibble), as TFLite stores int4."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        if len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        tensor = sub.tensors[op.inputs[1]]
        if tensor.type != tensor_type("INT8") or tensor.buffer <= 0 or not len(model.buffers[tensor.buffer].data):
            continue
        buf = model.buffers[tensor.buffer]
        w = np.clip(np.round(np.frombuffer(bytes(bytearray(buf.data)), np.int8) / 16.0), -8, 7).astype(np.int8)
        w = np.append(w, np.int8(0)) if w.size % 2 else w
        tensor.type = tensor_type("INT4")
        buf.data = ((w[0::2] & 0xF) | ((w[1::2] & 0xF) << 4)).astype(np.uint8)


INT4_CASES = [
    opzoo.Case("i4_conv", opzoo.conv, dict(shape=(7, 6, 5), filters=6, kernel=3, activation="relu"), ("CONV_2D",),
               edit=weights_to_int4),
    opzoo.Case("i4_dw", opzoo.depthwise, dict(shape=(7, 6, 3), kernel=3, multiplier=2), ("DEPTHWISE_CONV_2D",),
               edit=weights_to_int4),
    opzoo.Case("i4_fc_pt", opzoo.dense, dict(shape=(33,), units=9, activation="relu6"), ("FULLY_CONNECTED",),
               per_channel=False, edit=weights_to_int4),
]


@pytest.mark.parametrize("case", INT4_CASES, ids=[c.name for c in INT4_CASES])
@pytest.mark.parametrize(("dsp", "defines"), BUILDS[:2], ids=BUILD_IDS[:2])
def test_int4_weights_bit_exact(case: opzoo.Case, dsp: bool, defines: tuple[str, ...]) -> None:
    graph = opzoo.graph_of(case)
    assert any(graph.tensors[op.inputs[1]].dtype == "int4" for op in graph.operators)
    opzoo.check_bit_exact(case, dsp_emulate=dsp, defines=defines)


def test_int4_per_channel_fully_connected_is_refused_like_tflm(tmp_path: Path) -> None:
    from codegen_helpers import edit_tflite

    from tinykit import oracle
    from tinykit.codegen import generate
    from tinykit.errors import ModelFormatError, UnsupportedOpError

    def edit(model) -> None:
        weights_to_int4(model)
        fc_per_channel_offsets(model)

    model = edit_tflite(opzoo.convert(opzoo.CASES_BY_NAME["fc_pt_relu6"]), tmp_path / "pc.tflite", edit)
    with pytest.raises(ModelFormatError):
        oracle.output_specs(model)  # TFLM's Prepare refuses it
    with pytest.raises(UnsupportedOpError, match="int4 weights with per-channel scales"):
        generate(model, tmp_path / "lib")


def test_stream_cases_cover_every_op_and_type() -> None:
    """Every op of this stream appears in the cases with each activation type TFLM runs it in."""
    import test_ops_matmul
    import test_ops_transpose_conv

    seen = set()
    for case in [*CASES, *INT4_CASES, *test_ops_transpose_conv.CASES, *test_ops_matmul.CASES]:
        graph = opzoo.graph_of(case)
        for op in graph.operators:
            data = op.inputs[2] if op.opcode == "TRANSPOSE_CONV" else op.inputs[0]
            seen.add((op.opcode, graph.tensors[data].dtype, graph.tensors[op.inputs[1]].dtype))
    expected = {("CONV_2D", "int16", "int8"), ("DEPTHWISE_CONV_2D", "int16", "int8"),
                ("FULLY_CONNECTED", "int16", "int8"), ("CONV_2D", "int8", "int4"),
                ("DEPTHWISE_CONV_2D", "int8", "int4"), ("FULLY_CONNECTED", "int8", "int4"),
                ("TRANSPOSE_CONV", "int8", "int8"), ("TRANSPOSE_CONV", "int16", "int8"),
                ("BATCH_MATMUL", "int8", "int8"), ("BATCH_MATMUL", "int16", "int16")}
    assert expected <= seen, sorted(expected - seen)
