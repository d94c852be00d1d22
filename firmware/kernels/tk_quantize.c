#include "tk_quantize.h"

#include "tk_fixedpoint.h"

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

/* AffineQuantize of one value, saturated to [lo, hi]. Beyond +-2^30 the result saturates anyway;
 * NaN maps to the zero point. */
static int32_t tk_affine_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    const float q = x / scale;
    if (q > 1073741824.0f) {
        return hi;
    }
    if (q < -1073741824.0f) {
        return lo;
    }
    if (q != q) {
        return zp;
    }
    return tk_clamp_s32(tk_round_half_away(q) + zp, lo, hi);
}

tk_status tk_quantize_s8(const tk_quantize_params *params, const float *input, int8_t *output)
{
    const float scale = params->scale;
    const int32_t zp = params->zero_point;
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = (int8_t)tk_affine_quantize(input[i], scale, zp, TK_INT8_MIN, TK_INT8_MAX);
    }
    return TK_OK;
}

tk_status tk_quantize_s16(const tk_quantize_params *params, const float *input, int16_t *output)
{
    const float scale = params->scale;
    const int32_t zp = params->zero_point;
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = (int16_t)tk_affine_quantize(input[i], scale, zp, TK_INT16_MIN, TK_INT16_MAX);
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

tk_status tk_dequantize_s16(const tk_quantize_params *params, const int16_t *input, float *output)
{
    const float scale = params->scale;
    const int32_t zp = params->zero_point;
    for (int32_t i = params->size - 1; i >= 0; --i) {
        output[i] = scale * (float)((int32_t)input[i] - zp);
    }
    return TK_OK;
}

/* reference_ops::Requantize on one value: the input offset wraps as TFLM's int32 arithmetic. */
TK_INLINE int32_t tk_requantize_one(const tk_requantize_params *p, int32_t x)
{
    const int32_t v = (int32_t)((uint32_t)x - (uint32_t)p->input_zero_point);
    const int32_t r = tk_requantize(v, p->requant.multiplier, p->requant.shift);
    return (int32_t)((uint32_t)r + (uint32_t)p->output_zero_point);
}

/* One requantizing kernel per (input, output) type pair, saturating to the output type. */
#define TK_REQUANTIZE_KERNEL(NAME, IN_T, OUT_T, SATURATE)                                          \
    tk_status NAME(const tk_requantize_params *params, const IN_T *input, OUT_T *output)            \
    {                                                                                              \
        for (int32_t i = 0; i < params->size; ++i) {                                               \
            output[i] = SATURATE(tk_requantize_one(params, input[i]));                             \
        }                                                                                          \
        return TK_OK;                                                                              \
    }

#define TK_NO_SATURATION(x) (x)

TK_REQUANTIZE_KERNEL(tk_requantize_s16, int16_t, int16_t, tk_sat_s16)
TK_REQUANTIZE_KERNEL(tk_requantize_s16_s8, int16_t, int8_t, tk_sat_s8)
TK_REQUANTIZE_KERNEL(tk_requantize_s16_s32, int16_t, int32_t, TK_NO_SATURATION)
TK_REQUANTIZE_KERNEL(tk_requantize_s32_s8, int32_t, int8_t, tk_sat_s8)
TK_REQUANTIZE_KERNEL(tk_requantize_s32_s16, int32_t, int16_t, tk_sat_s16)
