#include "tk_cast.h"

#include <string.h>

#include "tk_fixedpoint.h"

/* One (from, to) loop. Between integers C's conversions are TFLM's: they wrap modulo 2^n (gcc
 * and clang define the narrowing signed case that way). */
#define TK_CAST_LOOP(FROM, TO)                \
    do {                                      \
        const FROM *in = (const FROM *)input; \
        TO *out = (TO *)output;               \
        for (int32_t i = 0; i < n; ++i) {     \
            out[i] = (TO)in[i];               \
        }                                     \
    } while (0)

#define TK_CAST_TO(FROM)                                      \
    switch (params->to) {                                     \
    case TK_T_INT8: TK_CAST_LOOP(FROM, int8_t); break;        \
    case TK_T_INT16: TK_CAST_LOOP(FROM, int16_t); break;      \
    case TK_T_INT32: TK_CAST_LOOP(FROM, int32_t); break;      \
    case TK_T_UINT32: TK_CAST_LOOP(FROM, uint32_t); break;    \
    case TK_T_FLOAT32: TK_CAST_LOOP(FROM, float); break;      \
    default: return TK_ERROR;                                 \
    }

/* float -> int32 as the pinned runtime casts: truncation toward zero, saturating, NaN -> 0. */
static int32_t tk_f2i32(float f)
{
    if (f != f) {
        return 0;
    }
    if (f >= 2147483648.0f) {
        return INT32_MAX;
    }
    return f <= -2147483648.0f ? INT32_MIN : (int32_t)f;
}

static uint32_t tk_f2u32(float f)
{
    if (f != f || f <= 0.0f) {
        return 0;
    }
    return f >= 4294967296.0f ? UINT32_MAX : (uint32_t)f;
}

#define TK_CAST_FLOAT_LOOP(TO, EXPR)          \
    do {                                      \
        const float *in = (const float *)input; \
        TO *out = (TO *)output;               \
        for (int32_t i = 0; i < n; ++i) {     \
            const float f = in[i];            \
            out[i] = (TO)(EXPR);              \
        }                                     \
    } while (0)

/* float -> integer saturates (the runtime's cast; C and C++ leave out-of-range values undefined). */
static tk_status tk_cast_from_float(const tk_cast_params *params, const void *input, void *output)
{
    const int32_t n = params->size;
    switch (params->to) {
    case TK_T_INT8: TK_CAST_FLOAT_LOOP(int8_t, tk_clamp_s32(tk_f2i32(f), TK_INT8_MIN, TK_INT8_MAX)); break;
    case TK_T_INT16: TK_CAST_FLOAT_LOOP(int16_t, tk_clamp_s32(tk_f2i32(f), TK_INT16_MIN, TK_INT16_MAX)); break;
    case TK_T_INT32: TK_CAST_FLOAT_LOOP(int32_t, tk_f2i32(f)); break;
    case TK_T_UINT32: TK_CAST_FLOAT_LOOP(uint32_t, tk_f2u32(f)); break;
    case TK_T_FLOAT32: TK_CAST_FLOAT_LOOP(float, f); break;
    default: return TK_ERROR;
    }
    return TK_OK;
}

tk_status tk_cast(const tk_cast_params *params, const void *input, void *output)
{
    const int32_t n = params->size;
    switch (params->from) {
    case TK_T_INT8: TK_CAST_TO(int8_t); break;
    case TK_T_INT16: TK_CAST_TO(int16_t); break;
    case TK_T_INT32: TK_CAST_TO(int32_t); break;
    case TK_T_UINT32: TK_CAST_TO(uint32_t); break;
    case TK_T_BOOL: TK_CAST_TO(uint8_t); break;
    case TK_T_FLOAT32: return tk_cast_from_float(params, input, output);
    default: return TK_ERROR;
    }
    return TK_OK;
}

tk_status tk_zeros(const tk_zeros_params *params, const void *input, void *output)
{
    (void)input;
    memset(output, 0, (size_t)params->bytes);
    return TK_OK;
}

tk_status tk_fill(const tk_fill_params *params, const void *value, void *output)
{
    uint8_t *out = (uint8_t *)output;
    const size_t elem = (size_t)params->elem_bytes;
    for (int32_t i = 0; i < params->size; ++i) {
        memcpy(out + (size_t)i * elem, value, elem);
    }
    return TK_OK;
}
