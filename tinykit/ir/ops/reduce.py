"""Reductions: MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ALL (any axes, keep_dims), ARG_MAX, ARG_MIN,
CUMSUM.

Element types are TFLite Micro's: MEAN and SUM reduce int8 and int16 (``QuantizedMeanOrSum``),
REDUCE_MAX/MIN int8 with one quantization in and out, REDUCE_ALL bool, ARG_MAX/ARG_MIN int8 into
int32 indices, CUMSUM int8. Axes are constant int32 tensors (TFLM checks the type).
"""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator, Tensor
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported


def constant_axes(op: Operator, graph: Graph, rank: int, single: bool = False) -> list[int]:
    """The op's axes (input 1): a constant int32 tensor, each in [-rank, rank), normalised and
    de-duplicated in order (TFLM's ResolveAxis)."""
    axes_t = input_tensor(graph, op, 1)
    if axes_t is None or not axes_t.is_constant:
        raise unsupported(op, "non-constant axes (tinykit computes the loops at generation time)")
    if axes_t.dtype != "int32":
        raise unsupported(op, f"{axes_t.dtype} axes (TFLite Micro needs int32)")
    values = [int(a) for a in np.ravel(axes_t.data)]
    if single and len(values) != 1:
        raise unsupported(op, f"{len(values)} axes (the op takes exactly one)")
    resolved: list[int] = []
    for a in values:
        if not -rank <= a < max(rank, 1):
            raise unsupported(op, f"axis {a} out of range for a rank-{rank} input")
        a = a + rank if a < 0 else a
        if a not in resolved:
            resolved.append(a)
    return resolved


def reduced_shape(shape: tuple[int, ...], axes: list[int], keep_dims: bool) -> tuple[int, ...]:
    if keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def require_types(op: Operator, tensors: list[Tensor], allowed: tuple[str, ...], what: str) -> None:
    for t in tensors:
        if t.dtype not in allowed:
            raise unsupported(op, f"{t.dtype} tensors (TFLite Micro {what} {', '.join(allowed)})")


class _Reduce(OpHandler):
    """A reduction over constant axes; ``types`` are what TFLM's kernel runs for the op."""

    num_inputs = (2, 2)
    options_table = "ReducerOptions"
    activation_types = ("int8", "int16", "bool")
    types: tuple[str, ...] = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        require_types(op, [inp, out], self.types, f"runs {op.opcode} on")
        if inp.dtype != out.dtype:
            raise unsupported(op, f"{inp.dtype} input and {out.dtype} output (TFLite Micro needs one type)")
        constant_axes(op, graph, len(inp.shape))
        if inp.dtype in ("int8", "int16") and any(t.quantization is None or len(t.quantization.scale) != 1
                                                  for t in (inp, out)):
            raise unsupported(op, "input and output need one per-tensor scale")

    def output_shapes(self, op, graph):
        inp = input_tensor(graph, op, 0)
        axes = constant_axes(op, graph, len(inp.shape))
        return [reduced_shape(inp.shape, axes, bool(op.options.get("keep_dims", False)))]


@register
class Mean(_Reduce):
    opcode = "MEAN"


@register
class Sum(_Reduce):
    opcode = "SUM"


@register
class ReduceMax(_Reduce):
    opcode = "REDUCE_MAX"
    types = ("int8",)

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if np.float32(inp.scale) != np.float32(out.scale) or inp.zero_point != out.zero_point:
            raise unsupported(op, "input and output quantizations differ (TFLite Micro requires one)")


@register
class ReduceMin(ReduceMax):
    opcode = "REDUCE_MIN"


@register
class ReduceAll(_Reduce):
    opcode = "REDUCE_ALL"
    types = ("bool",)


class _ArgMinMax(OpHandler):
    num_inputs = (2, 2)
    activation_types = ("int8", "int32")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if inp.dtype != "int8":
            raise unsupported(op, f"{inp.dtype} input (TFLite Micro runs {op.opcode} on int8)")
        if out.dtype != "int32":
            raise unsupported(op, f"{out.dtype} output (TFLite Micro writes int32 indices only; convert with "
                                  "output_type=tf.int32)")
        if not inp.shape:
            raise unsupported(op, "a scalar input (TFLite Micro needs at least one dimension)")
        constant_axes(op, graph, len(inp.shape), single=True)

    def output_shapes(self, op, graph):
        inp = input_tensor(graph, op, 0)
        return [reduced_shape(inp.shape, constant_axes(op, graph, len(inp.shape), single=True), False)]


@register
class ArgMax(_ArgMinMax):
    opcode = "ARG_MAX"
    options_table = "ArgMaxOptions"


@register
class ArgMin(_ArgMinMax):
    opcode = "ARG_MIN"
    options_table = "ArgMinOptions"


@register
class Cumsum(OpHandler):
    """CUMSUM int8 along one constant axis, optionally exclusive and/or reversed."""

    opcode = "CUMSUM"
    options_table = "CumsumOptions"
    num_inputs = (2, 2)

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if not inp.shape:
            raise unsupported(op, "a scalar input (TFLite Micro needs at least one dimension)")
        constant_axes(op, graph, len(inp.shape), single=True)
        if any(t.quantization is None or len(t.quantization.scale) != 1 for t in (inp, out)):
            raise unsupported(op, "input and output need one per-tensor scale")

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0  # each element is read before its own position is written, and never again
