"""TFLite's quantization arithmetic, replicated in Python bit for bit.

The generated C must produce the same bytes as TFLite Micro, so every multiplier, shift and clamp
that TFLM computes in its Prepare step at run time is computed here at generation time with the
same float/double precision (``np.float32`` where TFLM holds a ``float``, Python ``float`` where it
holds a ``double``) and the same rounding (``TfLiteRound`` rounds half away from zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinykit.errors import UnsupportedOpError

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
#: a multiplier's left shift beyond this overflows the kernels' (and TFLM's) 32-bit arithmetic
MAX_LEFT_SHIFT = 31


def tflite_round(x: float) -> float:
    """``std::round``: half away from zero (numpy's round is half-to-even, which differs)."""
    if not math.isfinite(x):
        return x
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier(double)`` (double rounding build): ``real = m * 2^(shift-31)``.

    Returns ``(multiplier, shift)`` with ``multiplier`` in ``[2^30, 2^31)`` (or 0) and ``shift``
    positive for a left shift, exactly like ``frexp`` + ``TfLiteRound`` in quantization_util.cc.
    """
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise UnsupportedOpError(f"requantization scale {real:g} is not a finite number")
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * float(1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > MAX_LEFT_SHIFT:
        raise UnsupportedOpError(f"requantization scale {real:g} is too large (2^{shift - 1} or more): its "
                                 "shift overflows 32-bit arithmetic")
    return int(q_fixed), int(shift)


def reduced_multiplier(multiplier: int) -> int:
    """The 16-bit multiplier TFLite's ``MultiplyByQuantizedMultiplier(int64_t, ...)`` (16x8 layers)
    uses: ``(multiplier + 2^15) >> 16``, or 0x7FFF for multipliers at or above 0x7FFF0000."""
    return (int(multiplier) + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF


def saturating_int(x: float) -> int:
    """``int(x)`` clamped to int32 (infinities included): a bound far off the int8/int16 grid stays
    far off it, where a float-to-int conversion in C would be undefined."""
    return int(min(max(x, INT32_MIN), INT32_MAX))


def f32(x: float) -> np.float32:
    """The value as TFLite stores it in a ``float`` (tensor scales are float32 in the flatbuffer)."""
    return np.float32(x)


def conv_multipliers(
    input_scale: float, filter_scales: Sequence[float], output_scale: float, channels: int
) -> tuple[list[int], list[int]]:
    """Per-channel (multiplier, shift) lists as ``PopulateConvolutionQuantizationParams`` makes them.

    ``effective = double(float input_scale) * double(float filter_scale) / double(float output_scale)``;
    a per-tensor filter repeats its one scale for every output channel, as TFLM does.
    """
    in_s, out_s = float(f32(input_scale)), float(f32(output_scale))
    mults, shifts = [], []
    for c in range(channels):
        fs = float(f32(filter_scales[c] if len(filter_scales) > 1 else filter_scales[0]))
        m, s = quantize_multiplier(in_s * fs / out_s)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def fc_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED multiplier: ``GetQuantizedConvolutionMultipler`` + QuantizeMultiplier."""
    product = float(f32(input_scale)) * float(f32(filter_scale))
    return quantize_multiplier(product / float(f32(output_scale)))


def activation_range(activation: str, scale: float, zero_point: int, dtype: str = "int8") -> tuple[int, int]:
    """``CalculateActivationRangeQuantized``: clamp range of a fused activation on the output grid.

    Quantization of the bounds is done in float32 (``zero_point + TfLiteRound(f / scale)``).
    """
    qmin, qmax = (INT8_MIN, INT8_MAX) if dtype == "int8" else (INT16_MIN, INT16_MAX)
    s = f32(scale)

    def q(v: float) -> int:
        with np.errstate(over="ignore"):
            steps = tflite_round(float(np.float32(v) / s))
        if not INT32_MIN <= steps <= INT32_MAX:  # TFLM's Quantize() refuses it in Prepare
            raise UnsupportedOpError(f"activation bound {v:g} is {steps:g} steps of scale {float(s):g}: beyond "
                                     "int32 (TFLite Micro refuses it too)")
        return int(zero_point) + int(steps)

    act = (activation or "NONE").upper()
    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, q(0.0)), qmax
    if act == "RELU6":
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    raise ValueError(f"unsupported fused activation {activation}")


SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLite ``ComputePadding``: the top/left padding the reference kernels use."""
    effective = (filter_size - 1) * dilation + 1
    pad = ((out_size - 1) * stride + effective - in_size) // 2
    return max(pad, 0)


def compute_out_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> int:
    """TFLite ``ComputeOutSize`` for SAME/VALID padding."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride
