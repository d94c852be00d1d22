"""Unary int8/int16 ops beyond the classic activations: ABS, RSQRT, ELU, LOG_SOFTMAX, L2_NORMALIZATION.

Each handler refuses what TFLite Micro's Prepare refuses for the op (types, zero points, fixed
output quantizations), so ``inspect`` names the problem before code generation. TFLM runs NEG,
SQRT, SQUARE, EXP, LOG, SIN and COS on float32 only; a quantized model never reaches them, so they
have no handler here and are reported as unsupported like any other unknown op.
"""

from __future__ import annotations

import numpy as np

from tinykit.ir.graph import Graph, Operator, Tensor
from tinykit.ir.ops.base import (
    OpHandler,
    input_tensor,
    output_tensor,
    register,
    unsupported,
)
from tinykit.ir.ops.elementwise import require_same_type


class _SameType(OpHandler):
    """Input and output of one type and shape; element by element, so safe in place."""

    #: element types that TFLM also runs unquantized (plain integer arithmetic)
    unquantized_types: tuple[str, ...] = ()

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        require_same_type(op, graph)
        inp, out = input_tensor(graph, op, 0), output_tensor(graph, op)
        if inp.quantization is None and inp.dtype in self.unquantized_types:
            return
        if inp.quantization is None or out.quantization is None:
            raise unsupported(op, "unquantized tensors (TFLite Micro needs affine quantization)")
        self.check(op, inp, out)

    def check(self, op: Operator, inp: Tensor, out: Tensor) -> None:
        """TFLM's Prepare checks beyond the common ones."""

    def in_place_input(self, op: Operator, graph: Graph) -> int | None:
        return 0


class _ZeroPoint16(_SameType):
    """PrepareAbsRsqrt: int16 tensors need zero points 0. (Its type check never rejects anything:
    it casts the type to a function pointer, so TFLM also runs RSQRT on int16.)"""

    activation_types = ("int8", "int16")

    def check(self, op, inp, out) -> None:
        if inp.dtype == "int16" and (inp.zero_point, out.zero_point) != (0, 0):
            raise unsupported(op, "int16 zero points must be 0 (TFLite Micro refuses others)")


@register
class Abs(_ZeroPoint16):
    opcode = "ABS"
    unquantized_types = ("int16",)


@register
class Rsqrt(_ZeroPoint16):
    opcode = "RSQRT"


@register
class Elu(_SameType):
    opcode = "ELU"


@register
class LogSoftmax(_SameType):
    opcode = "LOG_SOFTMAX"
    options_table = "LogSoftmaxOptions"

    def check(self, op, inp, out) -> None:
        if (np.float32(out.scale), out.zero_point) != (np.float32(16.0 / 256), 127):
            raise unsupported(op, f"output quantization scale {out.scale:g} zero point {out.zero_point} "
                                  "(TFLite needs 16/256, 127)")
        if not inp.shape:
            raise unsupported(op, "a scalar input (TFLite Micro needs at least one dimension)")
        from tinykit.codegen.ops_softmax import log_softmax_params

        try:
            log_softmax_params(inp.scale)
        except ValueError as err:
            raise unsupported(op, f"input scale {inp.scale:g}: {err} (TFLite Micro refuses it)") from None


@register
class L2Normalization(_SameType):
    """int8 only; TFLM ignores the output quantization (the result is on a fixed 1/128 grid)."""

    opcode = "L2_NORMALIZATION"
    options_table = "L2NormOptions"

    def check(self, op, inp, out) -> None:
        if len(inp.shape) > 4:
            raise unsupported(op, f"rank {len(inp.shape)} input (TFLite Micro supports up to 4)")
        if not inp.shape:
            raise unsupported(op, "a scalar input (TFLite Micro needs at least one dimension)")
        act = op.options.get("fused_activation_function", "NONE")
        if act != "NONE":
            raise unsupported(op, f"fused activation {act} (TFLite Micro supports none)")
