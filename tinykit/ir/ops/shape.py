"""Data movement: RESHAPE, SQUEEZE (aliases), PAD, CONCATENATION."""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    require_activation_types,
    unsupported,
)


class _Alias(OpHandler):
    aliases_input = True

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types)
        if input_tensor(graph, op, 0).num_elements != output_tensor(graph, op).num_elements:
            raise unsupported(op, "output size differs from input size")

    def output_shapes(self, op, graph):
        return None


@register
class Reshape(_Alias):
    opcode = "RESHAPE"
    num_inputs = (1, 2)
    options_table = "ReshapeOptions"


@register
class Squeeze(_Alias):
    opcode = "SQUEEZE"
    options_table = "SqueezeOptions"


@register
class Pad(OpHandler):
    opcode = "PAD"
    num_inputs = (2, 2)
    options_table = "PadOptions"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        paddings = input_tensor(graph, op, 1)
        if paddings is None or not paddings.is_constant:
            raise unsupported(op, "non-constant paddings")
        if len(input_tensor(graph, op, 0).shape) > 4:
            raise unsupported(op, "more than 4 dimensions")

    def output_shapes(self, op, graph):
        pads = np.asarray(input_tensor(graph, op, 1).data).reshape(-1, 2)
        shape = input_tensor(graph, op, 0).shape
        return [tuple(int(d + p[0] + p[1]) for d, p in zip(shape, pads, strict=True))]


@register
class Concatenation(OpHandler):
    opcode = "CONCATENATION"
    num_inputs = (1, 1 << 16)
    options_table = "ConcatenationOptions"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        if op.options.get("fused_activation_function", "NONE") != "NONE":
            raise unsupported(op, f"fused activation {op.options['fused_activation_function']}")

    def output_shapes(self, op, graph):
        shapes = [t.shape for t in graph.op_inputs(op) if t is not None]
        axis = op.options.get("axis", 0) % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return [tuple(out)]
