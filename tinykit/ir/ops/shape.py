"""Shape and padding ops: RESHAPE, SQUEEZE, EXPAND_DIMS (aliases), PAD, PADV2, MIRROR_PAD,
CONCATENATION, PACK.

RESHAPE, SQUEEZE and EXPAND_DIMS only relabel the dimensions of a row-major tensor, so the planner
lets their output share the input's memory. The rest copy bytes; their Prepare-time rules
(types, quantization equalities, the pad value) follow TFLite Micro's kernels.
"""

from __future__ import annotations

import math

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    unsupported,
)
from tinykit.ir.ops.move import ANY_INT, axis_in_range, const_values, require_same_type, require_shape

MAX_PAD_RANK = 5  # TFLM's PadKernelMaxDimensionCount
MAX_CONCAT_INPUTS = 10  # TFLM's kMaxInputNum
MAX_CONCAT_RANK = 6  # RuntimeShape::kMaxSmallSize


class _Alias(OpHandler):
    aliases_input = True
    activation_types = ANY_INT
    quantized_inputs = frozenset()  # a reshape moves no values: TFLM reads no scale
    quantized_outputs = False

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.activation_types)
        if input_tensor(graph, op, 0).num_elements != output_tensor(graph, op).num_elements:
            raise unsupported(op, "output size differs from input size")

    def output_shapes(self, op, graph):
        return None

    def fold(self, op, graph, inputs):
        return [np.asarray(inputs[0]).reshape(output_tensor(graph, op).shape).copy()]


@register
class Reshape(_Alias):
    opcode = "RESHAPE"
    num_inputs = (1, 2)
    options_table = "ReshapeOptions"
    empty_inputs = frozenset({1})  # new shape [] (a scalar) is an empty shape tensor


@register
class Squeeze(_Alias):
    opcode = "SQUEEZE"
    options_table = "SqueezeOptions"


@register
class ExpandDims(_Alias):
    opcode = "EXPAND_DIMS"
    num_inputs = (2, 2)
    options_table = "ExpandDimsOptions"
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def output_shapes(self, op, graph):
        axis_t = input_tensor(graph, op, 1)
        if axis_t is not None and len(axis_t.shape) > 1:
            raise unsupported(op, f"axis of shape {list(axis_t.shape)} (TFLite Micro takes one value)")
        axis = const_values(op, graph, 1, "axis")
        shape = list(input_tensor(graph, op, 0).shape)
        position = axis_in_range(op, int(axis[0]) if axis.size else len(shape) + 1, len(shape) + 1)
        return [tuple([*shape[:position], 1, *shape[position:]])]


# ---------------------------------------------------------------------------------- padding


def paddings(op: Operator, graph: Graph, dtypes: tuple[str, ...] = ("int32",)) -> list[tuple[int, int]]:
    """(before, after) per input axis from the constant paddings operand; refusals as TFLM's Prepare."""
    rank = len(input_tensor(graph, op, 0).shape)
    values = const_values(op, graph, 1, "paddings", dtypes)
    if values.size != 2 * rank:
        raise unsupported(op, f"{values.size} padding values for a rank {rank} input")
    pads = [(int(a), int(b)) for a, b in values.reshape(rank, 2)]
    if any(a < 0 or b < 0 for a, b in pads):
        raise unsupported(op, f"negative paddings {pads}")
    return pads


def padded_shape(op: Operator, graph: Graph, pads: list[tuple[int, int]]) -> tuple[int, ...]:
    return tuple(d + a + b for d, (a, b) in zip(input_tensor(graph, op, 0).shape, pads, strict=True))


def pad_value(op: Operator, graph: Graph) -> int:
    """TFLM's fill: PADV2's constant, else the output zero point for int8 and 0 for int16/int32."""
    out = output_tensor(graph, op)
    constant = input_tensor(graph, op, 2)
    if constant is None:
        if out.dtype == "int8" and not -128 <= out.zero_point <= 127:
            raise unsupported(op, f"output zero point {out.zero_point} outside int8")
        return out.zero_point if out.dtype == "int8" else 0
    if not constant.is_constant or constant.num_elements != 1 or constant.dtype != out.dtype:
        raise unsupported(op, "constant_values must be one constant element of the input's type")
    if out.dtype == "int8" and (constant.zero_point != out.zero_point or
                                np.float32(constant.scale) != np.float32(out.scale)):
        raise unsupported(op, "constant_values quantized differently from the output")
    return int(np.asarray(constant.data).reshape(-1)[0])


class _Pad(OpHandler):
    activation_types = ANY_INT

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.activation_types)
        rank = len(input_tensor(graph, op, 0).shape)
        if rank > MAX_PAD_RANK:
            raise unsupported(op, f"rank {rank} (TFLite Micro pads up to {MAX_PAD_RANK} dimensions)")
        require_shape(op, output_tensor(graph, op), padded_shape(op, graph, paddings(op, graph)))
        pad_value(op, graph)

    def output_shapes(self, op, graph):
        return [padded_shape(op, graph, paddings(op, graph))]

    def fold(self, op, graph, inputs):
        return [np.pad(inputs[0], paddings(op, graph), constant_values=pad_value(op, graph))]


@register
class Pad(_Pad):
    opcode = "PAD"
    num_inputs = (2, 3)
    options_table = "PadOptions"


@register
class PadV2(_Pad):
    opcode = "PADV2"
    num_inputs = (3, 3)
    options_table = "PadV2Options"


@register
class MirrorPad(OpHandler):
    opcode = "MIRROR_PAD"
    num_inputs = (2, 2)
    options_table = "MirrorPadOptions"
    options_required = True  # TFLM refuses a MIRROR_PAD without its options
    activation_types = ("int8",)

    def reflect(self, op: Operator) -> bool:
        return int(op.options.get("mode", 0)) == 0  # 0 REFLECT, 1 SYMMETRIC

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.activation_types)
        pads = paddings(op, graph, ("int32", "int64"))
        shape = input_tensor(graph, op, 0).shape
        limit = 1 if self.reflect(op) else 0
        if any(max(p) > d - limit for d, p in zip(shape, pads, strict=True)):
            mode = "REFLECT" if self.reflect(op) else "SYMMETRIC"
            raise unsupported(op, f"paddings {pads} too large for {list(shape)} in {mode} mode")
        require_shape(op, output_tensor(graph, op), padded_shape(op, graph, pads))

    def output_shapes(self, op, graph):
        return [padded_shape(op, graph, paddings(op, graph, ("int32", "int64")))]

    def fold(self, op, graph, inputs):
        mode = "reflect" if self.reflect(op) else "symmetric"
        return [np.pad(inputs[0], paddings(op, graph, ("int32", "int64")), mode=mode)]


# ---------------------------------------------------------------------------------- joins


@register
class Concatenation(OpHandler):
    opcode = "CONCATENATION"
    num_inputs = (1, 1 << 16)
    options_table = "ConcatenationOptions"
    activation_types = ANY_INT

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, ANY_INT, tuple(range(len(op.inputs))))
        if op.options.get("fused_activation_function", "NONE") != "NONE":
            raise unsupported(op, f"fused activation {op.options['fused_activation_function']}")
        if len(op.inputs) > MAX_CONCAT_INPUTS:
            raise unsupported(op, f"{len(op.inputs)} inputs (TFLite Micro concatenates at most {MAX_CONCAT_INPUTS})")
        out = output_tensor(graph, op)
        ins = [t for t in graph.op_inputs(op) if t is not None]
        if len(out.shape) > MAX_CONCAT_RANK or any(len(t.shape) != len(out.shape) for t in ins):
            raise unsupported(op, "inputs and output of different ranks, or rank above 6")
        for t in ins:
            if out.dtype == "int8" and (t.zero_point != out.zero_point or np.float32(t.scale) != np.float32(out.scale)):
                raise unsupported(op, f"input {t.index} quantized differently from the output (TFLite Micro "
                                      "copies bytes and requires equal scales and zero points)")
            if out.dtype == "int16" and (t.zero_point != 0 or out.zero_point != 0):
                raise unsupported(op, "int16 zero points must be 0")
        require_shape(op, out, self.output_shapes(op, graph)[0])

    def axis(self, op: Operator, graph: Graph) -> int:
        return axis_in_range(op, int(op.options.get("axis", 0)), len(output_tensor(graph, op).shape))

    def output_shapes(self, op, graph):
        shapes = [t.shape for t in graph.op_inputs(op) if t is not None]
        axis = self.axis(op, graph)
        out = list(shapes[0])
        if any(len(s) != len(out) or any(a != b for i, (a, b) in enumerate(zip(s, out, strict=True)) if i != axis)
               for s in shapes):
            raise unsupported(op, f"input shapes {[list(s) for s in shapes]} do not concatenate on axis {axis}")
        out[axis] = sum(s[axis] for s in shapes)
        return [tuple(out)]

    def fold(self, op, graph, inputs):
        return [np.concatenate([x for x in inputs if x is not None], axis=self.axis(op, graph))]


@register
class Pack(OpHandler):
    opcode = "PACK"
    num_inputs = (1, 1 << 16)
    options_table = "PackOptions"
    activation_types = ANY_INT

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, ANY_INT, tuple(range(len(op.inputs))))
        if int(op.options.get("values_count", len(op.inputs))) != len(op.inputs):
            raise unsupported(op, f"values_count {op.options.get('values_count')} for {len(op.inputs)} inputs")
        shapes = {tuple(t.shape) for t in graph.op_inputs(op) if t is not None}
        if len(shapes) != 1:
            raise unsupported(op, f"inputs of different shapes {sorted(shapes)}")
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def axis(self, op: Operator, graph: Graph) -> int:
        return axis_in_range(op, int(op.options.get("axis", 0)), len(input_tensor(graph, op, 0).shape) + 1)

    def output_shapes(self, op, graph):
        shape = list(input_tensor(graph, op, 0).shape)
        axis = self.axis(op, graph)
        return [tuple([*shape[:axis], len(op.inputs), *shape[axis:]])]

    def rows(self, op: Operator, graph: Graph) -> tuple[int, int]:
        """(outer, elements each input gives per outer row): PACK is a CONCATENATION on a new axis."""
        out = self.output_shapes(op, graph)[0]
        axis = self.axis(op, graph)
        return math.prod(out[:axis]), math.prod(out[axis + 1:])

    def fold(self, op, graph, inputs):
        return [np.stack(inputs, axis=self.axis(op, graph))]
