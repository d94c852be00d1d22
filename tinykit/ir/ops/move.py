"""Data movement by strided views and splits: STRIDED_SLICE, SLICE, TRANSPOSE, BROADCAST_TO,
REVERSE_V2, SPACE_TO_DEPTH, DEPTH_TO_SPACE, SPLIT, SPLIT_V, UNPACK.

Each of the view ops maps every output element to one input element by a rule that is affine per
output axis, so its handler describes the op as a :class:`StridedView` (output extents, the input
step per output axis in elements, the input element of output element 0). The same view drives
three things, which therefore cannot disagree: the output shape check, constant folding (numpy
``as_strided``) and the C kernel's parameters (``tk_strided_copy``). The index logic is TFLite
Micro's, including what it ignores: its STRIDED_SLICE drops ``ellipsis_mask``, ``new_axis_mask``
and ``offset`` (they never reach its kernel), so tinykit drops them too.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator, Tensor
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    require_activation_types,
    unsupported,
)

#: element types of the ops that copy any int8/int16/int32 tensor (TFLM's list, without float/bool)
ANY_INT = ("int8", "int16", "int32")


@dataclass(frozen=True)
class StridedView:
    """``output[i0, i1, ...] = flat_input[offset + i0 * strides[0] + i1 * strides[1] + ...]``."""

    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    def apply(self, data: np.ndarray) -> np.ndarray:
        """The view evaluated with numpy (constant folding; the C kernel does the same walk)."""
        flat = np.ascontiguousarray(data).reshape(-1)
        if any(d == 0 for d in self.shape):
            return np.zeros(self.shape, flat.dtype)
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], self.shape, tuple(s * item for s in self.strides),
                                               writeable=False)
        return view.copy()


def row_major_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= int(d)
    return tuple(reversed(strides))


def const_values(op: Operator, graph: Graph, position: int, what: str,
                 dtypes: tuple[str, ...] = ("int32",)) -> np.ndarray:
    """A constant integer operand (begin, perm, axis, ...) as int64, or a one-line refusal."""
    tensor = input_tensor(graph, op, position)
    if tensor is None or not tensor.is_constant:
        raise unsupported(op, f"non-constant {what} (TFLite Micro needs it constant)")
    if tensor.dtype not in dtypes:
        raise unsupported(op, f"{tensor.dtype} {what} (expected {' or '.join(dtypes)})")
    return np.asarray(tensor.data).astype(np.int64).reshape(-1)


def require_same_type(op: Operator, graph: Graph, allowed: tuple[str, ...], inputs: tuple[int, ...] = (0,)) -> None:
    """Data inputs and every output share one element type, one of ``allowed``."""
    require_activation_types(op, graph, allowed)
    tensors = [input_tensor(graph, op, i) for i in inputs] + graph.op_outputs(op)
    types = {t.dtype for t in tensors if t is not None}
    if len(types) > 1:
        raise unsupported(op, f"mixed element types {sorted(types)} (TFLite Micro needs one)")
    if not types <= set(allowed):
        raise unsupported(op, f"{types.pop()} tensors (tinykit runs {' and '.join(allowed)} for {op.opcode})")


def require_shape(op: Operator, tensor: Tensor, expected: tuple[int, ...], what: str = "output") -> None:
    if tuple(tensor.shape) != tuple(expected):
        raise unsupported(op, f"{what} shape {list(tensor.shape)} does not match the {list(expected)} "
                              "TFLite Micro computes")


def require_rank(op: Operator, tensor: Tensor, low: int, high: int, what: str = "input") -> None:
    if not low <= len(tensor.shape) <= high:
        raise unsupported(op, f"rank {len(tensor.shape)} {what} (TFLite Micro runs ranks {low} to {high})")


def axis_in_range(op: Operator, axis: int, rank: int, what: str = "axis") -> int:
    """``axis`` made non-negative, or a refusal when it is outside ``[-rank, rank)``."""
    if not -rank <= axis < rank:
        raise unsupported(op, f"{what} {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


class _View(OpHandler):
    """An op that is one strided view of input 0."""

    types: tuple[str, ...] = ANY_INT
    activation_types = ANY_INT

    def view(self, op: Operator, graph: Graph) -> StridedView:
        raise NotImplementedError

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.types)
        view = self.view(op, graph)
        out = output_tensor(graph, op)
        if math.prod(view.shape) != out.num_elements:
            raise unsupported(op, f"output shape {list(out.shape)} does not match the {list(view.shape)} "
                                  "TFLite Micro computes")

    def output_shapes(self, op, graph):
        return None  # checked exactly in validate (the view's shape may include shrunk axes)

    def fold(self, op, graph, inputs):
        out = output_tensor(graph, op)
        return [self.view(op, graph).apply(inputs[0]).reshape(out.shape)]


# ---------------------------------------------------------------------------------- slicing


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _slice_start(begin: int, stride: int, size: int, masked: bool) -> int:
    """TFLM's StridedSliceStartForAxis."""
    start = begin + size if begin < 0 else begin
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if masked:
        start = 0 if stride > 0 else size - 1
    return start


def _slice_end(end: int, start: int, stride: int, size: int, masked: bool, shrink: bool) -> int:
    """TFLM's StridedSliceEndForAxis (offset is never set by TFLM's kernel)."""
    if shrink:
        return start if start >= size else start + 1
    end = end + size if end < 0 else end
    end = _clamp(end, 0, size) if stride > 0 else _clamp(end, -1, size - 1)
    if masked:
        end = size if stride > 0 else -1
    return end


def _count(start: int, stop: int, stride: int) -> int:
    return max(0, -((start - stop) // stride)) if stride > 0 else max(0, -((stop - start) // -stride))


@register
class StridedSlice(_View):
    opcode = "STRIDED_SLICE"
    num_inputs = (4, 4)
    options_table = "StridedSliceOptions"

    def axes(self, op: Operator, graph: Graph) -> list[tuple[int, int, int, bool]]:
        """Per input axis (start, stride, count, shrunk) as TFLM's kernel walks it."""
        shape = input_tensor(graph, op, 0).shape
        rank = len(shape)
        if not 1 <= rank <= 4:
            raise unsupported(op, f"rank {rank} input (TFLite Micro slices ranks 1 to 4)")
        begin, end, strides = (const_values(op, graph, i, name) for i, name in ((1, "begin"), (2, "end"),
                                                                               (3, "strides")))
        if not len(begin) == len(end) == len(strides) == rank:
            raise unsupported(op, f"begin/end/strides of {len(begin)}/{len(end)}/{len(strides)} values "
                                  f"for a rank {rank} input")
        if (strides == 0).any():
            raise unsupported(op, "a stride of 0")
        o = op.options
        result = []
        for i, size in enumerate(shape):
            bit = 1 << i
            stride, shrink = int(strides[i]), bool(o.get("shrink_axis_mask", 0) & bit)
            start = _slice_start(int(begin[i]), stride, size, bool(o.get("begin_mask", 0) & bit))
            stop = _slice_end(int(end[i]), start, stride, size, bool(o.get("end_mask", 0) & bit), shrink)
            result.append((start, stride, _count(start, stop, stride), shrink))
        return result

    def view(self, op, graph):
        axes = self.axes(op, graph)
        shape = input_tensor(graph, op, 0).shape
        strides = row_major_strides(shape)
        offset = sum(start * s for (start, _, count, _), s in zip(axes, strides, strict=True) if count)
        return StridedView(tuple(c for _, _, c, _ in axes),
                           tuple(step * s for (_, step, _, _), s in zip(axes, strides, strict=True)), offset)

    def validate(self, op, graph):
        super().validate(op, graph)
        expected = tuple(c for _, _, c, shrink in self.axes(op, graph) if not shrink)
        if any(shrink and c != 1 for _, _, c, shrink in self.axes(op, graph)):
            raise unsupported(op, "a shrunk axis whose begin lies outside the input (TFLite Micro writes nothing)")
        require_shape(op, output_tensor(graph, op), expected)


@register
class Slice(_View):
    opcode = "SLICE"
    num_inputs = (3, 3)
    options_table = "SliceOptions"

    def view(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        if not 1 <= len(shape) <= 5:
            raise unsupported(op, f"rank {len(shape)} input (TFLite Micro slices ranks 1 to 5)")
        begin = const_values(op, graph, 1, "begin", ("int32", "int64"))
        size = const_values(op, graph, 2, "size", ("int32", "int64"))
        if input_tensor(graph, op, 1).dtype != input_tensor(graph, op, 2).dtype:
            raise unsupported(op, "begin and size of different types")
        if not len(begin) == len(size) == len(shape):
            raise unsupported(op, f"begin/size of {len(begin)}/{len(size)} values for a rank {len(shape)} input")
        sizes = tuple(int(d - b) if s == -1 else int(s) for d, b, s in zip(shape, begin, size, strict=True))
        if any(b < 0 or s < 0 or b + s > d for d, b, s in zip(shape, begin, sizes, strict=True)):
            raise unsupported(op, f"slice begin {begin.tolist()} size {size.tolist()} outside the input "
                                  f"{list(shape)}")
        strides = row_major_strides(shape)
        return StridedView(sizes, strides, int(sum(int(b) * s for b, s in zip(begin, strides, strict=True))))

    def validate(self, op, graph):
        super().validate(op, graph)
        require_shape(op, output_tensor(graph, op), self.view(op, graph).shape)


# ---------------------------------------------------------------------------------- layout


@register
class Transpose(_View):
    opcode = "TRANSPOSE"
    num_inputs = (2, 2)
    options_table = "TransposeOptions"
    types = activation_types = ("int8", "int16")

    def view(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        if not 1 <= len(shape) <= 5:
            raise unsupported(op, f"rank {len(shape)} input (TFLite Micro transposes ranks 1 to 5)")
        perm = const_values(op, graph, 1, "perm")
        if len(perm) != len(shape) or ((perm < 0) | (perm >= len(shape))).any():
            raise unsupported(op, f"permutation {perm.tolist()} for a rank {len(shape)} input")
        strides = row_major_strides(shape)
        return StridedView(tuple(shape[p] for p in perm), tuple(strides[p] for p in perm))

    def validate(self, op, graph):
        super().validate(op, graph)
        require_shape(op, output_tensor(graph, op), self.view(op, graph).shape)


@register
class BroadcastTo(_View):
    opcode = "BROADCAST_TO"
    num_inputs = (2, 2)
    options_table = "BroadcastToOptions"

    def view(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        target = tuple(int(d) for d in const_values(op, graph, 1, "shape", ("int32", "int64")))
        if len(target) > 5 or len(shape) > len(target):
            raise unsupported(op, f"broadcast of {list(shape)} to {list(target)} (TFLite Micro: up to 5-D, "
                                  "input rank <= output rank)")
        ext = (1,) * (len(target) - len(shape)) + tuple(shape)
        if any(d != 1 and d != t for d, t in zip(ext, target, strict=True)):
            raise unsupported(op, f"shape {list(shape)} does not broadcast to {list(target)}")
        strides = row_major_strides(ext)
        return StridedView(target, tuple(0 if d == 1 else s for d, s in zip(ext, strides, strict=True)))

    def validate(self, op, graph):
        super().validate(op, graph)
        require_shape(op, output_tensor(graph, op), self.view(op, graph).shape)


@register
class ReverseV2(_View):
    opcode = "REVERSE_V2"
    num_inputs = (2, 2)
    options_table = "ReverseV2Options"

    def view(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        if not 1 <= len(shape) <= 6:
            raise unsupported(op, f"rank {len(shape)} input (TFLite Micro reverses ranks 1 to 6)")
        axes = sorted(axis_in_range(op, int(a), len(shape)) for a in const_values(op, graph, 1, "axis"))
        if any(b != a + 1 for a, b in itertools.pairwise(axes)):
            raise unsupported(op, f"axes {axes} are not contiguous (TFLite Micro reverses contiguous axes only)")
        strides = row_major_strides(shape)
        steps = tuple(-s if i in axes else s for i, s in enumerate(strides))
        offset = sum((shape[i] - 1) * strides[i] for i in axes)
        return StridedView(tuple(shape), steps, offset)

    def output_shapes(self, op, graph):
        return [input_tensor(graph, op, 0).shape]


class _DepthSpace(_View):
    num_inputs = (1, 1)
    input_ranks = MappingProxyType({0: (4,)})
    types = activation_types = ("int8",)

    def block(self, op: Operator) -> int:
        block = int(op.options.get("block_size", 0))
        if block < 1:
            raise unsupported(op, f"block size {block}")
        return block

    def validate(self, op, graph):
        super().validate(op, graph)
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])


@register
class SpaceToDepth(_DepthSpace):
    opcode = "SPACE_TO_DEPTH"
    options_table = "SpaceToDepthOptions"
    options_required = True

    def view(self, op, graph):
        n, h, w, c = input_tensor(graph, op, 0).shape
        b = self.block(op)
        if h % b or w % b:
            raise unsupported(op, f"input {h}x{w} is not a multiple of block size {b}")
        return StridedView((n, h // b, w // b, b, b, c), (h * w * c, b * w * c, b * c, w * c, c, 1))

    def output_shapes(self, op, graph):
        n, h, w, c = input_tensor(graph, op, 0).shape
        b = self.block(op)
        return [(n, h // b, w // b, c * b * b)]


@register
class DepthToSpace(_DepthSpace):
    opcode = "DEPTH_TO_SPACE"
    options_table = "DepthToSpaceOptions"
    options_required = True

    def view(self, op, graph):
        n, h, w, c = input_tensor(graph, op, 0).shape
        b = self.block(op)
        if c % (b * b):
            raise unsupported(op, f"{c} channels are not a multiple of block size {b} squared")
        co = c // (b * b)
        return StridedView((n, h, b, w, b, co), (h * w * c, w * c, b * co, c, co, 1))

    def output_shapes(self, op, graph):
        n, h, w, c = input_tensor(graph, op, 0).shape
        b = self.block(op)
        return [(n, h * b, w * b, c // (b * b))]


# ---------------------------------------------------------------------------------- splits


@dataclass(frozen=True)
class SplitPlan:
    """The input as ``[outer][sum(sizes)]``; output i takes ``sizes[i]`` elements of each row."""

    outer: int
    sizes: tuple[int, ...]


class _Split(OpHandler):
    activation_types = ANY_INT
    num_outputs = (1, 1 << 16)
    data_input = 0

    def extents(self, op: Operator, graph: Graph, axis: int) -> list[int]:
        raise NotImplementedError

    def axis(self, op: Operator, graph: Graph) -> int:
        raise NotImplementedError

    def plan(self, op: Operator, graph: Graph) -> SplitPlan:
        shape = input_tensor(graph, op, self.data_input).shape
        axis = self.axis(op, graph)
        extents = self.extents(op, graph, axis)
        inner = math.prod(shape[axis + 1:])
        return SplitPlan(math.prod(shape[:axis]), tuple(e * inner for e in extents))

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, ANY_INT, (self.data_input,))
        for out, shape in zip(graph.op_outputs(op), self.output_shapes(op, graph), strict=True):
            require_shape(op, out, shape)

    def output_shapes(self, op, graph):
        shape = list(input_tensor(graph, op, self.data_input).shape)
        axis = self.axis(op, graph)
        return [tuple([*shape[:axis], e, *shape[axis + 1:]]) for e in self.extents(op, graph, axis)]

    def fold(self, op, graph, inputs):
        plan = self.plan(op, graph)
        rows = np.ascontiguousarray(inputs[self.data_input]).reshape(plan.outer, -1)
        cuts = np.cumsum(plan.sizes)[:-1]
        return [part.reshape(t.shape).copy() for part, t in zip(np.split(rows, cuts, axis=1),
                                                                 graph.op_outputs(op), strict=True)]


@register
class Split(_Split):
    opcode = "SPLIT"
    num_inputs = (2, 2)
    options_table = "SplitOptions"
    data_input = 1

    def axis(self, op, graph):
        axis = const_values(op, graph, 0, "axis")
        rank = len(input_tensor(graph, op, 1).shape)
        return axis_in_range(op, int(axis[0]) if axis.size == 1 else rank, rank)

    def extents(self, op, graph, axis):
        dim, n = input_tensor(graph, op, 1).shape[axis], len(op.outputs)
        if dim % n:
            raise unsupported(op, f"axis of {dim} does not split into {n} equal parts")
        return [dim // n] * n


@register
class SplitV(_Split):
    opcode = "SPLIT_V"
    num_inputs = (3, 3)
    options_table = "SplitVOptions"

    def axis(self, op, graph):
        axis = const_values(op, graph, 2, "axis")
        rank = len(input_tensor(graph, op, 0).shape)
        return axis_in_range(op, int(axis[0]) if axis.size == 1 else rank, rank)

    def extents(self, op, graph, axis):
        """TFLM never reads size_splits: each output's own extent along the axis is what it copies."""
        shape = input_tensor(graph, op, 0).shape
        extents = [int(t.shape[axis]) if len(t.shape) == len(shape) else -1 for t in graph.op_outputs(op)]
        if min(extents) < 0 or sum(extents) != shape[axis]:
            raise unsupported(op, f"output extents {extents} along axis {axis} do not add up to {shape[axis]}")
        return extents


@register
class Unpack(_Split):
    opcode = "UNPACK"
    options_table = "UnpackOptions"

    def axis(self, op, graph):
        return axis_in_range(op, int(op.options.get("axis", 0)), len(input_tensor(graph, op, 0).shape))

    def extents(self, op, graph, axis):
        dim = input_tensor(graph, op, 0).shape[axis]
        if dim != len(op.outputs) or int(op.options.get("num", dim)) != dim:
            raise unsupported(op, f"{len(op.outputs)} outputs (num {op.options.get('num')}) for an axis of {dim}")
        return [1] * dim

    def output_shapes(self, op, graph):
        shape = list(input_tensor(graph, op, 0).shape)
        axis = self.axis(op, graph)
        return [tuple(shape[:axis] + shape[axis + 1:])] * len(self.extents(op, graph, axis))
