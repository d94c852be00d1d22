"""Lowering of BATCH_MATMUL (int8 and int16).

Prepare's arithmetic: one multiplier from ``GetQuantizedConvolutionMultipler``, QuantizeMultiplier;
int16 uses its int64 form (reduced multiplier, total shift). The pinned runtime multiplies the two
float32 scales in double (the fetched source rounds their product to float32 first; crafted inputs
in tests/test_ops_matmul.py tell the two apart and the runtime follows the double product).
Batch broadcasting becomes a table of each output batch's lhs and rhs matrix offsets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    fc_multiplier,
    lowering,
    unsupported,
)
from tinykit.codegen.quant import reduced_multiplier
from tinykit.ir.ops.matmul import matmul_dims, matmul_scratch_bytes


def batch_offsets(shape: tuple[int, ...], batch: tuple[int, ...], matrix: int) -> np.ndarray:
    """Element offset of the matrix each output batch reads from an operand of ``shape`` (its
    batch dimensions broadcast to ``batch``; a dimension of 1 repeats its one matrix)."""
    own = tuple(shape[:-2])
    index = np.arange(int(np.prod(own, dtype=np.int64)), dtype=np.int64).reshape(own) if own else np.zeros(())
    extended = index.reshape((1,) * (len(batch) - len(own)) + own)
    return (np.broadcast_to(extended, batch).reshape(-1) * matrix).astype(np.int32)


def matmul_multiplier(op: Any, lhs: Any, rhs: Any, out: Any) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler (4 arguments) + QuantizeMultiplier, as fc_multiplier."""
    m, shift = fc_multiplier(lhs.scale, rhs.scale, out.scale)
    if lhs.dtype == "int16":
        if shift > 7:
            raise unsupported(op, "requantization", f"an effective scale of 2^{shift} or more (TFLite Micro's "
                                                    "int64 MultiplyByQuantizedMultiplier takes shifts < 8)")
        return reduced_multiplier(m), 15 - shift
    return m, shift


@lowering("BATCH_MATMUL")
def lower_batch_matmul(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    lhs, rhs = graph.op_inputs(op)
    out = graph.op_outputs(op)[0]
    s8 = lhs.dtype == "int8"
    batch, m, n, k = matmul_dims(op, graph)
    names = {key: ctx.symbol(op, key) for key in ("lhs_offsets", "rhs_offsets")}
    arrays = [ConstArray(names["lhs_offsets"], "int32_t", batch_offsets(lhs.shape, batch, m * k),
                         "element offset of each output batch's lhs matrix"),
              ConstArray(names["rhs_offsets"], "int32_t", batch_offsets(rhs.shape, batch, k * n),
                         "element offset of each output batch's rhs matrix")]
    mult, shift = matmul_multiplier(op, lhs, rhs, out)
    params = [("batches", str(int(np.prod(batch, dtype=np.int64)))), ("rows", str(m)), ("cols", str(n)),
              ("depth", str(k)), ("adj_x", "1" if op.options.get("adj_x") else "0"),
              ("adj_y", "1" if op.options.get("adj_y") else "0"), ("lhs_offsets", names["lhs_offsets"]),
              ("rhs_offsets", names["rhs_offsets"]), ("lhs_offset", str(-lhs.zero_point if s8 else 0)),
              ("rhs_offset", str(-rhs.zero_point if s8 else 0)),
              ("output_offset", str(out.zero_point if s8 else 0)), ("multiplier", str(mult)), ("shift", str(shift))]
    return KernelCall(f"tk_batch_matmul_{'s8' if s8 else 's16'}", "tk_batch_matmul_params", params,
                      [op.inputs[0], op.inputs[1]], [op.outputs[0]], arrays,
                      scratch_bytes=matmul_scratch_bytes(m, n, k), sources=("tk_batch_matmul.c",))
