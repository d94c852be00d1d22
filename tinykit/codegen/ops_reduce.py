"""Lowerings of the reductions (MEAN, SUM, REDUCE_MAX/MIN/ALL over any axes), ARG_MAX/ARG_MIN and
CUMSUM to ``tk_reduce`` kernels.

MEAN and SUM follow TFLM's ``QuantizedMeanOrSum`` for int8 and int16 (every integer mean goes
through it in the pinned runtime, whatever keep_dims or the quantizations): multiplier
``QuantizeMultiplier(double(s_in) / double(s_out))``, for MEAN with 1/count folded in by int64
integer arithmetic. CUMSUM rescales like ADD (left shift 20) and starts, as TFLM, from the rescaled
byte 0.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen.loops import LoopError, axis_split, c_loops, reduce_nests
from tinykit.codegen.lowering import ConstArray, KernelCall, c_quant, f32, lowering, quantize_multiplier, unsupported
from tinykit.codegen.ops_binary import ADD_LEFT_SHIFT, SUFFIX, add_input_table, smaller_than_one


def resolved_axes(op, graph, rank: int) -> list[int]:
    """Axes of input 1, normalised and de-duplicated (TFLM's ResolveAxis)."""
    axes: list[int] = []
    for a in np.ravel(graph.op_inputs(op)[1].data):
        a = int(a) + rank if int(a) < 0 else int(a)
        if a not in axes:
            axes.append(a)
    return axes


def folded_mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum: fold 1/count into (multiplier, shift) with int64 integer arithmetic."""
    s = count.bit_length() - 1  # 63 - CountLeadingZeros(uint64 count)
    s = min(s, 32, 31 + shift)
    return int((multiplier << s) // count), shift - s


def _reduce_call(op, graph, function: str, quant: tuple[int, int] = (0, 0)) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    axes = resolved_axes(op, graph, len(inp.shape))
    try:
        outer, inner = reduce_nests(inp.shape, axes)
        params = [("outer", c_loops(outer)), ("inner", c_loops(inner))]
    except LoopError as err:
        raise unsupported(op, "axes", str(err)) from None
    if outer.size != out.num_elements:
        raise unsupported(op, "output shape", f"{list(out.shape)} (the reduction gives {outer.size} elements)")
    params += [("count", str(inner.size)), ("input_zero_point", str(int(inp.zero_point))),
               ("output_zero_point", str(int(out.zero_point))), ("quant", c_quant(*quant))]
    return KernelCall(function=function, params_type="tk_reduce_params", params=params, inputs=[inp.index],
                      outputs=[out.index], sources=("tk_reduce.c",),
                      comment=f"op {op.index}: {op.opcode} of {list(inp.shape)} over axes {axes}")


@lowering("MEAN", "SUM")
def lower_mean_sum(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    multiplier, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    if op.opcode == "MEAN":
        axes = resolved_axes(op, graph, len(inp.shape))
        count = int(np.prod([inp.shape[a] for a in axes], dtype=np.int64))
        multiplier, shift = folded_mean_multiplier(multiplier, shift, max(count, 1))
    if shift > 30:
        raise unsupported(op, "scales", f"output multiplier 2^{shift} is too large")
    return _reduce_call(op, graph, f"tk_{op.opcode.lower()}_{SUFFIX[inp.dtype]}", (multiplier, shift))


@lowering("REDUCE_MAX", "REDUCE_MIN", "REDUCE_ALL")
def lower_reduce_extreme(op, graph, ctx) -> KernelCall:
    """No arithmetic: TFLM requires one quantization in and out (int8) or takes bool."""
    return _reduce_call(op, graph, f"tk_{op.opcode.lower()}_{SUFFIX[graph.op_inputs(op)[0].dtype]}")


def _axis(op, graph) -> tuple[int, int, int]:
    inp = graph.op_inputs(op)[0]
    (axis,) = resolved_axes(op, graph, len(inp.shape))[:1]
    return axis_split(inp.shape, axis)


@lowering("ARG_MAX", "ARG_MIN")
def lower_arg_min_max(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    before, axis, after = _axis(op, graph)
    params = [("before", str(before)), ("axis", str(axis)), ("after", str(after))]
    return KernelCall(function=f"tk_{op.opcode.lower()}_s8", params_type="tk_arg_params", params=params,
                      inputs=[inp.index], outputs=[out.index], sources=("tk_reduce.c",),
                      comment=f"op {op.index}: {op.opcode} of {list(inp.shape)}, {axis} along the axis")


@lowering("CUMSUM")
def lower_cumsum(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    if inp.dtype != "int8" or out.dtype != "int8":
        raise unsupported(op, "types", f"{inp.dtype} -> {out.dtype} (TFLite Micro runs int8 CUMSUM)")
    before, axis, after = _axis(op, graph)
    twice = 2.0 * float(f32(inp.scale))
    q_in = smaller_than_one(op, float(f32(inp.scale)) / twice, "input")
    q_out = smaller_than_one(op, twice / (float(1 << ADD_LEFT_SHIFT["int8"]) * float(f32(out.scale))), "output")
    table = add_input_table(inp.zero_point, *q_in)
    symbol = ctx.symbol(op, "table")
    params = [("before", str(before)), ("axis", str(axis)), ("after", str(after)),
              ("exclusive", str(int(bool(op.options.get("exclusive", False))))),
              ("reverse", str(int(bool(op.options.get("reverse", False))))),
              ("table", symbol), ("base", str(int(table[0]))), ("output_offset", str(int(out.zero_point))),
              ("output_q", c_quant(*q_out))]
    return KernelCall(function="tk_cumsum_s8", params_type="tk_cumsum_params", params=params, inputs=[inp.index],
                      outputs=[out.index], arrays=[ConstArray(symbol, "int32_t", table, "CUMSUM input rescaled")],
                      sources=("tk_reduce.c",), comment=f"op {op.index}: CUMSUM of {list(inp.shape)}")
