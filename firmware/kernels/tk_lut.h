/* Elementwise int8 -> int8 ops as a 256-entry table lookup.
 *
 * LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, HARD_SWISH and int8 QUANTIZE (requantize) depend on
 * one input byte only; tinykit evaluates TFLite Micro's integer arithmetic for all 256 inputs at
 * generation time, so the kernel is a lookup. Output may alias the input (in place).
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

tk_status tk_lut_s8(const tk_lut_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_LUT_H */
