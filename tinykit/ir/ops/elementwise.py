"""Elementwise ops: ADD, MUL, the table-driven unary activations, SOFTMAX, QUANTIZE, DEQUANTIZE."""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    require_activation,
    require_activation_types,
    unsupported,
)


class _Binary(OpHandler):
    num_inputs = (2, 2)

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_activation(op)
        a, b = input_tensor(graph, op, 0), input_tensor(graph, op, 1)
        if len(a.shape) > 4 or len(b.shape) > 4:
            raise unsupported(op, "broadcasting beyond 4 dimensions")
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise unsupported(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None

    def output_shapes(self, op, graph):
        return [np.broadcast_shapes(input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape)]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out_shape = output_tensor(graph, op).shape
        for position in (0, 1):
            tensor = input_tensor(graph, op, position)
            if not tensor.is_constant and tensor.shape == out_shape:
                return position
        return None


@register
class Add(_Binary):
    opcode = "ADD"
    options_table = "AddOptions"


@register
class Mul(_Binary):
    opcode = "MUL"
    options_table = "MulOptions"


class _Unary(OpHandler):
    """Elementwise int8 -> int8 op whose output has the input's shape (a table look-up in C)."""

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0


_UNARY_OPTIONS = {"LEAKY_RELU": "LeakyReluOptions", "HARD_SWISH": "HardSwishOptions"}
for _name in ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"):
    register(type(_name.title().replace("_", ""), (_Unary,),
                  {"opcode": _name, "options_table": _UNARY_OPTIONS.get(_name)}))


@register
class Softmax(OpHandler):
    opcode = "SOFTMAX"
    options_table = "SoftmaxOptions"

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0  # each row's inputs are all read (max, sum) before its outputs are written


@register
class Quantize(OpHandler):
    opcode = "QUANTIZE"

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types, float_inputs=True)

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0 if input_tensor(graph, op, 0).dtype == "int8" else None  # int8 -> int8 requantize


@register
class Dequantize(OpHandler):
    opcode = "DEQUANTIZE"

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types, float_outputs=True)
