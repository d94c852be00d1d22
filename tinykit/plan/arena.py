"""Static memory plan: tensor lifetimes over the execution order and offsets in one arena.

Every non-constant tensor (and every op's scratch buffer) becomes a :class:`Buffer` alive from the
step that produces it to the last step that reads it. Buffers whose lifetimes overlap never share
bytes. RESHAPE/SQUEEZE outputs alias their input, so they cost nothing. Placement is greedy by size
(largest first, lowest free offset), which is what TFLite Micro's greedy planner does too; the
lower bound (the most bytes alive at one step) shows how much any planner could still save.

Variable (state) tensors of recurrent ops (LSTM, SVDF) keep their values from one invocation to the
next, so they never share bytes with anything: they get their own region at the start of the arena
(``state_bytes``), alive at every step, and the shared buffers are placed after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tinykit.errors import PlanError
from tinykit.ir.graph import Graph
from tinykit.ir.ops import op_handler

ALIGNMENT = 16  # bytes; every buffer starts on a 16-byte boundary (SIMD loads, DMA)


@dataclass
class Buffer:
    """A block of arena memory: one tensor (plus its aliases) or one op's scratch space."""

    name: str
    size: int
    first: int
    last: int
    tensors: list[int] = field(default_factory=list)
    scratch_of: int | None = None
    offset: int = -1

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class MemoryPlan:
    """Where everything lives in the arena, and how good that is."""

    arena_bytes: int
    lower_bound_bytes: int
    offsets: dict[int, int]
    scratch_offsets: dict[int, int]
    scratch_bytes: dict[int, int]
    buffers: tuple[Buffer, ...]
    live_bytes: tuple[int, ...]  # bytes alive at each op step (tensors + scratch + state)
    state_bytes: int = 0  # the state region [0, state_bytes) of the arena
    state_tensors: tuple[int, ...] = ()  # variable tensors placed in it, in order

    @property
    def gap_bytes(self) -> int:
        return self.arena_bytes - self.lower_bound_bytes


def _align(value: int) -> int:
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def tensor_buffers(graph: Graph) -> list[Buffer]:
    """One buffer per group of tensors sharing memory, with its lifetime in op steps.

    A RESHAPE/SQUEEZE output always shares its input's buffer; an elementwise op's output takes
    over its input's buffer when that input dies at the op (run in place).
    """
    last_step = max(len(graph.operators) - 1, 0)
    last_use = _last_uses(graph)
    owner: dict[int, Buffer] = {}

    def buffer_of(index: int, step: int) -> Buffer:
        if index not in owner:
            tensor = graph.tensors[index]
            owner[index] = Buffer(tensor.name or f"tensor{index}", tensor.nbytes, step, step, [index])
        return owner[index]

    for index in graph.inputs:
        if not graph.tensors[index].is_variable:
            buffer_of(index, 0)
    for step, op in enumerate(graph.operators):
        for index in op.inputs:
            if index >= 0 and not graph.tensors[index].is_constant and not graph.tensors[index].is_variable:
                buffer_of(index, step).last = step
        shared = _shareable_input(graph, op, step, owner, last_use)
        for index in op.outputs:
            if graph.tensors[index].is_variable:
                continue
            if shared is not None:
                shared.tensors.append(index)
                shared.size = max(shared.size, graph.tensors[index].nbytes)
                owner[index] = shared
            else:
                buffer_of(index, step)
    for index in graph.outputs:
        if not graph.tensors[index].is_variable:
            buffer_of(index, last_step).last = last_step
    unique = {id(b): b for b in owner.values()}
    return list(unique.values())


def _last_uses(graph: Graph) -> dict[int, int]:
    """Last op step reading each tensor; graph inputs and outputs count as used forever."""
    last_use: dict[int, int] = {}
    for step, op in enumerate(graph.operators):
        for index in op.inputs:
            if index >= 0:
                last_use[index] = step
    for index in (*graph.inputs, *graph.outputs):
        last_use[index] = len(graph.operators)  # never overwritten: `infer N` reuses the input
    return last_use


def _shareable_input(graph: Graph, op, step: int, owner: dict[int, Buffer],
                     last_use: dict[int, int]) -> Buffer | None:
    """The input buffer this op's output may live in, or None."""
    handler = op_handler(op.opcode)
    if handler is None or not op.supported or len(op.outputs) != 1 or not op.inputs:
        return None
    if handler.aliases_input:
        return owner.get(op.inputs[0])
    position = handler.in_place_input(op, graph)
    if position is None:
        return None
    candidate = owner.get(op.inputs[position])
    if candidate is None or candidate.scratch_of is not None:
        return None
    output_bytes = graph.tensors[op.outputs[0]].nbytes
    dies_here = all(last_use.get(t, step) <= step for t in candidate.tensors)
    used_once = sum(1 for i in op.inputs if i in candidate.tensors) == 1  # not ADD(x, x)
    return candidate if dies_here and used_once and candidate.size == output_bytes else None


def state_buffers(graph: Graph) -> list[Buffer]:
    """One buffer per variable tensor, alive at every step, packed from offset 0 in tensor order."""
    last_step = max(len(graph.operators) - 1, 0)
    buffers, offset = [], 0
    for tensor in graph.variable_tensors:
        buf = Buffer(tensor.name or f"tensor{tensor.index}", tensor.nbytes, 0, last_step, [tensor.index])
        buf.offset = offset
        offset = _align(offset + tensor.nbytes)
        buffers.append(buf)
    return buffers


def scratch_buffers(graph: Graph) -> list[Buffer]:
    """Per-op scratch (im2col and friends), alive only during its op."""
    buffers = []
    for step, op in enumerate(graph.operators):
        handler = op_handler(op.opcode)
        size = handler.scratch_bytes(op, graph) if handler is not None and op.supported else 0
        if size > 0:
            buffers.append(Buffer(f"scratch{op.index}_{op.opcode.lower()}", size, step, step, scratch_of=op.index))
    return buffers


# Orders in which the greedy placer may take buffers. No single order wins on every model (largest
# first loses 17 % on MobileNet chains, first-use loses on autoencoders), so each is tried.
PLACEMENT_ORDERS: dict[str, Callable[[Buffer], tuple]] = {
    "size x lifetime": lambda b: (-b.size * (b.last - b.first + 1), b.first, b.name),
    "size": lambda b: (-b.size, b.first, b.name),
    "first use": lambda b: (b.first, -b.size, b.name),
}


def _place(buffers: list[Buffer], order: Callable[[Buffer], tuple]) -> int:
    """Greedy placement at the lowest free offset, in ``order``; returns the arena size."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=order):
        offset = 0
        for other in sorted((p for p in placed if p.overlaps_in_time(buf)), key=lambda p: p.offset):
            if offset + buf.size <= other.offset:
                break
            offset = max(offset, _align(other.offset + other.size))
        buf.offset = offset
        placed.append(buf)
    return _align(max((b.offset + b.size for b in placed), default=0))


def _place_best(buffers: list[Buffer]) -> int:
    """Try every placement order, keep the smallest arena (ties: the first order listed)."""
    results = []
    for order in PLACEMENT_ORDERS.values():
        arena = _place(buffers, order)
        results.append((arena, [b.offset for b in buffers]))
    arena, offsets = min(results, key=lambda r: r[0])
    for buf, offset in zip(buffers, offsets, strict=True):
        buf.offset = offset
    return arena


def _live_bytes(buffers: list[Buffer], steps: int) -> list[int]:
    return [sum(b.size for b in buffers if b.first <= step <= b.last) for step in range(max(steps, 1))]


def plan_memory(graph: Graph) -> MemoryPlan:
    """Plan the arena for ``graph``; raises PlanError if two live buffers would overlap (a bug)."""
    state = state_buffers(graph)
    state_bytes = _align(sum(_align(b.size) for b in state))
    tensors = tensor_buffers(graph)
    scratch = scratch_buffers(graph)
    shared = tensors + scratch
    arena = state_bytes + _place_best(shared)
    for buf in shared:  # the shared region starts after the state region
        buf.offset += state_bytes
    every = state + shared
    _check_no_overlap(every)
    live = _live_bytes(every, len(graph.operators))
    return MemoryPlan(
        arena_bytes=arena,
        lower_bound_bytes=max(live, default=0),
        offsets={t: b.offset for b in (*state, *tensors) for t in b.tensors},
        scratch_offsets={b.scratch_of: b.offset for b in scratch if b.scratch_of is not None},
        scratch_bytes={b.scratch_of: b.size for b in scratch if b.scratch_of is not None},
        buffers=tuple(sorted(every, key=lambda b: (b.first, b.offset))),
        live_bytes=tuple(live),
        state_bytes=state_bytes,
        state_tensors=tuple(t for b in state for t in b.tensors),
    )


def _check_no_overlap(buffers: list[Buffer]) -> None:
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            same_bytes = a.offset < b.offset + b.size and b.offset < a.offset + a.size
            if a.overlaps_in_time(b) and same_bytes and a.size and b.size:
                raise PlanError(f"memory plan overlaps {a.name} and {b.name} (a tinykit bug)")
