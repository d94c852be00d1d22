"""The immutable graph every later stage works on.

The reader turns a ``.tflite`` flatbuffer into these objects once; the planner, the code generator
and ``inspect`` only ever see a :class:`Graph`, never the flatbuffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

# Bytes per element in memory of every fixed-size TFLite tensor type (sub-byte types are unpacked
# to one byte, as TFLM does); the reader refuses the others (string, resource, variant).
DTYPE_BYTES = {
    "float32": 4, "float16": 2, "float64": 8, "bfloat16": 2, "float8_e4m3fn": 1, "float8_e5m2": 1,
    "int64": 8, "int32": 4, "int16": 2, "int8": 1, "int4": 1, "int2": 1,
    "uint64": 8, "uint32": 4, "uint16": 2, "uint8": 1, "uint4": 1,
    "bool": 1, "complex64": 8, "complex128": 16,
}
#: the type of VAR_HANDLE's output: a resource variable's id, lowered to a state tensor by the reader
RESOURCE = "resource"


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: ``real = scale * (q - zero_point)``, per tensor or per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True, eq=False)
class Tensor:
    """One tensor of the graph; ``data`` is a read-only array for constants, ``None`` otherwise."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: Quantization | None = None
    data: np.ndarray | None = field(default=None, repr=False)
    is_variable: bool = False
    #: a resource variable's value after the init subgraph (CALL_ONCE) ran, set at NAME_init()
    initial: np.ndarray | None = field(default=None, repr=False)
    #: a resource variable's reset byte (TFLite Micro's default value), instead of reset_byte's rule
    fill: int | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_BYTES[self.dtype]

    @property
    def scale(self) -> float:
        """Per-tensor scale (the first one for per-channel tensors)."""
        return self.quantization.scale[0] if self.quantization else 0.0

    @property
    def zero_point(self) -> int:
        return self.quantization.zero_point[0] if self.quantization else 0

    @property
    def reset_byte(self) -> int:
        """The byte a variable tensor is filled with at init and reset: TFLite Micro memsets an int8
        tensor to its zero point and every other type to 0, whatever its buffer holds."""
        if self.fill is not None:
            return self.fill
        return self.zero_point & 0xFF if self.dtype == "int8" else 0


@dataclass(frozen=True, eq=False)
class Operator:
    """One op in execution order.

    ``inputs`` may contain ``-1`` for an optional input that is absent (e.g. a bias).
    ``options`` holds the decoded builtin options with snake_case keys and enum values as strings
    (``{"padding": "SAME", "stride_w": 1, "fused_activation_function": "RELU6", ...}``).
    ``options_type`` names the builtin options table the file carries (``"Conv2DOptions"``; ``""``
    when it has none). ``intermediates`` lists the op's intermediate tensors (16x8 LSTM scales).
    ``macs`` is computed by the op's handler; ``supported`` is False when no handler exists or the
    handler rejected an option (``unsupported_reason`` says why); for such an op ``tflm_runs`` says
    whether the tflite-micro runtime itself prepares it (None: not asked, e.g. a custom op).
    """

    index: int
    opcode: str
    options: Mapping[str, Any]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: str = ""
    intermediates: tuple[int, ...] = ()
    macs: int = 0
    supported: bool = True
    unsupported_reason: str = ""
    tflm_runs: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.options, MappingProxyType):
            object.__setattr__(self, "options", MappingProxyType(dict(self.options)))


@dataclass(frozen=True)
class FoldedOp:
    """An op of the file that does not run on the device: ``kind`` is ``"folded"`` when the reader
    evaluated it once (its ``outputs`` are now constant tensors of the graph) or ``"dead"`` when
    nothing it computes reaches a graph output."""

    index: int
    opcode: str
    outputs: tuple[int, ...]
    kind: str = "folded"


@dataclass(frozen=True, eq=False)
class Graph:
    """A single-subgraph model: tensors, operators in execution order, graph inputs and outputs.

    ``operators`` are the ops that run; each keeps its index in the file, so after constant folding
    the indices may have gaps (``folded`` says what became of the missing ones).
    """

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    sha256: str
    description: str = ""
    path: str = ""
    folded: tuple[FoldedOp, ...] = ()

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        """The op's input tensors, with ``None`` where an optional input is absent."""
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    @property
    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    @property
    def variable_tensors(self) -> list[Tensor]:
        """State tensors (LSTM/SVDF state): written by their op, kept from one invocation to the next."""
        used = {i for op in self.operators for i in (*op.inputs, *op.outputs) if i >= 0}
        used.update(self.inputs)
        used.update(self.outputs)
        return [t for t in self.tensors if t.is_variable and t.index in used]

    @property
    def stateful(self) -> bool:
        return bool(self.variable_tensors)

    @property
    def unsupported_ops(self) -> list[Operator]:
        return [op for op in self.operators if not op.supported]

    @property
    def total_macs(self) -> int:
        return sum(op.macs for op in self.operators)

    def weight_tensors(self) -> list[Tensor]:
        """Constant tensors that ops read (weights, biases, shapes), each once."""
        seen: dict[int, Tensor] = {}
        for op in self.operators:
            for i in op.inputs:
                if i >= 0 and self.tensors[i].is_constant:
                    seen.setdefault(i, self.tensors[i])
        return list(seen.values())

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.weight_tensors())

    @property
    def params(self) -> int:
        """Elements of every constant operand (weights, biases, shape operands), as TFLite counts them."""
        return sum(t.num_elements for t in self.weight_tensors())
