"""Lowering of SOFTMAX (int8 -> int8/int16, int16 -> int16) and LOG_SOFTMAX (int8) to tk_softmax.c.

TFLite Micro's int8 softmax (``reference_ops::Softmax`` after ``CalculateSoftmaxParams``) only ever
evaluates ``exp`` on ``x - max_in_row``, an integer in [-255, 0]; the 256 possible Q0.31 results are
computed here with ``PreprocessSoftmaxScaling``'s double-precision multiplier and gemmlowp's
``exp_on_negative_values``, and set to 0 where TFLM skips the element (below ``diff_min``), which
gives the same sum and the same -128 output as the skip. The int8 -> int16 softmax and LOG_SOFTMAX
use the same table; the int16 softmax uses the two interpolated tables of ``lut16``.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import lut16
from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    c_quant,
    f32,
    lowering,
    quantize_multiplier,
    require_dtype,
    shape_comment,
    unsupported,
)

SCALED_DIFF_INTEGER_BITS = 5
SOURCES = ("tk_softmax.c",)


def softmax_exp_table(input_scale: float, beta: float) -> np.ndarray:
    """exp_on_negative_values of the rescaled difference -d, for d = 0..255 (Q0.31)."""
    real = min(float(f32(beta)) * float(f32(input_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    mult, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError("softmax beta * input_scale too small")
    diff_min = -fx.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    table = []
    for d in range(256):
        if -d >= diff_min:
            rescaled = fx.mbqm_greater_than_one(-d, mult, left_shift)
            table.append(fx.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS))
        else:
            table.append(0)
    return np.array(table, dtype=np.int32)


def _rows(inp) -> tuple[int, int]:
    depth = int(inp.shape[-1]) if inp.shape else 1
    return inp.num_elements // max(depth, 1), depth


def _exp_table(op, inp, beta: float) -> np.ndarray:
    try:
        return softmax_exp_table(inp.scale, beta)
    except ValueError:
        raise unsupported(op, "beta", f"{beta:g} with input scale {inp.scale:g}") from None


@lowering("SOFTMAX")
def lower_softmax(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("int8", "int16"))
    require_dtype(op, out, "output", ("int8", "int16"))
    beta = float(op.options.get("beta", 1.0))
    if inp.dtype == "int16":
        return _softmax16(op, inp, out, ctx, beta)
    # output quantization (1/256, -128 or 1/65536, -32768) is checked by the op handler
    outer, depth = _rows(inp)
    name = ctx.symbol(op, "exp")
    return KernelCall(
        function="tk_softmax_s8" if out.dtype == "int8" else "tk_softmax_s8_s16", params_type="tk_softmax_params",
        params=[("outer", str(outer)), ("depth", str(depth)), ("exp_table", name)],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(name, "int32_t", _exp_table(op, inp, beta),
                           f"SOFTMAX exp table (beta {beta:g}), by max - x; {shape_comment(inp)}")],
        sources=SOURCES, comment=f"op {op.index}: SOFTMAX {inp.dtype} -> {out.dtype} {outer}x{depth}")


def _softmax16(op, inp, out, ctx, beta: float) -> KernelCall:
    """SoftmaxInt16: the difference to the row max rescaled so [-65535, 0] maps onto [-10, 0]
    (``beta * input_scale / (10 / 65535)`` in double), then TFLM's two interpolated tables; the
    quantization TFLM requires (zero points 0, output scale 1/32768) is checked by the op handler."""
    mult, shift = quantize_multiplier(float(f32(inp.scale)) * float(f32(beta)) / (10.0 / 65535.0))
    exp_lut, recip_lut = lut16.softmax16_tables()
    exp_name, recip_name = ctx.symbol(op, "exp_lut"), ctx.symbol(op, "recip_lut")
    outer, depth = _rows(inp)
    return KernelCall(
        function="tk_softmax_s16", params_type="tk_softmax16_params",
        params=[("outer", str(outer)), ("depth", str(depth)), ("input_rescale", c_quant(mult, shift)),
                ("exp_lut", exp_name), ("recip_lut", recip_name)],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(exp_name, "int16_t", exp_lut, "exp on [-10, 0], 513 points (LUTPopulate<int16_t>)"),
                ConstArray(recip_name, "int16_t", recip_lut, "1 / (1 + x) on [0, 1], 513 points")],
        sources=SOURCES, comment=f"op {op.index}: SOFTMAX int16 {outer}x{depth}")


LOG_SOFTMAX_OUTPUT = (16.0 / 256, 127)


def log_softmax_params(input_scale: float) -> tuple[int, int, int, int, int]:
    """PreprocessLogSoftmaxScalingExp (beta 1): (multiplier, left shift, diff_min, reverse
    multiplier, reverse shift); ValueError where TFLM's checks fail."""
    real = min(float(f32(input_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    mult, left_shift = quantize_multiplier(real)
    if left_shift < 1:  # (1 << (31 - 0)) overflows TFLM's int arithmetic; its CHECKs then abort
        raise ValueError("input scale too large")
    reverse_real = float(1 << (31 - left_shift)) / float(mult)
    rev_mult, rev_shift = quantize_multiplier(reverse_real)
    if not 0.0 < reverse_real < 1.0 or rev_shift > 0:
        raise ValueError("input scale out of range")
    diff_min = -fx.calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    return mult, left_shift, diff_min, rev_mult, rev_shift


@lowering("LOG_SOFTMAX")
def lower_log_softmax(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    if (f32(out.scale), out.zero_point) != (np.float32(LOG_SOFTMAX_OUTPUT[0]), LOG_SOFTMAX_OUTPUT[1]):
        raise unsupported(op, "output quantization",
                          f"scale {out.scale:g} zero point {out.zero_point} (TFLite needs 16/256, 127)")
    try:
        mult, left_shift, diff_min, rev_mult, rev_shift = log_softmax_params(inp.scale)
    except ValueError as err:
        raise unsupported(op, "input scale", f"{inp.scale:g}: {err}") from None
    diffs = np.array([fx.mbqm(-d, mult, left_shift) for d in range(256)], dtype=np.int32)
    exp_name, diff_name = ctx.symbol(op, "exp"), ctx.symbol(op, "diff")
    outer, depth = _rows(inp)
    return KernelCall(
        function="tk_log_softmax_s8", params_type="tk_log_softmax_params",
        params=[("outer", str(outer)), ("depth", str(depth)), ("exp_table", exp_name), ("diff_table", diff_name),
                ("diff_min", str(diff_min)), ("reverse", c_quant(rev_mult, rev_shift))],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(exp_name, "int32_t", _exp_table(op, inp, 1.0), f"LOG_SOFTMAX exp table, by max - x; "
                                                                          f"{shape_comment(inp)}"),
                ConstArray(diff_name, "int32_t", diffs, "LOG_SOFTMAX rescaled differences (Q5.26), by max - x")],
        sources=SOURCES, comment=f"op {op.index}: LOG_SOFTMAX {outer}x{depth}")
