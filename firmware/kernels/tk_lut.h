/* Elementwise ops on int8 inputs as a 256-entry table lookup.
 *
 * LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH, ELU, ABS, RSQRT and QUANTIZE from int8
 * depend on one input byte only; tinykit evaluates TFLite Micro's arithmetic for all 256 inputs at
 * generation time, so the kernel is a lookup (into int8, or into int16/int32 for a widening
 * QUANTIZE). tk_lut_s8 may run in place; the widening ones write last to first, so their output
 * may start at the input's address.
 */
#ifndef TK_LUT_H
#define TK_LUT_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t size;        /* elements */
    const int8_t *table; /* 256 entries, indexed by the input byte as uint8_t */
} tk_lut_params;

typedef struct {
    int32_t size;
    const int16_t *table; /* 256 entries, indexed by the input byte as uint8_t */
} tk_lut_s16_params;

typedef struct {
    int32_t size;
    const int32_t *table; /* 256 entries, indexed by the input byte as uint8_t */
} tk_lut_s32_params;

tk_status tk_lut_s8(const tk_lut_params *params, const int8_t *input, int8_t *output);
tk_status tk_lut_s8_s16(const tk_lut_s16_params *params, const int8_t *input, int16_t *output);
tk_status tk_lut_s8_s32(const tk_lut_s32_params *params, const int8_t *input, int32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_LUT_H */
