"""Elementwise ops: the unary activations (int8 and int16), SOFTMAX, QUANTIZE, DEQUANTIZE (ADD and MUL
live in :mod:`tinykit.ir.ops.binary`)."""

from __future__ import annotations

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


class _Unary(OpHandler):
    """Elementwise op whose output has the input's shape and type; safe in place in C."""

    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_same_type(op, graph)
        self.validate_quantization(op, graph, input_tensor(graph, op, 0), output_tensor(graph, op))

    def validate_quantization(self, op: Operator, graph: Graph, inp: Tensor, out: Tensor) -> None:
        """What TFLM's Prepare refuses for these quantizations (nothing by default)."""

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0


class _Sigmoid16(_Unary):
    """LOGISTIC/TANH: int16 needs zero points 0, an output scale of 2^-15 and a modest input scale."""

    pot_shifts: tuple[int, ...] = (0,)

    def validate_quantization(self, op, graph, inp, out) -> None:
        if inp.dtype != "int16":
            return
        from tinykit.codegen.lut16 import sigmoid16_params

        try:
            sigmoid16_params(inp.scale, inp.zero_point, out.scale, out.zero_point, self.pot_shifts)
        except ValueError as err:
            raise unsupported(op, f"int16 quantization: {err} (TFLite Micro refuses it)") from None


@register
class Logistic(_Sigmoid16):
    opcode = "LOGISTIC"

    def validate_quantization(self, op, graph, inp, out) -> None:
        if inp.dtype == "int8" and out.zero_point != -128:
            raise unsupported(op, f"output zero point {out.zero_point} (TFLite requires -128)")
        super().validate_quantization(op, graph, inp, out)


@register
class Tanh(_Sigmoid16):
    opcode = "TANH"
    pot_shifts = (0, 1)


@register
class Relu(_Unary):
    opcode = "RELU"

    def validate_quantization(self, op, graph, inp, out) -> None:
        if inp.dtype == "int16" and (inp.zero_point, out.zero_point) != (0, 0):
            raise unsupported(op, "int16 zero points must be 0 (TFLite Micro refuses others)")


@register
class Relu6(_Unary):
    opcode = "RELU6"


@register
class LeakyRelu(_Unary):
    opcode = "LEAKY_RELU"
    options_table = "LeakyReluOptions"


@register
class HardSwish(_Unary):
    opcode = "HARD_SWISH"
    options_table = "HardSwishOptions"
    activation_types = ("int8",)


@register
class Softmax(OpHandler):
    """int8 -> int8 (scale 1/256, zero point -128), int8 -> int16 (1/65536, -32768) and
    int16 -> int16 (1/32768, 0; input zero point 0), as SoftmaxPrepare checks them."""

    opcode = "SOFTMAX"
    options_table = "SoftmaxOptions"
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if not inp.shape:
            raise unsupported(op, "a scalar input (TFLite Micro needs at least one dimension)")
        expected = {("int8", "int8"): (1 / 256, -128, 0.0), ("int8", "int16"): (1 / 65536, -32768, 1e-3),
                    ("int16", "int16"): (1 / 32768, 0, 1e-3)}.get((inp.dtype, out.dtype))
        if expected is None:
            raise unsupported(op, f"{inp.dtype} input with {out.dtype} output")
        scale, zero_point, tolerance = expected
        if inp.dtype == "int16" and inp.zero_point != 0:
            raise unsupported(op, f"int16 input zero point {inp.zero_point} (TFLite Micro requires 0)")
        f32 = np.float32
        scale_ok = abs(f32(out.scale) - f32(scale)) <= f32(tolerance) * f32(scale)
        if out.zero_point != zero_point or not scale_ok:
            raise unsupported(op, f"output quantization scale {out.scale:g} zero point {out.zero_point} "
                                  f"(TFLite needs {scale:g}, {zero_point})")

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        # each row's inputs are all read (max, then each exp before its output is written)
        same = input_tensor(graph, op, 0).dtype == output_tensor(graph, op).dtype
        return 0 if same else None


# QUANTIZE input -> output types TFLM's PrepareQuantizeReference and Eval both accept.
QUANTIZE_PAIRS = frozenset({
    ("float32", "int8"), ("float32", "int16"),
    ("int8", "int8"), ("int8", "int16"), ("int8", "int32"),
    ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
    ("int32", "int8"), ("int32", "int16"),
})


@register
class Quantize(OpHandler):
    opcode = "QUANTIZE"
    activation_types = ("int8", "int16", "int32")

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types, float_inputs=True)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if (inp.dtype, out.dtype) not in QUANTIZE_PAIRS:
            raise unsupported(op, f"{inp.dtype} -> {out.dtype} (TFLite Micro quantizes "
                                  f"{', '.join(f'{a}->{b}' for a, b in sorted(QUANTIZE_PAIRS))})")
        if out.quantization is None or len(out.quantization.scale) != 1:
            raise unsupported(op, "output quantization: QUANTIZE needs a per-tensor output scale")
        if inp.dtype != "float32" and inp.quantization is None:
            raise unsupported(op, "input quantization: a requantizing QUANTIZE needs an input scale")

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        same = input_tensor(graph, op, 0).dtype == output_tensor(graph, op).dtype
        return 0 if same else None  # same-width requantize runs element by element


@register
class Dequantize(OpHandler):
    opcode = "DEQUANTIZE"
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        require_activation_types(op, graph, self.activation_types, float_outputs=True)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if out.dtype != "float32":
            raise unsupported(op, f"{out.dtype} output (TFLite Micro dequantizes to float32)")
        if inp.quantization is None:
            raise unsupported(op, "input quantization: DEQUANTIZE needs an input scale")


def require_same_type(op: Operator, graph: Graph) -> None:
    inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
    if inp.dtype != out.dtype:
        raise unsupported(op, f"{inp.dtype} input with {out.dtype} output (TFLite needs the same type)")
