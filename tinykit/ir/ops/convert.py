"""Type conversion and constant-producing ops: CAST, ZEROS_LIKE, FILL.

CAST converts element by element as the pinned runtime does (integers wrap modulo 2^n; floats
truncate toward zero and saturate, NaN giving 0); ZEROS_LIKE writes raw zeros (not the zero point: TFLM ignores
quantization); FILL broadcasts a scalar value to a shape given by a constant dims tensor. All three
may appear in shape computations, so each folds with numpy.
"""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    unsupported,
)

CAST_INPUTS = ("int8", "int16", "int32", "uint32", "float32", "bool")
CAST_OUTPUTS = ("int8", "int16", "int32", "uint32", "float32")
_NP = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
       "float32": np.float32, "bool": np.bool_}


def _require(op: Operator, role: str, dtype: str, allowed: tuple[str, ...]) -> None:
    if dtype not in allowed:
        raise unsupported(op, f"{dtype} {role} (TFLite Micro runs {', '.join(allowed)})")


@register
class Cast(OpHandler):
    opcode = "CAST"
    options_table = "CastOptions"
    activation_types = CAST_INPUTS
    quantized_inputs = frozenset()  # a cast converts values, never scales them
    quantized_outputs = False

    def validate(self, op: Operator, graph: Graph) -> None:
        _require(op, "input", input_tensor(graph, op, 0).dtype, CAST_INPUTS)
        _require(op, "output", output_tensor(graph, op).dtype, CAST_OUTPUTS)

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0  # element by element, same byte size (the planner checks the sizes)

    def fold(self, op, graph, inputs):
        value = np.asarray(inputs[0])
        out = np.dtype(_NP[output_tensor(graph, op).dtype])
        if value.dtype.kind == "f" and out.kind in "iu":  # truncate, saturate, NaN -> 0
            info = np.iinfo(out)
            value = np.clip(np.trunc(np.nan_to_num(value.astype(np.float64), nan=0.0)), info.min, info.max)
        return [value.astype(out)]


@register
class ZerosLike(OpHandler):
    opcode = "ZEROS_LIKE"
    activation_types = ("int8", "int32", "int64", "float32")
    quantized_inputs = frozenset()  # raw zeros whatever the scale
    quantized_outputs = False

    def validate(self, op: Operator, graph: Graph) -> None:
        _require(op, "input", input_tensor(graph, op, 0).dtype, self.activation_types)
        if output_tensor(graph, op).dtype != input_tensor(graph, op, 0).dtype:
            raise unsupported(op, "output type differs from the input's")

    def fold(self, op, graph, inputs):
        return [np.zeros(output_tensor(graph, op).shape, _NP[output_tensor(graph, op).dtype])]


@register
class Fill(OpHandler):
    opcode = "FILL"
    num_inputs = (2, 2)
    activation_types = ("int8", "int32", "float32")
    quantized_inputs = frozenset()  # the value is copied as it is stored
    quantized_outputs = False

    def validate(self, op: Operator, graph: Graph) -> None:
        dims, value, out = input_tensor(graph, op, 0), input_tensor(graph, op, 1), output_tensor(graph, op)
        _require(op, "value", value.dtype, self.activation_types)
        if value.shape:
            raise unsupported(op, f"value of shape {list(value.shape)} (TFLite Micro needs a scalar)")
        if out.dtype != value.dtype:
            raise unsupported(op, f"{out.dtype} output for a {value.dtype} value (TFLite needs the same type)")
        if not dims.is_constant:
            raise unsupported(op, "non-constant dims (TFLite Micro needs them constant)")
        if dims.dtype not in ("int8", "int16", "int32", "int64") or len(dims.shape) != 1:
            raise unsupported(op, f"dims of type {dims.dtype} and rank {len(dims.shape)} (needs a 1-D integer tensor)")
        shape = [int(d) for d in np.asarray(dims.data).reshape(-1)]
        if shape != list(out.shape):
            raise unsupported(op, f"dims {shape} differ from the output shape {list(out.shape)}")

    def output_shapes(self, op, graph):
        return None  # the dims tensor is checked against the output shape in validate

    def fold(self, op, graph, inputs):
        out = output_tensor(graph, op)
        return [np.full(out.shape, np.asarray(inputs[1]).reshape(()), _NP[out.dtype])]
