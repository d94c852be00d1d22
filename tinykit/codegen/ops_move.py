"""Lowerings of the view and split ops: STRIDED_SLICE, SLICE, TRANSPOSE, BROADCAST_TO, REVERSE_V2,
SPACE_TO_DEPTH, DEPTH_TO_SPACE (``tk_strided_copy``) and SPLIT, SPLIT_V, UNPACK (``tk_split``).

The op handler (:mod:`tinykit.ir.ops.move`) owns each op's index semantics as a strided view;
this module only merges the axes that stay contiguous (fewer, longer rows for the kernel) and
prints the params. Kernels are element-size generic: ``_s8``, ``_s16``, ``_s32`` by tensor type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinykit.codegen.lowering import C_TYPES, ConstArray, KernelCall, LoweringContext, lowering, shape_comment
from tinykit.errors import CodegenError
from tinykit.ir.ops import op_handler
from tinykit.ir.ops.move import StridedView

MAX_DIMS = 6  # TK_MOVE_MAX_DIMS
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32"}


def kernel(base: str, tensor: Any) -> str:
    """``tk_<base>_s8`` / ``_s16`` / ``_s32`` for the tensor's element size."""
    if tensor.dtype not in SUFFIX:
        raise CodegenError(f"internal: no {base} kernel for {tensor.dtype} tensors")
    return f"tk_{base}_{SUFFIX[tensor.dtype]}"


def c_ints(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def merge_axes(view: StridedView) -> tuple[list[int], list[int]]:
    """Extents and strides with unit axes dropped and contiguous neighbours merged."""
    axes: list[list[int]] = []
    for n, s in zip(view.shape, view.strides, strict=True):
        if n == 1:
            continue
        if axes and axes[-1][1] == s * n:
            axes[-1] = [axes[-1][0] * n, s]
        else:
            axes.append([n, s])
    axes = axes or [[1, 1]]
    if len(axes) > MAX_DIMS:
        raise CodegenError(f"internal: a {len(axes)}-axis view (the kernel takes {MAX_DIMS})")
    return [a[0] for a in axes], [a[1] for a in axes]


def strided_call(op: Any, graph: Any, view: StridedView, comment: str) -> KernelCall:
    """``tk_strided_copy`` of input 0 into output 0 along ``view``."""
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    shape, strides = merge_axes(view)
    params = [("rank", str(len(shape))), ("shape", c_ints(shape)), ("stride", c_ints(strides)),
              ("offset", str(view.offset))]
    return KernelCall(kernel("strided_copy", out), "tk_strided_copy_params", params, [inp.index], [out.index],
                      sources=("tk_move.c",), comment=f"op {op.index}: {op.opcode} {comment}".rstrip())


def pointer_list(op: Any, ctx: LoweringContext, tensors: list[Any], arrays: list[ConstArray], const: bool) -> str:
    """A compound literal of pointers to ``tensors`` (arena slots; constants become arrays)."""
    items = []
    for k, t in enumerate(tensors):
        c_type = C_TYPES[t.dtype]
        if t.is_constant:
            name = ctx.symbol(op, f"in{k}")
            arrays.append(ConstArray(name, c_type, np.asarray(t.data), shape_comment(t)))
            items.append(name)
        else:
            items.append(f"(void *){ctx.tensor_ptr(t.index, c_type)}")
    qualifier = "const void *const" if const else "void *const"
    return f"({qualifier}[]){{" + ", ".join(items) + "}"


def table_call(op: Any, graph: Any, ctx: LoweringContext, tables: list[np.ndarray], inner: int,
               comment: str) -> KernelCall:
    """``tk_table_copy``: per-axis tables of input element offsets, ``inner`` contiguous elements."""
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    name = ctx.symbol(op, "table")
    values = np.concatenate(tables).astype(np.int32)
    arrays = [ConstArray(name, "int32_t", values, f"{op.opcode} input element offset per output index, per axis")]
    params = [("rank", str(len(tables))), ("shape", c_ints([len(t) for t in tables])), ("table", name),
              ("inner", str(inner))]
    return KernelCall(kernel("table_copy", out), "tk_table_copy_params", params, [inp.index], [out.index], arrays,
                      sources=("tk_move.c",), comment=f"op {op.index}: {op.opcode} {comment}")


def _view_comment(op: Any, graph: Any) -> str:
    shapes = [list(t.shape) for t in graph.op_inputs(op)[:1] + graph.op_outputs(op)]
    return f"{shapes[0]} -> {shapes[1]}"


@lowering("STRIDED_SLICE", "SLICE", "TRANSPOSE", "BROADCAST_TO", "REVERSE_V2", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE")
def lower_view(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    return strided_call(op, graph, op_handler(op.opcode).view(op, graph), _view_comment(op, graph))


@lowering("SPLIT", "SPLIT_V", "UNPACK")
def lower_split(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    handler = op_handler(op.opcode)
    plan = handler.plan(op, graph)
    inp, outs = graph.op_inputs(op)[handler.data_input], graph.op_outputs(op)
    arrays = [ConstArray(ctx.symbol(op, "sizes"), "int32_t", np.array(plan.sizes, np.int32),
                         f"{op.opcode} elements per outer row, per output")]
    params = [("num_outputs", str(len(outs))), ("outer", str(plan.outer)), ("sizes", arrays[0].c_name),
              ("outputs", pointer_list(op, ctx, outs, arrays, const=False))]
    return KernelCall(kernel("split", inp), "tk_split_params", params, [inp.index], [], arrays,
                      sources=("tk_move.c",), comment=f"op {op.index}: {op.opcode} into {len(outs)}")
