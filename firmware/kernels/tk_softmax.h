/* SOFTMAX, int8 in (any scale, beta) -> int8 out (scale 1/256, zero point -128), TFLM semantics.
 *
 * TFLite Micro's int8 softmax runs gemmlowp fixed point: exp of each (x - row max) rescaled by
 * beta * input_scale (Q5.26), a Q12.19 sum, a Newton-Raphson reciprocal and a final rescale. The
 * exp depends only on the difference max - x (0..255), so tinykit precomputes those 256 Q0.31
 * values (0 where TFLM skips the element: difference below diff_min); the sum, the reciprocal and
 * the output scaling run here exactly as in reference_ops::Softmax.
 */
#ifndef TK_SOFTMAX_H
#define TK_SOFTMAX_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t outer; /* rows */
    int32_t depth; /* last dimension */
    const int32_t *exp_table; /* 256 entries: exp(-(beta*scale)*d) in Q0.31 for d = max - x */
} tk_softmax_params;

tk_status tk_softmax_s8(const tk_softmax_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_SOFTMAX_H */
