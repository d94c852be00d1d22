"""The one validation pass every model goes through before any stage uses it.

The schema bindings accept any bytes that decode: a tensor of an unknown type, a shape of
``[2147483647, 96, 96, 3]``, a scale of NaN, an operator with no outputs or reading a tensor that
does not exist yet. Left alone, each of those surfaces later as a KeyError, a ZeroDivisionError or
a 64 GiB arena. This module refuses them while reading, with a :class:`ModelFormatError` naming the
tensor or the op (its index) and what is wrong, so ``inspect``, ``generate``, ``build`` and ``run``
all see the same verdict.

What an op needs (input and output counts, options, which tensors are quantized and how) is declared
by its handler (:class:`tinykit.ir.ops.base.OpHandler`) and checked by
:func:`tinykit.ir.ops.base.check_contract`; this pass runs that check for every op, after the
checks that do not depend on the op: tensor types, shapes and sizes, quantization parameters,
operator wiring.
"""

from __future__ import annotations

import math

from tinykit.errors import ModelFormatError, UnsupportedOpError
from tinykit.ir.graph import DTYPE_BYTES, RESOURCE, Graph, Quantization, Tensor
from tinykit.ir.ops.base import check_contract, malformed, op_handler

#: one tensor's bytes must fit in signed 32-bit arithmetic (the kernels' and TFLM's sizes)
TENSOR_BYTES_LIMIT = (1 << 31) - 1
#: no TFLite kernel handles more than 6 dimensions; a much longer shape vector is a corrupt file
MAX_RANK = 8
#: types TFLite declares but that have no fixed element size (tinykit cannot place them)
UNSIZED_TYPES = ("string", "resource", "variant")
#: elements per byte of the packed sub-byte types, as their buffers store them
PACKED_TYPES = {"int4": 2, "uint4": 2, "int2": 4}
#: zero-point range of each integer type
ZERO_POINT_RANGES = {
    "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
    "int32": (-(1 << 31), (1 << 31) - 1), "uint32": (0, (1 << 32) - 1), "int4": (-8, 7), "uint4": (0, 15),
    "int2": (-2, 1), "int64": (-(1 << 63), (1 << 63) - 1), "uint64": (0, (1 << 64) - 1), "bool": (0, 1),
}
#: smallest scale accepted: float32's smallest normal number (denormal scales are corrupt values)
MIN_SCALE = 2.0 ** -126
MAX_SCALE = 3.4028234663852886e38


def tensor_label(index: int, name: str) -> str:
    return f"tensor {index} ({name})" if name else f"tensor {index}"


def check_layout(where: str, dtype: str, shape: tuple[int, ...]) -> None:
    """A tensor's type has a size and its shape is a sane, 32-bit sized one (``-1`` marks a
    dynamic dimension, which the op handlers refuse by name; it counts as 1 here)."""
    if dtype not in DTYPE_BYTES:
        if dtype in UNSIZED_TYPES:
            raise UnsupportedOpError(f"{where}: type {dtype} has no fixed size; tinykit places fixed-size "
                                     "tensors only")
        raise ModelFormatError(f"{where}: unknown tensor type ({dtype})")
    if len(shape) > MAX_RANK:
        raise ModelFormatError(f"{where}: rank {len(shape)} (tinykit reads at most {MAX_RANK} dimensions)")
    if any(d < -1 for d in shape):
        raise ModelFormatError(f"{where}: negative dimension in shape {list(shape)}")
    size = math.prod(max(d, 1) for d in shape) * DTYPE_BYTES[dtype]
    if size > TENSOR_BYTES_LIMIT:
        raise ModelFormatError(f"{where}: shape {list(shape)} of {dtype} is {size:,} bytes; a tensor must stay "
                               f"under 2 GiB ({TENSOR_BYTES_LIMIT:,} bytes, 32-bit sizes)")


def buffer_bytes(dtype: str, shape: tuple[int, ...]) -> int:
    """Bytes a constant of this type and shape occupies in the file (sub-byte types are packed)."""
    elements = math.prod(shape)
    if dtype in PACKED_TYPES:
        return -(-elements // PACKED_TYPES[dtype])
    return elements * DTYPE_BYTES[dtype]


def check_quantization(tensor: Tensor) -> None:
    """Scales finite and positive, zero points in the type's range, one zero point per scale, and a
    per-channel axis that exists and has one scale per channel."""
    q = tensor.quantization
    if q is None:
        return
    where = tensor_label(tensor.index, tensor.name)
    for scale in q.scale:
        if not MIN_SCALE <= scale <= MAX_SCALE:  # also false for NaN
            raise ModelFormatError(f"{where}: quantization scale {scale!r} is not a positive, finite, normal "
                                   "float32")
    if len(q.zero_point) != len(q.scale):
        raise ModelFormatError(f"{where}: {len(q.scale)} quantization scales but {len(q.zero_point)} zero points")
    low, high = ZERO_POINT_RANGES.get(tensor.dtype, (-(1 << 63), (1 << 63) - 1))
    for zero_point in q.zero_point:
        if not low <= zero_point <= high:
            raise ModelFormatError(f"{where}: zero point {zero_point} is outside the {tensor.dtype} range "
                                   f"[{low}, {high}]")
    if len(q.scale) > 1:
        _check_per_channel(where, tensor.shape, q)


def _check_per_channel(where: str, shape: tuple[int, ...], q: Quantization) -> None:
    if not 0 <= q.axis < len(shape):
        raise ModelFormatError(f"{where}: quantized per channel along axis {q.axis}, but its rank is {len(shape)}")
    if shape[q.axis] != len(q.scale):
        raise ModelFormatError(f"{where}: {len(q.scale)} per-channel scales along axis {q.axis}, which has "
                               f"{shape[q.axis]} channels")


def validate_graph(graph: Graph) -> None:
    """Refuse a malformed graph with a ModelFormatError; run every op's declared contract."""
    for tensor in graph.tensors:
        check_quantization(tensor)
    _check_graph_io(graph)
    written = _check_wiring(graph)
    for index in graph.outputs:
        if index not in written and index not in graph.inputs:
            tensor = graph.tensors[index]
            raise ModelFormatError(f"model output {tensor_label(index, tensor.name)} is written by no op")
    for op in graph.operators:
        handler = op_handler(op.opcode)
        if handler is not None:
            check_contract(handler, op, graph)


def _check_graph_io(graph: Graph) -> None:
    if not graph.outputs:
        raise ModelFormatError("the model has no outputs")
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        if any(i < 0 for i in indices):
            raise ModelFormatError(f"a model {role} is absent (tensor index -1)")
        if len(set(indices)) != len(indices):
            raise ModelFormatError(f"a tensor is listed twice among the model {role}s {list(indices)}")
    for index in (*graph.inputs, *graph.outputs):
        if graph.tensors[index].dtype == RESOURCE:
            raise UnsupportedOpError(f"model input/output {tensor_label(index, graph.tensors[index].name)} is a "
                                     "resource handle; tinykit runs numeric inputs and outputs only")
    for index in graph.inputs:
        tensor = graph.tensors[index]
        if tensor.is_constant:
            raise ModelFormatError(f"model input {tensor_label(index, tensor.name)} is a constant")


def _check_wiring(graph: Graph) -> set[int]:
    """Every op has outputs (but ASSIGN_VARIABLE, which writes its state tensor), writes no constant
    and no tensor another op writes, and reads only tensors that exist by then (constants, model
    inputs, state, earlier ops' outputs). Returns the tensors the ops write."""
    written: set[int] = set()
    available = set(graph.inputs) | {t.index for t in graph.tensors if t.is_constant or t.is_variable}
    every_output = {i for op in graph.operators for i in op.outputs}
    for op in graph.operators:
        handler = op_handler(op.opcode)
        if not op.outputs and (handler is None or handler.num_outputs[0] > 0):
            raise malformed(op, "has no outputs")
        for index in op.inputs:
            if index >= 0 and index not in available and index not in written:
                label = tensor_label(index, graph.tensors[index].name)
                if index in every_output:
                    raise malformed(op, f"reads {label} before the op that writes it (ops out of order)")
                raise malformed(op, f"reads {label}, which no op writes: it is not a variable tensor (state), "
                                    "a constant or a model input")
        for index in op.outputs:
            if index < 0:
                continue  # the op's contract says whether an output may be absent
            tensor = graph.tensors[index]
            if tensor.is_constant:
                raise malformed(op, f"writes {tensor_label(index, tensor.name)}, a constant")
            if index in written or index in graph.inputs:
                raise malformed(op, f"writes {tensor_label(index, tensor.name)}, which "
                                     f"{'is a model input' if index in graph.inputs else 'another op writes'}")
            written.add(index)
    return written

