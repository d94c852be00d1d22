/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_act16.h"

#include "tk_fixedpoint.h"
#include "tk_sigmoid16.h"

tk_status tk_logistic_s16(const tk_sigmoid16_params *params, const int16_t *input, int16_t *output)
{
    const int32_t m = params->multiplier, s = params->shift;
    const uint16_t *table = params->table;
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = tk_logistic16(input[i], m, s, table);
    }
    return TK_OK;
}

tk_status tk_tanh_s16(const tk_sigmoid16_params *params, const int16_t *input, int16_t *output)
{
    const int32_t m = params->multiplier, s = params->shift;
    const uint16_t *table = params->table;
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = tk_tanh16(input[i], m, s, table);
    }
    return TK_OK;
}

tk_status tk_leaky_relu_s16(const tk_leaky_relu16_params *params, const int16_t *input, int16_t *output)
{
    const tk_quant_params id = params->identity, al = params->alpha;
    const int32_t in_off = params->input_offset, out_off = params->output_offset;
    const int32_t negate = params->alpha_negative;
    for (int32_t i = 0; i < params->size; ++i) {
        const int32_t v = (int32_t)input[i] - in_off;
        int32_t r;
        if (v >= 0) {
            r = tk_requantize(v, id.multiplier, id.shift);
        } else {
            r = tk_requantize(v, al.multiplier, al.shift);
            r = negate ? -r : r;
        }
        output[i] = tk_sat_s16(out_off + r);
    }
    return TK_OK;
}

tk_status tk_relu_s16(const tk_relu16_params *params, const int16_t *input, int16_t *output)
{
    const tk_quant_params q = params->requant;
    const int32_t lo = params->act_min, hi = params->act_max;
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = (int16_t)tk_clamp_s32(tk_requantize(input[i], q.multiplier, q.shift), lo, hi);
    }
    return TK_OK;
}

tk_status tk_relu6_s16(const tk_relu6_16_params *params, const int16_t *input, int16_t *output)
{
    const int16_t lo = (int16_t)params->lower, hi = (int16_t)params->upper;
    for (int32_t i = 0; i < params->size; ++i) {
        const int16_t v = input[i];
        output[i] = v > hi ? hi : (v < lo ? lo : v);
    }
    return TK_OK;
}
