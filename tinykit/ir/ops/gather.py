"""Index-driven data movement: GATHER, GATHER_ND, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE.

The indices of these ops are usually computed at run time (int32 model inputs or activations), so
the C kernels read them; constant indices work the same way. TFLite Micro's bounds behaviour is
kept: GATHER does not check its coordinates (an out-of-range one is undefined there; tinykit's
kernel returns an error), GATHER_ND and EMBEDDING_LOOKUP fail the invocation on an out-of-range
index, DYNAMIC_UPDATE_SLICE clamps its start indices into range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported
from tinykit.ir.ops.move import ANY_INT, axis_in_range, require_shape

MAX_INDICES_ND = 5  # TFLM's GATHER_ND limit
MAX_UPDATE_RANK = 6  # TFLM's DYNAMIC_UPDATE_SLICE limit (RuntimeShape::kMaxSmallSize)


def require_index_tensor(op: Operator, graph: Graph, position: int, what: str,
                         dtypes: tuple[str, ...] = ("int32",)) -> None:
    tensor = input_tensor(graph, op, position)
    if tensor is None or tensor.dtype not in dtypes:
        got = "absent" if tensor is None else tensor.dtype
        raise unsupported(op, f"{got} {what} (TFLite Micro takes {' or '.join(dtypes)})")


def require_data_types(op: Operator, graph: Graph, positions: tuple[int, ...], allowed: tuple[str, ...]) -> None:
    """The data inputs at ``positions`` and every output have one type among ``allowed``."""
    tensors = [input_tensor(graph, op, p) for p in positions] + graph.op_outputs(op)
    types = {t.dtype for t in tensors if t is not None}
    if len(types) != 1 or not types <= set(allowed):
        raise unsupported(op, f"{' and '.join(sorted(types))} data (TFLite Micro runs {' and '.join(allowed)} "
                              f"for {op.opcode}, one type for data and output)")


@dataclass(frozen=True)
class GatherPlan:
    """TFLM's Gather loop sizes: ``[batch][outer][axis][inner]`` picked by ``[batch][coord]``."""

    batch: int
    outer: int
    axis_size: int
    coords: int
    inner: int


@register
class Gather(OpHandler):
    opcode = "GATHER"
    num_inputs = (2, 2)
    options_table = "GatherOptions"

    def plan(self, op: Operator, graph: Graph) -> GatherPlan:
        shape, coords = input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape
        axis = axis_in_range(op, int(op.options.get("axis", 0)), len(shape))
        batch_dims = int(op.options.get("batch_dims", 0))
        batch_dims += len(coords) if batch_dims < 0 else 0
        if not 0 <= batch_dims <= min(axis, len(coords), len(shape) - 1):
            raise unsupported(op, f"batch_dims {op.options.get('batch_dims')} with axis {axis}")
        if tuple(shape[:batch_dims]) != tuple(coords[:batch_dims]):
            raise unsupported(op, f"batch dimensions of {list(shape)} and indices {list(coords)} differ")
        return GatherPlan(math.prod(shape[:batch_dims]), math.prod(shape[batch_dims:axis]), shape[axis],
                          math.prod(coords[batch_dims:]), math.prod(shape[axis + 1:]))

    def validate(self, op: Operator, graph: Graph) -> None:
        require_index_tensor(op, graph, 1, "indices")
        require_data_types(op, graph, (0,), ("int8",))
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def output_shapes(self, op, graph):
        shape, coords = input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape
        axis = axis_in_range(op, int(op.options.get("axis", 0)), len(shape))
        batch_dims = int(op.options.get("batch_dims", 0))
        batch_dims += len(coords) if batch_dims < 0 else 0
        return [tuple(shape[:axis]) + tuple(coords[batch_dims:]) + tuple(shape[axis + 1:])]

    def fold(self, op, graph, inputs):
        p = self.plan(op, graph)
        data = np.ascontiguousarray(inputs[0]).reshape(p.batch, p.outer, p.axis_size, p.inner)
        coords = np.asarray(inputs[1]).reshape(p.batch, p.coords)
        if ((coords < 0) | (coords >= p.axis_size)).any():
            return None  # undefined in TFLM: leave it to run time
        picked = np.stack([data[b][:, coords[b]] for b in range(p.batch)])
        return [picked.reshape(output_tensor(graph, op).shape)]


@dataclass(frozen=True)
class GatherNdPlan:
    slices: int
    nd: int
    slice_size: int
    params_size: int
    dim_counts: tuple[int, ...]  # elements per index step along each of the nd leading axes


@register
class GatherNd(OpHandler):
    opcode = "GATHER_ND"
    num_inputs = (2, 2)
    options_table = "GatherNdOptions"

    def plan(self, op: Operator, graph: Graph) -> GatherNdPlan:
        params, indices = input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape
        if not params or not indices:
            raise unsupported(op, "params and indices must be at least vectors")
        nd = indices[-1]
        if nd > len(params) or nd > MAX_INDICES_ND:
            raise unsupported(op, f"index depth {nd} for rank {len(params)} params (TFLite Micro: at most "
                                  f"{MAX_INDICES_ND})")
        counts = tuple(math.prod(params[i + 1:]) for i in range(nd))
        return GatherNdPlan(math.prod(indices[:-1]), nd, math.prod(params[nd:]), math.prod(params), counts)

    def validate(self, op: Operator, graph: Graph) -> None:
        require_index_tensor(op, graph, 1, "indices")
        require_data_types(op, graph, (0,), ("int8",))
        self.plan(op, graph)
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def output_shapes(self, op, graph):
        params, indices = input_tensor(graph, op, 0).shape, input_tensor(graph, op, 1).shape
        return [tuple(indices[:-1]) + tuple(params[indices[-1]:])] if indices else None

    def fold(self, op, graph, inputs):
        p = self.plan(op, graph)
        flat = np.ascontiguousarray(inputs[0]).reshape(-1)
        starts = np.asarray(inputs[1]).reshape(p.slices, p.nd).astype(np.int64) @ np.array(p.dim_counts, np.int64)
        if ((starts < 0) | (starts + p.slice_size > p.params_size)).any():
            return None  # TFLM fails the invocation
        out = np.stack([flat[s:s + p.slice_size] for s in starts]) if p.slices else flat[:0]
        return [out.reshape(output_tensor(graph, op).shape)]


@register
class EmbeddingLookup(OpHandler):
    """A GATHER of rows (axis 0) with TFLM's bounds check; only the int8 -> int8 form (the hybrid
    int8 -> float32 form dequantizes into a float model, which tinykit does not run)."""

    opcode = "EMBEDDING_LOOKUP"
    num_inputs = (2, 2)

    def validate(self, op: Operator, graph: Graph) -> None:
        lookup, value = input_tensor(graph, op, 0), input_tensor(graph, op, 1)
        require_index_tensor(op, graph, 0, "lookup")
        if len(lookup.shape) != 1 or len(value.shape) < 2:
            raise unsupported(op, f"lookup of rank {len(lookup.shape)} into rank {len(value.shape)} values "
                                  "(TFLite Micro: a vector into a table of rank >= 2)")
        require_data_types(op, graph, (1,), ("int8",))
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def output_shapes(self, op, graph):
        lookup, value = input_tensor(graph, op, 0), input_tensor(graph, op, 1)
        return [tuple(lookup.shape[:1]) + tuple(value.shape[1:])]

    def fold(self, op, graph, inputs):
        ids, table = np.asarray(inputs[0]).reshape(-1), np.asarray(inputs[1])
        if ((ids < 0) | (ids >= table.shape[0])).any():
            return None
        return [table[ids].copy()]


@register
class DynamicUpdateSlice(OpHandler):
    opcode = "DYNAMIC_UPDATE_SLICE"
    num_inputs = (3, 3)
    options_table = "DynamicUpdateSliceOptions"
    activation_types = ANY_INT

    def validate(self, op: Operator, graph: Graph) -> None:
        operand, update, starts = (input_tensor(graph, op, i) for i in range(3))
        require_data_types(op, graph, (0, 1), ANY_INT)
        require_index_tensor(op, graph, 2, "start indices", ("int32", "int64"))
        rank = len(operand.shape)
        if not 1 <= rank <= MAX_UPDATE_RANK or len(starts.shape) != 1 or starts.shape[0] != rank:
            raise unsupported(op, f"start indices of shape {list(starts.shape)} for a rank {rank} operand "
                                  f"(TFLite Micro: one per axis, rank 1 to {MAX_UPDATE_RANK})")
        if len(update.shape) != rank or any(u > d for u, d in zip(update.shape, operand.shape, strict=True)):
            raise unsupported(op, f"update {list(update.shape)} does not fit the operand {list(operand.shape)}")
        require_shape(op, output_tensor(graph, op), operand.shape)

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return None if input_tensor(graph, op, 0).is_constant else 0  # the kernel skips the copy then

    def fold(self, op, graph, inputs):
        operand, update, starts = np.array(inputs[0]), np.asarray(inputs[1]), np.asarray(inputs[2]).reshape(-1)
        begin = [int(min(max(0, s), d - u)) for s, d, u in zip(starts, operand.shape, update.shape, strict=True)]
        operand[tuple(slice(b, b + u) for b, u in zip(begin, update.shape, strict=True))] = update
        return [operand]
