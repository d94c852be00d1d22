"""ABS, RSQRT, ELU and L2_NORMALIZATION (int8; ABS int16 too), as TFLite Micro computes them.

ABS, RSQRT and ELU on int8 depend on one byte, so their lowerings evaluate TFLM's Eval for the
256 inputs (ABS: abs of the offset value, requantized when the scales differ; RSQRT: gemmlowp's
Newton inverse square root, ``ops_fixedpoint.inv_sqrt_quantized_multiplier_exp``; ELU: TFLM's own
float32 lookup-table population with the C library's expf) and the kernel looks the result up.
ABS on int16 and L2_NORMALIZATION run their arithmetic in ``tk_unary.c``.
"""

from __future__ import annotations

import math

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
    tflite_round,
)
from tinykit.codegen.ops_activations import BYTE_VALUES, table_call

SOURCES = ("tk_unary.c",)


def _io(op, graph, dtypes=("int8",)):
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", dtypes)
    require_dtype(op, out, "output", (inp.dtype,))
    return inp, out


def abs_multiplier(in_scale: float, out_scale: float) -> tuple[int, int] | None:
    """SetAbsOutputMultiplier, or None when the float32 scales are equal (no rescale)."""
    if f32(in_scale) == f32(out_scale):
        return None
    return quantize_multiplier(float(f32(in_scale)) / float(f32(out_scale)))


def abs_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int):
    """AbsEvalQuantized (int8) of one value, unsaturated."""
    requant = abs_multiplier(in_scale, out_scale)

    def fn(x: int) -> int:
        value = abs(x - in_zp)
        return value + out_zp if requant is None else fx.mbqm(value, *requant) + out_zp

    return fn


def rsqrt_multiplier(in_scale: float, out_scale: float) -> tuple[int, int]:
    """SetRsqrtOutputMultiplier as the pinned runtime computes it: ``1 / (sqrt(in) * out)`` all in
    double from the float32 scales (the fetched source's float32 product is off by one LSB on a
    few int16 inputs)."""
    return quantize_multiplier(1.0 / (math.sqrt(float(f32(in_scale))) * float(f32(out_scale))))


def rsqrt_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int):
    """RsqrtEvalQuantized (int8) of one value (x >= zero point), unsaturated."""
    mult, shift = rsqrt_multiplier(in_scale, out_scale)

    def fn(x: int) -> int:
        value = x - in_zp
        if value <= 0:  # 0 maps to the maximum; below the zero point TFLM fails (kernel checks)
            return 127
        inv_m, inv_s = fx.inv_sqrt_quantized_multiplier_exp(value, -1)
        data = fx.mbqm(1, inv_m, inv_s + 20)
        return fx.mbqm(data, mult, shift - 20) + out_zp

    return fn


def elu_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int):
    """PopulateLookupTable for ELU: float32 dequantize, expf(x) - 1 below zero, float32 rescale
    rounded half away from zero, + zero point."""
    s_in, inverse = f32(in_scale), np.float32(np.float32(1.0) / f32(out_scale))

    def fn(x: int) -> int:
        real = np.float32(s_in * np.float32(x - in_zp))
        transformed = np.float32(lut16.expf(real) - np.float32(1.0)) if real < 0 else real
        rescaled = np.float32(tflite_round(float(np.float32(transformed * inverse))))
        total = float(np.float32(rescaled + np.float32(out_zp)))
        return int(total) if math.isfinite(total) else 127

    return fn


@lowering("ABS")
def lower_abs(op, graph, ctx) -> KernelCall:
    inp, out = _io(op, graph, ("int8", "int16"))
    if inp.dtype == "int8":
        return table_call(op, graph, ctx, abs_fn(inp.scale, inp.zero_point, out.scale, out.zero_point), "ABS")
    mode, requant = 0, (0, 0)
    if inp.quantization is not None:
        found = abs_multiplier(inp.scale, out.scale)
        mode, requant = (1, (0, 0)) if found is None else (2, found)
    return KernelCall(
        function="tk_abs_s16", params_type="tk_abs16_params",
        params=[("size", str(out.num_elements)), ("mode", str(mode)), ("requant", c_quant(*requant))],
        inputs=[inp.index], outputs=[out.index], sources=SOURCES, comment=f"op {op.index}: ABS int16")


@lowering("RSQRT")
def lower_rsqrt(op, graph, ctx) -> KernelCall:
    inp, out = _io(op, graph, ("int8", "int16"))
    if inp.dtype == "int16":
        return KernelCall(
            function="tk_rsqrt_s16", params_type="tk_rsqrt16_params",
            params=[("size", str(out.num_elements)), ("requant", c_quant(*rsqrt_multiplier(inp.scale, out.scale)))],
            inputs=[inp.index], outputs=[out.index], sources=SOURCES, comment=f"op {op.index}: RSQRT int16")
    fn = rsqrt_fn(inp.scale, inp.zero_point, out.scale, out.zero_point)
    table = np.array([min(max(fn(x), -128), 127) for x in BYTE_VALUES], dtype=np.int8)
    name = ctx.symbol(op, "lut")
    return KernelCall(
        function="tk_rsqrt_s8", params_type="tk_rsqrt_params",
        params=[("size", str(out.num_elements)), ("input_zero_point", str(inp.zero_point)), ("table", name)],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(name, "int8_t", table, f"RSQRT table, by input byte; {shape_comment(out)}")],
        sources=SOURCES, comment=f"op {op.index}: RSQRT")


@lowering("ELU")
def lower_elu(op, graph, ctx) -> KernelCall:
    inp, out = _io(op, graph)
    return table_call(op, graph, ctx, elu_fn(inp.scale, inp.zero_point, out.scale, out.zero_point), "ELU")


@lowering("L2_NORMALIZATION")
def lower_l2_normalization(op, graph, ctx) -> KernelCall:
    inp, out = _io(op, graph)
    depth = int(inp.shape[-1])
    return KernelCall(
        function="tk_l2norm_s8", params_type="tk_l2norm_params",
        params=[("outer", str(inp.num_elements // max(depth, 1))), ("depth", str(depth)),
                ("input_zero_point", str(inp.zero_point))],
        inputs=[inp.index], outputs=[out.index], sources=SOURCES, comment=f"op {op.index}: L2_NORMALIZATION")
