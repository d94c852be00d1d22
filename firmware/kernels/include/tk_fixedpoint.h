/* Fixed-point helpers shared by every kernel: TFLite's integer requantization, bit for bit.
 *
 * These follow TFLite's default (double-rounding) MultiplyByQuantizedMultiplier: gemmlowp's
 * SaturatingRoundingDoublingHighMul followed by RoundingDivideByPOT. The tflite-micro runtime used
 * as the oracle is built without TFLITE_SINGLE_ROUNDING, so this is the arithmetic it runs.
 */
#ifndef TK_FIXEDPOINT_H
#define TK_FIXEDPOINT_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TK_INT8_MIN (-128)
#define TK_INT8_MAX 127
#define TK_INT16_MIN (-32768)
#define TK_INT16_MAX 32767

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating INT32_MIN^2.
 *
 * gemmlowp adds a nudge of 2^30 (or 1 - 2^30 for a negative product) and divides by 2^31 truncating
 * toward zero. For a negative product n = ab + 1 - 2^30 < 0, trunc(n / 2^31) = ceil(n / 2^31)
 * = floor((ab + 2^30) / 2^31), the same expression as the non-negative case, so one 64-bit
 * multiply-add and an arithmetic shift give the identical result (an SMLAL on Arm). */
TK_INLINE int32_t tk_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* The same as one SMLAL on Thumb-2 cores (M3 and up), for loops where GCC expands the C form into
 * a full 64 x 64 multiply; elsewhere the C form. */
TK_INLINE int32_t tk_rounding_doubling_high_mul_smlal(int32_t a, int32_t b)
{
#if defined(__GNUC__) && defined(__thumb2__) && !defined(TK_NO_ASM)
    int32_t lo = 1 << 30, hi = 0;
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
    return (int32_t)(((uint32_t)lo >> 31) | ((uint32_t)hi << 1));
#else
    return tk_rounding_doubling_high_mul(a, b);
#endif
}

TK_INLINE int32_t tk_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    return tk_rounding_doubling_high_mul(a, b);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31. */
TK_INLINE int32_t tk_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Wrapping left shift (C signed overflow is undefined; TFLite relies on two's-complement wrap). */
TK_INLINE int32_t tk_shift_left_wrap(int32_t x, int32_t shift)
{
    return (int32_t)((uint32_t)x << shift);
}

/* TFLite MultiplyByQuantizedMultiplier(x, multiplier, shift), double rounding. */
TK_INLINE int32_t tk_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return tk_rounding_divide_by_pot(
        tk_sat_rounding_doubling_high_mul(tk_shift_left_wrap(x, left_shift), multiplier), right_shift);
}

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0). */
TK_INLINE int32_t tk_requantize_smaller_than_one(int32_t x, int32_t multiplier, int32_t left_shift)
{
    return tk_rounding_divide_by_pot(tk_sat_rounding_doubling_high_mul(x, multiplier), -left_shift);
}

/* TFLite MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
TK_INLINE int32_t tk_requantize_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift)
{
    return tk_sat_rounding_doubling_high_mul(tk_shift_left_wrap(x, left_shift), multiplier);
}

/* TFLite MultiplyByQuantizedMultiplier(int64_t x, multiplier, shift), the 16x8 layers' requantization:
 * x * reduced_multiplier + 2^(total_shift - 1), shifted right by total_shift and truncated to int32,
 * with reduced_multiplier = (multiplier + 2^15) >> 16 (0x7FFF for multipliers >= 0x7FFF0000) and
 * total_shift = 15 - shift in [8, 46], both computed at generation time. The product wraps as
 * TFLite's does on two's-complement hosts for accumulators beyond its documented 2^47 range. */
TK_INLINE int32_t tk_requantize_s64(int64_t x, int32_t reduced_multiplier, int32_t total_shift)
{
    const uint64_t t = (uint64_t)x * (uint64_t)(int64_t)reduced_multiplier + ((uint64_t)1 << (total_shift - 1));
    return (int32_t)((int64_t)t >> total_shift);
}

/* tk_requantize_s64 of an accumulator known to fit int32. For 16 <= total_shift <= 32 the
 * multiplier scaled by 2^(32 - total_shift) still fits int32 (0x7FFF << 16 < 2^31) and the result
 * is the high word of acc * scaled + 2^31: floor((acc * m * 2^(32-s) + 2^31) / 2^32) =
 * floor((acc * m + 2^(s-1)) / 2^s), one SMLAL-like multiply-add; |acc * m| < 2^46 keeps every
 * shifted value inside int32. */
TK_INLINE int32_t tk_requantize_s64_from32(int32_t acc, int32_t reduced_multiplier, int32_t total_shift)
{
    if (total_shift >= 16 && total_shift <= 32) {
        const int32_t scaled = (int32_t)((uint32_t)reduced_multiplier << (32 - total_shift));
        return (int32_t)(((int64_t)acc * (int64_t)scaled + INT64_C(0x80000000)) >> 32);
    }
    return tk_requantize_s64(acc, reduced_multiplier, total_shift);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for an exponent in 0..31: a left shift saturating to
 * int32. */
TK_INLINE int32_t tk_sat_shift_left(int32_t x, int32_t exponent)
{
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    return x < -threshold ? INT32_MIN : tk_shift_left_wrap(x, exponent);
}

/* Count of leading zero bits (32 for 0). */
TK_INLINE int32_t tk_clz32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return x == 0 ? 32 : __builtin_clz(x);
#else
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

TK_INLINE int32_t tk_min_s32(int32_t a, int32_t b) { return a < b ? a : b; }
TK_INLINE int32_t tk_max_s32(int32_t a, int32_t b) { return a > b ? a : b; }

/* Clamp to [lo, hi] as TFLite does: max with lo first, then min with hi. */
TK_INLINE int32_t tk_clamp_s32(int32_t x, int32_t lo, int32_t hi)
{
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* Saturate to int8. */
TK_INLINE int8_t tk_sat_s8(int32_t x)
{
    return (int8_t)tk_clamp_s32(x, TK_INT8_MIN, TK_INT8_MAX);
}

/* Saturate to int16. */
TK_INLINE int16_t tk_sat_s16(int32_t x)
{
    return (int16_t)tk_clamp_s32(x, TK_INT16_MIN, TK_INT16_MAX);
}

/* Saturating int32 addition (gemmlowp SaturatingAdd). */
TK_INLINE int32_t tk_sat_add_s32(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

/* Saturating int32 subtraction. */
TK_INLINE int32_t tk_sat_sub_s32(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a - (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

/* requantize + output offset + activation clamp: the tail of every conv/fc/dw output. */
TK_INLINE int8_t tk_requantize_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                  tk_activation act)
{
    const int32_t v = tk_requantize(acc, multiplier, shift) + output_offset;
    return (int8_t)tk_clamp_s32(v, act.min, act.max);
}

/* tk_requantize_s8 for a non-negative multiplier (every multiplier QuantizeMultiplier makes from a
 * positive scale): gemmlowp's INT32_MIN * INT32_MIN saturation cannot occur, so it is not tested,
 * and RoundingDivideByPOT is written branch-free. Same result as tk_requantize_s8. */
TK_INLINE int8_t tk_requantize_s8_pos(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                      int32_t act_min, int32_t act_max)
{
    int32_t right = -shift;
    int32_t s;
    if (shift > 0) {
        acc = tk_shift_left_wrap(acc, shift);
        right = 0;
    }
    s = tk_rounding_doubling_high_mul(acc, multiplier);
    {
        const int32_t mask = (int32_t)((1u << right) - 1u);
        const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)s >> 31);
        s = (s >> right) + ((s & mask) > threshold ? 1 : 0);
    }
    s += output_offset;
    s = s < act_min ? act_min : s;
    s = s > act_max ? act_max : s;
    return (int8_t)s;
}

/* One channel's requantization prepared once and applied to several outputs (same result as
 * tk_requantize_s8_pos, for a non-negative multiplier and shift in [-31, 30]). */
typedef struct {
    int32_t multiplier;
    int32_t left;      /* left shift before the multiply (shift > 0) */
    int32_t right;     /* rounding right shift after it (shift < 0) */
    int32_t mask;      /* (1 << right) - 1 */
    int32_t threshold; /* mask >> 1 */
} tk_requant_ch;

TK_INLINE tk_requant_ch tk_requant_prepare(int32_t multiplier, int32_t shift)
{
    tk_requant_ch q;
    q.multiplier = multiplier;
    q.left = shift > 0 ? shift : 0;
    q.right = shift > 0 ? 0 : -shift;
    q.mask = (int32_t)((1u << q.right) - 1u);
    q.threshold = q.mask >> 1;
    return q;
}

TK_INLINE int8_t tk_requant_apply(const tk_requant_ch *q, int32_t acc, int32_t output_offset, int32_t act_min,
                                  int32_t act_max)
{
    int32_t s = tk_rounding_doubling_high_mul_smlal(tk_shift_left_wrap(acc, q->left), q->multiplier);
    const int32_t threshold = q->threshold + (int32_t)((uint32_t)s >> 31);
    s = (s >> q->right) + ((s & q->mask) > threshold ? 1 : 0);
    s += output_offset;
    s = s < act_min ? act_min : s;
    s = s > act_max ? act_max : s;
    return (int8_t)s;
}

/* MultiplyByQuantizedMultiplier(x, m, shift) with the constants prepared by tk_requant_prepare
 * (non-negative multiplier, shift in [-31, 30]), without offset or clamp: the input rescaling of
 * the elementwise ops (ADD, SUB, comparisons, SQUARED_DIFFERENCE) and their output step. Taken
 * by value so that, inlined into a loop, the constants stay in registers. */
TK_INLINE int32_t tk_requant_scale(tk_requant_ch q, int32_t x)
{
    const int32_t s = tk_rounding_doubling_high_mul_smlal(tk_shift_left_wrap(x, q.left), q.multiplier);
    const int32_t threshold = q.threshold + (int32_t)((uint32_t)s >> 31);
    return (s >> q.right) + ((s & q.mask) > threshold ? 1 : 0);
}

/* Requantization for layers whose generator proved (tk_<op>_params.fast_requant, see
 * fast_requant_flag in tinykit/codegen/ops_conv.py), for every possible input: every shift <= -1
 * (a pure rounding right shift r) and s = SRDHM(acc, m) + 2^(r-1) cannot overflow. Then
 * RoundingDivideByPOT(s, r) = (s + 2^(r-1) - [s < 0]) >> r exactly (round half away from zero).
 * `half` is 1 << (right - 1). Same result as tk_requantize_s8_pos under those conditions. */
TK_INLINE int8_t tk_requantize_s8_fast(int32_t acc, int32_t multiplier, int32_t right, int32_t half,
                                       int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32_t s = tk_rounding_doubling_high_mul(acc, multiplier);
    s = ((s + half - (int32_t)((uint32_t)s >> 31)) >> right) + output_offset;
    s = s < act_min ? act_min : s;
    s = s > act_max ? act_max : s;
    return (int8_t)s;
}

/* Requantization with the output offset folded in, for layers whose generator proved (params
 * field `requant_hi`, see exact_requant_hi in tinykit/codegen/ops_conv.py) for every possible input:
 * the multiplier m is non-negative, every shift is a right shift r >= 2, and the 64-bit value
 * below keeps its high word in int32. With s = SRDHM(acc, m) = floor((acc * m + 2^30) / 2^31),
 * TFLite's RoundingDivideByPOT(s, r) + offset equals floor((s - [s < 0] + 2^(r-1)) / 2^r) + offset
 *   = floor((acc * m + 2^30 - [acc < 0] * 2^31 + hi_c * 2^32) / 2^(31 + r)),
 * with hi_c = 2^(r-2) + offset * 2^(r-1) (floor of floor is one floor; [s < 0] and [acc < 0]
 * differ only when s = 0, where both give the same result). That is one SMLAL of acc and m onto
 * (hi_c + (acc >> 31) : 0x40000000 | sign bit), then an arithmetic shift of the high word by
 * r - 1 = ~shift. Same result as tk_requantize_s8_pos before the clamp. */
TK_INLINE int32_t tk_requant_hi(int32_t acc, int32_t multiplier, int32_t hi_c, int32_t shift)
{
#if defined(__GNUC__) && defined(__thumb2__) && !defined(TK_NO_ASM)
    int32_t lo = (int32_t)(((uint32_t)acc & 0x80000000u) | 0x40000000u);
    int32_t hi = hi_c + (acc >> 31);
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(acc), "r"(multiplier));
    return hi >> (~shift);
#else
    const int64_t t = (int64_t)acc * (int64_t)multiplier + (int64_t)hi_c * INT64_C(4294967296) +
                      (acc < 0 ? -(INT64_C(1) << 30) : (INT64_C(1) << 30));
    return (int32_t)(t >> 32) >> (~shift);
#endif
}

/* hi_c for tk_requant_hi: (1 + 2 * offset) * 2^(r-2) with r = -shift >= 2, that is
 * 2^(r-2) + offset * 2^(r-1); the generator proved it fits int32 (the shift wraps as two's
 * complement, so a negative offset gives the same bits). */
TK_INLINE int32_t tk_requant_hi_c(int32_t shift, int32_t offset)
{
    return (int32_t)((uint32_t)(1 + 2 * offset) << (~shift - 1));
}

/* Requantization of a doubled accumulator a2 = 2 * acc for layers whose generator proved it (the
 * DSP streams of tinykit/codegen/dsp_weights.py, function mm_requant): one SMMLAR and a shift,
 * output offset included in h = 2^(r-1) + offset * 2^r. floor((a2 m + 2^31) / 2^32) + h - [acc < 0],
 * shifted right by r, is TFLite's RoundingDivideByPOT(SRDHM(acc, m), r) + offset (the proof is in
 * mm_requant's docstring). The assembly kernels inline the same three instructions. */
TK_INLINE int32_t tk_requant_mm(int32_t a2, int32_t m, int32_t h, int32_t r)
{
    const int64_t ra = (int64_t)(h + (a2 >> 31));
    return (int32_t)((ra * INT64_C(4294967296) + (int64_t)a2 * m + INT64_C(0x80000000)) >> 32) >> r;
}

/* tk_clamp_s32(v, lo, hi) for an int8 output; `full` (a constant at each call site) says the
 * range is all of int8, where one SSAT does the same on Thumb-2 cores. */
TK_INLINE int32_t tk_clamp_s8(int32_t v, int32_t lo, int32_t hi, int full)
{
#if defined(__GNUC__) && defined(__thumb2__) && !defined(TK_NO_ASM)
    if (full) {
        int32_t r;
        __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
        return r;
    }
#endif
    return full ? tk_clamp_s32(v, TK_INT8_MIN, TK_INT8_MAX) : tk_clamp_s32(v, lo, hi);
}

#ifdef __cplusplus
}
#endif

/* Which requantization a conv/depthwise/FC layer may use (the generator proves the fast ones
 * exact per layer and sets fast_requant / requant_hi in its params). -DTK_NO_FAST_REQUANT forces
 * the general requantization, so the host tests check the bytes of both paths. */
#ifdef TK_NO_FAST_REQUANT
#define TK_FAST_REQUANT(p) 0
#define TK_RQ_HI(p) 0
#else
#define TK_FAST_REQUANT(p) ((p)->fast_requant)
#define TK_RQ_HI(p) ((p)->requant_hi)
#endif

#endif /* TK_FIXEDPOINT_H */
