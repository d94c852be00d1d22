#include "tk_quantize.h"

/* roundf() (half away from zero) without libm; |x| <= 2^30 so the int32 conversion is exact. */
static int32_t tk_round_half_away(float x)
{
    int32_t t = (int32_t)x; /* truncates toward zero */
    const float frac = x - (float)t; /* exact for |x| < 2^24; 0 above, where x is integral */
    if (frac >= 0.5f) {
        t += 1;
    } else if (frac <= -0.5f) {
        t -= 1;
    }
    return t;
}

tk_status tk_quantize_s8(const tk_quantize_params *params, const float *input, int8_t *output)
{
    const float scale = params->scale;
    const int32_t zp = params->zero_point;
    for (int32_t i = 0; i < params->size; ++i) {
        float q = input[i] / scale;
        int32_t v;
        /* Beyond +-2^30 the int8 result saturates anyway; NaN maps to the zero point. */
        if (q > 1073741824.0f) {
            v = 127;
        } else if (q < -1073741824.0f) {
            v = -128;
        } else if (q == q) {
            v = tk_round_half_away(q) + zp;
            v = v < -128 ? -128 : (v > 127 ? 127 : v);
        } else {
            v = zp;
        }
        output[i] = (int8_t)v;
    }
    return TK_OK;
}

tk_status tk_dequantize_s8(const tk_dequantize_params *params, const int8_t *input, float *output)
{
    const float *table = params->table;
    const uint8_t *in = (const uint8_t *)input;
    /* Last to first: safe in place (output starting at the input's address). */
    for (int32_t i = params->size - 1; i >= 0; --i) {
        output[i] = table[in[i]];
    }
    return TK_OK;
}
