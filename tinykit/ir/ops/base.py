"""The op handler base class, its registry, and the helpers every handler family shares.

One handler per TFLite op owns that op's rules: its contract (how many inputs and outputs, which
are optional, which options table it carries, the ranks it accepts, its activation types), its
semantic validation, output shapes, MACs and scratch memory. (Constant folding needs nothing from
a handler: :mod:`tinykit.ir.fold` evaluates ops with the tflite-micro runtime itself.) The registry
rejects a second handler for an opcode.

Errors: a model that breaks an op's *contract* is malformed (:class:`ModelFormatError`, raised
while reading); a well-formed op that tinykit cannot run raises :class:`UnsupportedOpError`, which
the reader records as the op's ``unsupported_reason`` so ``inspect`` can list every problem at once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from tinykit.errors import ModelFormatError, UnsupportedOpError
from tinykit.ir.graph import Graph, Operator, Tensor

SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
#: integer types whose values mean nothing without a scale and zero point
QUANTIZED_TYPES = ("int8", "int16", "uint8")
#: bound of strides, dilations and window sizes: beyond it no real model goes, and the kernels'
#: 32-bit index arithmetic would overflow
MAX_WINDOW = 1 << 16
#: the (min, max) range of the geometry options every windowed op shares
WINDOW = (1, MAX_WINDOW)

_REGISTRY: dict[str, OpHandler] = {}


class OpHandler:
    """Base handler. Subclasses override what differs from an elementwise int8 op."""

    opcode: str = ""
    #: output shares its input's memory (RESHAPE, SQUEEZE): the planner aliases them
    aliases_input: bool = False

    # ---- the contract (checked for every op of every model before anything else runs) ----------
    #: (minimum, maximum) number of inputs; positions at or past the minimum are optional
    num_inputs: tuple[int, int] = (1, 1)
    #: positions below the minimum that may still be -1 (absent), e.g. a bias
    optional_inputs: frozenset[int] = frozenset()
    #: (minimum, maximum) number of outputs
    num_outputs: tuple[int, int] = (1, 1)
    #: name of the builtin options table the op carries (schema ``BuiltinOptions`` name), or None
    options_table: str | None = None
    #: the options table must be present: its defaults would be invalid (e.g. stride 0)
    options_required: bool = False
    #: accepted ranks per input position (positions not listed: any rank)
    input_ranks: Mapping[int, tuple[int, ...]] = MappingProxyType({})
    #: element types accepted for activations (non-constant inputs and outputs)
    activation_types: tuple[str, ...] = ("int8",)
    #: input positions that must carry quantization when their type is one of QUANTIZED_TYPES;
    #: None means every such input (weights included)
    quantized_inputs: frozenset[int] | None = None
    #: outputs of a QUANTIZED_TYPES type must carry quantization
    quantized_outputs: bool = True
    #: input positions that may be quantized per channel, and along which axis (OHWI filters: 0);
    #: None lets any constant input be per channel; activations never are
    per_channel_inputs: Mapping[int, int] | None = None
    #: input positions whose zero points must be 0 (symmetric int8 weights, as TFLite specifies)
    symmetric_inputs: frozenset[int] = frozenset()
    #: inclusive (min, max) of integer options, checked when the option is present
    option_ranges: Mapping[str, tuple[int, int]] = MappingProxyType({})
    #: input positions that may hold no elements (a RESHAPE to a scalar takes an empty shape)
    empty_inputs: frozenset[int] = frozenset()

    def check_format(self, op: Operator, graph: Graph) -> None:
        """Op-specific rules of a well-formed model that the declarations above cannot say (a bias
        with one value per output channel); raise ``malformed(op, ...)``. Runs after them."""

    def validate(self, op: Operator, graph: Graph) -> None:
        """Raise UnsupportedOpError for options or types tinykit cannot run."""
        require_activation_types(op, graph, self.activation_types)

    def output_shapes(self, op: Operator, graph: Graph) -> list[tuple[int, ...]] | None:
        """Shapes the op produces, or None when the model's own shapes are taken as given."""
        first = input_tensor(graph, op, 0)
        return [first.shape] if first is not None else None

    def macs(self, op: Operator, graph: Graph) -> int:
        return 0

    def scratch_bytes(self, op: Operator, graph: Graph) -> int:
        """Bytes of scratch memory the C kernel needs (must equal tk_<op>_s8_buffer_size())."""
        return 0

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        """Position of an input whose memory the output may take over (the kernel is safe with
        output == input, element by element), or None. The planner decides whether it is free."""
        return None


def register(cls: type[OpHandler]) -> type[OpHandler]:
    """Class decorator adding a handler to the registry; a duplicate opcode is a bug."""
    if cls.opcode in _REGISTRY:
        raise ValueError(f"duplicate handler for {cls.opcode}")
    _REGISTRY[cls.opcode] = cls()
    return cls


def op_handler(opcode: str) -> OpHandler | None:
    return _REGISTRY.get(opcode)


def supported_ops() -> list[str]:
    return sorted(_REGISTRY)


def analyse_operator(op: Operator, graph: Graph) -> Operator:
    """Return ``op`` with MACs and support status filled in by its handler. The graph has passed
    :func:`tinykit.ir.validate.validate_graph`, which checked the op's contract."""
    handler = op_handler(op.opcode)
    if handler is None:
        return dataclasses.replace(op, supported=False, unsupported_reason=f"op {op.opcode} is not supported")
    try:
        reject_dynamic_shapes(op, graph)
        reject_empty_tensors(handler, op, graph)
        handler.validate(op, graph)
        check_output_shapes(handler, op, graph)
    except UnsupportedOpError as err:
        return dataclasses.replace(op, supported=False, unsupported_reason=err.message)
    return dataclasses.replace(op, macs=handler.macs(op, graph))


def check_contract(handler: OpHandler, op: Operator, graph: Graph) -> None:
    """The op's declared contract: input/output counts, required inputs present, its options table
    present (where defaults would be invalid) and of the right type, option values in range, input
    ranks, quantization where the op needs it. A breach is a malformed model (ModelFormatError naming
    the op), raised before any handler code runs."""
    _check_arity(handler, op)
    _check_options(handler, op)
    for position, ranks in handler.input_ranks.items():
        tensor = input_tensor(graph, op, position)
        if tensor is not None and len(tensor.shape) not in ranks:
            allowed = " or ".join(str(r) for r in ranks)
            raise malformed(op, f"input {position} ({_label(tensor)}) has rank {len(tensor.shape)}, expected {allowed}")
    _check_quantized(handler, op, graph)
    handler.check_format(op, graph)


def _check_arity(handler: OpHandler, op: Operator) -> None:
    low, high = handler.num_inputs
    if not low <= len(op.inputs) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise malformed(op, f"has {len(op.inputs)} inputs, expected {expected}")
    for position, index in enumerate(op.inputs[:low]):
        if index < 0 and position not in handler.optional_inputs:
            raise malformed(op, f"required input {position} is absent")
    low, high = handler.num_outputs
    if not low <= len(op.outputs) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise malformed(op, f"has {len(op.outputs)} outputs, expected {expected}")
    if any(index < 0 for index in op.outputs):
        raise malformed(op, "an output is absent (-1)")


def _check_options(handler: OpHandler, op: Operator) -> None:
    if op.options_type and op.options_type != handler.options_table:
        expected = handler.options_table or "none"
        raise malformed(op, f"carries a {op.options_type} table, expected {expected}")
    if handler.options_required and not op.options_type:
        raise malformed(op, f"its {handler.options_table} table is missing")
    for name, (low, high) in handler.option_ranges.items():
        value = op.options.get(name)
        if value is not None and not low <= value <= high:
            raise malformed(op, f"option {name} = {value} is outside [{low}, {high}]")
    for name, value in op.options.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise malformed(op, f"option {name} = {value} is not a finite number")


def _check_quantized(handler: OpHandler, op: Operator, graph: Graph) -> None:
    """Quantization present where the op needs it; per channel only where declared, along the
    declared axis; zero points 0 where weights must be symmetric."""
    for position, tensor in enumerate(graph.op_inputs(op)):
        if tensor is None or tensor.dtype not in QUANTIZED_TYPES:
            continue
        needed = handler.quantized_inputs is None or position in handler.quantized_inputs
        _check_tensor_quantization(op, f"input {position}", tensor, needed, _channel_axis(handler, position, tensor),
                                   position in handler.symmetric_inputs)
    for position, tensor in enumerate(graph.op_outputs(op)):
        if tensor.dtype in QUANTIZED_TYPES:
            _check_tensor_quantization(op, f"output {position}", tensor, handler.quantized_outputs, None, False)


def _check_tensor_quantization(op: Operator, role: str, tensor: Tensor, needed: bool, axis: int | None,
                               symmetric: bool) -> None:
    q = tensor.quantization
    if q is None:
        if needed:
            raise malformed(op, f"{role} ({_label(tensor)}) is {tensor.dtype} without quantization "
                                "(scale, zero point)")
        return
    if len(q.scale) > 1 and axis is None and needed:
        raise malformed(op, f"{role} ({_label(tensor)}) is quantized per channel ({len(q.scale)} scales); "
                            f"{op.opcode} takes one scale there")
    if len(q.scale) > 1 and axis is not None and q.axis != axis:
        raise malformed(op, f"{role} ({_label(tensor)}) is quantized along axis {q.axis}, expected {axis}")
    if symmetric and any(z != 0 for z in q.zero_point):
        raise malformed(op, f"{role} ({_label(tensor)}) has zero point {max(q.zero_point, key=abs)}; "
                            f"{tensor.dtype} weights are symmetric (zero point 0)")


def _channel_axis(handler: OpHandler, position: int, tensor: Tensor) -> int | None:
    """The axis input ``position`` may be quantized along; None: one scale only."""
    if handler.per_channel_inputs is not None:
        return handler.per_channel_inputs.get(position)
    q = tensor.quantization
    return q.axis if tensor.is_constant and q is not None else None


def _label(tensor: Tensor) -> str:
    return tensor.name or f"tensor {tensor.index}"


# ----------------------------------------------------------------------------- helpers


def input_tensor(graph: Graph, op: Operator, i: int) -> Tensor | None:
    """Input ``i`` of ``op``, or None when it is absent (-1) or past the end."""
    return graph.tensors[op.inputs[i]] if i < len(op.inputs) and op.inputs[i] >= 0 else None


def output_tensor(graph: Graph, op: Operator, i: int = 0) -> Tensor:
    return graph.tensors[op.outputs[i]]


def unsupported(op: Operator, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{op.opcode} (op {op.index}): {what}")


def malformed(op: Operator, what: str) -> ModelFormatError:
    return ModelFormatError(f"{op.opcode} (op {op.index}): {what}")


def reject_empty_tensors(handler: OpHandler, op: Operator, graph: Graph) -> None:
    """An op reading or writing a tensor with no elements has nothing to compute (and would divide
    by its zero extents); only the inputs the handler lists in ``empty_inputs`` may be empty."""
    for position, tensor in enumerate(graph.op_inputs(op)):
        if tensor is not None and tensor.num_elements == 0 and position not in handler.empty_inputs:
            raise unsupported(op, f"input {position} ({_label(tensor)}) has no elements (shape {list(tensor.shape)})")
    for tensor in graph.op_outputs(op):
        if tensor.num_elements == 0:
            raise unsupported(op, f"output ({_label(tensor)}) has no elements (shape {list(tensor.shape)})")


def reject_dynamic_shapes(op: Operator, graph: Graph) -> None:
    for i in (*op.inputs, *op.outputs):
        if i >= 0 and any(d < 0 for d in graph.tensors[i].shape):
            raise unsupported(op, f"dynamic shape {list(graph.tensors[i].shape)} of tensor {i}")


def check_output_shapes(handler: OpHandler, op: Operator, graph: Graph) -> None:
    expected = handler.output_shapes(op, graph)
    if expected is None:
        return
    for i, shape in enumerate(expected):
        actual = output_tensor(graph, op, i).shape
        if tuple(actual) != tuple(shape) and int(np.prod(actual)) != int(np.prod(shape)):
            raise malformed(op, f"output shape {list(actual)} does not match the {list(shape)} its inputs give")


def require_activation_types(op: Operator, graph: Graph, allowed: tuple[str, ...] = ("int8",),
                             float_inputs: bool = False, float_outputs: bool = False) -> None:
    """Every non-constant input and every output has one of the ``allowed`` element types
    (float32 too where ``float_inputs``/``float_outputs`` say so, e.g. QUANTIZE/DEQUANTIZE)."""
    activations = [(t, "input", float_inputs) for t in graph.op_inputs(op) if t is not None and not t.is_constant]
    activations += [(t, "output", float_outputs) for t in graph.op_outputs(op)]
    for tensor, role, float_ok in activations:
        if tensor.dtype == "float32" and float_ok:
            continue
        if tensor.dtype not in allowed:
            runs = " and ".join(allowed)
            raise unsupported(op, f"{tensor.dtype} {role} activations (tinykit runs {runs} for {op.opcode})")


def require_activation(op: Operator) -> None:
    act = op.options.get("fused_activation_function", "NONE")
    if act not in SUPPORTED_ACTIVATIONS:
        raise unsupported(op, f"fused activation {act} (supported: {', '.join(SUPPORTED_ACTIVATIONS)})")


def require_padding(op: Operator) -> None:
    if op.options.get("padding") not in ("SAME", "VALID"):
        raise unsupported(op, f"padding {op.options.get('padding')}")


def conv_out(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Output extent of a convolution or pooling window along one axis (TFLite's rule)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def constant_weights(op: Operator, graph: Graph, dtypes: tuple[str, ...] = ("int8",),
                     bias_dtypes: tuple[str, ...] = ("int32",), bias_index: int = 2) -> Tensor:
    """Input 1 as constant weights of an accepted type, with an optional bias (input ``bias_index``)
    of an accepted type."""
    weights = input_tensor(graph, op, 1)
    if weights is None or not weights.is_constant:
        raise unsupported(op, "non-constant weights")
    if weights.dtype not in dtypes:
        raise unsupported(op, f"{weights.dtype} weights (tinykit supports {', '.join(dtypes)})")
    bias = input_tensor(graph, op, bias_index)
    if bias is not None and bias.dtype not in bias_dtypes:
        raise unsupported(op, f"{bias.dtype} bias (tinykit supports {', '.join(bias_dtypes)})")
    return weights
