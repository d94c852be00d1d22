"""BATCH_MATMUL, int8 and int16 (TFLite Micro's integer forms: int32 sums for int8, int64 for int16).

Both operands are activations or constants of the same type; batch dimensions (up to rank 5)
broadcast NumPy-style; adj_x / adj_y read an operand transposed. TFLM requires int16 zero points of
0 and a non-negative product of the operand scales.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported


def matmul_dims(op: Operator, graph: Graph) -> tuple[tuple[int, ...], int, int, int]:
    """(output batch shape, M, N, K) of a BATCH_MATMUL; UnsupportedOpError if they do not agree."""
    lhs, rhs = input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    m, k_l = (lhs[-1], lhs[-2]) if adj_x else (lhs[-2], lhs[-1])
    k_r, n = (rhs[-1], rhs[-2]) if adj_y else (rhs[-2], rhs[-1])
    if k_l != k_r:
        raise unsupported(op, f"accumulation depths {k_l} (lhs) and {k_r} (rhs) differ")
    try:
        batch = tuple(int(d) for d in np.broadcast_shapes(tuple(lhs[:-2]), tuple(rhs[:-2])))
    except ValueError:
        raise unsupported(op, f"batch dimensions {list(lhs[:-2])} and {list(rhs[:-2])} do not broadcast") from None
    return batch, int(m), int(n), int(k_l)


def matmul_scratch_bytes(m: int, n: int, k: int) -> int:
    """= tk_batch_matmul_buffer_size(): both operands of one batch as int16 rows, K rounded to even."""
    return (m + n) * (k + 1) // 2 * 2 * 2


@register
class BatchMatMul(OpHandler):
    opcode = "BATCH_MATMUL"
    num_inputs = (2, 2)
    options_table = "BatchMatMulOptions"
    input_ranks = MappingProxyType({0: (2, 3, 4, 5), 1: (2, 3, 4, 5)})
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        lhs, rhs, out = input_tensor(graph, op, 0), input_tensor(graph, op, 1), output_tensor(graph, op)
        if not lhs.dtype == rhs.dtype == out.dtype:
            raise unsupported(op, f"operand/output types {lhs.dtype}, {rhs.dtype}, {out.dtype} (TFLite Micro "
                                  "needs one type)")
        if lhs.quantization is None or rhs.quantization is None or out.quantization is None:
            raise unsupported(op, "unquantized operands")
        if lhs.dtype == "int16" and any(t.zero_point != 0 for t in (lhs, rhs, out)):
            raise unsupported(op, "int16 zero points other than 0 (TFLite Micro requires 0)")
        if np.float32(lhs.scale) * np.float32(rhs.scale) < 0:
            raise unsupported(op, "a negative product of the operand scales")
        matmul_dims(op, graph)

    def output_shapes(self, op, graph):
        batch, m, n, _ = matmul_dims(op, graph)
        return [(*batch, m, n)]

    def macs(self, op, graph):
        _, _, _, k = matmul_dims(op, graph)
        return output_tensor(graph, op).num_elements * k

    def scratch_bytes(self, op, graph):
        _, m, n, k = matmul_dims(op, graph)
        return matmul_scratch_bytes(m, n, k)
