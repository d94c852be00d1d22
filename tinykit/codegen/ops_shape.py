"""Lowerings of the data-movement ops PAD (constant) and CONCATENATION (any axis).

PAD fills with the output zero point, as TFLite Micro's int8 PAD does without a constant-values
input. CONCATENATION copies bytes exactly like TFLM (which does not requantize int8 inputs; the
converter inserts QUANTIZE ops instead); input pointers go in the params because their number
varies, and constant inputs become arrays.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    c_dims,
    lowering,
    require_dtype,
    shape_comment,
    unsupported,
)


@lowering("PAD")
def lower_pad(op, graph, ctx) -> KernelCall:
    inp, pads_t = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    if pads_t is None or not pads_t.is_constant:
        raise unsupported(op, "paddings", "non-constant")
    rank = len(inp.shape)
    if rank > 4:
        raise unsupported(op, "rank", f"{rank} (at most 4)")
    pads = np.asarray(pads_t.data, dtype=np.int64).reshape(-1, 2)
    if pads.shape[0] != rank or (pads < 0).any():
        raise unsupported(op, "paddings", f"{pads.tolist()}")
    before = [0] * (4 - rank) + [int(p) for p in pads[:, 0]]
    expect = [int(d + p0 + p1) for d, (p0, p1) in zip(inp.shape, pads.tolist(), strict=True)]
    if list(out.shape) != expect:
        raise unsupported(op, "output shape", f"{list(out.shape)} (expected {expect})")
    params = [
        ("input", c_dims(inp.shape)),
        ("output", c_dims(out.shape)),
        ("before", "{" + ", ".join(str(b) for b in before) + "}"),
        ("value", str(int(out.zero_point))),
    ]
    return KernelCall(function="tk_pad_s8", params_type="tk_pad_params", params=params,
                      inputs=[inp.index], outputs=[out.index], sources=("tk_pad.c",),
                      comment=f"op {op.index}: PAD {pads.tolist()}")


def _input_pointer(op, graph, ctx, t, k: int, arrays: list[ConstArray]) -> str:
    if t.is_constant:
        name = ctx.symbol(op, f"in{k}")
        arrays.append(ConstArray(name, "int8_t", np.asarray(t.data, dtype=np.int8), shape_comment(t)))
        return name
    return f"(const int8_t *){ctx.tensor_ptr(t.index)}"


@lowering("CONCATENATION")
def lower_concat(op, graph, ctx) -> KernelCall:
    ins = [t for t in graph.op_inputs(op) if t is not None]
    out = graph.op_outputs(op)[0]
    require_dtype(op, out, "output")
    for k, t in enumerate(ins):
        require_dtype(op, t, f"input {k}")
    act = str(op.options.get("fused_activation_function", "NONE") or "NONE").upper()
    if act != "NONE":
        raise unsupported(op, "fused_activation_function", act)
    rank = len(out.shape)
    axis = int(op.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank or any(len(t.shape) != rank for t in ins):
        raise unsupported(op, "axis", f"{op.options.get('axis')} for rank {rank}")
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    inner = int(np.prod(out.shape[axis + 1:], dtype=np.int64))
    sizes = np.array([int(t.shape[axis]) * inner for t in ins], dtype=np.int32)
    if int(sizes.sum()) * outer != out.num_elements:
        raise unsupported(op, "shapes", "inputs do not add up to the output")
    arrays: list[ConstArray] = []
    sizes_name = ctx.symbol(op, "sizes")
    arrays.append(ConstArray(sizes_name, "int32_t", sizes, "CONCATENATION bytes per outer row, per input"))
    pointers = [_input_pointer(op, graph, ctx, t, k, arrays) for k, t in enumerate(ins)]
    params = [
        ("num_inputs", str(len(ins))),
        ("outer", str(outer)),
        ("sizes", sizes_name),
        ("inputs", "(const int8_t *const[]){" + ", ".join(pointers) + "}"),
    ]
    return KernelCall(function="tk_concat_s8", params_type="tk_concat_params", params=params,
                      inputs=[], outputs=[out.index], arrays=arrays, sources=("tk_concat.c",),
                      comment=f"op {op.index}: CONCATENATION of {len(ins)} on axis {axis}")
