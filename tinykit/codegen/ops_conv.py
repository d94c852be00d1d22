"""Lowerings of the weighted ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED (and RESHAPE/SQUEEZE).

Everything TFLite Micro computes in Prepare is computed here: per-channel multipliers and shifts
(``PopulateConvolutionQuantizationParams``), the clamp range of the fused activation, the top/left
padding, and a bias with ``input_offset * sum(weights)`` folded in so the kernels' inner loops
multiply raw int8 values (the sum is the same integer; see tk_conv2d.c).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

from tinykit.codegen.dsp_weights import conv_stream, depthwise_stream
from tinykit.codegen.lowering import (
    ConstArray,
    KernelCall,
    LoweringContext,
    c_act,
    c_dims,
    compute_padding,
    conv_multipliers,
    dims4,
    fused_activation,
    lowering,
    require_dtype,
    shape_comment,
    unsupported,
)
from tinykit.codegen.mve_weights import block_stream, depthwise_rows, stream_arrays
from tinykit.errors import ModelFormatError
from tinykit.ir.ops.conv import depthwise_plane, depthwise_scratch

CONV_SCRATCH_PIXELS = 2  # must match TK_CONV_PIXELS in tk_conv2d.c
#: the params fields naming [filter, bias, multipliers, shifts] of the weighted kernels
PARAM_ARRAYS = ("filter_data", "bias", "multipliers", "shifts")


def _ceil4(n: int) -> int:
    return (n + 3) // 4 * 4


def conv_scratch_bytes(kh: int, kw: int, in_c: int, out_c: int) -> int:
    """tk_conv2d_s8_buffer_size(): two pixels of int8 staging + int16 im2col (K padded to 4) + int32 accs."""
    return CONV_SCRATCH_PIXELS * 3 * _ceil4(kh * kw * in_c) + CONV_SCRATCH_PIXELS * 4 * (out_c + 1)


def fc_filter_quads(weights: np.ndarray) -> np.ndarray:
    """units x depth weights in tk_fully_connected.c's layout: [quad][k/4][4 units][4 values], zero padded."""
    units, depth = weights.shape
    kp, quads = _ceil4(depth), (units + 3) // 4
    padded = np.zeros((4 * quads, kp), np.int8)
    padded[:units, :depth] = weights
    return padded.reshape(quads, 4, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1).copy()


def conv_filter_pairs(weights: np.ndarray) -> np.ndarray:
    """OHWI weights in tk_conv2d.c's layout: [pair][k/4][2 channels][4 values], zero padded."""
    out_c = weights.shape[0]
    w2d = weights.reshape(out_c, -1)
    k, kp, pairs = w2d.shape[1], _ceil4(w2d.shape[1]), (out_c + 1) // 2
    padded = np.zeros((2 * pairs, kp), np.int8)
    padded[:out_c, :k] = w2d
    return padded.reshape(pairs, 2, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1).copy()


def _wrap_int32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to int32 (what int32 accumulation in C does)."""
    return ((values.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def folded_bias(bias: Any, weights: np.ndarray, input_offset: int, axis_last: bool = False) -> np.ndarray:
    """``bias + input_offset * sum(w)`` per output channel, as int32."""
    w = weights.astype(np.int64)
    sums = w.reshape(-1, w.shape[-1]).sum(axis=0) if axis_last else w.reshape(w.shape[0], -1).sum(axis=1)
    b = np.zeros(len(sums), np.int64) if bias is None else np.asarray(bias.data, np.int64).reshape(-1)
    if len(b) != len(sums):
        raise ModelFormatError(f"bias has {len(b)} values for {len(sums)} output channels")
    return _wrap_int32(b + int(input_offset) * sums)


INT32_LIMIT = 1 << 31


def fast_requant_flag(bias_values: np.ndarray, weights: np.ndarray, mults: np.ndarray, shifts: np.ndarray,
                      axis_last: bool) -> str:
    """"1" when tk_requantize_s8_fast is exact for this layer, proved per channel for any input:
    every shift <= -1, the accumulator (folded bias + int8 inputs times weights) fits int32, and
    s = SRDHM(acc, m) plus the rounding half 2^(r-1) cannot overflow. Channels with a zero
    multiplier give 0 whatever their accumulator and are not counted."""
    w = np.abs(weights.astype(np.int64))
    sums = w.reshape(-1, w.shape[-1]).sum(axis=0) if axis_last else w.reshape(w.shape[0], -1).sum(axis=1)
    bound = [int(v) for v in np.abs(bias_values.astype(np.int64)) + 128 * sums]
    m_all = np.broadcast_to(np.asarray(mults, np.int64), (len(bound),))
    s_all = np.broadcast_to(np.asarray(shifts, np.int64), (len(bound),))
    for acc_max, m, sh in zip(bound, m_all.tolist(), s_all.tolist(), strict=True):
        if sh > -1:
            return "0"
        if m == 0:
            continue
        s_max = ((acc_max * m + (1 << 30)) >> 31) + 1
        if acc_max >= INT32_LIMIT or s_max + (1 << (-sh - 1)) >= INT32_LIMIT:
            return "0"
    return "1"


def _acc_bounds(bias_values: np.ndarray, weights: np.ndarray, axis_last: bool) -> list[int]:
    """Per channel, a bound on |folded bias + sum(int8 input * w)| over every possible input."""
    w = np.abs(weights.astype(np.int64))
    sums = w.reshape(-1, w.shape[-1]).sum(axis=0) if axis_last else w.reshape(w.shape[0], -1).sum(axis=1)
    return [int(v) for v in np.abs(bias_values.astype(np.int64)) + 128 * sums]


def exact_requant_hi(bias_values: np.ndarray, weights: np.ndarray, mults: Any, shifts: Any, axis_last: bool,
                     output_offset: int) -> np.ndarray | None:
    """Per-channel ``hi_c = 2^(r-2) + output_offset * 2^(r-1)`` for tk_requant_hi (one SMLAL and a
    shift, output offset included), or None when that form is not proved exact for this layer:
    every channel needs a non-negative multiplier, a right shift r >= 2 (zero multipliers give the
    offset for any r >= 2), an accumulator that fits int32 and a 64-bit sum whose high word, and
    hi_c + (acc >> 31), fit int32 for any int8 input (see tk_fixedpoint.h)."""
    bound = _acc_bounds(bias_values, weights, axis_last)
    m_all = np.broadcast_to(np.asarray(mults, np.int64), (len(bound),)).tolist()
    s_all = np.broadcast_to(np.asarray(shifts, np.int64), (len(bound),)).tolist()
    his = []
    for acc_max, m, sh in zip(bound, m_all, s_all, strict=True):
        r = -int(sh)
        if m < 0 or r < 2 or acc_max >= INT32_LIMIT:
            return None
        hi_c = (1 << (r - 2)) + int(output_offset) * (1 << (r - 1))
        if abs(hi_c) + 1 >= INT32_LIMIT or acc_max * m + (1 << 31) + (abs(hi_c) + 1) * (1 << 32) >= 1 << 63:
            return None
        his.append(hi_c)
    return np.asarray(his, np.int32)


def unpack_int4(packed: np.ndarray, count: int) -> np.ndarray:
    """TFLite's packed int4 (two per byte, element 2i in the low nibble) as int8 values, as TFLM's
    UnpackDenseInt4IntoInt8 does before running the int8 kernel."""
    raw = np.asarray(packed).reshape(-1).view(np.int8)
    low = ((raw.astype(np.int16) << 12) >> 12).astype(np.int8)  # sign-extend the low nibble
    high = (raw >> 4).astype(np.int8)
    return np.stack([low, high], axis=1).reshape(-1)[:count]


def weight_array(weights: Any) -> np.ndarray:
    """A weight tensor's values as int8 in its own shape (int4 weights unpacked: tinykit stores
    them as int8, which costs flash but no run-time unpacking and no RAM)."""
    if weights.dtype == "int4":
        return unpack_int4(weights.data, weights.num_elements).reshape(weights.shape)
    return np.asarray(weights.data, np.int8)


def _weighted_io(op: Any, graph: Any) -> tuple[Any, Any, Any, Any]:
    inp, weights = graph.op_inputs(op)[:2]
    bias = graph.op_inputs(op)[2] if len(op.inputs) > 2 else None
    out = graph.op_outputs(op)[0]
    require_dtype(op, inp, "input")
    require_dtype(op, out, "output")
    require_dtype(op, weights, "weights", ("int8", "int4"))
    if not weights.is_constant:
        raise unsupported(op, "weights", "non-constant weights")
    if bias is not None:
        require_dtype(op, bias, "bias", ("int32",))
        if not bias.is_constant:
            raise unsupported(op, "bias", "non-constant bias")
    if weights.quantization is None:
        raise unsupported(op, "weights quantization", "missing")
    if any(z != 0 for z in weights.quantization.zero_point):
        raise unsupported(op, "weights zero point", "non-zero (int8 weights must be symmetric)")
    return inp, weights, bias, out


def _quant_arrays(ctx: LoweringContext, op: Any, inp: Any, weights: Any, out: Any, channels: int,
                  bias_values: np.ndarray, collapse: bool = False) -> tuple[list[ConstArray], list[tuple[str, str]]]:
    """Bias, multiplier and shift arrays; ``collapse`` keeps one multiplier for per-tensor weights."""
    scales = weights.quantization.scale
    if len(scales) not in (1, channels):
        raise unsupported(op, "weights quantization", f"{len(scales)} scales for {channels} channels")
    count = 1 if collapse and len(scales) == 1 else channels
    mults, shifts = conv_multipliers(inp.scale, scales, out.scale, count)
    # A zero multiplier (QuantizeMultiplier flushes tiny scales to 0) gives 0 for any shift; -2
    # keeps such channels on the fast requantization paths with the identical result.
    shifts = [-2 if m == 0 else sh for m, sh in zip(mults, shifts, strict=True)]
    kind = "per-channel" if len(scales) > 1 else "per-tensor"
    names = {k: ctx.symbol(op, k) for k in ("bias", "mult", "shift")}
    arrays = [
        ConstArray(names["bias"], "int32_t", bias_values,
                   f"bias + input_offset*sum(w) per output channel ({channels})"),
        ConstArray(names["mult"], "int32_t", np.asarray(mults, np.int32),
                   f"requantization multipliers, {kind} (QuantizeMultiplier)"),
        ConstArray(names["shift"], "int8_t", np.asarray(shifts, np.int8), f"requantization shifts, {kind}"),
    ]
    fields = [("bias", names["bias"]), ("multipliers", names["mult"]), ("shifts", names["shift"])]
    return arrays, fields


def requant_hi_mode(arrays: list[ConstArray], w: np.ndarray, axis_last: bool, output_offset: int,
                    unfolded: bool = False) -> str:
    """The ``requant_hi`` params field: "1" when exact_requant_hi proves tk_requant_hi with the
    output offset folded into hi_c (the kernels compute hi_c from the shift and the offset), "2"
    (``unfolded``, CONV_2D only) when only hi_c = 2^(r-2) with the offset added after is proved
    (a channel with a huge right shift overflows the folded hi_c), else "0"."""
    bias, mults, shifts = arrays[1].values, arrays[2].values, arrays[3].values
    if exact_requant_hi(bias, w, mults, shifts, axis_last, output_offset) is not None:
        return "1"
    if unfolded and exact_requant_hi(bias, w, mults, shifts, axis_last, 0) is not None:
        return "2"
    return "0"


def _mve_stream(ctx: LoweringContext, op: Any, rows: np.ndarray, arrays: list[ConstArray],
                what: str) -> tuple[list[ConstArray], list[tuple[str, str]]]:
    """[filter, bias, multipliers, shifts] for the DSP / plain C kernels plus the Helium stream of
    ``rows`` (one per output channel, in the order the Helium kernel reads them; mve_weights.py),
    and the params fields naming each for its builds."""
    stream = block_stream(rows, arrays[1].values, arrays[2].values, arrays[3].values)
    return stream_arrays(ctx.symbol(op, "mve_stream"), stream,
                         f"{what}, Helium stream: per 4 rows [K/16][4][16] weights + bias, mult, shift x 4",
                         arrays, PARAM_ARRAYS)


def dsp_stream(ctx: LoweringContext, op: Any, arrays: list[ConstArray], fields: list[tuple[str, str]],
               stream: tuple[np.ndarray, bool], comment: str, helium: bool) -> list[tuple[str, str]]:
    """Add the DSP stream to ``arrays`` ([filter, bias, multipliers, shifts, ...], named by
    ``fields`` in that order) and return the params: ``fields`` with what only the plain C kernels
    read wrapped in TK_PLAIN_ONLY (tk_dsp.h), then the stream / stream_rq fields. ``helium``: MVE
    builds run the Helium kernel (its own stream, see _mve_stream), so the DSP stream is NULL there
    too; else they would run the DSP kernel (MVE cores always have the DSP extension)."""
    values, rq = stream
    plain = {0, 1, 2, 3} if rq else {0, 1}
    for i in plain:
        name = arrays[i].c_name
        arrays[i] = dataclasses.replace(arrays[i], variant="plain")
        fields[i] = (fields[i][0], re.sub(rf"\b{name}\b", f"TK_PLAIN_ONLY({name})", fields[i][1]))
    name = ctx.symbol(op, "stream")
    arrays.append(ConstArray(name, "int32_t", values, comment, variant="dsp_no_mve" if helium else "dsp"))
    field = f"TK_NO_MVE(TK_DSP_ONLY({name}))" if helium else f"TK_DSP_ONLY({name})"
    return [*fields, ("stream", field), ("stream_rq", "1" if rq else "0")]


def _conv_geometry(op: Any, inp: Any, out: Any, kh: int, kw: int) -> list[tuple[str, str]]:
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    if o.get("padding") not in ("SAME", "VALID"):
        raise unsupported(op, "padding", str(o.get("padding")))
    _, ih, iw, _ = dims4(inp.shape)
    _, oh, ow, _ = dims4(out.shape)
    pad_h = compute_padding(sh, dh, ih, kh, oh) if o["padding"] == "SAME" else 0
    pad_w = compute_padding(sw, dw, iw, kw, ow) if o["padding"] == "SAME" else 0
    return [("stride_h", str(sh)), ("stride_w", str(sw)), ("dilation_h", str(dh)), ("dilation_w", str(dw)),
            ("pad_h", str(pad_h)), ("pad_w", str(pad_w))]


@lowering("CONV_2D")
def lower_conv2d(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    if graph.op_inputs(op)[0].dtype == "int16":
        from tinykit.codegen.ops_conv16 import lower_conv2d_s16

        return lower_conv2d_s16(op, graph, ctx)
    inp, weights, bias, out = _weighted_io(op, graph)
    out_c, kh, kw, in_c = weights.shape
    if dims4(inp.shape)[3] != in_c:
        raise unsupported(op, "filter depth", "grouped convolution")
    lo, hi = fused_activation(op, out)
    w = weight_array(weights)
    arrays, _ = _quant_arrays(ctx, op, inp, weights, out, out_c, folded_bias(bias, w, -inp.zero_point))
    arrays.insert(0, ConstArray(ctx.symbol(op, "filter"), "int8_t", conv_filter_pairs(w),
                                shape_comment(weights) + ", OHWI as [pair][k/4][2][4], K padded to 4"))
    flags = [("fast_requant", fast_requant_flag(arrays[1].values, w, arrays[2].values, arrays[3].values, False)),
             ("requant_hi", requant_hi_mode(arrays, w, False, out.zero_point, unfolded=True))]
    arrays, fields = _mve_stream(ctx, op, w, arrays, shape_comment(weights))
    fields = dsp_stream(ctx, op, arrays, fields, conv_stream(
        w, arrays[1].values, arrays[2].values, arrays[3].values, out.zero_point, lo, hi),
        "CONV_2D stream: per channel pair 4 biases, int16 weight pairs, {m, H, r} x 2 (dsp_weights.py)", True)
    params = [("input", c_dims(inp.shape)), ("filter", c_dims(weights.shape)), ("output", c_dims(out.shape)),
              *_conv_geometry(op, inp, out, kh, kw),
              ("input_offset", str(-inp.zero_point)), ("output_offset", str(out.zero_point)),
              ("act", c_act(lo, hi)), *fields, *flags]
    return KernelCall("tk_conv2d_s8", "tk_conv2d_params", params, [op.inputs[0]], [op.outputs[0]], arrays,
                      scratch_bytes=conv_scratch_bytes(kh, kw, in_c, out_c),
                      sources=("tk_conv2d.c", "tk_conv2d_mve.c"))


@lowering("DEPTHWISE_CONV_2D")
def lower_depthwise(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    if graph.op_inputs(op)[0].dtype == "int16":
        from tinykit.codegen.ops_conv16 import lower_depthwise_s16

        return lower_depthwise_s16(op, graph, ctx)
    inp, weights, bias, out = _weighted_io(op, graph)
    _, kh, kw, out_c = weights.shape
    in_c = dims4(inp.shape)[3]
    if out_c % in_c or dims4(out.shape)[3] != out_c:
        raise unsupported(op, "depth_multiplier", f"filter depth {out_c} for {in_c} input channels")
    lo, hi = fused_activation(op, out)
    w = weight_array(weights)
    arrays, _ = _quant_arrays(ctx, op, inp, weights, out, out_c,
                              folded_bias(bias, w, -inp.zero_point, axis_last=True))
    arrays.insert(0, ConstArray(ctx.symbol(op, "filter"), "int8_t", w, shape_comment(weights) + ", 1HWO"))
    o = {**op.options, "depth_multiplier": out_c // in_c}
    _, oh, ow, _ = dims4(out.shape)
    plane = depthwise_plane(kh, kw, o.get("stride_h", 1), o.get("stride_w", 1), o.get("dilation_h_factor", 1),
                            o.get("dilation_w_factor", 1), out_c // in_c, oh, ow)
    flags = [("fast_requant", fast_requant_flag(arrays[1].values, w, arrays[2].values, arrays[3].values, True)),
             ("requant_hi", requant_hi_mode(arrays, w, True, out.zero_point))]
    dilation_w = int(o.get("dilation_w_factor") or 1)
    arrays, fields = _mve_stream(ctx, op, depthwise_rows(w, dilation_w), arrays, shape_comment(weights))
    if plane is None:  # the rows kernel (or Helium's)
        fields += [("stream", "NULL"), ("stream_rq", "0")]
    else:  # the plane kernel (Helium's on MVE cores)
        fields = dsp_stream(ctx, op, arrays, fields, depthwise_stream(
            w, arrays[1].values, arrays[2].values, arrays[3].values, out.zero_point, lo, hi, plane[0]),
            "DEPTHWISE_CONV_2D stream: per channel 2b, m, H, r, then per line (A, D) int16 pairs (dsp_weights.py)",
            True)
    params = [("input", c_dims(inp.shape)), ("filter", c_dims(weights.shape)), ("output", c_dims(out.shape)),
              ("depth_multiplier", str(out_c // in_c)), *_conv_geometry(op, inp, out, kh, kw),
              ("input_offset", str(-inp.zero_point)), ("output_offset", str(out.zero_point)),
              ("act", c_act(lo, hi)), *fields, *flags]
    return KernelCall("tk_depthwise_conv2d_s8", "tk_depthwise_conv2d_params", params, [op.inputs[0]],
                      [op.outputs[0]], arrays, scratch_bytes=depthwise_scratch(kh, kw, in_c, oh, ow, o),
                      sources=("tk_depthwise_conv2d.c", "tk_depthwise_conv2d_mve.c"))


@lowering("FULLY_CONNECTED")
def lower_fully_connected(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    if graph.op_inputs(op)[0].dtype == "int16":
        from tinykit.codegen.ops_conv16 import lower_fully_connected_s16

        return lower_fully_connected_s16(op, graph, ctx)
    inp, weights, bias, out = _weighted_io(op, graph)
    if len(weights.shape) != 2:
        raise unsupported(op, "weights shape", str(list(weights.shape)))
    if op.options.get("weights_format", "DEFAULT") not in ("DEFAULT", 0, None):
        raise unsupported(op, "weights_format", str(op.options.get("weights_format")))
    units, depth = weights.shape
    if inp.num_elements % depth:
        raise unsupported(op, "input shape", f"{inp.num_elements} elements for depth {depth}")
    lo, hi = fused_activation(op, out)
    w = weight_array(weights)
    arrays, _ = _quant_arrays(ctx, op, inp, weights, out, units, folded_bias(bias, w, -inp.zero_point),
                              collapse=True)
    arrays.insert(0, ConstArray(ctx.symbol(op, "filter"), "int8_t", fc_filter_quads(w),
                                shape_comment(weights) + ", as [quad][k/4][4][4], padded to 4"))
    flags = [("fast_requant", fast_requant_flag(arrays[1].values, w, arrays[2].values, arrays[3].values, False)),
             ("requant_hi", requant_hi_mode(arrays, w, False, out.zero_point))]
    arrays, fields = _mve_stream(ctx, op, w, arrays, shape_comment(weights))
    params = [("batches", str(inp.num_elements // depth)), ("depth", str(depth)), ("units", str(units)),
              ("input_offset", str(-inp.zero_point)), ("output_offset", str(out.zero_point)),
              ("act", c_act(lo, hi)), *fields,
              ("per_channel", "1" if len(weights.quantization.scale) > 1 else "0"), *flags]
    return KernelCall("tk_fully_connected_s8", "tk_fully_connected_params", params, [op.inputs[0]],
                      [op.outputs[0]], arrays, sources=("tk_fully_connected.c", "tk_fully_connected_mve.c"))


@lowering("RESHAPE", "SQUEEZE")
def lower_reshape(op: Any, graph: Any, ctx: LoweringContext) -> KernelCall:
    """No code when the planner aliased output onto input (the usual case); else a byte copy."""
    inp, out = graph.op_inputs(op)[0], graph.op_outputs(op)[0]
    if inp is None or inp.dtype != out.dtype or inp.nbytes != out.nbytes:
        raise unsupported(op, "shape", "output size differs from input size")
    aliased = ctx.offsets.get(op.inputs[0]) == ctx.offsets.get(op.outputs[0]) and not inp.is_constant
    return KernelCall("tk_reshape_s8", "tk_reshape_params", [("bytes", str(out.nbytes))], [op.inputs[0]],
                      [op.outputs[0]], alias=aliased, sources=() if aliased else ("tk_reshape.c",))
