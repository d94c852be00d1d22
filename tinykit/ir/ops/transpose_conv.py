"""TRANSPOSE_CONV, int8 and 16x8.

Inputs are (output shape, weights OHWI, input, optional bias); the output-shape operand may be a
constant or a graph input. TFLite Micro reads the bias as int32
for int8 and as int64 for 16x8 (an int16 bias is widened first; an int32 one would be misread, so
it is refused), runs no dilation, and takes the output's shape from the output tensor itself.
"""

from __future__ import annotations

from types import MappingProxyType

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    OpHandler,
    constant_weights,
    input_tensor,
    output_tensor,
    register,
    require_activation,
    require_padding,
    unsupported,
)
from tinykit.ir.ops.conv import require_positive

TRANSPOSE_CONV_BIAS_TYPES = {"int8": ("int32",), "int16": ("int64", "int16")}
#: the kernel keeps one filter matrix per stride phase (stride_h x stride_w of them); beyond this
#: many the constants (and the time to lay them out) grow without any real model needing it
MAX_STRIDE_PHASES = 4096


def transpose_conv_scratch_bytes(kh: int, kw: int, stride_h: int, stride_w: int, in_c: int) -> int:
    """= tk_transpose_conv_buffer_size(): the int16 columns of two output pixels of the phase with
    the most taps, ceil(kh / stride_h) * ceil(kw / stride_w) * in_c padded to 4."""
    taps = -(-kh // stride_h) * -(-kw // stride_w)
    return 2 * 2 * ((taps * in_c + 3) // 4 * 4)


@register
class TransposeConv(OpHandler):
    opcode = "TRANSPOSE_CONV"
    num_inputs = (3, 4)
    options_table = "TransposeConvOptions"
    options_required = True
    input_ranks = MappingProxyType({0: (1,), 1: (4,), 2: (4,), 3: (1,)})
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        # not the base check: the int32 output-shape operand may be a graph input (SEANet's are),
        # whose values TFLM never reads
        for tensor, role in ((input_tensor(graph, op, 2), "input"), (output_tensor(graph, op), "output")):
            if tensor.dtype not in self.activation_types:
                raise unsupported(op, f"{tensor.dtype} {role} activations (tinykit runs int8 and int16 for "
                                      "TRANSPOSE_CONV)")
        require_padding(op)
        require_activation(op)
        require_positive(op, "stride_h", "stride_w")
        phases = op.options["stride_h"] * op.options["stride_w"]
        if phases > MAX_STRIDE_PHASES:
            raise unsupported(op, f"strides {op.options['stride_h']}x{op.options['stride_w']} ({phases} phases; "
                                  f"tinykit's kernel takes at most {MAX_STRIDE_PHASES})")
        inp, out = input_tensor(graph, op, 2), output_tensor(graph, op)
        if inp.dtype != out.dtype:
            raise unsupported(op, f"{inp.dtype} input with {out.dtype} output (TFLite Micro needs the same type)")
        weights = constant_weights(op, graph, bias_dtypes=TRANSPOSE_CONV_BIAS_TYPES[inp.dtype], bias_index=3)
        if weights.shape[3] != inp.shape[3]:
            raise unsupported(op, f"filter depth {weights.shape[3]} for {inp.shape[3]} input channels")
        if len(out.shape) != 4 or out.shape[3] != weights.shape[0] or out.shape[0] != inp.shape[0]:
            raise unsupported(op, f"output shape {list(out.shape)} for {weights.shape[0]} filters and "
                                  f"batch {inp.shape[0]}")

    def output_shapes(self, op, graph):
        return None  # TFLM takes the output tensor's own shape (validate checks channels and batch)

    def macs(self, op, graph):
        out_c, kh, kw, _ = input_tensor(graph, op, 1).shape
        return input_tensor(graph, op, 2).num_elements * kh * kw * out_c

    def scratch_bytes(self, op, graph):
        _, kh, kw, in_c = input_tensor(graph, op, 1).shape
        return transpose_conv_scratch_bytes(kh, kw, op.options["stride_h"], op.options["stride_w"], in_c)
