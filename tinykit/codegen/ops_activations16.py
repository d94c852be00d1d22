"""Elementwise int16 activations (16x8 models): LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU.

An int16 input has 65536 values, so unlike the int8 path these are not tables of results: the
lowering computes what TFLM's Prepare computes (multipliers with the same float/double steps, the
sigmoid table and its input rescaling from ``lut16``) and ``tk_act16.c`` runs TFLM's Eval
arithmetic per element. ``ops_activations`` dispatches here for int16 tensors.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import lut16
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    c_quant,
    f32,
    quantize_multiplier,
    shape_comment,
    tflite_round,
    unsupported,
)
from tinykit.codegen.quant import INT16_MAX, INT16_MIN

SOURCES = ("tk_act16.c",)


def _call(op, inp, out, function: str, params_type: str, params: list[tuple[str, str]],
          arrays: list[ConstArray] = (), what: str = "") -> KernelCall:
    return KernelCall(function=function, params_type=params_type,
                      params=[("size", str(out.num_elements)), *params],
                      inputs=[inp.index], outputs=[out.index], arrays=list(arrays), sources=SOURCES,
                      comment=f"op {op.index}: {what or op.opcode} int16")


def sigmoid_call(op, inp, out, ctx, function: str, pot_shifts: tuple[int, ...]) -> KernelCall:
    """LOGISTIC (``pot_shifts`` (0,)) or TANH ((0, 1)) on int16."""
    try:
        mult, shift = lut16.sigmoid16_params(inp.scale, inp.zero_point, out.scale, out.zero_point, pot_shifts)
    except ValueError as err:
        raise unsupported(op, "int16 quantization", str(err)) from None
    name = ctx.symbol(op, "sigmoid")
    table = ConstArray(name, "uint16_t", lut16.sigmoid_table_u16(),
                       f"sigmoid(i/24) in Q0.16 (TFLM's table); {shape_comment(inp)}")
    return _call(op, inp, out, function, "tk_sigmoid16_params",
                 [("multiplier", str(mult)), ("shift", str(shift)), ("table", name)], [table])


def leaky_relu_multipliers(in_scale: float, out_scale: float, alpha: float) -> tuple[int, int, int, int]:
    """(identity multiplier, shift, alpha multiplier, shift) as the pinned runtime's LEAKY_RELU
    Prepare computes them: products and quotients of the float32 scales and alpha in double (the
    older float32 products of the fetched TFLM source differ by one LSB on 16x8 models)."""
    s_in, s_out, a = float(f32(in_scale)), float(f32(out_scale)), float(f32(alpha))
    m_id, s_id = quantize_multiplier(s_in / s_out)
    m_alpha, s_alpha = quantize_multiplier(s_in * a / s_out)
    return m_id, s_id, m_alpha, s_alpha


def leaky_relu16(op, inp, out, alpha: float) -> KernelCall:
    """QuantizeLeakyRelu on int16 with the multipliers of ``leaky_relu_multipliers``."""
    m_id, s_id, m_alpha, s_alpha = leaky_relu_multipliers(inp.scale, out.scale, alpha)
    return _call(op, inp, out, "tk_leaky_relu_s16", "tk_leaky_relu16_params", [
        ("input_offset", str(inp.zero_point)), ("output_offset", str(out.zero_point)),
        ("identity", c_quant(m_id, s_id)), ("alpha", c_quant(abs(m_alpha), s_alpha)),
        ("alpha_negative", "1" if m_alpha < 0 else "0")])


def relu16(op, inp, out) -> KernelCall:
    """CalculateReluOpData<int16_t> (zero points are 0, checked by the handler); the pinned runtime
    divides the scales in double, as for int8."""
    mult, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    lo = max(INT16_MIN, out.zero_point + int(tflite_round(float(np.float32(0.0) / f32(out.scale)))))
    return _call(op, inp, out, "tk_relu_s16", "tk_relu16_params",
                 [("requant", c_quant(mult, shift)), ("act_min", str(lo)), ("act_max", str(INT16_MAX))])


def relu6_16(op, inp, out) -> KernelCall:
    """Relu6Prepare: a clamp between the zero point and FloatToQuantizedType<int16_t>(6)."""
    six = int(tflite_round(float(np.float32(6.0) / f32(inp.scale)))) + inp.zero_point
    six = min(max(six, INT16_MIN), INT16_MAX)
    return _call(op, inp, out, "tk_relu6_s16", "tk_relu6_16_params",
                 [("lower", str(inp.zero_point)), ("upper", str(six))])
