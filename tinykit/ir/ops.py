"""One handler per TFLite op: option validation, output shape, MACs and scratch memory.

The registry rejects a second handler for the same opcode, so each op's rules live in exactly one
place. Handlers raise :class:`UnsupportedOpError` with the offending option; the reader records that
as the op's ``unsupported_reason`` so ``inspect`` can list every problem at once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinykit.errors import ModelFormatError, UnsupportedOpError
from tinykit.ir.graph import Graph, Operator, Tensor

SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

_REGISTRY: dict[str, OpHandler] = {}


class OpHandler:
    """Base handler. Subclasses override what differs from an elementwise int8 op."""

    opcode: str = ""
    #: output shares its input's memory (RESHAPE, SQUEEZE): the planner aliases them
    aliases_input: bool = False

    def validate(self, op: Operator, graph: Graph) -> None:
        """Raise UnsupportedOpError for options or types tinykit cannot run."""
        _require_int8_io(op, graph)

    def output_shapes(self, op: Operator, graph: Graph) -> list[tuple[int, ...]] | None:
        """Shapes the op produces, or None when the model's own shapes are taken as given."""
        first = _input(graph, op, 0)
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
    """Return ``op`` with MACs and support status filled in by its handler."""
    handler = op_handler(op.opcode)
    if handler is None:
        return dataclasses.replace(op, supported=False, unsupported_reason=f"op {op.opcode} is not supported")
    try:
        _reject_dynamic_shapes(op, graph)
        handler.validate(op, graph)
        _check_shapes(handler, op, graph)
    except UnsupportedOpError as err:
        return dataclasses.replace(op, supported=False, unsupported_reason=err.message)
    return dataclasses.replace(op, macs=handler.macs(op, graph))


# ----------------------------------------------------------------------------- helpers


def _input(graph: Graph, op: Operator, i: int) -> Tensor | None:
    return graph.tensors[op.inputs[i]] if i < len(op.inputs) and op.inputs[i] >= 0 else None


def _output(graph: Graph, op: Operator, i: int = 0) -> Tensor:
    return graph.tensors[op.outputs[i]]


def _unsupported(op: Operator, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{op.opcode} (op {op.index}): {what}")


def _reject_dynamic_shapes(op: Operator, graph: Graph) -> None:
    for i in (*op.inputs, *op.outputs):
        if i >= 0 and any(d < 0 for d in graph.tensors[i].shape):
            raise _unsupported(op, f"dynamic shape {list(graph.tensors[i].shape)} of tensor {i}")


def _check_shapes(handler: OpHandler, op: Operator, graph: Graph) -> None:
    expected = handler.output_shapes(op, graph)
    if expected is None:
        return
    for i, shape in enumerate(expected):
        actual = _output(graph, op, i).shape
        if tuple(actual) != tuple(shape) and int(np.prod(actual)) != int(np.prod(shape)):
            raise ModelFormatError(
                f"{op.opcode} (op {op.index}): output shape {list(actual)} does not match "
                f"the {list(shape)} its inputs give"
            )


def _require_int8_io(op: Operator, graph: Graph, float_inputs: bool = False,
                     float_outputs: bool = False) -> None:
    activations = [(t, "input", float_inputs) for t in graph.op_inputs(op) if t is not None and not t.is_constant]
    activations += [(t, "output", float_outputs) for t in graph.op_outputs(op)]
    for tensor, role, float_ok in activations:
        if tensor.dtype == "float32" and float_ok:
            continue
        if tensor.dtype != "int8":
            raise _unsupported(op, f"{tensor.dtype} {role} activations (tinykit runs int8)")


def _require_activation(op: Operator) -> None:
    act = op.options.get("fused_activation_function", "NONE")
    if act not in SUPPORTED_ACTIVATIONS:
        raise _unsupported(op, f"fused activation {act} (supported: {', '.join(SUPPORTED_ACTIVATIONS)})")


def _require_padding(op: Operator) -> None:
    if op.options.get("padding") not in ("SAME", "VALID"):
        raise _unsupported(op, f"padding {op.options.get('padding')}")


def _conv_out(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def _weights(op: Operator, graph: Graph, dtypes: tuple[str, ...] = ("int8",)) -> Tensor:
    weights = _input(graph, op, 1)
    if weights is None or not weights.is_constant:
        raise _unsupported(op, "non-constant weights")
    if weights.dtype not in dtypes:
        raise _unsupported(op, f"{weights.dtype} weights (tinykit supports int8)")
    bias = _input(graph, op, 2)
    if bias is not None and bias.dtype != "int32":
        raise _unsupported(op, f"{bias.dtype} bias (tinykit supports int32)")
    return weights


# ----------------------------------------------------------------------------- weighted ops


@register
class Conv2D(OpHandler):
    opcode = "CONV_2D"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        _require_padding(op)
        _require_activation(op)
        weights = _weights(op, graph)
        if _input(graph, op, 0).shape[3] != weights.shape[3]:
            raise _unsupported(op, "grouped convolution (input channels differ from filter depth)")

    def output_shapes(self, op, graph):
        n, h, w, _ = _input(graph, op, 0).shape
        out_c, kh, kw, _ = _input(graph, op, 1).shape
        o = op.options
        return [(n, _conv_out(h, kh, o["stride_h"], o["dilation_h_factor"], o["padding"]),
                 _conv_out(w, kw, o["stride_w"], o["dilation_w_factor"], o["padding"]), out_c)]

    def macs(self, op, graph):
        _, kh, kw, in_c = _input(graph, op, 1).shape
        return _output(graph, op).num_elements * kh * kw * in_c

    def scratch_bytes(self, op, graph):
        # = tk_conv2d_s8_buffer_size(): 2 pixels x ((int8 + int16) x K padded to 4 + int32 x (out_c + 1))
        out_c, kh, kw, in_c = _input(graph, op, 1).shape
        return 2 * 3 * ((kh * kw * in_c + 3) // 4 * 4) + 2 * 4 * (out_c + 1)


@register
class DepthwiseConv2D(OpHandler):
    opcode = "DEPTHWISE_CONV_2D"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        _require_padding(op)
        _require_activation(op)
        weights = _weights(op, graph)
        in_c = _input(graph, op, 0).shape[3]
        multiplier = op.options.get("depth_multiplier", 1) or weights.shape[3] // in_c
        if weights.shape[3] != in_c * multiplier:
            raise _unsupported(op, f"filter depth {weights.shape[3]} != input channels x depth multiplier")

    def output_shapes(self, op, graph):
        n, h, w, _ = _input(graph, op, 0).shape
        _, kh, kw, out_c = _input(graph, op, 1).shape
        o = op.options
        return [(n, _conv_out(h, kh, o["stride_h"], o["dilation_h_factor"], o["padding"]),
                 _conv_out(w, kw, o["stride_w"], o["dilation_w_factor"], o["padding"]), out_c)]

    def macs(self, op, graph):
        _, kh, kw, _ = _input(graph, op, 1).shape
        return _output(graph, op).num_elements * kh * kw

    def scratch_bytes(self, op, graph):
        # = tk_depthwise_conv2d_s8_buffer_size(): kh zero-point padded input rows, plus 34 int32 per
        # four channels for the 3x3 fast path's table (3x3, dilation 1, multiplier 1, channels % 4 == 0)
        _, kh, kw, out_c = _input(graph, op, 1).shape
        in_c, out_w = _input(graph, op, 0).shape[3], _output(graph, op).shape[2]
        dilation_w = op.options.get("dilation_w_factor", 1)
        rows = kh * ((out_w - 1) * op.options.get("stride_w", 1) + (kw - 1) * dilation_w + 1) * in_c
        table = kh == 3 and kw == 3 and dilation_w == 1 and in_c % 4 == 0 and out_c == in_c
        return rows + (34 * 4 * (in_c // 4) if table else 0)


@register
class FullyConnected(OpHandler):
    opcode = "FULLY_CONNECTED"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        _require_activation(op)
        _weights(op, graph)
        if op.options.get("weights_format", "DEFAULT") != "DEFAULT":
            raise _unsupported(op, f"weights format {op.options['weights_format']}")
        if _input(graph, op, 0).num_elements % _input(graph, op, 1).shape[1]:
            raise _unsupported(op, "input size is not a multiple of the weights' depth")

    def output_shapes(self, op, graph):
        units, depth = _input(graph, op, 1).shape
        inp = _input(graph, op, 0)
        if op.options.get("keep_num_dims"):
            return [(*inp.shape[:-1], units)]
        return [(inp.num_elements // depth, units)]

    def macs(self, op, graph):
        return _output(graph, op).num_elements * _input(graph, op, 1).shape[1]


# ----------------------------------------------------------------------------- pooling / reduction


class _Pool(OpHandler):
    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        _require_padding(op)
        _require_activation(op)

    def output_shapes(self, op, graph):
        n, h, w, c = _input(graph, op, 0).shape
        o = op.options
        return [(n, _conv_out(h, o["filter_height"], o["stride_h"], 1, o["padding"]),
                 _conv_out(w, o["filter_width"], o["stride_w"], 1, o["padding"]), c)]


@register
class AveragePool2D(_Pool):
    opcode = "AVERAGE_POOL_2D"


@register
class MaxPool2D(_Pool):
    opcode = "MAX_POOL_2D"


@register
class Mean(OpHandler):
    opcode = "MEAN"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        axes = _input(graph, op, 1)
        if axes is None or not axes.is_constant:
            raise _unsupported(op, "non-constant axes")
        rank = len(_input(graph, op, 0).shape)
        normalised = sorted({int(a) % rank for a in np.ravel(axes.data)})
        if rank != 4 or normalised != [1, 2]:
            raise _unsupported(op, f"axes {normalised} of a rank-{rank} input (tinykit supports MEAN over H,W)")

    def output_shapes(self, op, graph):
        n, _, _, c = _input(graph, op, 0).shape
        return [(n, 1, 1, c)] if op.options.get("keep_dims") else [(n, c)]


# ----------------------------------------------------------------------------- elementwise


class _Binary(OpHandler):
    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        _require_activation(op)
        a, b = _input(graph, op, 0), _input(graph, op, 1)
        if len(a.shape) > 4 or len(b.shape) > 4:
            raise _unsupported(op, "broadcasting beyond 4 dimensions")
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise _unsupported(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None

    def output_shapes(self, op, graph):
        return [np.broadcast_shapes(_input(graph, op, 0).shape, _input(graph, op, 1).shape)]

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        out_shape = _output(graph, op).shape
        for position in (0, 1):
            tensor = _input(graph, op, position)
            if not tensor.is_constant and tensor.shape == out_shape:
                return position
        return None


@register
class Add(_Binary):
    opcode = "ADD"


@register
class Mul(_Binary):
    opcode = "MUL"


class _Unary(OpHandler):
    """Elementwise int8 -> int8 op whose output has the input's shape (a table look-up in C)."""

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0


for _name in ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH"):
    register(type(_name.title().replace("_", ""), (_Unary,), {"opcode": _name}))


@register
class Softmax(OpHandler):
    opcode = "SOFTMAX"

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0  # each row's inputs are all read (max, sum) before its outputs are written


@register
class Quantize(OpHandler):
    opcode = "QUANTIZE"

    def validate(self, op: Operator, graph: Graph) -> None:
        _require_int8_io(op, graph, float_inputs=True)

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0 if _input(graph, op, 0).dtype == "int8" else None  # int8 -> int8 requantize


@register
class Dequantize(OpHandler):
    opcode = "DEQUANTIZE"

    def validate(self, op: Operator, graph: Graph) -> None:
        _require_int8_io(op, graph, float_outputs=True)


# ----------------------------------------------------------------------------- data movement


class _Alias(OpHandler):
    aliases_input = True

    def validate(self, op: Operator, graph: Graph) -> None:
        _require_int8_io(op, graph)
        if _input(graph, op, 0).num_elements != _output(graph, op).num_elements:
            raise _unsupported(op, "output size differs from input size")

    def output_shapes(self, op, graph):
        return None


@register
class Reshape(_Alias):
    opcode = "RESHAPE"


@register
class Squeeze(_Alias):
    opcode = "SQUEEZE"


@register
class Pad(OpHandler):
    opcode = "PAD"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        paddings = _input(graph, op, 1)
        if paddings is None or not paddings.is_constant:
            raise _unsupported(op, "non-constant paddings")
        if len(_input(graph, op, 0).shape) > 4:
            raise _unsupported(op, "more than 4 dimensions")

    def output_shapes(self, op, graph):
        pads = np.asarray(_input(graph, op, 1).data).reshape(-1, 2)
        shape = _input(graph, op, 0).shape
        return [tuple(int(d + p[0] + p[1]) for d, p in zip(shape, pads, strict=True))]


@register
class Concatenation(OpHandler):
    opcode = "CONCATENATION"

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        if op.options.get("fused_activation_function", "NONE") != "NONE":
            raise _unsupported(op, f"fused activation {op.options['fused_activation_function']}")

    def output_shapes(self, op, graph):
        shapes = [t.shape for t in graph.op_inputs(op) if t is not None]
        axis = op.options.get("axis", 0) % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return [tuple(out)]

