"""Loop nests computed at generation time (``tk_loops.h``): broadcasting and reductions.

TFLite Micro recomputes these per call (``BroadcastBinaryOpSimple`` fuses the loops of a broadcast,
the reductions walk an index odometer per element); tinykit computes them once here and the C
kernels only run the resulting strided loops. Every nest lists its loops innermost first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: TK_LOOPS_MAX_DIMS in tk_loops.h; also TFLM's RuntimeShape limit (kMaxSmallSize = 6)
MAX_DIMS = 6
#: TK_BROADCAST_OPERANDS in tk_loops.h
MAX_OPERANDS = 3


class LoopError(ValueError):
    """Shapes a nest cannot describe (not broadcastable, too many dimensions)."""


@dataclass(frozen=True)
class Nest:
    """Loops innermost first: ``extents[d]`` and each operand's element stride ``strides[k][d]``."""

    extents: tuple[int, ...]
    strides: tuple[tuple[int, ...], ...]

    @property
    def rows(self) -> int:
        return int(np.prod(self.extents[1:], dtype=np.int64))

    @property
    def size(self) -> int:
        return int(np.prod(self.extents, dtype=np.int64))


def _pad(shape: Sequence[int], rank: int) -> tuple[int, ...]:
    return (1,) * (rank - len(shape)) + tuple(int(d) for d in shape)


def _fuse(dims: list[tuple[int, list[int]]]) -> Nest:
    """Fuse neighbouring loops (innermost first) that are contiguous for every operand."""
    loops: list[tuple[int, list[int]]] = []
    for extent, strides in dims:
        if loops:
            last_extent, last_strides = loops[-1]
            if all((p == 0 and s == 0) or (p != 0 and s == p * last_extent)
                   for p, s in zip(last_strides, strides, strict=True)):
                loops[-1] = (last_extent * extent, last_strides)
                continue
        loops.append((extent, strides))
    if not loops:
        loops = [(1, [0] * len(dims[0][1]) if dims else [])]
    if len(loops) > MAX_DIMS:
        raise LoopError(f"{len(loops)} loops after fusing (at most {MAX_DIMS})")
    extents = tuple(e for e, _ in loops)
    per_operand = tuple(tuple(s[k] for _, s in loops) for k in range(len(loops[0][1])))
    return Nest(extents, per_operand)


def broadcast_nest(shapes: Sequence[Sequence[int]], out_shape: Sequence[int]) -> Nest:
    """The loop nest of a broadcasting op: the output walked contiguously, each input with its own
    strides (0 along a broadcast dimension). Extent-1 output dimensions are dropped."""
    rank = max(len(out_shape), *(len(s) for s in shapes))
    if rank > MAX_DIMS:
        raise LoopError(f"rank {rank} (TFLite Micro broadcasts at most {MAX_DIMS} dimensions)")
    out = _pad(out_shape, rank)
    padded = [_pad(s, rank) for s in shapes]
    for shape in padded:
        if any(d not in (1, o) for d, o in zip(shape, out, strict=True)):
            raise LoopError(f"shape {list(shape)} does not broadcast to {list(out)}")
    try:
        expect = np.broadcast_shapes(*padded)
    except ValueError:
        raise LoopError("shapes do not broadcast") from None
    if tuple(expect) != out:
        raise LoopError(f"output shape {list(out)} is not the broadcast shape {list(expect)}")
    dims = []
    for i in reversed(range(rank)):
        if out[i] == 1:
            continue
        strides = [0 if s[i] == 1 else int(np.prod(s[i + 1:], dtype=np.int64)) for s in padded]
        dims.append((out[i], strides))
    if not dims:
        return Nest((1,), tuple((0,) for _ in shapes))
    return _fuse(dims)


def c_broadcast(nest: Nest) -> str:
    """The ``tk_broadcast`` initializer of a nest (strides of absent operands are 0)."""
    if len(nest.strides) > MAX_OPERANDS:
        raise LoopError(f"{len(nest.strides)} operands (at most {MAX_OPERANDS})")
    strides = [*nest.strides, *([(0,) * len(nest.extents)] * (MAX_OPERANDS - len(nest.strides)))]
    rows = ", ".join(_c_array(s) for s in strides)
    return f"{{{len(nest.extents)}, {nest.rows}, {_c_array(nest.extents)}, {{{rows}}}}}"


def _c_array(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def reduce_nests(shape: Sequence[int], axes: Sequence[int]) -> tuple[Nest, Nest]:
    """The kept and the reduced axes of a reduction as two strided nests over the input (one
    operand each): walking the kept nest gives the outputs in order, the reduced nest every input
    element of one output. Extent-1 dimensions drop out; neighbours of one kind fuse."""
    kept: list[tuple[int, list[int]]] = []
    reduced: list[tuple[int, list[int]]] = []
    for i in reversed(range(len(shape))):
        if int(shape[i]) == 1:
            continue
        stride = int(np.prod(shape[i + 1:], dtype=np.int64))
        (reduced if i in axes else kept).append((int(shape[i]), [stride]))
    single = Nest((1,), ((0,),))
    return (_fuse(kept) if kept else single), (_fuse(reduced) if reduced else single)


def c_loops(nest: Nest) -> str:
    """The ``tk_loops`` initializer of a one-operand nest."""
    return f"{{{len(nest.extents)}, {nest.rows}, {_c_array(nest.extents)}, {_c_array(nest.strides[0])}}}"


def axis_split(shape: Sequence[int], axis: int) -> tuple[int, int, int]:
    """(elements before the axis, its extent, elements after it): the three loops of ARG_MAX/CUMSUM."""
    before = int(np.prod(shape[:axis], dtype=np.int64))
    after = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return before, int(shape[axis]), after
