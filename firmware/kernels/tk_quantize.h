/* QUANTIZE float32 -> int8 (model input) and DEQUANTIZE int8 -> float32 (model output).
 *
 * tk_quantize_s8 reproduces TFLite's AffineQuantize: q = round_half_away(x / scale) + zero_point,
 * saturated to int8, with the division done in float32. tk_dequantize_s8 looks each byte up in a
 * 256-entry float table that tinykit computes as (float)((double)scale * (q - zero_point)), the
 * reference Dequantize arithmetic, so no float arithmetic runs on the output path.
 * Both may run in place (output at the input's address).
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

tk_status tk_quantize_s8(const tk_quantize_params *params, const float *input, int8_t *output);
tk_status tk_dequantize_s8(const tk_dequantize_params *params, const int8_t *input, float *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_QUANTIZE_H */
