"""Binary arithmetic: ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, DIV, FLOOR_DIV, FLOOR_MOD,
ADD_N, PRELU.

The element types each op accepts are the ones TFLite Micro's kernel runs (int8, 16x8 int16, and
int32 where shape computations use it); broadcasting goes up to TFLM's 6 dimensions. The int32
versions fold on the host with the wrapping/clamping arithmetic TFLM's kernels use.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator, Tensor
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    require_activation,
    require_activation_types,
    unsupported,
)

#: TFLM's RuntimeShape holds at most 6 dimensions; its broadcast loops go no further
MAX_BROADCAST_RANK = 6
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

# CalculateActivationRange<int32_t> (the int32 kernels clamp to it, except ADD which ignores it)
_INT32_ACTIVATION = {"NONE": (INT32_MIN, INT32_MAX), "RELU": (0, INT32_MAX), "RELU6": (0, 6),
                     "RELU_N1_TO_1": (-1, 1)}


def broadcast_shape(op: Operator, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """numpy/TFLite broadcast of ``shapes``, or UnsupportedOpError naming them."""
    if max(len(s) for s in shapes) > MAX_BROADCAST_RANK:
        raise unsupported(op, f"rank {max(len(s) for s in shapes)} operands (TFLite Micro broadcasts at most "
                              f"{MAX_BROADCAST_RANK} dimensions)")
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " and ".join(str(list(s)) for s in shapes)
        raise unsupported(op, f"shapes {listed} do not broadcast") from None


def require_same_types(op: Operator, tensors: list[Tensor]) -> None:
    """TFLM reads every operand with the output's element type: they must agree."""
    types = sorted({t.dtype for t in tensors})
    if len(types) > 1:
        raise unsupported(op, f"mixed element types {', '.join(types)} (TFLite Micro needs one type)")


def require_per_tensor(op: Operator, tensors: list[Tensor], zero_point: bool = False) -> None:
    """Quantized int8/int16 operands carry one scale (and, where TFLM insists, zero point 0)."""
    for t in tensors:
        if t.dtype not in ("int8", "int16"):
            continue
        q = t.quantization
        if q is None or len(q.scale) != 1:
            raise unsupported(op, f"tensor {t.index} needs one per-tensor scale")
        if zero_point and q.zero_point[0] != 0:
            raise unsupported(op, f"int16 tensor {t.index} has zero point {q.zero_point[0]} "
                                  "(TFLite Micro requires 0)")


def int32_clamp(op: Operator, values: np.ndarray) -> np.ndarray:
    lo, hi = _INT32_ACTIVATION[op.options.get("fused_activation_function", "NONE")]
    return np.clip(values, lo, hi)


class _Binary(OpHandler):
    """Two operands broadcast against each other; output of the common type."""

    num_inputs = (2, 2)
    activation_types = ("int8", "int16", "int32")
    #: element types whose zero points must be 0 (TFLM's Prepare checks)
    zero_point_zero: tuple[str, ...] = ()
    #: the op carries a fused activation
    fused_activation = True
    #: int32 operands must carry no quantization (TFLM's Prepare checks for ADD, SUB, DIV)
    int32_unquantized = False

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        a, b, out = input_tensor(graph, op, 0), input_tensor(graph, op, 1), output_tensor(graph, op)
        require_same_types(op, [a, b, out])
        if out.dtype not in self.activation_types:
            raise unsupported(op, f"{out.dtype} tensors (TFLite Micro runs {op.opcode} on "
                                  f"{', '.join(self.activation_types)})")
        if self.fused_activation:
            require_activation(op)
        require_per_tensor(op, [a, b, out], zero_point=out.dtype in self.zero_point_zero)
        if out.dtype == "int32" and self.int32_unquantized and any(t.quantization for t in (a, b)):
            raise unsupported(op, "quantized int32 inputs (TFLite Micro runs unquantized int32 only)")
        broadcast_shape(op, [a.shape, b.shape])

    def output_shapes(self, op, graph):
        return [broadcast_shape(op, [input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape])]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out = output_tensor(graph, op)
        for position in (0, 1):
            tensor = input_tensor(graph, op, position)
            if not tensor.is_constant and tensor.shape == out.shape and tensor.dtype == out.dtype:
                return position
        return None

    def fold(self, op, graph, inputs):
        a, b = inputs[0], inputs[1]
        if a is None or b is None or a.dtype != np.int32 or b.dtype != np.int32:
            return None
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            result = self.fold_int32(op, a.astype(np.int64), b.astype(np.int64))
        if result is None:
            return None
        wrapped = ((np.asarray(result, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)
        return [wrapped.astype(np.int32)]

    def fold_int32(self, op: Operator, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """The int32 result (before wrapping to 32 bits), as TFLM's int32 kernel computes it."""
        return None


@register
class Add(_Binary):
    opcode = "ADD"
    options_table = "AddOptions"
    int32_unquantized = True

    def fold_int32(self, op, a, b):
        return a + b  # TFLM ignores the fused activation of an int32 ADD


@register
class Sub(_Binary):
    opcode = "SUB"
    options_table = "SubOptions"
    int32_unquantized = True

    def fold_int32(self, op, a, b):
        return int32_clamp(op, _wrap(a - b))


@register
class Mul(_Binary):
    opcode = "MUL"
    options_table = "MulOptions"
    zero_point_zero = ("int16",)

    def fold_int32(self, op, a, b):
        return int32_clamp(op, _wrap(a * b))


@register
class SquaredDifference(_Binary):
    opcode = "SQUARED_DIFFERENCE"
    options_table = "SquaredDifferenceOptions"
    zero_point_zero = ("int16",)
    fused_activation = False

    def fold_int32(self, op, a, b):
        d = _wrap(a - b)
        return d * d


@register
class Maximum(_Binary):
    opcode = "MAXIMUM"
    options_table = "MaximumMinimumOptions"
    activation_types = ("int8", "int16", "int32")
    fused_activation = False

    def fold_int32(self, op, a, b):
        return np.maximum(a, b)


@register
class Minimum(Maximum):
    opcode = "MINIMUM"

    def fold_int32(self, op, a, b):
        return np.minimum(a, b)


def _wrap(values: np.ndarray) -> np.ndarray:
    return ((values + (1 << 31)) % (1 << 32)) - (1 << 31)


@register
class Div(_Binary):
    opcode = "DIV"
    options_table = "DivOptions"
    activation_types = ("int8", "int32")
    int32_unquantized = True

    def fold_int32(self, op, a, b):
        if np.any(b == 0):
            return None  # TFLM divides by zero (undefined); not folded
        quotient = np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))  # C++ truncating division
        return int32_clamp(op, _wrap(quotient))


class _FloatOnly(_Binary):
    """Ops TFLite Micro runs on float32 only: refused for every integer type, folded for int32
    (shape arithmetic such as ``tf.shape(x)[1] // 2`` produces them on constants)."""

    fused_activation = False
    activation_types = ()

    def validate(self, op: Operator, graph: Graph) -> None:
        dtype = output_tensor(graph, op).dtype
        raise unsupported(op, f"{dtype} tensors (TFLite Micro runs {op.opcode} on float32 only)")


@register
class FloorDiv(_FloatOnly):
    opcode = "FLOOR_DIV"
    options_table = "FloorDivOptions"

    def fold_int32(self, op, a, b):
        return None if np.any(b == 0) else a // b


@register
class FloorMod(_FloatOnly):
    opcode = "FLOOR_MOD"
    options_table = "FloorModOptions"

    def fold_int32(self, op, a, b):
        return None if np.any(b == 0) else a % b


@register
class AddN(OpHandler):
    """ADD_N: any number of same-shape int8 tensors with one quantization (TFLM's Prepare)."""

    opcode = "ADD_N"
    options_table = "AddNOptions"
    num_inputs = (2, 1 << 16)
    #: tinykit's kernel lists its inputs in a fixed array (TK_ADD_N_MAX_INPUTS)
    max_inputs = 16

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inputs = graph.op_inputs(op)
        out = output_tensor(graph, op)
        require_same_types(op, [*inputs, out])
        require_per_tensor(op, [*inputs, out])
        if len(inputs) > self.max_inputs:
            raise unsupported(op, f"{len(inputs)} inputs (tinykit sums at most {self.max_inputs})")
        if any(t.is_constant for t in inputs):
            raise unsupported(op, "a constant input (tinykit sums activations only)")
        first = inputs[0]
        for t in inputs[1:]:
            if t.shape != first.shape:
                raise unsupported(op, f"input shapes {list(first.shape)} and {list(t.shape)} differ "
                                      "(ADD_N does not broadcast)")
            if t.zero_point != first.zero_point or np.float32(t.scale) != np.float32(first.scale):
                raise unsupported(op, "inputs with different quantizations (TFLite Micro requires one)")


@register
class Prelu(_Binary):
    """PRELU: input (int8 or int16) and an int8 alpha broadcast against it."""

    opcode = "PRELU"
    options_table = None
    activation_types = ("int8", "int16")
    fused_activation = False
    input_ranks = MappingProxyType({})

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types)
        x, alpha, out = input_tensor(graph, op, 0), input_tensor(graph, op, 1), output_tensor(graph, op)
        if x.dtype != out.dtype:
            raise unsupported(op, f"{x.dtype} input and {out.dtype} output (TFLite Micro needs one type)")
        if alpha.dtype != "int8":
            raise unsupported(op, f"{alpha.dtype} alpha (TFLite Micro runs int8 alpha)")
        require_per_tensor(op, [x, alpha, out])
        broadcast_shape(op, [x.shape, alpha.shape])

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        x, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        return 0 if not x.is_constant and x.shape == out.shape else None
