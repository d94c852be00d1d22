"""Lowering of SOFTMAX (int8 -> int8) to tk_softmax with a precomputed exp table.

TFLite Micro's int8 softmax (``reference_ops::Softmax`` after ``CalculateSoftmaxParams``) only ever
evaluates ``exp`` on ``x - max_in_row``, an integer in [-255, 0]; the 256 possible Q0.31 results are
computed here with ``PreprocessSoftmaxScaling``'s double-precision multiplier and gemmlowp's
``exp_on_negative_values``, and set to 0 where TFLM skips the element (below ``diff_min``), which
gives the same sum and the same -128 output as the skip.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    f32,
    lowering,
    quantize_multiplier,
    require_dtype,
    shape_comment,
    unsupported,
)

SCALED_DIFF_INTEGER_BITS = 5


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


@lowering("SOFTMAX")
def lower_softmax(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    if out.zero_point != -128 or f32(out.scale) != np.float32(1.0 / 256):
        raise unsupported(op, "output quantization",
                          f"scale {out.scale:g} zero point {out.zero_point} (TFLite needs 1/256, -128)")
    beta = float(op.options.get("beta", 1.0))
    try:
        table = softmax_exp_table(inp.scale, beta)
    except ValueError:
        raise unsupported(op, "beta", f"{beta:g} with input scale {inp.scale:g}") from None
    depth = int(inp.shape[-1]) if inp.shape else 1
    outer = inp.num_elements // max(depth, 1)
    name = ctx.symbol(op, "exp")
    return KernelCall(
        function="tk_softmax_s8", params_type="tk_softmax_params",
        params=[("outer", str(outer)), ("depth", str(depth)), ("exp_table", name)],
        inputs=[inp.index], outputs=[out.index],
        arrays=[ConstArray(name, "int32_t", table,
                           f"SOFTMAX exp table (beta {beta:g}), by max - x; {shape_comment(inp)}")],
        sources=("tk_softmax.c",), comment=f"op {op.index}: SOFTMAX {outer}x{depth}")
