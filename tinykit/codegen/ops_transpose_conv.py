"""Lowering of TRANSPOSE_CONV (int8 and 16x8).

TFLite Micro computes the padding as for a convolution from the *output* size back to the input
(``ComputePaddingHeightWidth`` on the output's height and width, dilation 1) and per-channel
multipliers as for CONV_2D. The int8 kernel sums in int32 and requantizes with gemmlowp's
``MultiplyByQuantizedMultiplier`` plus the output zero point; the 16x8 kernel sums in int64 (an
int16 bias is widened) and requantizes with the int64 form, ignoring the int16 zero points. The
weights are split here into one convolution matrix per output phase (see tk_transpose_conv.c).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    c_dims,
    compute_out_size,
    compute_padding,
    dims4,
    fused_activation,
    lowering,
    require_dtype,
    shape_comment,
    unsupported,
)
from tinykit.codegen.ops_conv import conv_filter_pairs
from tinykit.codegen.ops_conv16 import channel_multipliers, permute_groups, s16_output_stage
from tinykit.ir.ops.transpose_conv import TRANSPOSE_CONV_BIAS_TYPES, transpose_conv_scratch_bytes


def phase_filters(w: np.ndarray, stride_h: int, stride_w: int) -> tuple[np.ndarray, list[int]]:
    """OHWI weights -> the concatenated per-phase convolution matrices of tk_transpose_conv.c and
    each phase's byte offset: phase (ry, rx) takes taps fy = ry + a * stride_h, fx = rx + b * stride_w,
    as [pair][k / 4][2][4 permuted] with k = (a, b, input channel)."""
    out_c = w.shape[0]
    parts, offsets, offset = [], [], 0
    for ry in range(stride_h):
        for rx in range(stride_w):
            taps = w[:, ry::stride_h, rx::stride_w, :].reshape(out_c, -1)
            part = permute_groups(conv_filter_pairs(taps)) if taps.shape[1] else np.zeros(0, np.int8)
            parts.append(part)
            offsets.append(offset)
            offset += part.size
    return np.concatenate(parts).astype(np.int8), offsets


def _io(op: Any, graph: Any) -> tuple[Any, Any, Any, Any]:
    inputs = graph.op_inputs(op)
    weights, inp = inputs[1], inputs[2]
    bias = inputs[3] if len(inputs) > 3 else None
    out = graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("int8", "int16"))
    require_dtype(op, out, "output", (inp.dtype,))
    require_dtype(op, weights, "weights", ("int8",))
    if not weights.is_constant or (bias is not None and not bias.is_constant):
        raise unsupported(op, "weights", "non-constant weights or bias")
    if bias is not None:
        require_dtype(op, bias, "bias", TRANSPOSE_CONV_BIAS_TYPES[inp.dtype])
    if weights.quantization is None or any(z != 0 for z in weights.quantization.zero_point):
        raise unsupported(op, "weights zero point", "missing or non-zero quantization")
    return inp, weights, bias, out


def _padding(op: Any, out: Any, kh: int, kw: int) -> tuple[int, int]:
    o = op.options
    _, oh, ow, _ = dims4(out.shape)
    sh, sw = int(o["stride_h"]), int(o["stride_w"])
    pad_h = compute_padding(sh, 1, oh, kh, compute_out_size(o["padding"], oh, kh, sh, 1))
    pad_w = compute_padding(sw, 1, ow, kw, compute_out_size(o["padding"], ow, kw, sw, 1))
    return pad_h, pad_w


@lowering("TRANSPOSE_CONV")
def lower_transpose_conv(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, weights, bias, out = _io(op, graph)
    s8 = inp.dtype == "int8"
    out_c, kh, kw, in_c = weights.shape
    sh, sw = int(op.options["stride_h"]), int(op.options["stride_w"])
    w = np.asarray(weights.data, np.int8)
    mults, shifts = channel_multipliers(op, inp, weights, out, out_c)
    arrays, rq = s16_output_stage(ctx, op, w.reshape(out_c, -1), bias, mults, shifts, fused_activation(op, out),
                                  int32_acc=s8, output_offset=out.zero_point if s8 else 0)
    filters, offsets = phase_filters(w, sh, sw)
    names = {k: ctx.symbol(op, k) for k in ("filter", "phases")}
    arrays += [ConstArray(names["filter"], "int8_t", filters,
                          shape_comment(weights) + f", split into {sh * sw} phase matrices [pair][k/4][2][4 permuted]"),
               ConstArray(names["phases"], "int32_t", np.asarray(offsets, np.int32),
                          "byte offset of each output phase's matrix")]
    pad_h, pad_w = _padding(op, out, kh, kw)
    params = [("input", c_dims(inp.shape)), ("output", c_dims(out.shape)), ("filter_h", str(kh)),
              ("filter_w", str(kw)), ("stride_h", str(sh)), ("stride_w", str(sw)), ("pad_h", str(pad_h)),
              ("pad_w", str(pad_w)), ("input_offset", str(-inp.zero_point if s8 else 0)),
              ("filter_data", names["filter"]), ("phase_offsets", names["phases"]), ("rq", rq)]
    kind = "s8" if s8 else "s16"
    return KernelCall(f"tk_transpose_conv_{kind}", "tk_transpose_conv_params", params, [op.inputs[2]],
                      [op.outputs[0]], arrays, scratch_bytes=transpose_conv_scratch_bytes(kh, kw, sh, sw, in_c),
                      sources=("tk_transpose_conv.c",))
