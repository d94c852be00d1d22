#include "tk_unary.h"

#include "tk_fixedpoint.h"

tk_status tk_abs_s16(const tk_abs16_params *params, const int16_t *input, int16_t *output)
{
    const int32_t mode = params->mode;
    const tk_quant_params q = params->requant;
    for (int32_t i = 0; i < params->size; ++i) {
        const int32_t v = input[i] < 0 ? -(int32_t)input[i] : input[i];
        if (mode == 0) {
            output[i] = (int16_t)(uint16_t)v; /* std::abs on int16: 32768 wraps to -32768 */
        } else if (mode == 1) {
            output[i] = tk_sat_s16(v);
        } else {
            output[i] = tk_sat_s16(tk_requantize(v, q.multiplier, q.shift));
        }
    }
    return TK_OK;
}

tk_status tk_rsqrt_s8(const tk_rsqrt_params *params, const int8_t *input, int8_t *output)
{
    const int8_t *table = params->table;
    const int32_t zp = params->input_zero_point;
    for (int32_t i = 0; i < params->size; ++i) {
        if (input[i] < zp) {
            return TK_ERROR; /* "Rsqrt is only defined for positive values" */
        }
        output[i] = table[(uint8_t)input[i]];
    }
    return TK_OK;
}

/* GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1): 1/sqrt(value) by five Newton
 * steps in Q3.28. */
static tk_quant_params tk_inv_sqrt(int32_t value)
{
    tk_quant_params r = {INT32_MAX, 0};
    int32_t shift = 11;
    if (value <= 1) {
        return r;
    }
    while (value >= (1 << 29)) {
        value /= 4;
        ++shift;
    }
    const int32_t pairs = (tk_clz32((uint32_t)value) - 1) / 2 - 1;
    shift -= pairs;
    value <<= 2 * pairs;
    const int32_t half_input = tk_rounding_divide_by_pot(value >> 1, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t x = 1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = tk_sat_shift_left(tk_sat_rounding_doubling_high_mul(tk_sat_rounding_doubling_high_mul(x, x), x), 6);
        const int32_t d = (int32_t)((uint32_t)tk_sat_rounding_doubling_high_mul(half_three, x) -
                                    (uint32_t)tk_sat_rounding_doubling_high_mul(half_input, x3));
        x = tk_sat_shift_left(d, 3);
    }
    x = tk_sat_rounding_doubling_high_mul(x, 1518500250); /* sqrt(2) / 2 */
    if (shift < 0) {
        x = tk_shift_left_wrap(x, -shift);
        shift = 0;
    }
    r.multiplier = x;
    r.shift = -shift;
    return r;
}

tk_status tk_rsqrt_s16(const tk_rsqrt16_params *params, const int16_t *input, int16_t *output)
{
    const tk_quant_params q = params->requant;
    for (int32_t i = 0; i < params->size; ++i) {
        const int32_t v = input[i];
        if (v < 0) {
            return TK_ERROR; /* "Rsqrt is only defined for positive values" */
        }
        if (v == 0) {
            output[i] = TK_INT16_MAX;
            continue;
        }
        const tk_quant_params inv = tk_inv_sqrt(v);
        const int32_t data = tk_requantize(1, inv.multiplier, inv.shift + 20);
        output[i] = tk_sat_s16(tk_requantize(data, q.multiplier, q.shift - 20));
    }
    return TK_OK;
}

tk_status tk_l2norm_s8(const tk_l2norm_params *params, const int8_t *input, int8_t *output)
{
    const int32_t depth = params->depth, zp = params->input_zero_point;
    for (int32_t row = 0; row < params->outer; ++row) {
        const int8_t *in = input + (size_t)row * depth;
        int8_t *out = output + (size_t)row * depth;
        int32_t acc = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = in[c] - zp;
            acc += v * v;
        }
        const tk_quant_params q = tk_inv_sqrt(acc);
        for (int32_t c = 0; c < depth; ++c) {
            out[c] = tk_sat_s8(tk_requantize(in[c] - zp, q.multiplier, q.shift + 7));
        }
    }
    return TK_OK;
}
