"""Lowerings of the 16x8 weighted ops (int16 activations, int8 weights): CONV_2D,
DEPTHWISE_CONV_2D, FULLY_CONNECTED.

``ops_conv`` dispatches here for int16 inputs. What TFLite Micro computes in Prepare is computed
here: per-channel multipliers (``PopulateConvolutionQuantizationParams``), and for int64-bias
layers the reduced 16-bit multipliers and total shifts of ``MultiplyByQuantizedMultiplier(int64_t)``.

:func:`s16_output_stage` is the reusable part: given a layer's weight rows, bias, multipliers and
offsets it chooses TFLite's accumulator (int32 for an int32 bias, int64 otherwise), proves when an
int64 layer's sums fit int32 for every input, folds the input offset into the bias and returns the
constant arrays plus the ``tk_s16_requant`` initializer that every 16x8 kernel (and any other
kernel multiplying int16 vectors by int8 matrices, e.g. recurrent gates) reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    c_act,
    c_dims,
    conv_multipliers,
    dims4,
    fc_multiplier,
    fused_activation,
    require_dtype,
    shape_comment,
    unsupported,
)
from tinykit.codegen.ops_conv import _conv_geometry, conv_filter_pairs, fc_filter_quads
from tinykit.codegen.quant import reduced_multiplier
from tinykit.errors import ModelFormatError
from tinykit.ir.ops.conv import s16_conv_scratch_bytes

INT32_LIMIT = 1 << 31
INT16_ABS_MAX = 1 << 15  # largest |int16 input value|
TENSOR_TYPE_INT32 = 2  # schema TensorType.INT32, as quantized_bias_type carries it
MODE_ACC32, MODE_FITS32, MODE_ACC64 = 0, 1, 2  # tk_s16_mode


def permute_groups(values: np.ndarray) -> np.ndarray:
    """int8 weights laid out in groups of 4 consecutive k: each (w0, w1, w2, w3) becomes
    (w0, w2, w1, w3), the order SXTB16 / SXTB16 ROR 8 unpack into (w0, w1), (w2, w3)."""
    return np.asarray(values, np.int8).reshape(-1, 4)[:, [0, 2, 1, 3]].reshape(-1).copy()


def int32_accumulator(op: Any, bias: Any) -> bool:
    """TFLM's choice for CONV_2D / FULLY_CONNECTED 16x8: an int32 bias, or no bias with
    quantized_bias_type INT32, runs the int32-accumulator kernel (gemmlowp requantization)."""
    if bias is not None:
        return bias.dtype == "int32"
    return int(op.options.get("quantized_bias_type", 0) or 0) == TENSOR_TYPE_INT32


def _bias_values(bias: Any, channels: int) -> list[int]:
    if bias is None:
        return [0] * channels
    values = [int(v) for v in np.asarray(bias.data).reshape(-1)]
    if len(values) != channels:
        raise ModelFormatError(f"bias has {len(values)} values for {channels} output channels")
    return values


def _wrap32(x: int) -> int:
    return (x + INT32_LIMIT) % (1 << 32) - INT32_LIMIT


def s16_output_stage(ctx: LoweringContext, op: Any, rows: np.ndarray, bias: Any, mults: list[int],
                     shifts: list[int], act: tuple[int, int], int32_acc: bool, input_offset: int = 0,
                     output_offset: int = 0, prefix: str = "") -> tuple[list[ConstArray], str]:
    """Constant arrays and the ``tk_s16_requant`` initializer of a 16x8 layer.

    ``rows`` holds each output channel's int8 weights (channels x K) as the kernel multiplies them
    with the raw int16 inputs; ``input_offset`` (-input zero point, FULLY_CONNECTED) is folded into
    the bias as ``input_offset * sum(row)``. ``prefix`` distinguishes several stages of one op.
    """
    channels = rows.shape[0]
    sums = rows.astype(np.int64).sum(axis=1)
    folded = [b + int(input_offset) * int(s) for b, s in zip(_bias_values(bias, channels), sums.tolist(), strict=True)]
    names = {k: ctx.symbol(op, f"{prefix}{k}") for k in ("bias", "mult", "shift")}
    if int32_acc:
        mode, m_out, s_out = MODE_ACC32, list(mults), list(shifts)
        what = "QuantizeMultiplier multipliers / shifts (int32 accumulator, gemmlowp rounding)"
    else:
        if max(shifts) > 7:
            raise unsupported(op, "requantization", f"an effective scale of 2^{max(shifts)} or more (TFLite "
                                                    "Micro's int64 MultiplyByQuantizedMultiplier takes shifts < 8)")
        mode = MODE_ACC64
        m_out = [reduced_multiplier(m) for m in mults]
        s_out = [15 - s for s in shifts]
        what = "reduced 16-bit multipliers / total right shifts (int64 MultiplyByQuantizedMultiplier)"
        bounds = np.abs(rows.astype(np.int64)).sum(axis=1) * INT16_ABS_MAX
        if all(abs(b) + int(k) < INT32_LIMIT for b, k in zip(folded, bounds.tolist(), strict=True)):
            mode = MODE_FITS32  # every partial sum of every input fits int32
    arrays = []
    if mode == MODE_ACC64:
        arrays.append(ConstArray(names["bias"], "int64_t", np.asarray(folded, np.int64),
                                 f"int64 bias + input_offset*sum(w) per output channel ({channels})"))
        bias32, bias64 = "NULL", names["bias"]
    else:
        values = [_wrap32(b) for b in folded]
        arrays.append(ConstArray(names["bias"], "int32_t", np.asarray(values, np.int32),
                                 f"bias + input_offset*sum(w) per output channel ({channels})"))
        bias32, bias64 = names["bias"], "NULL"
    arrays.append(ConstArray(names["mult"], "int32_t", np.asarray(m_out, np.int32), what))
    arrays.append(ConstArray(names["shift"], "int8_t", np.asarray(s_out, np.int8), what))
    init = (f"{{.mode = {mode}, .bias32 = {bias32}, .bias64 = {bias64}, .multipliers = {names['mult']}, "
            f".shifts = {names['shift']}, .output_offset = {int(output_offset)}, .act = {c_act(*act)}}}")
    return arrays, init


def weighted_io_s16(op: Any, graph: Any, bias_types: tuple[str, ...] = ("int64", "int32")) -> tuple[Any, ...]:
    """Input, weights, bias (or None) and output of a 16x8 weighted op, type-checked."""
    inp, weights = graph.op_inputs(op)[:2]
    bias = graph.op_inputs(op)[2] if len(op.inputs) > 2 else None
    out = graph.op_outputs(op)[0]
    require_dtype(op, inp, "input", ("int16",))
    require_dtype(op, out, "output", ("int16",))
    require_dtype(op, weights, "weights", ("int8",))
    if not weights.is_constant:
        raise unsupported(op, "weights", "non-constant weights")
    if bias is not None:
        require_dtype(op, bias, "bias", bias_types)
        if not bias.is_constant:
            raise unsupported(op, "bias", "non-constant bias")
    if weights.quantization is None or not weights.quantization.scale:
        raise unsupported(op, "weights quantization", "missing")
    if any(z != 0 for z in weights.quantization.zero_point):
        raise unsupported(op, "weights zero point", "non-zero (int8 weights must be symmetric)")
    return inp, weights, bias, out


def channel_multipliers(op: Any, inp: Any, weights: Any, out: Any, channels: int) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: one (multiplier, shift) per output channel."""
    scales = weights.quantization.scale
    if len(scales) not in (1, channels):
        raise unsupported(op, "weights quantization", f"{len(scales)} scales for {channels} channels")
    return conv_multipliers(inp.scale, scales, out.scale, channels)


def lower_conv2d_s16(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, weights, bias, out = weighted_io_s16(op, graph)
    out_c, kh, kw, in_c = weights.shape
    if dims4(inp.shape)[3] != in_c:
        raise unsupported(op, "filter depth", "grouped convolution")
    w = np.asarray(weights.data, np.int8)
    mults, shifts = channel_multipliers(op, inp, weights, out, out_c)
    arrays, rq = s16_output_stage(ctx, op, w.reshape(out_c, -1), bias, mults, shifts, fused_activation(op, out),
                                  int32_accumulator(op, bias))
    filt = ctx.symbol(op, "filter")
    arrays.insert(0, ConstArray(filt, "int8_t", permute_groups(conv_filter_pairs(w)),
                                shape_comment(weights) + ", OHWI as [pair][k/4][2][4 as w0 w2 w1 w3], K padded to 4"))
    params = [("input", c_dims(inp.shape)), ("filter", c_dims(weights.shape)), ("output", c_dims(out.shape)),
              *_conv_geometry(op, inp, out, kh, kw), ("filter_data", filt), ("rq", rq)]
    return KernelCall("tk_conv2d_s16", "tk_conv2d_s16_params", params, [op.inputs[0]], [op.outputs[0]], arrays,
                      scratch_bytes=s16_conv_scratch_bytes(kh, kw, in_c), sources=("tk_conv2d_s16.c",),
                      comment=f"op {op.index}: CONV_2D 16x8")


def fully_connected_s16_params(ctx: LoweringContext, op: Any, w: np.ndarray, bias: Any,
                               multipliers: tuple[list[int], list[int]], act: tuple[int, int], int32_acc: bool,
                               input_offset: int, output_offset: int, batches: int,
                               prefix: str = "") -> tuple[list[ConstArray], list[tuple[str, str]]]:
    """Constant arrays and the ``tk_fully_connected_s16_params`` fields of an int16 x int8 product
    (units x depth weights ``w``), reusable by any op that runs one, e.g. a recurrent gate."""
    units, depth = w.shape
    arrays, rq = s16_output_stage(ctx, op, w, bias, *multipliers, act, int32_acc, input_offset, output_offset,
                                  prefix)
    filt = ctx.symbol(op, f"{prefix}filter")
    arrays.insert(0, ConstArray(filt, "int8_t", permute_groups(fc_filter_quads(w)),
                                f"{units}x{depth} int8 weights as [quad][k/4][4][4 as w0 w2 w1 w3], padded to 4"))
    params = [("batches", str(batches)), ("depth", str(depth)), ("units", str(units)), ("filter_data", filt),
              ("rq", rq)]
    return arrays, params


def lower_fully_connected_s16(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    inp, weights, bias, out = weighted_io_s16(op, graph)
    if len(weights.shape) != 2:
        raise unsupported(op, "weights shape", str(list(weights.shape)))
    units, depth = weights.shape
    if inp.num_elements % depth:
        raise unsupported(op, "input shape", f"{inp.num_elements} elements for depth {depth}")
    scales = weights.quantization.scale
    if len(scales) > 1:
        mults = channel_multipliers(op, inp, weights, out, units)
    else:
        m, sh = fc_multiplier(inp.scale, scales[0], out.scale)
        mults = ([m] * units, [sh] * units)
    w = np.asarray(weights.data, np.int8)
    arrays, params = fully_connected_s16_params(ctx, op, w, bias, mults, fused_activation(op, out),
                                                int32_accumulator(op, bias), -inp.zero_point, out.zero_point,
                                                inp.num_elements // depth)
    return KernelCall("tk_fully_connected_s16", "tk_fully_connected_s16_params", params, [op.inputs[0]],
                      [op.outputs[0]], arrays, sources=("tk_fully_connected_s16.c",),
                      comment=f"op {op.index}: FULLY_CONNECTED 16x8")


def lower_depthwise_s16(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    """TFLM reads a 16x8 depthwise bias as int64 whatever its type: only int64 is accepted."""
    inp, weights, bias, out = weighted_io_s16(op, graph, bias_types=("int64",))
    _, kh, kw, out_c = weights.shape
    in_c = dims4(inp.shape)[3]
    if out_c % in_c or dims4(out.shape)[3] != out_c:
        raise unsupported(op, "depth_multiplier", f"filter depth {out_c} for {in_c} input channels")
    w = np.asarray(weights.data, np.int8).reshape(kh * kw, out_c)
    mults, shifts = channel_multipliers(op, inp, weights, out, out_c)
    arrays, rq = s16_output_stage(ctx, op, w.T, bias, mults, shifts, fused_activation(op, out), int32_acc=False)
    padded = np.zeros((kh * kw, (out_c + 3) // 4 * 4), np.int8)
    padded[:, :out_c] = w
    filt = ctx.symbol(op, "filter")
    arrays.insert(0, ConstArray(filt, "int8_t", permute_groups(padded),
                                shape_comment(weights) + ", [tap][out_c padded to 4, as c0 c2 c1 c3]"))
    params = [("input", c_dims(inp.shape)), ("filter", c_dims(weights.shape)), ("output", c_dims(out.shape)),
              ("depth_multiplier", str(out_c // in_c)), *_conv_geometry(op, inp, out, kh, kw),
              ("filter_data", filt), ("rq", rq)]
    return KernelCall("tk_depthwise_conv2d_s16", "tk_depthwise_conv2d_s16_params", params, [op.inputs[0]],
                      [op.outputs[0]], arrays, sources=("tk_depthwise_conv2d_s16.c",),
                      comment=f"op {op.index}: DEPTHWISE_CONV_2D 16x8")
