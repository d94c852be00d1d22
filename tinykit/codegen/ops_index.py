"""Lowerings of the index-driven ops: GATHER, EMBEDDING_LOOKUP, GATHER_ND, DYNAMIC_UPDATE_SLICE
(``tk_gather.c``); the loop sizes are the handlers' plans (:mod:`tinykit.ir.ops.gather`)."""

from __future__ import annotations

from typing import Any

from tinykit.codegen.lowering import KernelCall, LoweringContext, lowering
from tinykit.codegen.ops_move import c_ints, kernel
from tinykit.ir.ops import op_handler
from tinykit.ir.ops.gather import MAX_INDICES_ND, MAX_UPDATE_RANK


def _gather_call(op: Any, data: int, coords: int, sizes: tuple[int, int, int, int, int]) -> KernelCall:
    names = ("batch", "outer", "axis_size", "coords", "inner")
    return KernelCall("tk_gather_s8", "tk_gather_params", [(n, str(v)) for n, v in zip(names, sizes, strict=True)],
                      [data, coords], [op.outputs[0]], sources=("tk_gather.c",),
                      comment=f"op {op.index}: {op.opcode}")


@lowering("GATHER")
def lower_gather(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    p = op_handler(op.opcode).plan(op, graph)
    return _gather_call(op, op.inputs[0], op.inputs[1], (p.batch, p.outer, p.axis_size, p.coords, p.inner))


@lowering("EMBEDDING_LOOKUP")
def lower_embedding_lookup(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    lookup, value = graph.op_inputs(op)[:2]
    return _gather_call(op, value.index, lookup.index,
                        (1, 1, value.shape[0], lookup.shape[0], value.num_elements // value.shape[0]))


@lowering("GATHER_ND")
def lower_gather_nd(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    p = op_handler(op.opcode).plan(op, graph)
    counts = list(p.dim_counts) + [0] * (MAX_INDICES_ND - len(p.dim_counts))
    params = [("slices", str(p.slices)), ("nd", str(p.nd)), ("slice_size", str(p.slice_size)),
              ("params_size", str(p.params_size)), ("dim_counts", c_ints(counts))]
    return KernelCall("tk_gather_nd_s8", "tk_gather_nd_params", params, [op.inputs[0], op.inputs[1]],
                      [op.outputs[0]], sources=("tk_gather.c",), comment=f"op {op.index}: GATHER_ND")


@lowering("DYNAMIC_UPDATE_SLICE")
def lower_dynamic_update_slice(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    operand, update, starts = graph.op_inputs(op)[:3]
    pad = [0] * (MAX_UPDATE_RANK - len(operand.shape))
    params = [("rank", str(len(operand.shape))), ("operand", c_ints(list(operand.shape) + pad)),
              ("update", c_ints(list(update.shape) + pad)), ("indices_64", "1" if starts.dtype == "int64" else "0")]
    return KernelCall(kernel("dynamic_update_slice", operand), "tk_dynamic_update_slice_params", params,
                      list(op.inputs[:3]), [op.outputs[0]], sources=("tk_gather.c",),
                      comment=f"op {op.index}: DYNAMIC_UPDATE_SLICE {list(update.shape)} into {list(operand.shape)}")
