"""Lowerings of PAD, PADV2, MIRROR_PAD, CONCATENATION, PACK and EXPAND_DIMS.

PAD/PADV2 fill with TFLite Micro's value (see :func:`tinykit.ir.ops.shape.pad_value`).
MIRROR_PAD is a table-driven copy: TFLM's per-element ``GetInputDimension`` is evaluated here for
every output index of every axis. CONCATENATION and PACK copy bytes exactly like TFLM (no
requantization: its Prepare requires equal quantization); input pointers go in the params because
their number varies, and constant inputs become arrays. EXPAND_DIMS is an alias like RESHAPE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import ConstArray, KernelCall, LoweringContext, lowering
from tinykit.codegen.ops_conv import lower_reshape
from tinykit.codegen.ops_move import c_ints, kernel, pointer_list, table_call
from tinykit.ir.ops import op_handler
from tinykit.ir.ops.move import row_major_strides
from tinykit.ir.ops.shape import MAX_PAD_RANK, pad_value, paddings

lowering("EXPAND_DIMS")(lower_reshape)


@lowering("PAD", "PADV2")
def lower_pad(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    pads = paddings(op, graph)
    lead = MAX_PAD_RANK - len(pads)
    params = [
        ("input", c_ints([1] * lead + list(inp.shape))),
        ("output", c_ints([1] * lead + list(out.shape))),
        ("before", c_ints([0] * lead + [p[0] for p in pads])),
        ("value", str(pad_value(op, graph))),
    ]
    return KernelCall(kernel("pad", out), "tk_pad_params", params, [inp.index], [out.index], sources=("tk_pad.c",),
                      comment=f"op {op.index}: {op.opcode} {[list(p) for p in pads]}")


def mirror_index(i: int, before: int, size: int, reflect: bool) -> int:
    """TFLM's ``GetInputDimension``: the input index mirrored to output index ``i``."""
    offset = 1 if reflect else 0
    if i < before:
        original = before + offset - 1
        return original - min(i, original - offset)
    i -= before
    if i >= size:
        i -= size
        original = size - (1 + offset)
        return original - min(i, original)
    return i


@lowering("MIRROR_PAD")
def lower_mirror_pad(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp = graph.op_inputs(op)[0]
    pads = paddings(op, graph, ("int32", "int64"))
    reflect = op_handler(op.opcode).reflect(op)
    shape, strides = list(inp.shape), row_major_strides(inp.shape)
    inner = 1
    while len(shape) > 1 and pads[len(shape) - 1] == (0, 0):  # unpadded trailing axes copy as blocks
        inner *= shape.pop()
    tables = [np.array([mirror_index(i, a, d, reflect) * s for i in range(a + d + b)])
              for d, (a, b), s in zip(shape, pads, strides, strict=False)]
    mode = "REFLECT" if reflect else "SYMMETRIC"
    return table_call(op, graph, ctx, tables, inner, f"{mode} {[list(p) for p in pads]}")


def _concat_call(op: Any, graph: Any, ctx: LoweringContext, outer: int, sizes: list[int], comment: str) -> KernelCall:
    ins = [t for t in graph.op_inputs(op) if t is not None]
    out = graph.op_outputs(op)[0]
    arrays = [ConstArray(ctx.symbol(op, "sizes"), "int32_t", np.array(sizes, np.int32),
                         f"{op.opcode} elements per outer row, per input")]
    params = [("num_inputs", str(len(ins))), ("outer", str(outer)), ("sizes", arrays[0].c_name),
              ("inputs", pointer_list(op, ctx, ins, arrays, const=True))]
    return KernelCall(kernel("concat", out), "tk_concat_params", params, [], [out.index], arrays,
                      sources=("tk_concat.c",), comment=f"op {op.index}: {op.opcode} {comment}")


@lowering("CONCATENATION")
def lower_concat(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    ins = [t for t in graph.op_inputs(op) if t is not None]
    out = graph.op_outputs(op)[0]
    axis = op_handler(op.opcode).axis(op, graph)
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    inner = int(np.prod(out.shape[axis + 1:], dtype=np.int64))
    return _concat_call(op, graph, ctx, outer, [int(t.shape[axis]) * inner for t in ins],
                        f"of {len(ins)} on axis {axis}")


@lowering("PACK")
def lower_pack(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    handler = op_handler(op.opcode)
    outer, size = handler.rows(op, graph)
    return _concat_call(op, graph, ctx, outer, [size] * len(op.inputs),
                        f"of {len(op.inputs)} on axis {handler.axis(op, graph)}")
