"""QUANTIZE between float32, int8, int16 and int32, and DEQUANTIZE to float32.

TFLM's QUANTIZE from float32 is ``AffineQuantize`` (float32 division, round half away from zero);
between integer types it is ``reference_ops::Requantize`` with ``QuantizeMultiplier(double(in
scale) / double(out scale))``. From int8 the result depends on one byte, so the lowering
evaluates that arithmetic for the 256 inputs and the kernel is a lookup (``tk_lut.c``, into int8,
int16 or int32); from int16/int32 the kernel requantizes per element (``tk_quantize.c``).
DEQUANTIZE from int8 is a 256-entry float table; from int16 a float32 multiply (same bits as
TFLM's double product, see ``tk_quantize.h``).
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.lowering import (
    C_TYPES,
    ConstArray,
    KernelCall,
    c_float,
    c_quant,
    f32,
    lowering,
    quantize_multiplier,
    require_dtype,
    shape_comment,
    unsupported,
)
from tinykit.codegen.ops_activations import BYTE_VALUES, table_call

_LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-(1 << 31), (1 << 31) - 1)}
_SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32"}


def requantize_multiplier(in_scale: float, out_scale: float) -> tuple[int, int]:
    """PrepareQuantizeReference: ``double(float in) / double(float out)``, QuantizeMultiplier."""
    return quantize_multiplier(float(f32(in_scale)) / float(f32(out_scale)))


def requantize_fn(in_scale: float, in_zp: int, out_scale: float, out_zp: int, out_dtype: str = "int8"):
    """reference_ops::Requantize of one value, saturated to ``out_dtype``."""
    mult, shift = requantize_multiplier(in_scale, out_scale)
    lo, hi = _LIMITS[out_dtype]
    return lambda x: min(max(fx.wrap32(fx.mbqm(fx.wrap32(x - in_zp), mult, shift) + out_zp), lo), hi)


def _widening_table(op, inp, out, ctx) -> KernelCall:
    """int8 -> int16/int32: the requantized value of each byte, looked up."""
    fn = requantize_fn(inp.scale, inp.zero_point, out.scale, out.zero_point, out.dtype)
    name, suffix = ctx.symbol(op, "lut"), _SUFFIX[out.dtype]
    table = np.array([fn(x) for x in BYTE_VALUES], dtype=out.dtype)
    return KernelCall(
        function=f"tk_lut_s8_{suffix}", params_type=f"tk_lut_{suffix}_params",
        params=[("size", str(out.num_elements)), ("table", name)],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(name, C_TYPES[out.dtype], table, f"QUANTIZE int8 -> {out.dtype} table, by input byte; "
                                                             f"{shape_comment(out)}")],
        sources=("tk_lut.c",), comment=f"op {op.index}: QUANTIZE int8 -> {out.dtype}")


def _requantize_call(op, inp, out) -> KernelCall:
    mult, shift = requantize_multiplier(inp.scale, out.scale)
    a, b = _SUFFIX[inp.dtype], _SUFFIX[out.dtype]
    return KernelCall(
        function=f"tk_requantize_{a}" if a == b else f"tk_requantize_{a}_{b}",
        params_type="tk_requantize_params",
        params=[("size", str(out.num_elements)), ("input_zero_point", str(inp.zero_point)),
                ("output_zero_point", str(out.zero_point)), ("requant", c_quant(mult, shift))],
        inputs=[inp.index], outputs=[out.index], sources=("tk_quantize.c",),
        comment=f"op {op.index}: QUANTIZE {inp.dtype} -> {out.dtype}")


def _affine_call(op, inp, out) -> KernelCall:
    return KernelCall(
        function=f"tk_quantize_{_SUFFIX[out.dtype]}", params_type="tk_quantize_params",
        params=[("size", str(out.num_elements)), ("scale", c_float(out.scale)),
                ("zero_point", str(int(out.zero_point)))],
        inputs=[inp.index], outputs=[out.index], sources=("tk_quantize.c",),
        comment=f"op {op.index}: QUANTIZE float32 -> {out.dtype}")


@lowering("QUANTIZE")
def lower_quantize(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("float32", "int8", "int16", "int32"))
    require_dtype(op, out, "output", ("int8", "int16", "int32"))
    if out.quantization is None or len(out.quantization.scale) != 1:
        raise unsupported(op, "output quantization", "QUANTIZE needs a per-tensor output scale")
    if inp.dtype == "float32":
        if out.dtype == "int32":
            raise unsupported(op, "output type", "float32 -> int32 (TFLite Micro refuses it)")
        return _affine_call(op, inp, out)
    if inp.dtype == "int8" and out.dtype == "int8":
        fn = requantize_fn(inp.scale, inp.zero_point, out.scale, out.zero_point)
        return table_call(op, graph, ctx, fn, "QUANTIZE (int8 requantize)")
    if inp.dtype == "int8":
        return _widening_table(op, inp, out, ctx)
    if inp.dtype == "int32" and out.dtype == "int32":
        raise unsupported(op, "output type", "int32 -> int32 (TFLite Micro refuses it)")
    return _requantize_call(op, inp, out)


def dequantize_table(scale: float, zero_point: int) -> np.ndarray:
    """``(float)((double)scale * (x - zero_point))`` for every byte, as reference Dequantize."""
    s = float(f32(scale))
    return np.array([np.float32(s * (x - zero_point)) for x in BYTE_VALUES], dtype=np.float32)


@lowering("DEQUANTIZE")
def lower_dequantize(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("int8", "int16"))
    require_dtype(op, out, "output", ("float32",))
    if inp.dtype == "int16":
        return KernelCall(
            function="tk_dequantize_s16", params_type="tk_quantize_params",
            params=[("size", str(out.num_elements)), ("scale", c_float(inp.scale)),
                    ("zero_point", str(int(inp.zero_point)))],
            inputs=[inp.index], outputs=[out.index], sources=("tk_quantize.c",),
            comment=f"op {op.index}: DEQUANTIZE int16 -> float32")
    name = ctx.symbol(op, "table")
    return KernelCall(
        function="tk_dequantize_s8",
        params_type="tk_dequantize_params",
        params=[("size", str(out.num_elements)), ("table", name)],
        inputs=[inp.index],
        outputs=[out.index],
        arrays=[ConstArray(name, "float", dequantize_table(inp.scale, inp.zero_point),
                           f"DEQUANTIZE table, by input byte; {shape_comment(inp)}")],
        sources=("tk_quantize.c",),
        comment="DEQUANTIZE int8 -> float32",
    )
