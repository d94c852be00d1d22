/* SOFTMAX (int8 -> int8, int8 -> int16, int16 -> int16) and LOG_SOFTMAX (int8), TFLM semantics.
 *
 * TFLite Micro's int8 softmax runs gemmlowp fixed point: exp of each (x - row max) rescaled by
 * beta * input_scale (Q5.26), a Q12.19 sum, a Newton-Raphson reciprocal and a final rescale. The
 * exp depends only on the difference max - x (0..255), so tinykit precomputes those 256 Q0.31
 * values (0 where TFLM skips the element: difference below diff_min, which then yields the output
 * minimum as TFLM's skip does); the sum, the reciprocal and the output scaling run here exactly as
 * in reference_ops::Softmax, for an int8 output (scale 1/256) or an int16 one (scale 1/65536).
 *
 * The int16 softmax is TFLM's SoftmaxInt16: the difference to the row max rescaled onto [-10, 0],
 * exp by interpolation in a 513-entry table, the sum's reciprocal by a second table for 1/(1 + x),
 * both filled by tinykit as LUTPopulate<int16_t> fills them. The exps are kept in the output row.
 *
 * LOG_SOFTMAX (int8, output scale 16/256, zero point 127) sums the same table of exps, takes
 * gemmlowp's fixed-point log of the sum and subtracts it from each rescaled difference (a second
 * 256-entry table: the difference in Q5.26).
 *
 * Every kernel reads a row completely before writing its outputs: safe in place.
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

typedef struct {
    int32_t outer;
    int32_t depth;
    tk_quant_params input_rescale; /* beta * input scale / (10 / 65535) */
    const int16_t *exp_lut;        /* 513 entries: exp on [-10, 0] */
    const int16_t *recip_lut;      /* 513 entries: 1 / (1 + x) on [0, 1] */
} tk_softmax16_params;

typedef struct {
    int32_t outer;
    int32_t depth;
    const int32_t *exp_table;  /* as tk_softmax_params */
    const int32_t *diff_table; /* 256 entries: the rescaled difference -d in Q5.26 */
    int32_t diff_min;          /* differences below it are skipped (negative) */
    tk_quant_params reverse;   /* Q5.26 back to the input grid (PreprocessLogSoftmaxScalingExp) */
} tk_log_softmax_params;

tk_status tk_softmax_s8(const tk_softmax_params *params, const int8_t *input, int8_t *output);
tk_status tk_softmax_s8_s16(const tk_softmax_params *params, const int8_t *input, int16_t *output);
tk_status tk_softmax_s16(const tk_softmax16_params *params, const int16_t *input, int16_t *output);
tk_status tk_log_softmax_s8(const tk_log_softmax_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_SOFTMAX_H */
