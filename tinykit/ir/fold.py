"""Constant folding and dead-op removal, done once by the reader before ops are analysed.

Converters leave work in models that needs no device: Keras' dynamic batch size becomes
SHAPE -> STRIDED_SLICE -> PACK feeding a RESHAPE, weights arrive behind a TRANSPOSE or a
DEQUANTIZE. Any op whose inputs are all constant (or, for SHAPE, whose input has a static shape)
is evaluated here by the tflite-micro runtime itself (:mod:`tinykit.ir.tflm`), so every op and
dtype folds with TFLite Micro's exact semantics and no op needs Python code of its own; its outputs
become constant tensors. This repeats until nothing changes. Ops whose results reach no graph
output are dropped. The graph records both (:class:`~tinykit.ir.graph.FoldedOp`) for ``inspect``.

Folding happens before support is decided, so ops tinykit has no kernel for (SHAPE, int32
arithmetic) never reach the "unsupported op" verdict when they only compute constants.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinykit.ir import tflm
from tinykit.ir.graph import FoldedOp, Graph, Operator, Tensor

# Ops whose outputs depend only on their input's shape, not its values.
SHAPE_ONLY_OPS = frozenset({"SHAPE"})
# Ops that call other subgraphs or touch resource variables: never cut out on their own.
NEVER_FOLD = frozenset({"IF", "WHILE", "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"})


def fold_constants(graph: Graph) -> Graph:
    """``graph`` with constant ops evaluated and dead ops dropped (see the module docstring)."""
    tensors = list(graph.tensors)
    operators = list(graph.operators)
    records: list[FoldedOp] = []
    changed = True
    while changed:
        changed = False
        remaining = []
        for op in operators:
            folded = _fold(dataclasses.replace(graph, tensors=tuple(tensors)), op)
            if folded is None:
                remaining.append(op)
                continue
            for tensor in folded:
                tensors[tensor.index] = tensor
            records.append(FoldedOp(op.index, op.opcode, op.outputs))
            changed = True
        operators = remaining
    live, dead = _drop_dead(graph, operators, tensors)
    if not records and not dead:
        return graph
    return dataclasses.replace(graph, tensors=tuple(tensors), operators=tuple(live),
                               folded=tuple(sorted((*graph.folded, *records, *dead), key=lambda r: r.index)))


def foldable(graph: Graph, op: Operator) -> bool:
    """Whether ``op`` computes a constant: a builtin op, every input present and constant (SHAPE:
    statically shaped), no state, and no output the caller reads (a graph output stays an op)."""
    if op.opcode.startswith(("CUSTOM:", "BUILTIN_")) or op.opcode in NEVER_FOLD or op.intermediates:
        return False
    if not op.outputs or not op.inputs or any(i < 0 for i in op.inputs):
        return False
    if any(i in graph.outputs or graph.tensors[i].is_variable for i in op.outputs):
        return False
    for i in op.inputs:
        tensor = graph.tensors[i]
        if tensor.is_variable:
            return False
        static_shape = op.opcode in SHAPE_ONLY_OPS and all(d >= 0 for d in tensor.shape)
        if not (tensor.is_constant or static_shape):
            return False
    return True


def _fold(graph: Graph, op: Operator) -> list[Tensor] | None:
    """The op's outputs as constant tensors, or None when it cannot be folded."""
    if not foldable(graph, op):
        return None
    values = tflm.evaluate(graph, op)
    if values is None or len(values) != len(op.outputs):
        return None
    tensors = [_constant(graph.tensors[i], value) for i, value in zip(op.outputs, values, strict=True)]
    return None if any(t is None for t in tensors) else tensors


def _constant(tensor: Tensor, value: np.ndarray) -> Tensor | None:
    """``tensor`` holding ``value``: the file's shape when the element counts agree (TFLite Micro
    keeps the declared shape), the runtime's otherwise; None if the runtime's type differs."""
    try:
        if value.dtype != np.dtype(tensor.dtype):
            return None
    except TypeError:  # a type numpy does not know (int4)
        return None
    shape = tensor.shape if value.size == tensor.num_elements else tuple(int(d) for d in value.shape)
    data = np.ascontiguousarray(value).reshape(shape).copy()
    data.flags.writeable = False
    return dataclasses.replace(tensor, shape=shape, data=data)


def _drop_dead(graph: Graph, operators: list[Operator], tensors: list[Tensor]) -> tuple[list[Operator], list[FoldedOp]]:
    """Ops some graph output depends on (and every op with side effects on state), and the rest."""
    live_tensors = set(graph.outputs)
    kept: list[Operator] = []
    dead: list[FoldedOp] = []
    for op in reversed(operators):
        touches_state = any(tensors[i].is_variable for i in (*op.inputs, *op.outputs) if i >= 0)
        if not op.outputs or touches_state or any(i in live_tensors for i in op.outputs):
            kept.append(op)
            live_tensors.update(i for i in (*op.inputs, *op.intermediates) if i >= 0)
        else:
            dead.append(FoldedOp(op.index, op.opcode, op.outputs, kind="dead"))
    return kept[::-1], dead
