"""READ_VARIABLE and ASSIGN_VARIABLE: byte copies out of and into a resource variable's state tensor.

By the time a handler sees them the reader has lowered every resource (:mod:`tinykit.ir.resources`):
input 0 is the variable's state tensor, no longer a resource handle. VAR_HANDLE and CALL_ONCE never
reach a handler (they do nothing at run time once the variables are state tensors).
"""

from __future__ import annotations

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import OpHandler, register, require_activation_types

#: a copy is exact for any fixed-size integer type (float models are refused as a whole)
COPY_TYPES = ("int8", "int16", "int32")


class _Copy(OpHandler):
    """TFLite Micro memcpy's the bytes: no quantization is read, shapes only have to hold as many bytes
    (the reader checked that against the variable's size)."""

    activation_types = COPY_TYPES
    quantized_inputs = frozenset()
    quantized_outputs = False

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, COPY_TYPES)

    def output_shapes(self, op: Operator, graph: Graph) -> list[tuple[int, ...]] | None:
        return None


@register
class ReadVariable(_Copy):
    opcode = "READ_VARIABLE"


@register
class AssignVariable(_Copy):
    """The op with no output: it writes input 0, the variable's state tensor."""

    opcode = "ASSIGN_VARIABLE"
    num_inputs = (2, 2)
    num_outputs = (0, 0)
