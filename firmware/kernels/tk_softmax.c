/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_softmax.h"

#include "tk_fixedpoint.h"

static int32_t tk_clz32(uint32_t x)
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

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent in 1..2 (saturating left shift). */
static int32_t tk_sat_mul_pot(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return tk_shift_left_wrap(x, exponent);
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 on Q0.31 (Newton-Raphson, three iterations). */
static int32_t tk_one_over_one_plus_x(int32_t a)
{
    /* RoundingHalfSum(a, One): (a + INT32_MAX + sign) / 2, truncating */
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = (int32_t)((uint32_t)1515870810 + (uint32_t)tk_sat_rounding_doubling_high_mul(half_denominator, -1010580540));
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = tk_sat_rounding_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = (int32_t)((uint32_t)(1 << 29) - (uint32_t)hdx);
        x = (int32_t)((uint32_t)x + (uint32_t)tk_sat_mul_pot(tk_sat_rounding_doubling_high_mul(x, one_minus), 2));
    }
    return tk_sat_mul_pot(x, 1);
}

tk_status tk_softmax_s8(const tk_softmax_params *params, const int8_t *input, int8_t *output)
{
    const int32_t depth = params->depth;
    const int32_t *table = params->exp_table;
    for (int32_t row = 0; row < params->outer; ++row) {
        const int8_t *in = input + (size_t)row * depth;
        int8_t *out = output + (size_t)row * depth;
        int32_t max = -128;
        for (int32_t c = 0; c < depth; ++c) {
            max = in[c] > max ? in[c] : max;
        }
        int32_t sum = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            sum = (int32_t)((uint32_t)sum + (uint32_t)tk_rounding_divide_by_pot(table[max - in[c]], 12));
        }
        /* GetReciprocal(sum, 12) */
        const int32_t headroom_plus_one = tk_clz32((uint32_t)sum);
        const int32_t num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = tk_one_over_one_plus_x(shifted_sum_minus_one);
        const int32_t exponent = num_bits_over_unit + 31 - 8;
        if (exponent < 0 || exponent > 31) {
            return TK_ERROR;
        }
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t e = table[max - in[c]];
            const int32_t v = tk_rounding_divide_by_pot(tk_sat_rounding_doubling_high_mul(shifted_scale, e), exponent);
            out[c] = (int8_t)tk_clamp_s32(v - 128, TK_INT8_MIN, TK_INT8_MAX);
        }
    }
    return TK_OK;
}
