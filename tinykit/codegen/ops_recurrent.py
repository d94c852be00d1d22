"""Lowerings of the recurrent ops with state: SVDF (and UNIDIRECTIONAL_SEQUENCE_LSTM, ops_lstm.py).

Their state tensors are inputs the kernels overwrite: the KernelCall passes them among the
outputs (writable pointers into the arena's state region), after the op's real inputs.
Everything TFLite Micro's Prepare computes (svdf_common.cc PrepareSvdf) is computed here with its
float/double precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    c_quant,
    f32,
    lowering,
    quantize_multiplier,
    shape_comment,
)
from tinykit.codegen.ops_conv import fc_filter_quads, folded_bias
from tinykit.ir.ops.recurrent import svdf_sizes


def float_scale_ratio(a: float, b: float, c: float) -> float:
    """``static_cast<double>(a * b / c)`` with float32 operands: TFLM's SVDF effective scales."""
    return float(np.float32(np.float32(f32(a) * f32(b)) / f32(c)))


def padded_to_4(values: np.ndarray) -> np.ndarray:
    """An int32 array padded with zeros to a multiple of 4 entries (for the kernels' row quads)."""
    out = np.zeros((len(values) + 3) // 4 * 4, np.int32)
    out[:len(values)] = values
    return out


@lowering("SVDF")
def lower_svdf(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, wf, wt, bias, state = graph.op_inputs(op)
    out = graph.op_outputs(op)[0]
    batch, input_size, filters, _units, memory = svdf_sizes(op, graph)
    wide = state.dtype == "int16"
    feature_q = quantize_multiplier(float_scale_ratio(inp.scale, wf.scale, state.scale))
    output_q = quantize_multiplier(float_scale_ratio(state.scale, wt.scale, out.scale))
    w = np.asarray(wf.data, np.int8)
    time = np.asarray(wt.data, np.int16 if wide else np.int8)
    names = {k: ctx.symbol(op, k) for k in ("wf", "fbias", "wt", "tbias", "bias")}
    arrays = [
        ConstArray(names["wf"], "int8_t", fc_filter_quads(w), shape_comment(wf) + ", as [quad][k/4][4][4]"),
        ConstArray(names["fbias"], "int32_t", padded_to_4(folded_bias(None, w, -inp.zero_point)),
                   "-input zero point * sum(feature weights row), per filter (padded to 4)"),
        ConstArray(names["wt"], "int16_t" if wide else "int8_t", time, shape_comment(wt)),
        ConstArray(names["tbias"], "int32_t", folded_bias(None, time, -state.zero_point),
                   "-state zero point * sum(time weights row), per filter"),
        ConstArray(names["bias"], "int32_t", np.asarray(bias.data, np.int32), shape_comment(bias)),
    ]
    params = [("batches", str(batch)), ("input_size", str(input_size)), ("filters", str(filters)),
              ("rank", str(int(op.options["rank"]))), ("memory", str(memory)),
              ("weights_feature", names["wf"]), ("feature_bias", names["fbias"]), ("feature_q", c_quant(*feature_q)),
              ("state_zero_point", str(state.zero_point)),
              ("weights_time16", names["wt"] if wide else "NULL"), ("weights_time8", "NULL" if wide else names["wt"]),
              ("time_bias", names["tbias"]), ("bias", names["bias"]), ("output_q", c_quant(*output_q)),
              ("output_offset", str(out.zero_point))]
    function = "tk_svdf_s8" if wide else "tk_svdf_s8_state8"
    return KernelCall(function, "tk_svdf_params", params, [op.inputs[0]], [op.inputs[4], op.outputs[0]], arrays,
                      sources=("tk_svdf.c",), comment=f"op {op.index}: SVDF rank {op.options['rank']}, "
                      f"{state.dtype} state of {memory} steps x {filters} filters")
