"""Weighted ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, in int8 and 16x8.

16x8 (int16 activations, int8 weights) takes the bias types TFLite Micro reads for each op: int64
or int32 for CONV_2D and FULLY_CONNECTED (an int32 bias selects TFLM's int32 accumulator), int64
only for DEPTHWISE_CONV_2D (TFLM reads its bias as int64 whatever the tensor type).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    WINDOW,
    OpHandler,
    constant_weights,
    conv_out,
    input_tensor,
    malformed,
    output_tensor,
    register,
    require_activation,
    require_padding,
    unsupported,
)

#: bias element types per activation type, as TFLite Micro's kernels read them
CONV_BIAS_TYPES = {"int8": ("int32",), "int16": ("int64", "int32")}
DEPTHWISE_BIAS_TYPES = {"int8": ("int32",), "int16": ("int64",)}


def require_positive(op: Operator, *keys: str) -> None:
    """Strides and dilations must be at least 1 (0 would divide by zero in TFLM's Prepare)."""
    for key in keys:
        value = op.options.get(key, 1)
        if not isinstance(value, int) or value < 1:
            raise unsupported(op, f"{key} {value} (must be at least 1)")


def weight_types(op: Operator, graph: Graph) -> tuple[str, ...]:
    """TFLM runs int4 (packed) weights with int8 activations only."""
    return ("int8", "int4") if input_tensor(graph, op, 0).dtype == "int8" else ("int8",)


def check_bias_scale(op: Operator, graph: Graph, scales: tuple[float, ...]) -> None:
    """FULLY_CONNECTED with per-tensor weights and a bias: TFLM's Prepare requires the bias scale
    within 2 % of an output step of input scale x weight scale (GetQuantizedConvolutionMultipler)."""
    bias = input_tensor(graph, op, 2)
    inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
    if bias is None or len(scales) != 1 or not (bias.quantization and inp.quantization and out.quantization):
        return
    product = float(np.float32(inp.scale)) * float(np.float32(scales[0]))
    if abs(product - float(np.float32(bias.scale))) / float(np.float32(out.scale)) > 0.02:
        raise unsupported(op, f"bias scale {bias.scale:.6g} differs from input x weight scale {product:.6g} "
                              "(TFLite Micro refuses more than 2 % of an output step)")


def weighted_input_type(op: Operator, graph: Graph) -> str:
    """The op's activation type (int8 or int16; the contract already checked it is one of them),
    with its output of the same type, as TFLM's Prepare requires."""
    inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
    if inp.dtype != out.dtype:
        raise unsupported(op, f"{inp.dtype} input with {out.dtype} output (TFLite Micro needs the same type)")
    return inp.dtype


def s16_conv_scratch_bytes(kh: int, kw: int, in_c: int) -> int:
    """= tk_conv2d_s16_buffer_size(): the int16 columns of two output pixels, K padded to 4."""
    return 2 * 2 * ((kh * kw * in_c + 3) // 4 * 4)


def depthwise_plane(kh: int, kw: int, stride_h: int, stride_w: int, dilation_h: int, dilation_w: int,
                    multiplier: int, out_h: int, out_w: int) -> tuple[bool, int, int] | None:
    """The plane tk_depthwise_conv2d_s8 computes an int8 3x3 layer in, or None for layers it runs
    on padded input rows instead: (vertical, pu, pv) for 3x3, dilation 1, depth multiplier 1 and
    equal strides of 1 or 2 (= dw_plane_geometry in tk_depthwise_conv2d.c).

    One channel at a time is widened to int16 into a plane of pv lines of pu values, padded with
    the input zero point; lines run along the longer output side (``vertical``: along the
    height), in blocks of 4 outputs, so a line holds 4 * ceil(outputs / 4) * stride + 2 values."""
    if (kh, kw, dilation_h, dilation_w, multiplier) != (3, 3, 1, 1, 1) or stride_h != stride_w or stride_h > 2:
        return None
    vertical = out_h > out_w
    along, across = (out_h, out_w) if vertical else (out_w, out_h)
    return vertical, 4 * ((along + 3) // 4) * stride_h + 2, (across - 1) * stride_h + 3


def depthwise_scratch(kh: int, kw: int, in_c: int, out_h: int, out_w: int, options: dict) -> int:
    """= tk_depthwise_conv2d_s8_buffer_size(): kh zero-point padded input rows of
    ((out_w - 1) * stride_w + (kw - 1) * dilation_w + 1) pixels, or for the plane layers (see
    depthwise_plane) the larger of those rows (the Helium kernel's planes take the same bytes) and
    the int16 plane. One generated library serves every core, so its scratch fits both."""
    o = {"stride_h": 1, "stride_w": 1, "dilation_h_factor": 1, "dilation_w_factor": 1, "depth_multiplier": 1,
         **{k: v for k, v in options.items() if v is not None}}
    plane = depthwise_plane(kh, kw, o["stride_h"], o["stride_w"], o["dilation_h_factor"],
                            o["dilation_w_factor"], o["depth_multiplier"] or 1, out_h, out_w)
    rows = kh * ((out_w - 1) * o["stride_w"] + (kw - 1) * o["dilation_w_factor"] + 1) * in_c
    return rows if plane is None else max(rows, 2 * plane[1] * plane[2])


class _Weighted(OpHandler):
    """Ops with a weights tensor (input 1) and an optional bias (input 2) per output channel."""

    #: axis of the weights that counts the output channels
    channel_axis = 0

    def check_format(self, op: Operator, graph: Graph) -> None:
        weights, bias = input_tensor(graph, op, 1), input_tensor(graph, op, 2)
        channels = weights.shape[self.channel_axis] if weights is not None and weights.shape else None
        if bias is not None and channels is not None and bias.num_elements != channels:
            raise malformed(op, f"bias ({bias.name or bias.index}) has {bias.num_elements} values for "
                                f"{channels} output channels")


@register
class Conv2D(_Weighted):
    opcode = "CONV_2D"
    num_inputs = (2, 3)
    options_table = "Conv2DOptions"
    options_required = True
    input_ranks = MappingProxyType({0: (4,), 1: (4,), 2: (1,)})
    activation_types = ("int8", "int16")
    per_channel_inputs = MappingProxyType({1: 0})  # OHWI filter: one scale per output channel
    symmetric_inputs = frozenset({1})
    option_ranges = MappingProxyType({"stride_h": WINDOW, "stride_w": WINDOW, "dilation_h_factor": WINDOW,
                                      "dilation_w_factor": WINDOW})

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_padding(op)
        require_activation(op)
        require_positive(op, "stride_h", "stride_w", "dilation_h_factor", "dilation_w_factor")
        weights = constant_weights(op, graph, weight_types(op, graph), CONV_BIAS_TYPES[weighted_input_type(op, graph)])
        if input_tensor(graph, op, 0).shape[3] != weights.shape[3]:
            raise unsupported(op, "grouped convolution (input channels differ from filter depth)")

    def output_shapes(self, op, graph):
        n, h, w, _ = input_tensor(graph, op, 0).shape
        out_c, kh, kw, _ = input_tensor(graph, op, 1).shape
        o = op.options
        return [(n, conv_out(h, kh, o["stride_h"], o["dilation_h_factor"], o["padding"]),
                 conv_out(w, kw, o["stride_w"], o["dilation_w_factor"], o["padding"]), out_c)]

    def macs(self, op, graph):
        _, kh, kw, in_c = input_tensor(graph, op, 1).shape
        return output_tensor(graph, op).num_elements * kh * kw * in_c

    def scratch_bytes(self, op, graph):
        out_c, kh, kw, in_c = input_tensor(graph, op, 1).shape
        if input_tensor(graph, op, 0).dtype == "int16":
            return s16_conv_scratch_bytes(kh, kw, in_c)
        # = tk_conv2d_s8_buffer_size(): 2 pixels x ((int8 + int16) x K padded to 4 + int32 x (out_c + 1))
        return 2 * 3 * ((kh * kw * in_c + 3) // 4 * 4) + 2 * 4 * (out_c + 1)


@register
class DepthwiseConv2D(_Weighted):
    opcode = "DEPTHWISE_CONV_2D"
    num_inputs = (2, 3)
    options_table = "DepthwiseConv2DOptions"
    options_required = True
    input_ranks = MappingProxyType({0: (4,), 1: (4,), 2: (1,)})
    activation_types = ("int8", "int16")
    per_channel_inputs = MappingProxyType({1: 3})  # 1HWO filter: one scale per output channel
    channel_axis = 3
    symmetric_inputs = frozenset({1})
    option_ranges = MappingProxyType({"stride_h": WINDOW, "stride_w": WINDOW, "dilation_h_factor": WINDOW,
                                      "dilation_w_factor": WINDOW, "depth_multiplier": (0, WINDOW[1])})

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_padding(op)
        require_activation(op)
        require_positive(op, "stride_h", "stride_w", "dilation_h_factor", "dilation_w_factor")
        weights = constant_weights(op, graph, weight_types(op, graph),
                                   DEPTHWISE_BIAS_TYPES[weighted_input_type(op, graph)])
        in_c = input_tensor(graph, op, 0).shape[3]
        multiplier = op.options.get("depth_multiplier", 1) or weights.shape[3] // in_c
        if weights.shape[3] != in_c * multiplier:
            raise unsupported(op, f"filter depth {weights.shape[3]} != input channels x depth multiplier")

    def output_shapes(self, op, graph):
        n, h, w, _ = input_tensor(graph, op, 0).shape
        _, kh, kw, out_c = input_tensor(graph, op, 1).shape
        o = op.options
        return [(n, conv_out(h, kh, o["stride_h"], o["dilation_h_factor"], o["padding"]),
                 conv_out(w, kw, o["stride_w"], o["dilation_w_factor"], o["padding"]), out_c)]

    def macs(self, op, graph):
        _, kh, kw, _ = input_tensor(graph, op, 1).shape
        return output_tensor(graph, op).num_elements * kh * kw

    def scratch_bytes(self, op, graph):
        if input_tensor(graph, op, 0).dtype == "int16":
            return 0  # tk_depthwise_conv2d_s16 reads the input in place
        _, kh, kw, out_c = input_tensor(graph, op, 1).shape
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        options = {**op.options, "depth_multiplier": out_c // inp.shape[3]}
        return depthwise_scratch(kh, kw, inp.shape[3], out.shape[1], out.shape[2], options)


@register
class FullyConnected(_Weighted):
    opcode = "FULLY_CONNECTED"
    num_inputs = (2, 3)
    options_table = "FullyConnectedOptions"
    input_ranks = MappingProxyType({1: (2,), 2: (1,)})
    activation_types = ("int8", "int16")
    per_channel_inputs = MappingProxyType({1: 0})  # units x depth weights: one scale per unit
    symmetric_inputs = frozenset({1})

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_activation(op)
        weights = constant_weights(op, graph, weight_types(op, graph), CONV_BIAS_TYPES[weighted_input_type(op, graph)])
        scales = weights.quantization.scale if weights.quantization else ()
        if weights.dtype == "int4" and len(scales) > 1:
            raise unsupported(op, "int4 weights with per-channel scales (TFLite Micro refuses them)")
        check_bias_scale(op, graph, scales)
        if op.options.get("weights_format", "DEFAULT") != "DEFAULT":
            raise unsupported(op, f"weights format {op.options['weights_format']}")
        if input_tensor(graph, op, 0).num_elements % input_tensor(graph, op, 1).shape[1]:
            raise unsupported(op, "input size is not a multiple of the weights' depth")

    def output_shapes(self, op, graph):
        units, depth = input_tensor(graph, op, 1).shape
        inp = input_tensor(graph, op, 0)
        if op.options.get("keep_num_dims"):
            return [(*inp.shape[:-1], units)]
        return [(inp.num_elements // depth, units)]

    def macs(self, op, graph):
        return output_tensor(graph, op).num_elements * input_tensor(graph, op, 1).shape[1]
