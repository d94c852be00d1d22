"""Pooling: AVERAGE_POOL_2D, MAX_POOL_2D (MEAN lives with the reductions in :mod:`tinykit.ir.ops.reduce`)."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    WINDOW,
    OpHandler,
    conv_out,
    input_tensor,
    output_tensor,
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
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_padding(op)
        require_activation(op)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if inp.dtype != out.dtype:
            raise unsupported(op, f"{inp.dtype} input and {out.dtype} output (TFLite Micro pools within one type)")
        # PoolingPrepare: one quantization in and out (scales within 1e-6, equal zero points)
        if float(abs(np.float32(inp.scale) - np.float32(out.scale))) > 1e-6 or inp.zero_point != out.zero_point:
            raise unsupported(op, "input and output quantizations differ (TFLite Micro requires one)")

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
