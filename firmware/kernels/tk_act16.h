/* Elementwise int16 activations (16x8 models), TFLite Micro's reference arithmetic.
 *
 * An int16 input has 65536 values, too many for the 256-entry tables of the int8 path
 * (tk_lut.c), so these kernels compute: LOGISTIC and TANH interpolate in TFLM's sigmoid table
 * (tk_sigmoid16.h), LEAKY_RELU and RELU requantize with the multipliers the generator computed as
 * TFLM's Prepare does, RELU6 clamps on the input grid. All are safe in place (output == input).
 */
#ifndef TK_ACT16_H
#define TK_ACT16_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t size;
    int32_t multiplier;    /* onto steps of 1/(3 * 4096); power-of-two case folded in */
    int32_t shift;         /* right shift after the multiply */
    const uint16_t *table; /* 256 entries, sigmoid(i / 24) in Q0.16 */
} tk_sigmoid16_params;

typedef struct {
    int32_t size;
    int32_t input_offset;  /* input zero point */
    int32_t output_offset; /* output zero point */
    tk_quant_params identity; /* x >= 0: input scale / output scale */
    tk_quant_params alpha;    /* x < 0: |alpha| * input scale / output scale */
    int32_t alpha_negative;   /* alpha < 0: the product is negated after rounding, as TFLM */
} tk_leaky_relu16_params;

typedef struct {
    int32_t size;
    tk_quant_params requant; /* input scale / output scale (both zero points are 0) */
    int32_t act_min;         /* output of 0.0, saturated */
    int32_t act_max;
} tk_relu16_params;

typedef struct {
    int32_t size;
    int32_t lower; /* input zero point */
    int32_t upper; /* 6.0 on the input grid */
} tk_relu6_16_params;

tk_status tk_logistic_s16(const tk_sigmoid16_params *params, const int16_t *input, int16_t *output);
tk_status tk_tanh_s16(const tk_sigmoid16_params *params, const int16_t *input, int16_t *output);
tk_status tk_leaky_relu_s16(const tk_leaky_relu16_params *params, const int16_t *input, int16_t *output);
tk_status tk_relu_s16(const tk_relu16_params *params, const int16_t *input, int16_t *output);
tk_status tk_relu6_s16(const tk_relu6_16_params *params, const int16_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_ACT16_H */
