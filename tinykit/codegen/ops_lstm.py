"""Lowering of UNIDIRECTIONAL_SEQUENCE_LSTM (int8 and 16x8) to tk_lstm.c.

Everything TFLite Micro's Prepare computes (lstm_eval_common.cc) is computed here: each gate's two
fully connected requantizations onto Q3.12 (``GetQuantizedConvolutionMultipler`` in double), the
three elementwise multiplications' multipliers (``CreateInterGateMulParams``), the quantized cell
clip and the cell state's power of two for the tanh. The four gates' weights are stacked (input,
forget, cell, output; each gate padded to a multiple of 4 rows) so one pass of the quad
dot product covers them, with the input and hidden zero points folded into per-row biases.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinykit.codegen import lut16
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    c_act,
    c_quant,
    f32,
    fc_multiplier,
    lowering,
    quantize_multiplier,
    shape_comment,
)
from tinykit.codegen.ops_conv import fc_filter_quads, folded_bias
from tinykit.codegen.ops_conv16 import permute_groups, s16_output_stage
from tinykit.codegen.ops_recurrent import padded_to_4
from tinykit.codegen.quant import INT8_MAX, INT8_MIN, INT16_MAX, INT16_MIN
from tinykit.ir.ops.recurrent import (
    LSTM_BIASES,
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT,
    LSTM_INPUT_WEIGHTS,
    LSTM_RECURRENT_WEIGHTS,
    lstm_scratch_bytes,
    lstm_sizes,
)

GATE_SCALE = 2.0 ** -12  # the gates' pre-activations: Q3.12 (TFLM's nonlinear_input_scale)
GATE_OUTPUT_SCALE = 2.0 ** -15  # sigmoid/tanh outputs: Q0.15 (nonlinear_output_scale)


def _ceil4(n: int) -> int:
    return (n + 3) // 4 * 4


def stacked_rows(graph: Any, op: Any, positions: tuple[int, ...], state: int) -> np.ndarray:
    """The four gates' int8 weight matrices stacked, each padded with zero rows to a multiple of 4."""
    s4 = _ceil4(state)
    first = graph.tensors[op.inputs[positions[0]]].data
    rows = np.zeros((4 * s4, first.shape[1]), np.int8)
    for g, position in enumerate(positions):
        rows[g * s4:g * s4 + state] = np.asarray(graph.tensors[op.inputs[position]].data, np.int8)
    return rows


def _per_row(values: list, state: int) -> list:
    """One value per stacked row (each gate's value repeated over its padded rows)."""
    return [v for v in values for _ in range(_ceil4(state))]


def inter_gate_multiplier(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: double(input1 scale) * double(input2 scale) / double(output scale)."""
    return quantize_multiplier(float(f32(scale1)) * float(f32(scale2)) / float(f32(out_scale)))


def cell_tanh_rescale(cell_scale: float) -> tuple[int, int]:
    """lstm_internal::Tanh's input rescaling for the cell state, in tk_sigmoid16.h's form:
    left shift (15 + log2(cell scale)) - 3 folded into the multiplier 3 when >= 0 (TFLM's
    power-of-two case), else multiplier 3 with that right shift."""
    power, _exact = lut16.checked_log2(cell_scale)  # TFLM ignores whether it is a power of two
    left = 15 + power - 3
    return (3 << left, 0) if left >= 0 else (3, -left)


def quantized_cell_clip(clip: float, cell_scale: float) -> int:
    """CreateLstmCellStateInfo's clip on the cell state grid (truncated to int16); -1 for none."""
    if not float(f32(clip)) > 0:
        return -1
    return math.trunc(min(max(float(f32(clip)) / float(f32(cell_scale)), -32768.0), 32767.0))


def _cell_init(op: Any, graph: Any, table: str) -> str:
    hidden, cell = graph.tensors[op.inputs[LSTM_HIDDEN_STATE]], graph.tensors[op.inputs[LSTM_CELL_STATE]]
    lo, hi = (INT8_MIN, INT8_MAX) if hidden.dtype == "int8" else (INT16_MIN, INT16_MAX)
    mult, shift = cell_tanh_rescale(cell.scale)
    fields = [
        ("forget_mul", c_quant(*inter_gate_multiplier(GATE_OUTPUT_SCALE, cell.scale, cell.scale))),
        ("input_mul", c_quant(*inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cell.scale))),
        ("output_mul", c_quant(*inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.scale))),
        ("hidden_offset", str(hidden.zero_point)), ("hidden_range", c_act(lo, hi)),
        ("cell_clip", str(quantized_cell_clip(float(op.options.get("cell_clip", 0.0) or 0.0), cell.scale))),
        ("cell_tanh_multiplier", str(mult)), ("cell_tanh_shift", str(shift)), ("sigmoid_table", table),
    ]
    return "{" + ", ".join(f".{k} = {v}" for k, v in fields) + "}"


def _gate_multipliers(graph: Any, op: Any, source: Any, positions: tuple[int, ...]) -> list[tuple[int, int]]:
    """Each gate's FC requantization onto Q3.12 (CalculateOpDataFullyConnected, per-tensor)."""
    return [fc_multiplier(source.scale, graph.tensors[op.inputs[p]].scale, GATE_SCALE) for p in positions]


def _dims(op: Any, graph: Any) -> str:
    batches, steps, input_size, state = lstm_sizes(op, graph)
    time_major = 1 if op.options.get("time_major", False) else 0
    return f"{{{steps}, {batches}, {input_size}, {state}, {time_major}}}"


def _lower_s8(op: Any, graph: Any, ctx: LoweringContext, names: dict, arrays: list) -> list[tuple[str, str]]:
    inp, hidden = graph.tensors[op.inputs[LSTM_INPUT]], graph.tensors[op.inputs[LSTM_HIDDEN_STATE]]
    state = lstm_sizes(op, graph)[3]
    biases = []
    for g in range(4):
        w_in = np.asarray(graph.tensors[op.inputs[LSTM_INPUT_WEIGHTS[g]]].data, np.int8)
        w_rec = np.asarray(graph.tensors[op.inputs[LSTM_RECURRENT_WEIGHTS[g]]].data, np.int8)
        bias = graph.tensors[op.inputs[LSTM_BIASES[g]]]
        biases.append((padded_to_4(folded_bias(bias, w_in, -inp.zero_point)),
                       padded_to_4(folded_bias(None, w_rec, -hidden.zero_point))))
    arrays += [
        ConstArray(names["wi"], "int8_t", fc_filter_quads(stacked_rows(graph, op, LSTM_INPUT_WEIGHTS, state)),
                   "input weights of the gates (input, forget, cell, output) as [quad][k/4][4][4]"),
        ConstArray(names["wr"], "int8_t", fc_filter_quads(stacked_rows(graph, op, LSTM_RECURRENT_WEIGHTS, state)),
                   "recurrent weights of the gates as [quad][k/4][4][4]"),
        ConstArray(names["bi"], "int32_t", np.concatenate([b[0] for b in biases]),
                   "gate bias + input offset * sum(input weights row), per stacked row"),
        ConstArray(names["br"], "int32_t", np.concatenate([b[1] for b in biases]),
                   "hidden offset * sum(recurrent weights row), per stacked row"),
    ]
    qi = _gate_multipliers(graph, op, inp, LSTM_INPUT_WEIGHTS)
    qr = _gate_multipliers(graph, op, hidden, LSTM_RECURRENT_WEIGHTS)
    return [("input_weights", names["wi"]), ("recurrent_weights", names["wr"]), ("input_bias", names["bi"]),
            ("recurrent_bias", names["br"]), ("input_q", "{" + ", ".join(c_quant(*q) for q in qi) + "}"),
            ("recurrent_q", "{" + ", ".join(c_quant(*q) for q in qr) + "}")]


def _lower_s16(op: Any, graph: Any, ctx: LoweringContext, names: dict, arrays: list) -> list[tuple[str, str]]:
    inp, hidden = graph.tensors[op.inputs[LSTM_INPUT]], graph.tensors[op.inputs[LSTM_HIDDEN_STATE]]
    state = lstm_sizes(op, graph)[3]
    w_in = stacked_rows(graph, op, LSTM_INPUT_WEIGHTS, state)
    w_rec = stacked_rows(graph, op, LSTM_RECURRENT_WEIGHTS, state)
    bias = np.zeros(4 * _ceil4(state), np.int64)
    for g, position in enumerate(LSTM_BIASES):
        s4 = _ceil4(state)
        bias[g * s4:g * s4 + state] = np.asarray(graph.tensors[op.inputs[position]].data, np.int64)
    stages = []
    for prefix, rows, stage_bias, source, positions in (("in_", w_in, bias, inp, LSTM_INPUT_WEIGHTS),
                                                        ("rec_", w_rec, None, hidden, LSTM_RECURRENT_WEIGHTS)):
        mults, shifts = zip(*_per_row(_gate_multipliers(graph, op, source, positions), state), strict=True)
        stage_arrays, init = s16_output_stage(ctx, op, rows, stage_bias, list(mults), list(shifts),
                                              (INT16_MIN, INT16_MAX), False, -source.zero_point, 0, prefix)
        arrays += stage_arrays
        stages.append(init)
    arrays += [
        ConstArray(names["wi"], "int8_t", permute_groups(fc_filter_quads(w_in)),
                   "input weights of the gates (input, forget, cell, output), tk_mac_s16.h 4x1 groups"),
        ConstArray(names["wr"], "int8_t", permute_groups(fc_filter_quads(w_rec)),
                   "recurrent weights of the gates, tk_mac_s16.h 4x1 groups"),
    ]
    return [("input_weights", names["wi"]), ("recurrent_weights", names["wr"]), ("input_stage", stages[0]),
            ("recurrent_stage", stages[1])]


@lowering("UNIDIRECTIONAL_SEQUENCE_LSTM")
def lower_lstm(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp = graph.tensors[op.inputs[LSTM_INPUT]]
    batches, steps, input_size, state = lstm_sizes(op, graph)
    wide = inp.dtype == "int16"
    names = {k: ctx.symbol(op, k) for k in ("wi", "wr", "bi", "br", "sigmoid")}
    arrays = [ConstArray(names["sigmoid"], "uint16_t", lut16.sigmoid_table_u16(),
                         "sigmoid(i/24) in Q0.16 (TFLM's int16 sigmoid/tanh table)")]
    lower = _lower_s16 if wide else _lower_s8
    params = [("dims", _dims(op, graph)), *lower(op, graph, ctx, names, arrays),
              ("cell", _cell_init(op, graph, names["sigmoid"]))]
    suffix = "s16" if wide else "s8"
    hidden, cell = graph.tensors[op.inputs[LSTM_HIDDEN_STATE]], graph.tensors[op.inputs[LSTM_CELL_STATE]]
    return KernelCall(f"tk_lstm_{suffix}", "tk_lstm_s16_params" if wide else "tk_lstm_params", params,
                      [op.inputs[LSTM_INPUT]], [hidden.index, cell.index, op.outputs[0]], arrays,
                      scratch_bytes=lstm_scratch_bytes(input_size, state, inp.dtype), sources=("tk_lstm.c",),
                      comment=f"op {op.index}: UNIDIRECTIONAL_SEQUENCE_LSTM {suffix}, {steps} steps x {batches} "
                      f"batches, {input_size} inputs, {state} cells; state: {shape_comment(hidden)}; "
                      f"{shape_comment(cell)}")
