"""Lowerings of AVERAGE_POOL_2D and MAX_POOL_2D to tk_pool kernels.

Padding and the activation clamp are computed as TFLite Micro's pooling Prepare does
(``ComputePaddingHeightWidth`` with dilation 1, ``CalculateActivationRangeQuantized``).
"""

from __future__ import annotations

from tinykit.codegen.lowering import (
    KernelCall,
    c_act,
    c_dims,
    compute_out_size,
    compute_padding,
    fused_activation,
    lowering,
    require_dtype,
    unsupported,
)


def _pool_call(op, graph, function: str) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("int8", "int16"))
    require_dtype(op, out, "output", (inp.dtype,))
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
    return _pool_call(op, graph, "tk_avgpool_" + ("s16" if graph.op_inputs(op)[0].dtype == "int16" else "s8"))


@lowering("MAX_POOL_2D")
def lower_maxpool(op, graph, ctx) -> KernelCall:
    return _pool_call(op, graph, "tk_maxpool_" + ("s16" if graph.op_inputs(op)[0].dtype == "int16" else "s8"))
