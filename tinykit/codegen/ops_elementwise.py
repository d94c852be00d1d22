"""Lowerings of ADD and MUL (int8, TFLite broadcasting up to 4-D) to tk_elementwise kernels.

Multipliers follow TFLite Micro's Prepare: ADD's ``left_shift = 20`` general path with
``twice_max_input_scale`` in double (``CalculateOpDataAdd``), MUL's
``double(s1) * double(s2) / double(s_out)`` (``CalculateOpDataMul``).
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen import ops_fixedpoint as fx
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    c_act,
    c_quant,
    f32,
    fused_activation,
    lowering,
    quantize_multiplier,
    require_dtype,
    unsupported,
)

ADD_LEFT_SHIFT = 20


def _dims_init(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def broadcast_fields(op, a_shape, b_shape, out_shape) -> str:
    """The ``tk_broadcast`` initializer: 4-D output and per-input strides (0 along broadcasts)."""
    if max(len(a_shape), len(b_shape), len(out_shape)) > 4:
        raise unsupported(op, "rank", "broadcasting beyond 4 dimensions")
    pad = lambda s: [1] * (4 - len(s)) + [int(d) for d in s]  # noqa: E731
    a, b, out = pad(a_shape), pad(b_shape), pad(out_shape)
    try:
        expect = list(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise unsupported(op, "shapes", f"{list(a_shape)} and {list(b_shape)} do not broadcast") from None
    if expect != out:
        raise unsupported(op, "output shape", f"{list(out_shape)} (broadcast gives {expect})")

    def strides(shape):
        st, acc = [0, 0, 0, 0], 1
        for i in range(3, -1, -1):
            st[i] = acc if shape[i] != 1 or out[i] == 1 else 0
            acc *= shape[i]
        return st

    size = int(np.prod(out))
    flat = a == out and b == out
    return (f"{{{size}, {0 if flat else 1}, {_dims_init(out)}, {_dims_init(strides(a))}, "
            f"{_dims_init(strides(b))}}}")


def _binary_io(op, graph):
    a, b = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    for t, role in ((a, "input 1"), (b, "input 2"), (out, "output")):
        require_dtype(op, t, role)
        if t.quantization is None or len(t.quantization.scale) != 1:
            raise unsupported(op, f"{role} quantization", "needs one per-tensor scale")
    return a, b, out


def add_multipliers(s1: float, s2: float, s_out: float) -> tuple[tuple[int, int], ...]:
    """CalculateOpDataAdd (int8): input1, input2 and output (multiplier, shift)."""
    f1, f2 = f32(s1), f32(s2)
    twice_max = 2.0 * float(max(f1, f2))
    r1 = float(f1) / twice_max
    r2 = float(f2) / twice_max
    r_out = twice_max / (float(1 << ADD_LEFT_SHIFT) * float(f32(s_out)))
    return quantize_multiplier(r1), quantize_multiplier(r2), quantize_multiplier(r_out)


def add_input_table(zero_point: int, multiplier: int, shift: int) -> np.ndarray:
    """Per input byte: MultiplyByQuantizedMultiplierSmallerThanOneExp((x - zp) << 20, m, shift)."""
    values = [fx.rdbpot(fx.srdhm((x - zero_point) * (1 << ADD_LEFT_SHIFT), multiplier), -shift)
              for x in (u if u < 128 else u - 256 for u in range(256))]
    return np.array(values, dtype=np.int32)


@lowering("ADD")
def lower_add(op, graph, ctx) -> KernelCall:
    a, b, out = _binary_io(op, graph)
    lo, hi = fused_activation(op, out)
    q1, q2, qo = add_multipliers(a.scale, b.scale, out.scale)
    if max(q1[1], q2[1], qo[1]) > 0:
        raise unsupported(op, "scales", "a multiplier >= 1 (TFLite requires < 1)")
    t1, t2 = ctx.symbol(op, "in1"), ctx.symbol(op, "in2")
    arrays = [ConstArray(t1, "int32_t", add_input_table(a.zero_point, *q1), "ADD input 1 rescaled, by byte"),
              ConstArray(t2, "int32_t", add_input_table(b.zero_point, *q2), "ADD input 2 rescaled, by byte")]
    params = [
        ("shape", broadcast_fields(op, a.shape, b.shape, out.shape)),
        ("table1", t1), ("table2", t2),
        ("output_offset", str(int(out.zero_point))),
        ("output_q", c_quant(*qo)),
        ("act", c_act(lo, hi)),
    ]
    return KernelCall(function="tk_add_s8", params_type="tk_add_params", params=params,
                      inputs=[a.index, b.index], outputs=[out.index], arrays=arrays, sources=("tk_elementwise.c",),
                      comment=f"op {op.index}: ADD {list(a.shape)} + {list(b.shape)}")


@lowering("MUL")
def lower_mul(op, graph, ctx) -> KernelCall:
    a, b, out = _binary_io(op, graph)
    lo, hi = fused_activation(op, out)
    real = float(f32(a.scale)) * float(f32(b.scale)) / float(f32(out.scale))
    params = [
        ("shape", broadcast_fields(op, a.shape, b.shape, out.shape)),
        ("input1_offset", str(-int(a.zero_point))),
        ("input2_offset", str(-int(b.zero_point))),
        ("output_offset", str(int(out.zero_point))),
        ("output_q", c_quant(*quantize_multiplier(real))),
        ("act", c_act(lo, hi)),
    ]
    return KernelCall(function="tk_mul_s8", params_type="tk_mul_params", params=params,
                      inputs=[a.index, b.index], outputs=[out.index], sources=("tk_elementwise.c",),
                      comment=f"op {op.index}: MUL {list(a.shape)} * {list(b.shape)}")
