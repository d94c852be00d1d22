"""Pooling and reductions: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    WINDOW,
    OpHandler,
    conv_out,
    input_tensor,
    register,
    require_activation,
    require_padding,
    unsupported,
)


class _Pool(OpHandler):
    options_table = "Pool2DOptions"
    options_required = True
    input_ranks = MappingProxyType({0: (4,)})
    option_ranges = MappingProxyType({"stride_h": WINDOW, "stride_w": WINDOW, "filter_height": WINDOW,
                                      "filter_width": WINDOW})

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_padding(op)
        require_activation(op)

    def output_shapes(self, op, graph):
        n, h, w, c = input_tensor(graph, op, 0).shape
        o = op.options
        return [(n, conv_out(h, o["filter_height"], o["stride_h"], 1, o["padding"]),
                 conv_out(w, o["filter_width"], o["stride_w"], 1, o["padding"]), c)]


@register
class AveragePool2D(_Pool):
    opcode = "AVERAGE_POOL_2D"


@register
class MaxPool2D(_Pool):
    opcode = "MAX_POOL_2D"


@register
class Mean(OpHandler):
    opcode = "MEAN"
    num_inputs = (2, 2)
    options_table = "ReducerOptions"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        axes = input_tensor(graph, op, 1)
        if axes is None or not axes.is_constant:
            raise unsupported(op, "non-constant axes")
        rank = len(input_tensor(graph, op, 0).shape)
        normalised = sorted({int(a) % rank for a in np.ravel(axes.data)})
        if rank != 4 or normalised != [1, 2]:
            raise unsupported(op, f"axes {normalised} of a rank-{rank} input (tinykit supports MEAN over H,W)")

    def output_shapes(self, op, graph):
        n, _, _, c = input_tensor(graph, op, 0).shape
        return [(n, 1, 1, c)] if op.options.get("keep_dims") else [(n, c)]
