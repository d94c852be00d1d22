"""The lowering registry: one decorated function per TFLite opcode turns an op into a kernel call.

A lowering is ``fn(op, graph, ctx) -> KernelCall``. It computes, at generation time, everything
TFLite Micro computes in Prepare (multipliers, shifts, clamp ranges, paddings) and describes the
call: C function, params struct type and initializer, constant arrays for ``NAME_weights.c``,
tensors passed as arguments, scratch bytes and the kernel files it needs. The generator renders
the call; it never knows about a specific op.

Op families live in ``tinykit/codegen/ops_<family>.py`` modules; ``tinykit.codegen`` imports all
of them at start-up, so adding a module is all it takes to add ops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykit.codegen.quant import (  # noqa: F401  (re-exported for the ops_*.py modules)
    SUPPORTED_ACTIVATIONS,
    activation_range,
    compute_out_size,
    compute_padding,
    conv_multipliers,
    f32,
    fc_multiplier,
    quantize_multiplier,
    tflite_round,
)
from tinykit.errors import CodegenError, UnsupportedOpError

# numpy dtype -> C type, for constant arrays and tensor pointers.
C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "uint16": "uint16_t",
    "int32": "int32_t",
    "uint32": "uint32_t",
    "int64": "int64_t",
    "float32": "float",
    "bool": "uint8_t",
}


@dataclass(frozen=True)
class ConstArray:
    """A constant array emitted in ``NAME_weights.c`` (const, 16-byte aligned, with ``_size``)."""

    c_name: str
    c_type: str
    values: np.ndarray
    comment: str = ""
    #: which builds read the array (VARIANT_BUILDS): "" every build; "mve" only builds for Helium
    #: (MVE) cores, "no_mve" the others (TK_MVE_OR / TK_NO_MVE in tk_mve.h); "plain" only builds
    #: without the DSP extension, "dsp" those with it (Helium cores included), "dsp_no_mve" those
    #: with it but without Helium (TK_PLAIN_ONLY / TK_DSP_ONLY in tk_dsp.h). The linker drops the
    #: arrays a build does not read.
    variant: str = ""


#: the builds (plain C, DSP without MVE, Helium) that read an array of each ConstArray.variant
VARIANT_BUILDS = {"": ("plain", "dsp", "mve"), "no_mve": ("plain", "dsp"), "mve": ("mve",),
                  "plain": ("plain",), "dsp": ("dsp", "mve"), "dsp_no_mve": ("dsp",)}


def largest_build_bytes(arrays: Iterable[ConstArray]) -> int:
    """Constant bytes of the build that links the most of ``arrays`` (each reads its variants)."""
    arrays = list(arrays)
    return max(sum(int(np.asarray(a.values).nbytes) for a in arrays if build in VARIANT_BUILDS[a.variant])
               for build in ("plain", "dsp", "mve"))


@dataclass
class KernelCall:
    """How one op runs: ``function(&params, inputs..., outputs..., [scratch])``.

    ``params`` is the ordered list of ``(field, C expression)`` pairs of the ``static const``
    params struct (designated initializer). ``inputs``/``outputs`` are graph tensor indices passed
    as pointers (constant inputs are emitted as arrays automatically). ``alias`` marks an op that
    emits no call because the planner aliases its output onto its input (RESHAPE, SQUEEZE).
    ``sources`` names kernel files under ``firmware/kernels/`` (e.g. ``"tk_conv2d.c"``); headers
    with the same stem are copied too.
    """

    function: str
    params_type: str
    params: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    arrays: list[ConstArray] = field(default_factory=list)
    scratch_bytes: int = 0
    sources: tuple[str, ...] = ()
    alias: bool = False
    comment: str = ""


@dataclass
class LoweringContext:
    """What a lowering may ask of the generator: the C name prefix and symbol/pointer helpers."""

    name: str
    arena_symbol: str
    offsets: dict[int, int] = field(default_factory=dict)

    def symbol(self, op: Any, suffix: str) -> str:
        """A unique C identifier for a constant of this op, e.g. ``model_op3_filter``."""
        return f"{self.name}_op{op.index}_{suffix}"

    def tensor_ptr(self, index: int, c_type: str = "int8_t") -> str:
        """C expression of a tensor's address in the arena (an address constant)."""
        return f"(({c_type} *)({self.arena_symbol} + {self.offsets[index]}))"


LoweringFn = Callable[[Any, Any, LoweringContext], KernelCall]
_REGISTRY: dict[str, LoweringFn] = {}


def lowering(*opcodes: str) -> Callable[[LoweringFn], LoweringFn]:
    """Register ``fn`` as the lowering of ``opcodes``; registering an opcode twice is a bug."""

    def register(fn: LoweringFn) -> LoweringFn:
        for code in opcodes:
            if code in _REGISTRY:
                raise RuntimeError(f"duplicate lowering for {code}: {_REGISTRY[code].__module__} and {fn.__module__}")
            _REGISTRY[code] = fn
        return fn

    return register


def get_lowering(opcode: str) -> LoweringFn | None:
    return _REGISTRY.get(opcode)


def registered_opcodes() -> list[str]:
    return sorted(_REGISTRY)


# ---- helpers for lowerings -------------------------------------------------------------------


def unsupported(op: Any, option: str, detail: str) -> UnsupportedOpError:
    """The one-line error every lowering raises: names op, index and option."""
    return UnsupportedOpError(f"op {op.index} ({op.opcode}): unsupported {option}: {detail}")


def require_dtype(op: Any, tensor: Any, role: str, dtypes: Iterable[str] = ("int8",)) -> None:
    """Reject anything but the expected element types (e.g. int16 activations)."""
    allowed = tuple(dtypes)
    if tensor is None or tensor.dtype not in allowed:
        got = "absent" if tensor is None else tensor.dtype
        raise unsupported(op, f"{role} type", f"{got} (supported: {', '.join(allowed)})")


def fused_activation(op: Any, output: Any) -> tuple[int, int]:
    """Clamp range of the op's fused activation on its int8 output, or an unsupported-option error."""
    act = str(op.options.get("fused_activation_function", "NONE") or "NONE").upper()
    if act not in SUPPORTED_ACTIVATIONS:
        raise unsupported(op, "fused_activation_function", act)
    return activation_range(act, output.scale, output.zero_point, output.dtype)


def dims4(shape: Sequence[int]) -> tuple[int, int, int, int]:
    """NHWC view of a shape of rank <= 4 (leading dimensions filled with 1)."""
    s = [int(d) for d in shape]
    if len(s) > 4:
        raise CodegenError(f"rank {len(s)} tensors are not supported")
    s = [1] * (4 - len(s)) + s
    return s[0], s[1], s[2], s[3]


def c_dims(shape: Sequence[int]) -> str:
    """A ``tk_dims`` initializer."""
    n, h, w, c = dims4(shape)
    return f"{{{n}, {h}, {w}, {c}}}"


def c_act(lo: int, hi: int) -> str:
    """A ``tk_activation`` initializer."""
    return f"{{{int(lo)}, {int(hi)}}}"


def c_quant(multiplier: int, shift: int) -> str:
    """A ``tk_quant_params`` initializer."""
    return f"{{{int(multiplier)}, {int(shift)}}}"


def c_float(x: float) -> str:
    """A float literal that round-trips exactly (for float32 constants such as scales)."""
    v = float(np.float32(x))
    if not np.isfinite(v):
        raise CodegenError(f"non-finite constant {v}")
    return f"{v!r}f" if "e" in repr(v) or "." in repr(v) else f"{v!r}.0f"


def shape_comment(tensor: Any) -> str:
    """``shape 1x3x3x8, int8, scale 0.0123 zp 0 (per-channel axis 3)`` for array comments."""
    shape = "x".join(str(d) for d in tensor.shape) or "scalar"
    text = f"{tensor.name}: shape {shape}, {tensor.dtype}"
    q = tensor.quantization
    if q is not None and q.scale:
        if len(q.scale) > 1:
            text += f", per-channel axis {q.axis} ({len(q.scale)} scales)"
        else:
            text += f", scale {q.scale[0]:.9g} zp {q.zero_point[0]}"
    return c_comment(text)


def c_comment(text: str) -> str:
    """``text`` made safe inside ``/* ... */`` under ``-Wall -Werror``: tensor names come from the
    model file, so control and non-ASCII bytes become '?', and comment delimiters and trigraph
    starts are split (``* /``, ``/ *``, ``? ?``)."""
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    text = re.sub(r"\*(?=/)", "* ", text)
    text = re.sub(r"/(?=\*)", "/ ", text)
    return re.sub(r"\?(?=\?)", "? ", text)


_C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_c_identifier(text: str) -> bool:
    return bool(_C_IDENT.match(text))
