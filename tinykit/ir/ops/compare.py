"""Comparisons, selection and logic: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL,
SELECT_V2, LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT.

Comparisons produce bool tensors (one byte, 0 or 1). The element types per op are the ones TFLite
Micro's kernels run: int8 for all six (compared after TFLM's input rescaling), int32 for all six,
bool for EQUAL and NOT_EQUAL. TFLM also registers an int16 GREATER, but its Prepare never sets the
int16 rescaling parameters, so the result depends on uninitialised memory: refused. The int32/bool
versions fold on the host.
"""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported
from tinykit.ir.ops.binary import broadcast_shape, require_per_tensor, require_same_types

_COMPARE = {
    "EQUAL": ("EqualOptions", ("int8", "int32", "bool"), np.equal),
    "NOT_EQUAL": ("NotEqualOptions", ("int8", "int32", "bool"), np.not_equal),
    "LESS": ("LessOptions", ("int8", "int32"), np.less),
    "LESS_EQUAL": ("LessEqualOptions", ("int8", "int32"), np.less_equal),
    "GREATER": ("GreaterOptions", ("int8", "int32"), np.greater),
    "GREATER_EQUAL": ("GreaterEqualOptions", ("int8", "int32"), np.greater_equal),
}


class _Compare(OpHandler):
    num_inputs = (2, 2)
    activation_types = ("int8", "int16", "int32", "bool")  # int16: refused with TFLM's reason below
    input_types: tuple[str, ...] = ()

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        a, b, out = input_tensor(graph, op, 0), input_tensor(graph, op, 1), output_tensor(graph, op)
        require_same_types(op, [a, b])
        if a.dtype == "int16" and self.opcode == "GREATER":
            raise unsupported(op, "int16 inputs (TFLite Micro's int16 GREATER rescales with parameters its Prepare "
                                  "never sets: its result depends on uninitialised memory)")
        if a.dtype not in self.input_types:
            raise unsupported(op, f"{a.dtype} inputs (TFLite Micro compares {', '.join(self.input_types)})")
        if out.dtype != "bool":
            raise unsupported(op, f"{out.dtype} output (comparisons produce bool)")
        require_per_tensor(op, [a, b])
        broadcast_shape(op, [a.shape, b.shape])

    def output_shapes(self, op, graph):
        return [broadcast_shape(op, [input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape])]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out = output_tensor(graph, op)
        for position in (0, 1):
            t = input_tensor(graph, op, position)
            if not t.is_constant and t.shape == out.shape and t.dtype in ("int8", "bool"):
                return position
        return None

    def fold(self, op, graph, inputs):
        a, b = inputs[0], inputs[1]
        if a is None or b is None or a.dtype != b.dtype or a.dtype not in (np.int32, np.bool_):
            return None
        return [_COMPARE[self.opcode][2](a, b)]


for _name, (_table, _types, _) in _COMPARE.items():
    register(type(_name.title().replace("_", ""), (_Compare,),
                  {"opcode": _name, "options_table": _table, "input_types": _types}))


@register
class SelectV2(OpHandler):
    """SELECT_V2(condition, x, y): bytes of x where the bool condition holds, else of y (TFLM
    copies values without requantizing; the converter gives x, y and the output one quantization)."""

    opcode = "SELECT_V2"
    options_table = "SelectV2Options"
    num_inputs = (3, 3)
    activation_types = ("int8", "int16", "bool")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        cond, x, y = graph.op_inputs(op)
        out = output_tensor(graph, op)
        if cond.dtype != "bool":
            raise unsupported(op, f"{cond.dtype} condition (TFLite Micro needs bool)")
        require_same_types(op, [x, y, out])
        if out.dtype not in ("int8", "int16"):
            raise unsupported(op, f"{out.dtype} values (TFLite Micro selects int8, int16)")
        broadcast_shape(op, [cond.shape, x.shape, y.shape])

    def output_shapes(self, op, graph):
        return [broadcast_shape(op, [t.shape for t in graph.op_inputs(op)])]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out = output_tensor(graph, op)
        for position in (1, 2):
            t = input_tensor(graph, op, position)
            if not t.is_constant and t.shape == out.shape:
                return position
        return None


class _Logical(OpHandler):
    num_inputs = (2, 2)
    activation_types = ("bool",)
    function = staticmethod(np.logical_and)

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        for t in graph.op_inputs(op):
            if t.dtype != "bool":
                raise unsupported(op, f"{t.dtype} input (logical ops take bool)")
        broadcast_shape(op, [t.shape for t in graph.op_inputs(op)])

    def output_shapes(self, op, graph):
        return [broadcast_shape(op, [t.shape for t in graph.op_inputs(op)])]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out = output_tensor(graph, op)
        for position, t in enumerate(graph.op_inputs(op)):
            if not t.is_constant and t.shape == out.shape:
                return position
        return None

    def fold(self, op, graph, inputs):
        if any(x is None or x.dtype != np.bool_ for x in inputs):
            return None
        return [self.function(*inputs)]


@register
class LogicalAnd(_Logical):
    opcode = "LOGICAL_AND"
    options_table = "LogicalAndOptions"


@register
class LogicalOr(_Logical):
    opcode = "LOGICAL_OR"
    options_table = "LogicalOrOptions"
    function = staticmethod(np.logical_or)


@register
class LogicalNot(_Logical):
    opcode = "LOGICAL_NOT"
    options_table = "LogicalNotOptions"
    num_inputs = (1, 1)
    function = staticmethod(np.logical_not)
