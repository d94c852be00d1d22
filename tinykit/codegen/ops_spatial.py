"""Lowerings of RESIZE_NEAREST_NEIGHBOR and BATCH_TO_SPACE_ND (``tk_table_copy``), RESIZE_BILINEAR
and SPACE_TO_BATCH_ND (``tk_resize.c``). The index arithmetic is the handlers'
(:mod:`tinykit.ir.ops.spatial`); here it becomes per-row and per-column tables of element offsets."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import ConstArray, KernelCall, LoweringContext, c_dims, lowering
from tinykit.codegen.ops_move import table_call
from tinykit.ir.ops import op_handler


@lowering("RESIZE_NEAREST_NEIGHBOR")
def lower_resize_nearest(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    n, h, w, c = graph.op_inputs(op)[0].shape
    ys, xs = op_handler(op.opcode).indices(op, graph)
    tables = [np.arange(n) * h * w * c, np.array(ys) * w * c, np.array(xs) * c]
    flags = {k: bool(op.options.get(k)) for k in ("align_corners", "half_pixel_centers")}
    return table_call(op, graph, ctx, tables, c, f"{h}x{w} -> {len(ys)}x{len(xs)} {flags}")


@lowering("BATCH_TO_SPACE_ND")
def lower_batch_to_space(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    """out[n, h, w] = in[((h+ct) % bh * bw + (w+cl) % bw) * N + n, (h+ct) / bh, (w+cl) / bw]: a sum
    of one term per output axis, so three tables (TFLM's loop, inverted)."""
    handler = op_handler(op.opcode)
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    _, h, w, c = handler.nhwc(inp.shape)
    n, oh, ow, _ = handler.nhwc(out.shape)
    (bh, bw), ((ct, _), (cl, _)) = handler.geometry(op, graph)
    image = h * w * c
    hh, ww = np.arange(oh) + ct, np.arange(ow) + cl
    tables = [np.arange(n) * image, (hh % bh) * bw * n * image + (hh // bh) * w * c,
              (ww % bw) * n * image + (ww // bw) * c]
    return table_call(op, graph, ctx, tables, c, f"block {bh}x{bw} crops top {ct} left {cl}")


@lowering("RESIZE_BILINEAR")
def lower_resize_bilinear(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    n, h, w, c = inp.shape
    ys, xs = op_handler(op.opcode).axes(op, graph)
    rows = np.stack([np.array(ys.lo) * w * c, np.array(ys.hi) * w * c, ys.frac], axis=1)
    cols = np.stack([np.array(xs.lo) * c, np.array(xs.hi) * c, xs.frac], axis=1)
    arrays = [ConstArray(ctx.symbol(op, "rows"), "int32_t", rows.astype(np.int32),
                         "RESIZE_BILINEAR per output row: input row y0, y1 (element offsets), 10-bit fraction"),
              ConstArray(ctx.symbol(op, "cols"), "int32_t", cols.astype(np.int32),
                         "RESIZE_BILINEAR per output column: input column x0, x1 (element offsets), 10-bit fraction")]
    params = [("batches", str(n)), ("out_h", str(out.shape[1])), ("out_w", str(out.shape[2])), ("channels", str(c)),
              ("batch_stride", str(h * w * c)), ("rows", arrays[0].c_name), ("cols", arrays[1].c_name)]
    flags = {k: bool(op.options.get(k)) for k in ("align_corners", "half_pixel_centers")}
    return KernelCall("tk_resize_bilinear_s8", "tk_resize_bilinear_params", params, [inp.index], [out.index], arrays,
                      sources=("tk_resize.c",), comment=f"op {op.index}: RESIZE_BILINEAR {h}x{w} -> "
                                                         f"{out.shape[1]}x{out.shape[2]} {flags}")


@lowering("SPACE_TO_BATCH_ND")
def lower_space_to_batch(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    handler = op_handler(op.opcode)
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    (bh, bw), ((pt, _), (pl, _)) = handler.geometry(op, graph)
    params = [("input", c_dims(handler.nhwc(inp.shape))), ("output", c_dims(handler.nhwc(out.shape))),
              ("block_h", str(bh)), ("block_w", str(bw)), ("pad_top", str(pt)), ("pad_left", str(pl))]
    return KernelCall("tk_space_to_batch_s8", "tk_space_to_batch_params", params, [inp.index], [out.index],
                      sources=("tk_resize.c",), comment=f"op {op.index}: SPACE_TO_BATCH_ND block {bh}x{bw}")
