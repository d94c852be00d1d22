/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_softmax.h"

#include "tk_fixedpoint.h"

/* Wrapping int32 addition (gemmlowp's raw FixedPoint +). */
TK_INLINE int32_t tk_add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

#define tk_mul tk_sat_rounding_doubling_high_mul

/* gemmlowp RoundingHalfSum. */
static int32_t tk_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1 on Q0.31 (Newton-Raphson, three iterations). */
static int32_t tk_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = tk_rounding_half_sum(a, INT32_MAX);
    int32_t x = tk_add_wrap(1515870810, tk_mul(half_denominator, -1010580540));
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = tk_mul(half_denominator, x);
        const int32_t one_minus = tk_add_wrap(1 << 29, -hdx);
        x = tk_add_wrap(x, tk_sat_shift_left(tk_mul(x, one_minus), 2));
    }
    return tk_sat_shift_left(x, 1);
}

/* The row max and the Q12.19 sum of the row's exps (table indexed by max - x). */
static int32_t tk_softmax_row_sum(const int8_t *in, int32_t depth, const int32_t *table, int32_t *max_out)
{
    int32_t max = -128;
    for (int32_t c = 0; c < depth; ++c) {
        max = in[c] > max ? in[c] : max;
    }
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
        sum = tk_add_wrap(sum, tk_rounding_divide_by_pot(table[max - in[c]], 12));
    }
    *max_out = max;
    return sum;
}

/* GetReciprocal(sum, 12): Q0.31 scale and the exponent that brings exp * scale to `bits` bits. */
static int32_t tk_softmax_scale(int32_t sum, int32_t bits, int32_t *exponent)
{
    const int32_t headroom_plus_one = tk_clz32((uint32_t)sum);
    const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
    *exponent = 12 - headroom_plus_one + 31 - bits;
    return tk_one_over_one_plus_x(shifted_sum_minus_one);
}

/* The int8-input softmax into an output of BITS bits (reference_ops::Softmax<int8_t, OUT_T>). */
#define TK_SOFTMAX_S8_ROWS(OUT_T, BITS, OUT_MIN, OUT_MAX)                                                  \
    do {                                                                                                  \
        const int32_t depth = params->depth;                                                              \
        const int32_t *table = params->exp_table;                                                         \
        for (int32_t row = 0; row < params->outer; ++row) {                                               \
            const int8_t *in = input + (size_t)row * depth;                                               \
            OUT_T *out = output + (size_t)row * depth;                                                    \
            int32_t max, exponent;                                                                        \
            const int32_t scale = tk_softmax_scale(tk_softmax_row_sum(in, depth, table, &max), BITS, &exponent); \
            if (exponent < 0 || exponent > 31) {                                                          \
                return TK_ERROR;                                                                          \
            }                                                                                             \
            for (int32_t c = 0; c < depth; ++c) {                                                         \
                const int32_t v = tk_rounding_divide_by_pot(tk_mul(scale, table[max - in[c]]), exponent); \
                out[c] = (OUT_T)tk_clamp_s32(v + (OUT_MIN), OUT_MIN, OUT_MAX);                             \
            }                                                                                             \
        }                                                                                                 \
    } while (0)

tk_status tk_softmax_s8(const tk_softmax_params *params, const int8_t *input, int8_t *output)
{
    TK_SOFTMAX_S8_ROWS(int8_t, 8, TK_INT8_MIN, TK_INT8_MAX);
    return TK_OK;
}

tk_status tk_softmax_s8_s16(const tk_softmax_params *params, const int8_t *input, int16_t *output)
{
    TK_SOFTMAX_S8_ROWS(int16_t, 16, TK_INT16_MIN, TK_INT16_MAX);
    return TK_OK;
}

/* TFLM's LUTLookup for int16: 512 segments of 128 steps, linear interpolation. */
static int16_t tk_lut16_lookup(int16_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

/* The int16 row's exps (into out) and their Q16.15 sum. */
static int32_t tk_softmax16_exps(const tk_softmax16_params *p, const int16_t *in, int16_t *out)
{
    const int32_t depth = p->depth;
    int32_t max = TK_INT16_MIN;
    for (int32_t c = 0; c < depth; ++c) {
        max = in[c] > max ? in[c] : max;
    }
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
        const int32_t scaled = tk_requantize(in[c] - max, p->input_rescale.multiplier, p->input_rescale.shift);
        out[c] = tk_lut16_lookup(tk_sat_s16(scaled + 32767), p->exp_lut);
        sum += out[c];
    }
    return sum;
}

tk_status tk_softmax_s16(const tk_softmax16_params *params, const int16_t *input, int16_t *output)
{
    const int32_t depth = params->depth;
    for (int32_t row = 0; row < params->outer; ++row) {
        int16_t *out = output + (size_t)row * depth;
        const int32_t sum = tk_softmax16_exps(params, input + (size_t)row * depth, out);
        const int32_t headroom_plus_one = tk_clz32((uint32_t)sum);
        if (headroom_plus_one < 1 || headroom_plus_one > 30) {
            return TK_ERROR;
        }
        const int32_t shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        const int16_t recip = tk_lut16_lookup(tk_sat_s16(shifted - (1 << 15) - (1 << 16)), params->recip_lut);
        const int32_t right_shift = 31 - headroom_plus_one;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t r = (int32_t)(((int64_t)out[c] * recip + round) >> right_shift);
            out[c] = (int16_t)tk_clamp_s32(r, 0, TK_INT16_MAX);
        }
    }
    return TK_OK;
}

/* log_x_for_x_greater_than_or_equal_to_1<5>(x in Q12): gemmlowp-style fixed point, TFLM's
 * common.h algorithm (accumulating in Q6), result in Q5.26. */
static int32_t tk_log_q12_to_q5(int32_t z_a)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = 1 << 23; /* 1/4 in Q6.25 */
    const int32_t za_hr1 = tk_clz32((uint32_t)z_a);
    const int32_t r_a = tk_sat_shift_left(tk_mul(tk_sat_shift_left(z_a, za_hr1 - 1), sqrt_half), 1);
    const int32_t za_adj = tk_sat_add_s32(tk_sat_shift_left(12 - za_hr1, 25), shifted_quarter);
    const int32_t zb_hr = tk_clz32((uint32_t)tk_mul(z_a, sqrt_half)) - 1;
    const int32_t r_b = tk_sat_shift_left(z_a, zb_hr);
    const int32_t zb_adj = tk_sat_sub_s32(tk_sat_shift_left(12 - zb_hr, 25), shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t z_pow_2_adj = za_adj > zb_adj ? za_adj : zb_adj;
    const int32_t p = tk_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = tk_add_wrap(r, -sqrt_sqrt_half);
    q = tk_add_wrap(q, q);
    const int32_t common_sq = tk_mul(q, q);
    const int32_t num = tk_add_wrap(tk_mul(q, r), tk_mul(tk_mul(q, common_sq), alpha_n));
    const int32_t denom_minus_one =
        tk_add_wrap(tk_mul(p, tk_add_wrap(tk_add_wrap(alpha_i, q), tk_mul(alpha_d, common_sq))), tk_mul(alpha_f, q));
    const int32_t recip_denom = tk_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = tk_rounding_divide_by_pot(num, 6);
    return tk_sat_shift_left(tk_add_wrap(tk_mul(z_pow_2_adj, log_2), tk_mul(num_scaled, recip_denom)), 1);
}

tk_status tk_log_softmax_s8(const tk_log_softmax_params *params, const int8_t *input, int8_t *output)
{
    const int32_t depth = params->depth;
    const int32_t *diff = params->diff_table;
    for (int32_t row = 0; row < params->outer; ++row) {
        const int8_t *in = input + (size_t)row * depth;
        int8_t *out = output + (size_t)row * depth;
        int32_t max;
        const int32_t log_sum = tk_log_q12_to_q5(tk_softmax_row_sum(in, depth, params->exp_table, &max));
        const int32_t reverse = tk_requantize(tk_add_wrap(log_sum, INT32_MIN), params->reverse.multiplier,
                                              params->reverse.shift);
        const int32_t adjusted_diff_min = tk_max_s32(params->diff_min - 1, reverse);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t d = in[c] - max;
            int32_t v = TK_INT8_MIN;
            if (d > adjusted_diff_min) {
                v = tk_rounding_divide_by_pot(tk_add_wrap(diff[-d], -log_sum), 22) + 127;
                v = tk_clamp_s32(v, TK_INT8_MIN, TK_INT8_MAX);
            }
            out[c] = (int8_t)v;
        }
    }
    return TK_OK;
}
