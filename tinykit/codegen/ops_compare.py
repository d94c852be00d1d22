"""Lowerings of the comparisons, SELECT_V2 and the logical ops to ``tk_compare`` kernels.

int8 comparisons follow TFLM's ``ComparisonsPrepare``: each input is shifted left by 8 and scaled
by ``QuantizeMultiplierSmallerThanOneExp(double(scale))`` (tabulated per byte here), and the two
rescaled values are compared. int32 and bool compare the stored values.
"""

from __future__ import annotations

from tinykit.codegen.loops import LoopError, broadcast_nest, c_broadcast
from tinykit.codegen.lowering import ConstArray, KernelCall, lowering, unsupported
from tinykit.codegen.ops_binary import add_input_table, shape_field, smaller_than_one

COMPARE_OPS = {"EQUAL": "TK_CMP_EQUAL", "NOT_EQUAL": "TK_CMP_NOT_EQUAL", "LESS": "TK_CMP_LESS",
               "LESS_EQUAL": "TK_CMP_LESS_EQUAL", "GREATER": "TK_CMP_GREATER",
               "GREATER_EQUAL": "TK_CMP_GREATER_EQUAL"}
COMPARE_LEFT_SHIFT = 8
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "bool": "b8"}


@lowering(*COMPARE_OPS)
def lower_compare(op, graph, ctx) -> KernelCall:
    a, b = graph.op_inputs(op)[:2]
    out = graph.op_outputs(op)[0]
    params = [("shape", shape_field(op, [a, b], out)), ("op", COMPARE_OPS[op.opcode])]
    arrays, tables = [], ["0", "0"]
    if a.dtype == "int8":
        for k, t in enumerate((a, b)):
            q = smaller_than_one(op, float(t.scale), f"input {k + 1}")
            tables[k] = ctx.symbol(op, f"in{k + 1}")
            values = add_input_table(t.zero_point, *q, left_shift=COMPARE_LEFT_SHIFT)
            arrays.append(ConstArray(tables[k], "int32_t", values, f"{op.opcode} input {k + 1} rescaled, by byte"))
    params += [("table1", tables[0]), ("table2", tables[1])]
    return KernelCall(function=f"tk_compare_{SUFFIX[a.dtype]}", params_type="tk_compare_params", params=params,
                      inputs=[a.index, b.index], outputs=[out.index], arrays=arrays, sources=("tk_compare.c",),
                      comment=f"op {op.index}: {op.opcode} {a.dtype} {list(a.shape)}, {list(b.shape)}")


@lowering("SELECT_V2")
def lower_select_v2(op, graph, ctx) -> KernelCall:
    cond, x, y = graph.op_inputs(op)
    out = graph.op_outputs(op)[0]
    try:
        shape = c_broadcast(broadcast_nest([cond.shape, x.shape, y.shape], out.shape))
    except LoopError as err:
        raise unsupported(op, "shapes", str(err)) from None
    return KernelCall(function=f"tk_select_v2_{SUFFIX[out.dtype]}", params_type="tk_select_params",
                      params=[("shape", shape)], inputs=[cond.index, x.index, y.index], outputs=[out.index],
                      sources=("tk_compare.c",), comment=f"op {op.index}: SELECT_V2 -> {list(out.shape)}")


@lowering("LOGICAL_AND", "LOGICAL_OR")
def lower_logical(op, graph, ctx) -> KernelCall:
    a, b = graph.op_inputs(op)
    out = graph.op_outputs(op)[0]
    return KernelCall(function=f"tk_{op.opcode.lower()}_b8", params_type="tk_select_params",
                      params=[("shape", shape_field(op, [a, b], out))], inputs=[a.index, b.index],
                      outputs=[out.index], sources=("tk_compare.c",), comment=f"op {op.index}: {op.opcode}")


@lowering("LOGICAL_NOT")
def lower_logical_not(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    return KernelCall(function="tk_logical_not_b8", params_type="tk_logical_not_params",
                      params=[("size", str(out.num_elements))], inputs=[inp.index], outputs=[out.index],
                      sources=("tk_compare.c",), comment=f"op {op.index}: LOGICAL_NOT")
