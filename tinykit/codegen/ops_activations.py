"""Elementwise activations: int8 lowered to table lookups, int16 to ``ops_activations16``.

An int8 -> int8 elementwise op has only 256 possible inputs, so the lowering runs TFLite Micro's
exact integer arithmetic (its Prepare-time multipliers, then its Eval-time fixed-point code, see
``ops_fixedpoint``) on each of them at generation time and the C kernel is ``out = table[in]``.
That is bit-exact by construction, removes every multiply from the device, and costs 256 bytes of
flash per op. ``table_call`` and ``BYTE_VALUES`` serve every other int8 table op too (QUANTIZE,
ELU, ABS, RSQRT).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinykit.codegen import ops_activations16 as act16
from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    f32,
    lowering,
    quantize_multiplier,
    require_dtype,
    shape_comment,
    tflite_round,
    unsupported,
)
from tinykit.codegen.quant import saturating_int

INT8_MIN, INT8_MAX = -128, 127
LUT_SOURCES = ("tk_lut.c",)

# The 256 int8 values in the order of their unsigned byte (the C kernel indexes by (uint8_t)x).
BYTE_VALUES = [u if u < 128 else u - 256 for u in range(256)]


def _clamp8(v: int) -> int:
    return INT8_MIN if v < INT8_MIN else INT8_MAX if v > INT8_MAX else v


def _io(op, graph, in_dtypes=("int8",), out_dtypes=("int8",)):
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", in_dtypes)
    require_dtype(op, out, "output", out_dtypes)
    return inp, out


def table_call(op, graph, ctx, fn: Callable[[int], int], what: str) -> KernelCall:
    """A ``tk_lut_s8`` call whose table is ``fn`` applied to every int8 value."""
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    table = np.array([_clamp8(fn(x)) for x in BYTE_VALUES], dtype=np.int8)
    name = ctx.symbol(op, "lut")
    return KernelCall(
        function="tk_lut_s8",
        params_type="tk_lut_params",
        params=[("size", str(out.num_elements)), ("table", name)],
        inputs=[inp.index],
        outputs=[out.index],
        arrays=[ConstArray(name, "int8_t", table, f"{what} table, by input byte; {shape_comment(out)}")],
        sources=LUT_SOURCES,
        comment=what,
    )


# ---- per-op integer semantics (TFLM Prepare + reference Eval), one int8 value at a time ------


def _q4_saturating_fn(in_scale: float, in_zp: int, body: Callable[[int, int, int], int]) -> Callable[[int], int]:
    """LOGISTIC/TANH share their Prepare: a frexp multiplier onto a Q4 input and an input radius
    beyond which the output saturates; ``body(v, mult, shift)`` computes the value inside it."""
    mult, shift = fx.frexp_multiplier(float(f32(in_scale)) * float(1 << 27))
    radius = fx.calculate_input_radius(4, shift, 31)

    def fn(x: int) -> int:
        v = x - in_zp
        if v <= -radius:
            return INT8_MIN
        if v >= radius:
            return INT8_MAX
        return body(v, mult, shift)

    return fn


def logistic_fn(in_scale: float, in_zp: int) -> Callable[[int], int]:
    """reference_integer_ops::Logistic with LogisticPrepare's frexp multiplier (Q4 input)."""
    return _q4_saturating_fn(
        in_scale, in_zp, lambda v, mult, shift: fx.rdbpot(fx.logistic(fx.mbqm(v, mult, shift), 4), 23) - 128)


def tanh_fn(in_scale: float, in_zp: int) -> Callable[[int], int]:
    """reference_integer_ops::Tanh (int8) with TanhPrepare's frexp multiplier (Q4 input)."""
    return _q4_saturating_fn(
        in_scale, in_zp, lambda v, mult, shift: fx.rdbpot(fx.tanh(fx.mbqm(v, mult, shift), 4), 24))


def relu_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> Callable[[int], int]:
    """ReluQuantized: requantize to the output grid, then clamp at the output's zero."""
    mult, shift = quantize_multiplier(float(f32(in_scale)) / float(f32(out_scale)))
    lo = max(INT8_MIN, out_zp + int(tflite_round(float(np.float32(0.0) / f32(out_scale)))))

    def fn(x: int) -> int:
        return min(max(out_zp + fx.mbqm(x - in_zp, mult, shift), lo), INT8_MAX)

    return fn


def relu6_fn(in_scale: float, in_zp: int) -> Callable[[int], int]:
    """Relu6Quantized: a clamp on the input grid between zero and FloatToQuantizedType(6)."""
    with np.errstate(over="ignore"):
        six = _clamp8(saturating_int(tflite_round(float(np.float32(6.0) / f32(in_scale)))) + in_zp)

    def fn(x: int) -> int:
        return six if x > six else in_zp if x < in_zp else x

    return fn


def leaky_mbqm(v: int, multiplier: int, shift: int) -> int:
    """reference QuantizeLeakyRelu's product: a negative (alpha) multiplier is made positive and
    the rounded result negated, which differs from a signed multiply at rounding ties."""
    if multiplier < 0:
        return -fx.mbqm(v, -multiplier, shift)
    return fx.mbqm(v, multiplier, shift)


def leaky_relu_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int, alpha: float):
    """reference_ops::QuantizeLeakyRelu of one value (unsaturated)."""
    m_id, s_id, m_alpha, s_alpha = act16.leaky_relu_multipliers(in_scale, out_scale, alpha)

    def fn(x: int) -> int:
        v = x - in_zp
        if v >= 0:
            return out_zp + fx.mbqm(v, m_id, s_id)
        return out_zp + leaky_mbqm(v, m_alpha, s_alpha)

    return fn


def _sat_left_shift16(value: int, amount: int) -> int:
    return max(fx.INT16_MIN, min(fx.INT16_MAX, value * (1 << amount)))


def hard_swish_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int):
    """reference_ops::HardSwish<int8> with HardSwishPrepare's float32 scales and int16 multipliers."""
    hires = np.float32(np.float32(1.0 / 128.0) * f32(in_scale))
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    m_out32, e_out = quantize_multiplier(float(np.float32(hires / f32(out_scale))))
    if e_out > 0:
        raise ValueError("hard swish output multiplier exponent > 0")
    m_out = fx.downscale_int32_to_int16_multiplier(m_out32)
    m_rel32, e_rel = quantize_multiplier(float(np.float32(hires / reluish_scale)))
    m_rel = fx.downscale_int32_to_int16_multiplier(m_rel32)

    def fn(x: int) -> int:
        v = fx.wrap16(x - in_zp)
        hires_v = fx.wrap16(v * 128)
        preshift_out = fx.srdhm(hires_v, m_out, 16)
        reluish = hires_v
        if e_rel > 0:
            reluish = _sat_left_shift16(reluish, e_rel - 1)
        reluish = fx.srdhm(reluish, m_rel, 16)
        if e_rel > 0:
            reluish = _sat_left_shift16(reluish, 1)
        if e_rel < 0:
            reluish = fx.rdbpot16(reluish, -e_rel)
        reluish = fx.wrap16((reluish + (1 << 15)) >> 1)
        # SaturatingDoublingHighMul: truncating, not rounding
        if reluish == preshift_out == fx.INT16_MIN:
            pre = fx.INT16_MAX
        else:
            pre = fx.wrap16(fx.trunc_div(reluish * preshift_out, 1 << 15))
        out = fx.wrap16(fx.rdbpot16(pre, -e_out) + out_zp)
        return out

    return fn


# ---- lowerings ------------------------------------------------------------------------------


def _unary_io(op, graph, dtypes=("int8", "int16")):
    """Input and output of a same-type unary op (int16 goes to ``ops_activations16``)."""
    inp, out = _io(op, graph, dtypes, dtypes)
    if inp.dtype != out.dtype:
        raise unsupported(op, "output type", f"{out.dtype} for an {inp.dtype} input")
    return inp, out


@lowering("LOGISTIC")
def lower_logistic(op, graph, ctx) -> KernelCall:
    inp, out = _unary_io(op, graph)
    if inp.dtype == "int16":
        return act16.sigmoid_call(op, inp, out, ctx, "tk_logistic_s16", (0,))
    if out.zero_point != -128:
        raise unsupported(op, "output zero point", f"{out.zero_point} (TFLite requires -128)")
    return table_call(op, graph, ctx, logistic_fn(inp.scale, inp.zero_point), "LOGISTIC")


@lowering("TANH")
def lower_tanh(op, graph, ctx) -> KernelCall:
    inp, out = _unary_io(op, graph)
    if inp.dtype == "int16":
        return act16.sigmoid_call(op, inp, out, ctx, "tk_tanh_s16", (0, 1))
    return table_call(op, graph, ctx, tanh_fn(inp.scale, inp.zero_point), "TANH")


@lowering("RELU")
def lower_relu(op, graph, ctx) -> KernelCall:
    inp, out = _unary_io(op, graph)
    if inp.dtype == "int16":
        return act16.relu16(op, inp, out)
    fn = relu_fn(inp.scale, inp.zero_point, out.scale, out.zero_point)
    return table_call(op, graph, ctx, fn, "RELU")


@lowering("RELU6")
def lower_relu6(op, graph, ctx) -> KernelCall:
    inp, out = _unary_io(op, graph)
    if inp.dtype == "int16":
        return act16.relu6_16(op, inp, out)
    return table_call(op, graph, ctx, relu6_fn(inp.scale, inp.zero_point), "RELU6")


@lowering("LEAKY_RELU")
def lower_leaky_relu(op, graph, ctx) -> KernelCall:
    inp, out = _unary_io(op, graph)
    alpha = float(op.options.get("alpha", 0.2))
    if inp.dtype == "int16":
        return act16.leaky_relu16(op, inp, out, alpha)
    fn = leaky_relu_fn(inp.scale, inp.zero_point, out.scale, out.zero_point, alpha)
    return table_call(op, graph, ctx, fn, "LEAKY_RELU")


@lowering("HARD_SWISH")
def lower_hard_swish(op, graph, ctx) -> KernelCall:
    inp, out = _io(op, graph)
    try:
        fn = hard_swish_fn(inp.scale, inp.zero_point, out.scale, out.zero_point)
    except ValueError:
        raise unsupported(op, "scales", "input scale / (128 * output scale) >= 1 (TFLite rejects it)") from None
    return table_call(op, graph, ctx, fn, "HARD_SWISH")
