"""Lowerings of AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (over H, W) to tk_pool / tk_mean kernels.

Padding and the activation clamp are computed as TFLite Micro's pooling Prepare does
(``ComputePaddingHeightWidth`` with dilation 1, ``CalculateActivationRangeQuantized``). MEAN picks
the same integer path TFLM's ``EvalMean`` would take for the model and precomputes its multiplier.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen.lowering import (
    KernelCall,
    c_act,
    c_dims,
    c_quant,
    compute_out_size,
    compute_padding,
    dims4,
    f32,
    fused_activation,
    lowering,
    quantize_multiplier,
    require_dtype,
    unsupported,
)


def _pool_call(op, graph, function: str) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    if len(inp.shape) != 4:
        raise unsupported(op, "input rank", f"{len(inp.shape)} (pooling needs NHWC)")
    o = op.options
    padding = str(o.get("padding", "VALID")).upper()
    if padding not in ("SAME", "VALID"):
        raise unsupported(op, "padding", padding)
    fh, fw = int(o["filter_height"]), int(o["filter_width"])
    sh, sw = int(o["stride_h"]), int(o["stride_w"])
    _, in_h, in_w, _ = inp.shape
    out_h = compute_out_size(padding, in_h, fh, sh, 1)
    out_w = compute_out_size(padding, in_w, fw, sw, 1)
    if (out_h, out_w) != tuple(out.shape[1:3]):
        raise unsupported(op, "output shape", f"{list(out.shape)} (expected H,W {out_h},{out_w})")
    lo, hi = fused_activation(op, out)
    params = [
        ("input", c_dims(inp.shape)),
        ("output", c_dims(out.shape)),
        ("filter_h", str(fh)), ("filter_w", str(fw)),
        ("stride_h", str(sh)), ("stride_w", str(sw)),
        ("pad_h", str(compute_padding(sh, 1, in_h, fh, out_h))),
        ("pad_w", str(compute_padding(sw, 1, in_w, fw, out_w))),
        ("act", c_act(lo, hi)),
    ]
    return KernelCall(function=function, params_type="tk_pool_params", params=params,
                      inputs=[inp.index], outputs=[out.index], sources=("tk_pool.c",),
                      comment=f"op {op.index}: {op.opcode} {fh}x{fw}/{sh}x{sw} {padding}")


@lowering("AVERAGE_POOL_2D")
def lower_avgpool(op, graph, ctx) -> KernelCall:
    return _pool_call(op, graph, "tk_avgpool_s8")


@lowering("MAX_POOL_2D")
def lower_maxpool(op, graph, ctx) -> KernelCall:
    return _pool_call(op, graph, "tk_maxpool_s8")


MEAN_REQUANT_ROUND, MEAN_FOLDED, MEAN_TRUNCATE = 0, 1, 2
# Older TFLM releases ran keep_dims 4-D H,W means through reference_integer_ops::Mean; the pinned
# runtime no longer does (the op zoo's mean_hw_keepdims case tells them apart).
LEGACY_KEEP_DIMS_SPECIAL_CASE = False
# ... and ran equal-quantization means through a truncating reference_ops::Mean; the pinned runtime
# sends every int8 mean through QuantizedMeanOrSum (op zoo: mean_same_quant).
LEGACY_SAME_QUANT_TRUNCATE = False


def folded_mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum: fold 1/count into (multiplier, shift) with int64 integer arithmetic."""
    s = count.bit_length() - 1  # 63 - CountLeadingZeros(uint64 count)
    s = min(s, 32, 31 + shift)
    return int((multiplier << s) // count), shift - s


def mean_mode(keep_dims: bool, axes: list[int], rank: int, in_t, out_t) -> int:
    """Which integer path TFLM's EvalMean takes (see tk_mean.h)."""
    if LEGACY_KEEP_DIMS_SPECIAL_CASE and keep_dims and rank == 4 and sorted(axes) == [1, 2]:
        return MEAN_REQUANT_ROUND
    if LEGACY_SAME_QUANT_TRUNCATE and in_t.zero_point == out_t.zero_point and f32(in_t.scale) == f32(out_t.scale):
        return MEAN_TRUNCATE
    return MEAN_FOLDED


@lowering("MEAN")
def lower_mean(op, graph, ctx) -> KernelCall:
    inp, axes_t = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    if axes_t is None or not axes_t.is_constant:
        raise unsupported(op, "axes", "non-constant")
    rank = len(inp.shape)
    axes = [int(a) % rank for a in np.ravel(axes_t.data)]
    if rank != 4 or sorted(set(axes)) != [1, 2]:
        raise unsupported(op, "axes", f"{axes} (tinykit supports MEAN over H,W of NHWC)")
    _, h, w, _ = dims4(inp.shape)
    mult, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    mode = mean_mode(bool(op.options.get("keep_dims", False)), axes, rank, inp, out)
    if mode == MEAN_FOLDED:
        mult, shift = folded_mean_multiplier(mult, shift, h * w)
    params = [
        ("input", c_dims(inp.shape)),
        ("mode", str(mode)),
        ("input_zero_point", str(int(inp.zero_point))),
        ("output_zero_point", str(int(out.zero_point))),
        ("quant", c_quant(mult, shift)),
    ]
    return KernelCall(function="tk_mean_s8", params_type="tk_mean_params", params=params,
                      inputs=[inp.index], outputs=[out.index], sources=("tk_mean.c",),
                      comment=f"op {op.index}: MEAN over H,W ({h}x{w}), mode {mode}")
