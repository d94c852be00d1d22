/* QUANTIZE and DEQUANTIZE between float32, int8, int16 and int32, TFLite Micro's arithmetic.
 *
 * tk_quantize_s8/_s16 reproduce AffineQuantize from float32: q = round_half_away(x / scale) +
 * zero_point, saturated, with the division in float32. The tk_requantize_* kernels reproduce
 * reference_ops::Requantize: MultiplyByQuantizedMultiplier(x - input zero point) + output zero
 * point, saturated to the output type (int8 inputs use 256-entry tables instead, tk_lut.c).
 * tk_dequantize_s8 looks each byte up in a 256-entry float table that tinykit computes as
 * (float)((double)scale * (q - zero_point)); tk_dequantize_s16 multiplies in float32, which gives
 * the same bits (the double product of a float scale and a 17-bit integer is exact, so both round
 * the exact product once). Same-width kernels may run in place (output at the input's address).
 */
#ifndef TK_QUANTIZE_H
#define TK_QUANTIZE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} tk_quantize_params;

typedef struct {
    int32_t size;
    const float *table; /* 256 entries, indexed by the input byte as uint8_t */
} tk_dequantize_params;

typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    tk_quant_params requant; /* input scale / output scale */
} tk_requantize_params;

tk_status tk_quantize_s8(const tk_quantize_params *params, const float *input, int8_t *output);
tk_status tk_quantize_s16(const tk_quantize_params *params, const float *input, int16_t *output);
tk_status tk_dequantize_s8(const tk_dequantize_params *params, const int8_t *input, float *output);
tk_status tk_dequantize_s16(const tk_quantize_params *params, const int16_t *input, float *output);

tk_status tk_requantize_s16(const tk_requantize_params *params, const int16_t *input, int16_t *output);
tk_status tk_requantize_s16_s8(const tk_requantize_params *params, const int16_t *input, int8_t *output);
tk_status tk_requantize_s16_s32(const tk_requantize_params *params, const int16_t *input, int32_t *output);
tk_status tk_requantize_s32_s8(const tk_requantize_params *params, const int32_t *input, int8_t *output);
tk_status tk_requantize_s32_s16(const tk_requantize_params *params, const int32_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_QUANTIZE_H */
