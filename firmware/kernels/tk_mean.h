/* MEAN over H and W of an NHWC int8 tensor (Keras global average pooling), TFLite Micro semantics.
 *
 * TFLM has three integer paths, chosen at generation time and recorded in `mode`:
 *  TK_MEAN_REQUANT_ROUND : sum(x - zp_in), requantize, divide by N rounding half away (the 4-D
 *                          keep_dims special case, reference_integer_ops::Mean);
 *  TK_MEAN_FOLDED        : sum(x) - zp_in * N through one multiplier with 1/N folded in
 *                          (reference_ops::QuantizedMeanOrSum);
 *  TK_MEAN_TRUNCATE      : sum(x) / N truncated (same input/output quantization, reference_ops::Mean).
 */
#ifndef TK_MEAN_H
#define TK_MEAN_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TK_MEAN_REQUANT_ROUND = 0, TK_MEAN_FOLDED = 1, TK_MEAN_TRUNCATE = 2 };

typedef struct {
    tk_dims input; /* n, h, w, c; output is n x c */
    int32_t mode;
    int32_t input_zero_point;
    int32_t output_zero_point;
    tk_quant_params quant; /* TK_MEAN_FOLDED: multiplier with 1/N folded in */
} tk_mean_params;

tk_status tk_mean_s8(const tk_mean_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_MEAN_H */
