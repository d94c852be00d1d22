"""CAST, ZEROS_LIKE and FILL lowered to ``tk_cast.c`` (element conversion, raw zeros, a repeated scalar)."""

from __future__ import annotations

from tinykit.codegen.lowering import KernelCall, lowering, require_dtype
from tinykit.ir.graph import DTYPE_BYTES
from tinykit.ir.ops.convert import CAST_INPUTS, CAST_OUTPUTS

SOURCES = ("tk_cast.c",)
_TYPE_CODES = {"int8": "TK_T_INT8", "int16": "TK_T_INT16", "int32": "TK_T_INT32", "uint32": "TK_T_UINT32",
               "float32": "TK_T_FLOAT32", "bool": "TK_T_BOOL"}


@lowering("CAST")
def lower_cast(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", CAST_INPUTS)
    require_dtype(op, out, "output", CAST_OUTPUTS)
    return KernelCall(
        function="tk_cast", params_type="tk_cast_params",
        params=[("size", str(out.num_elements)), ("from", _TYPE_CODES[inp.dtype]), ("to", _TYPE_CODES[out.dtype])],
        inputs=[inp.index], outputs=[out.index], sources=SOURCES,
        comment=f"op {op.index}: CAST {inp.dtype} -> {out.dtype}")


@lowering("ZEROS_LIKE")
def lower_zeros_like(op, graph, ctx) -> KernelCall:
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    return KernelCall(
        function="tk_zeros", params_type="tk_zeros_params", params=[("bytes", str(out.nbytes))],
        inputs=[inp.index], outputs=[out.index], sources=SOURCES, comment=f"op {op.index}: ZEROS_LIKE {out.dtype}")


@lowering("FILL")
def lower_fill(op, graph, ctx) -> KernelCall:
    value, out = graph.op_inputs(op)[1], graph.op_outputs(op)[0]  # the dims are the output's shape
    return KernelCall(
        function="tk_fill", params_type="tk_fill_params",
        params=[("size", str(out.num_elements)), ("elem_bytes", str(DTYPE_BYTES[out.dtype]))],
        inputs=[value.index], outputs=[out.index], sources=SOURCES,
        comment=f"op {op.index}: FILL {out.dtype} {'x'.join(str(d) for d in out.shape)}")
