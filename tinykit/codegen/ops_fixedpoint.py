"""gemmlowp's fixed-point arithmetic in Python integers, bit for bit.

TFLite Micro computes LOGISTIC, TANH, SOFTMAX and HARD_SWISH on int8 with gemmlowp's fixed-point
routines (``fixedpoint/fixedpoint.h``). For an int8 input those results depend on one byte only,
so the lowerings evaluate the routines here once per possible input value and the C side is a
table lookup: identical bytes, no run-time float, and faster than the arithmetic it replaces.
Every function takes and returns raw two's-complement integers of the stated width.
"""

from __future__ import annotations

import math

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def wrap32(x: int) -> int:
    """Two's-complement wrap to int32 (what raw FixedPoint + and - do)."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def wrap16(x: int) -> int:
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def trunc_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a: int, b: int, bits: int = 32) -> int:
    """SaturatingRoundingDoublingHighMul for int32 (bits=32) or int16 (bits=16)."""
    lo = -(1 << (bits - 1))
    if a == b == lo:
        return (1 << (bits - 1)) - 1
    ab = a * b
    nudge = (1 << (bits - 2)) if ab >= 0 else 1 - (1 << (bits - 2))
    return trunc_div(ab + nudge, 1 << (bits - 1))


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2^exponent, rounding half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT instantiated for int16_t, including its behaviour for
    exponents above 15, where the mask ``(1ll << exponent) - 1`` truncates to -1 in int16."""
    mask = wrap16((1 << exponent) - 1)
    remainder = wrap16(x & mask)
    threshold = wrap16((mask >> 1) + (1 if x < 0 else 0))
    return wrap16((x >> exponent) + (1 if remainder > threshold else 0))


def sat_mul_pot(x: int, exponent: int, bits: int = 32) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> (left shift saturating, or rounding right shift)."""
    if exponent <= 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (bits - 1 - exponent)) - 1
    if x > threshold:
        return (1 << (bits - 1)) - 1
    if x < -threshold:
        return -(1 << (bits - 1))
    return x << exponent


def rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    return trunc_div(s + (1 if s >= 0 else -1), 2)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding): x * m * 2^(shift-31)."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def mbqm64(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier(int64_t x, ...): the 16x8 requantization (reduced
    16-bit multiplier, one rounding shift by 15 - shift, result truncated to int32)."""
    from tinykit.codegen.quant import reduced_multiplier

    total = 15 - shift
    return wrap32((x * reduced_multiplier(multiplier) + (1 << (total - 1))) >> total)


def mbqm_greater_than_one(x: int, multiplier: int, left_shift: int) -> int:
    return srdhm(wrap32(x * (1 << left_shift)), multiplier)


def count_leading_zeros32(x: int) -> int:
    x &= 0xFFFFFFFF
    return 32 - x.bit_length()


def count_leading_sign_bits32(x: int) -> int:
    """CountLeadingSignBits<int32_t> (GCC's __builtin_clrsb, 31 for 0)."""
    return 31 - (x if x >= 0 else ~x).bit_length()


def rdbpot_x86(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT for int32 as the x86 oracle executes it for any exponent:
    outside [0, 31] the C++ shifts are undefined and x86 masks their counts (to 6 bits for the
    64-bit ``1ll << exponent`` of the mask, to 5 bits for the 32-bit arithmetic shift)."""
    mask = wrap32(((1 << (exponent & 63)) - 1) & 0xFFFFFFFFFFFFFFFF)
    remainder = wrap32(x & mask)
    threshold = wrap32((mask >> 1) + (1 if x < 0 else 0))
    return wrap32((x >> (exponent & 31)) + (1 if remainder > threshold else 0))


# ---- gemmlowp transcendental functions on FixedPoint<int32, integer_bits> raws --------------


def _exp_interval(a: int) -> int:
    """exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31 in and out)."""
    constant_term = 1895147668
    one_third = 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = sat_mul_pot(x4, -2)
    poly = sat_mul_pot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), -1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 given as FixedPoint<int32, integer_bits>; result Q0.31."""
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod = wrap32((a & mask) - one_quarter)
    result = _exp_interval(sat_mul_pot(a_mod, integer_bits))
    remainder = wrap32(a_mod - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            shift = frac + exponent
            if remainder & (1 << shift):
                result = srdhm(result, multiplier)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal(a: int) -> int:
    """The Newton-Raphson core shared by the two 1/(1+x) routines; returns x in Q2.29."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        hdx = srdhm(half_denominator, x)
        one_minus = wrap32((1 << 29) - hdx)
        x = wrap32(x + sat_mul_pot(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return sat_mul_pot(_newton_reciprocal(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return sat_mul_pot(wrap32(_newton_reciprocal(a) - (1 << 29)), 2)


def get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    """TFLite GetReciprocal: (1/x as Q0.31 of x scaled into [1, 2), num_bits_over_unit). For x = 0
    the shift by 32 is undefined; x86 masks it to 0, which this reproduces."""
    headroom_plus_one = count_leading_zeros32(x)
    shifted = ((x & 0xFFFFFFFF) << (headroom_plus_one & 31)) & 0xFFFFFFFF
    return (one_over_one_plus_x_for_x_in_0_1(wrap32(shifted - (1 << 31))),
            x_integer_digits - headroom_plus_one)


def logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic on FixedPoint<int32, integer_bits>; result Q0.31."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else wrap32(-a)
    pos = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap32(-abs_a), integer_bits))
    return pos if a > 0 else wrap32(INT32_MAX - pos)


def tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh on FixedPoint<int32, integer_bits>; result Q0.31."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap32(-a)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return wrap32(-t) if a < 0 else t


# ---- TFLite quantization_util helpers -------------------------------------------------------


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    max_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
                    / float(1 << input_left_shift))
    return math.floor(max_rescaled)


def frexp_multiplier(real: float) -> tuple[int, int]:
    """``q = frexp(real, &shift); m = (int32)TfLiteRound(q * 2^31)`` as logistic/tanh Prepare do."""
    q, shift = math.frexp(real)
    m = math.floor(abs(q) * float(1 << 31) + 0.5) * (1 if q >= 0 else -1)
    return wrap32(m), shift


def downscale_int32_to_int16_multiplier(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if m >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (m + (1 << 15)) >> 16


def inv_sqrt_quantized_multiplier_exp(value: int, reverse_shift: int = -1) -> tuple[int, int]:
    """GetInvSqrtQuantizedMultiplierExp: 1/sqrt(value) as (multiplier, shift), by five Newton steps
    in Q3.28 (RSQRT, and L2_NORMALIZATION's C twin in tk_unary.c)."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    pairs = (count_leading_zeros32(value) - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    half_input = rdbpot(value >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28
    for _ in range(5):
        x3 = sat_mul_pot(srdhm(srdhm(x, x), x), 6)
        x = sat_mul_pot(wrap32(srdhm(half_three, x) - srdhm(half_input, x3)), 3)
    x = srdhm(x, 1518500250)  # sqrt(2) / 2
    if shift < 0:
        x = wrap32(x << -shift)
        shift = 0
    return x, shift * reverse_shift
