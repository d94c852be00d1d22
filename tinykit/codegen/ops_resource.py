"""READ_VARIABLE / ASSIGN_VARIABLE: byte copies between a resource variable's state tensor and an
activation, as TFLite Micro's memcpy (the reader lowered the resources to state tensors)."""

from __future__ import annotations

from typing import Any

from tinykit.codegen.lowering import KernelCall, LoweringContext, lowering


def _copy(source: int, dest: int, nbytes: int) -> KernelCall:
    """The RESHAPE byte copy: the state tensor lives in its own region, so the two never overlap."""
    return KernelCall("tk_reshape_s8", "tk_reshape_params", [("bytes", str(nbytes))], [source], [dest],
                      sources=("tk_reshape.c",))


@lowering("READ_VARIABLE")
def lower_read_variable(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    return _copy(op.inputs[0], op.outputs[0], graph.tensors[op.outputs[0]].nbytes)


@lowering("ASSIGN_VARIABLE")
def lower_assign_variable(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    return _copy(op.inputs[1], op.inputs[0], graph.tensors[op.inputs[0]].nbytes)
