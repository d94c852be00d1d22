"""Lowerings of the binary arithmetic ops (int8, 16x8 int16, int32; broadcasting up to 6-D) to
``tk_binary`` kernels.

Multipliers follow TFLite Micro's Prepare: ADD and SUB (``CalculateOpDataAdd/Sub``) rescale both
inputs to twice the larger input scale in double (TFLM's SUB source divides in float, but the pinned
runtime's bytes match the double arithmetic, see docs/codegen_ops.md) and shift int8 inputs left by
20, int16 inputs by 15. MUL uses
``double(s1) * double(s2) / double(s_out)``; SQUARED_DIFFERENCE a left shift of 7 (int8) or 0
(int16) and an output multiplier that may exceed one, with ``(1 << 2 * shift) * s_out`` in float.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.loops import LoopError, broadcast_nest, c_broadcast
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    c_act,
    c_quant,
    f32,
    fused_activation,
    lowering,
    quantize_multiplier,
    unsupported,
)

ADD_LEFT_SHIFT = {"int8": 20, "int16": 15}
SQDIFF_LEFT_SHIFT = {"int8": 7, "int16": 0}
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "bool": "b8"}
INT32_ACTIVATION = {"NONE": ("INT32_MIN", "INT32_MAX"), "RELU": ("0", "INT32_MAX"), "RELU6": ("0", "6"),
                    "RELU_N1_TO_1": ("-1", "1")}


def shape_field(op, inputs, out) -> str:
    """The ``tk_broadcast`` initializer of ``inputs`` broadcast to ``out``."""
    try:
        return c_broadcast(broadcast_nest([t.shape for t in inputs], out.shape))
    except LoopError as err:
        raise unsupported(op, "shapes", str(err)) from None


def binary_io(op, graph, dtypes=("int8", "int16", "int32")):
    """Inputs 1 and 2 and the output, all of one accepted element type."""
    a, b = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    if out.dtype not in dtypes or a.dtype != out.dtype or b.dtype != out.dtype:
        raise unsupported(op, "types", f"{a.dtype}, {b.dtype} -> {out.dtype} (supported: {', '.join(dtypes)})")
    if out.dtype in ("int8", "int16"):
        for t in (a, b, out):
            if t.quantization is None or len(t.quantization.scale) != 1:
                raise unsupported(op, "quantization", f"tensor {t.index} needs one per-tensor scale")
    return a, b, out


def smaller_than_one(op, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLM aborts unless 0 < real < 1 (and shift <= 0)."""
    m, s = quantize_multiplier(real)
    if not 0.0 < real < 1.0 or s > 0:
        raise unsupported(op, "scales", f"{what} multiplier {real:.6g} is not in (0, 1) as TFLite requires")
    return m, s


def add_multipliers(s1: float, s2: float, s_out: float, left_shift: int = 20) -> tuple[float, float, float]:
    """CalculateOpDataAdd: the three real multipliers, in double."""
    twice_max = 2.0 * float(max(f32(s1), f32(s2)))
    return (float(f32(s1)) / twice_max, float(f32(s2)) / twice_max,
            twice_max / (float(1 << left_shift) * float(f32(s_out))))


def add_input_table(zero_point: int, multiplier: int, shift: int, sign: int = 1, left_shift: int = 20) -> np.ndarray:
    """Per input byte: MultiplyByQuantizedMultiplierSmallerThanOneExp((x - zp) << 20, m, shift)
    (the left shift is 8 for the comparisons)."""
    values = [sign * fx.rdbpot(fx.srdhm((x - zero_point) * (1 << left_shift), multiplier), -shift)
              for x in (u if u < 128 else u - 256 for u in range(256))]
    return np.array(values, dtype=np.int32)


def int32_activation(op) -> str:
    lo, hi = INT32_ACTIVATION[str(op.options.get("fused_activation_function", "NONE") or "NONE").upper()]
    return f"{{{lo}, {hi}}}"


def _int32_call(op, a, b, out, name: str) -> KernelCall:
    params = [("shape", shape_field(op, [a, b], out)), ("act", int32_activation(op))]
    return KernelCall(function=f"tk_{name}_s32", params_type="tk_arith_s32_params", params=params,
                      inputs=[a.index, b.index], outputs=[out.index], sources=("tk_binary.c",),
                      comment=f"op {op.index}: {op.opcode} int32 {list(a.shape)}, {list(b.shape)}")


def _call(op, a, b, out, function: str, params_type: str, params, arrays=()) -> KernelCall:
    return KernelCall(function=function, params_type=params_type, params=params, inputs=[a.index, b.index],
                      outputs=[out.index], arrays=list(arrays), sources=("tk_binary.c",),
                      comment=f"op {op.index}: {op.opcode} {list(a.shape)}, {list(b.shape)} -> {list(out.shape)}")


def rescaled_params(op, a, b, out, reals, left_shift: int, output_exact: bool = False) -> list[tuple[str, str]]:
    """tk_rescaled_params: two inputs rescaled to a common scale, the output requantization."""
    q1 = smaller_than_one(op, reals[0], "input 1")
    q2 = smaller_than_one(op, reals[1], "input 2")
    qo = quantize_multiplier(reals[2]) if output_exact else smaller_than_one(op, reals[2], "output")
    if qo[1] > 30:
        raise unsupported(op, "scales", f"output multiplier {reals[2]:.6g} is too large")
    lo, hi = fused_activation(op, out)  # no option (SQUARED_DIFFERENCE): the type's full range
    return [
        ("shape", shape_field(op, [a, b], out)),
        ("input1_offset", str(-int(a.zero_point))), ("input2_offset", str(-int(b.zero_point))),
        ("left_shift", str(left_shift)),
        ("input1_q", c_quant(*q1)), ("input2_q", c_quant(*q2)),
        ("output_offset", str(int(out.zero_point))), ("output_q", c_quant(*qo)),
        ("act", c_act(lo, hi)),
    ]


@lowering("ADD", "SUB")
def lower_add_sub(op, graph, ctx) -> KernelCall:
    a, b, out = binary_io(op, graph)
    name = op.opcode.lower()
    if out.dtype == "int32":
        return _int32_call(op, a, b, out, name)
    shift = ADD_LEFT_SHIFT[out.dtype]
    reals = add_multipliers(a.scale, b.scale, out.scale, shift)
    if out.dtype == "int16":
        return _call(op, a, b, out, f"tk_{name}_s16", "tk_rescaled_params",
                     rescaled_params(op, a, b, out, reals, shift))
    q1, q2 = smaller_than_one(op, reals[0], "input 1"), smaller_than_one(op, reals[1], "input 2")
    qo = smaller_than_one(op, reals[2], "output")
    lo, hi = fused_activation(op, out)
    t1, t2 = ctx.symbol(op, "in1"), ctx.symbol(op, "in2")
    sign = 1 if op.opcode == "ADD" else -1
    arrays = [ConstArray(t1, "int32_t", add_input_table(a.zero_point, *q1), f"{op.opcode} input 1 rescaled, by byte"),
              ConstArray(t2, "int32_t", add_input_table(b.zero_point, *q2, sign=sign),
                         f"{op.opcode} input 2 rescaled{' and negated' if sign < 0 else ''}, by byte")]
    params = [("shape", shape_field(op, [a, b], out)), ("table1", t1), ("table2", t2),
              ("output_offset", str(int(out.zero_point))), ("output_q", c_quant(*qo)), ("act", c_act(lo, hi))]
    return _call(op, a, b, out, f"tk_{name}_s8", "tk_add_params", params, arrays)


@lowering("MUL")
def lower_mul(op, graph, ctx) -> KernelCall:
    a, b, out = binary_io(op, graph)
    if out.dtype == "int32":
        return _int32_call(op, a, b, out, "mul")
    if out.dtype == "int16" and (a.zero_point or b.zero_point or out.zero_point):
        raise unsupported(op, "zero points", "int16 MUL needs zero points 0 (TFLite Micro checks)")
    lo, hi = fused_activation(op, out)
    real = float(f32(a.scale)) * float(f32(b.scale)) / float(f32(out.scale))
    params = [
        ("shape", shape_field(op, [a, b], out)),
        ("input1_offset", str(-int(a.zero_point))), ("input2_offset", str(-int(b.zero_point))),
        ("output_offset", str(int(out.zero_point))),
        ("output_q", c_quant(*quantize_multiplier(real))),
        ("act", c_act(lo, hi)),
    ]
    return _call(op, a, b, out, f"tk_mul_{SUFFIX[out.dtype]}", "tk_mul_params", params)


@lowering("SQUARED_DIFFERENCE")
def lower_squared_difference(op, graph, ctx) -> KernelCall:
    a, b, out = binary_io(op, graph)
    if out.dtype == "int32":
        return _int32_call(op, a, b, out, "squared_difference")
    shift = SQDIFF_LEFT_SHIFT[out.dtype]
    twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
    denominator = float(np.float32(1 << (2 * shift)) * f32(out.scale))  # int * float: float in TFLM
    reals = (float(f32(a.scale)) / twice_max, float(f32(b.scale)) / twice_max, twice_max * twice_max / denominator)
    function = f"tk_squared_difference_{SUFFIX[out.dtype]}"
    if out.dtype == "int16":
        return _call(op, a, b, out, function, "tk_rescaled_params",
                     rescaled_params(op, a, b, out, reals, shift, output_exact=True))
    qo = quantize_multiplier(reals[2])
    if qo[1] > 30:
        raise unsupported(op, "scales", f"output multiplier {reals[2]:.6g} is too large")
    params, arrays = [("shape", shape_field(op, [a, b], out))], []
    for k, t in enumerate((a, b)):
        symbol = ctx.symbol(op, f"in{k + 1}")
        q = smaller_than_one(op, reals[k], f"input {k + 1}")
        arrays.append(ConstArray(symbol, "int32_t", add_input_table(t.zero_point, *q, left_shift=shift),
                                 f"SQUARED_DIFFERENCE input {k + 1} rescaled, by byte"))
        params.append((f"table{k + 1}", symbol))
    params += [("output_offset", str(int(out.zero_point))), ("output_q", c_quant(*qo)), ("act", c_act(-128, 127))]
    return _call(op, a, b, out, function, "tk_add_params", params, arrays)


@lowering("MAXIMUM", "MINIMUM")
def lower_maximum_minimum(op, graph, ctx) -> KernelCall:
    """TFLM compares the stored values and ignores the quantization (the converter gives inputs and
    output one quantization)."""
    a, b, out = binary_io(op, graph)
    return _call(op, a, b, out, f"tk_{op.opcode.lower()}_{SUFFIX[out.dtype]}", "tk_minmax_params",
                 [("shape", shape_field(op, [a, b], out))])


def div_tables(a, b, out_shift: int) -> dict[str, np.ndarray]:
    """Everything of TFLM's DivElementwise that depends on one input byte (see tk_div_params)."""
    bytes_ = [u if u < 128 else u - 256 for u in range(256)]
    dividend, dividend_shift = [], []
    for sign in (1, -1):
        for x in bytes_:
            v = sign * (x - a.zero_point)
            headroom = fx.count_leading_sign_bits32(v)
            dividend.append(fx.wrap32(v * fx.wrap32(1 << headroom)))
            dividend_shift.append(headroom)
    reciprocal, divisor_shift, divisor_sign = [], [], []
    for y in bytes_:
        v = y - b.zero_point
        inverse, bits_over_unit = fx.get_reciprocal(abs(v), 31)
        reciprocal.append(inverse)
        divisor_shift.append(bits_over_unit - out_shift)
        divisor_sign.append(256 if v < 0 else 0)
    return {"dividend": np.array(dividend, np.int32), "dividend_shift": np.array(dividend_shift, np.int8),
            "reciprocal": np.array(reciprocal, np.int32), "divisor_shift": np.array(divisor_shift, np.int8),
            "divisor_sign": np.array(divisor_sign, np.int16)}


@lowering("DIV")
def lower_div(op, graph, ctx) -> KernelCall:
    """int8: TFLM's reciprocal-based quotient with byte tables; int32: truncating division."""
    a, b, out = binary_io(op, graph, ("int8", "int32"))
    if out.dtype == "int32":
        return _int32_call(op, a, b, out, "div")
    lo, hi = fused_activation(op, out)
    multiplier, shift = quantize_multiplier(float(f32(a.scale) / (f32(b.scale) * f32(out.scale))))
    c_types = {"int32": "int32_t", "int8": "int8_t", "int16": "int16_t"}
    arrays, params = [], [("shape", shape_field(op, [a, b], out))]
    for field, values in div_tables(a, b, shift).items():
        symbol = ctx.symbol(op, field)
        arrays.append(ConstArray(symbol, c_types[str(values.dtype)], values, f"DIV {field.replace('_', ' ')}"))
        params.append((field, symbol))
    params += [("output_multiplier", str(multiplier)), ("output_offset", str(int(out.zero_point))),
               ("act", c_act(lo, hi))]
    return _call(op, a, b, out, "tk_div_s8", "tk_div_params", params, arrays)


@lowering("PRELU")
def lower_prelu(op, graph, ctx) -> KernelCall:
    x, alpha = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    pos = float(f32(x.scale)) / float(f32(out.scale))
    neg = float(f32(x.scale)) * float(f32(alpha.scale)) / float(f32(out.scale))
    params = [
        ("shape", shape_field(op, [x, alpha], out)),
        ("input_offset", str(-int(x.zero_point))), ("alpha_offset", str(-int(alpha.zero_point))),
        ("output_offset", str(int(out.zero_point))),
        ("pos_q", c_quant(*quantize_multiplier(pos))), ("neg_q", c_quant(*quantize_multiplier(neg))),
    ]
    return _call(op, x, alpha, out, f"tk_prelu_{SUFFIX[out.dtype]}", "tk_prelu_params", params)


ADD_N_MAX_INPUTS = 16  # TK_ADD_N_MAX_INPUTS in tk_binary.h


@lowering("ADD_N")
def lower_add_n(op, graph, ctx) -> KernelCall:
    """TFLM's AddN: every input rescaled as ADD's (left shift 20) onto twice the input scale and
    summed, starting from the rescaled byte 0 (not from real zero: a TFLM quirk kept bit for bit)."""
    inputs = graph.op_inputs(op)
    out = graph.op_outputs(op)[0]
    if len(inputs) > ADD_N_MAX_INPUTS:
        raise unsupported(op, "inputs", f"{len(inputs)} (tinykit's ADD_N takes at most {ADD_N_MAX_INPUTS})")
    first = inputs[0]
    twice = 2.0 * float(f32(first.scale))
    q_in = smaller_than_one(op, float(f32(first.scale)) / twice, "input")
    q_out = smaller_than_one(op, twice / (float(1 << ADD_LEFT_SHIFT["int8"]) * float(f32(out.scale))), "output")
    table = add_input_table(first.zero_point, *q_in)
    symbol = ctx.symbol(op, "table")
    pointers = []
    for t in inputs:
        if t.is_constant:
            raise unsupported(op, "inputs", f"constant input tensor {t.index} (tinykit sums arena tensors)")
        pointers.append(ctx.tensor_ptr(t.index, "const int8_t"))
    params = [("size", str(out.num_elements)), ("count", str(len(inputs))),
              ("inputs", "{" + ", ".join(pointers) + "}"), ("table", symbol),
              ("base", str(int(table[0]))), ("output_offset", str(int(out.zero_point))),
              ("output_q", c_quant(*q_out)), ("act", c_act(-128, 127))]
    array = ConstArray(symbol, "int32_t", table, "ADD_N input rescaled, by byte")
    return KernelCall(function="tk_add_n_s8", params_type="tk_add_n_params", params=params, inputs=[],
                      outputs=[out.index], arrays=[array], sources=("tk_binary.c",),
                      comment=f"op {op.index}: ADD_N of {len(inputs)} x {list(out.shape)}")
