/* Reductions over any axes (MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ALL), ARG_MAX/ARG_MIN and
 * CUMSUM, TFLite Micro reference semantics.
 *
 * A reduction walks two strided nests the generator computed from the input shape and axes
 * (tk_loops.h): the kept axes, one output per position in output order, and the reduced axes,
 * every input of one output. No scratch memory: each output is reduced in one pass.
 * MEAN/SUM (TFLM's QuantizedMeanOrSum, int8 and int16): int32 sum (wrapping), minus the input zero
 * point times the count, one MultiplyByQuantizedMultiplier (for MEAN with 1/count folded in by the
 * generator), plus the output zero point, saturated to the type.
 */
#ifndef TK_REDUCE_H
#define TK_REDUCE_H

#include "tk_loops.h"
#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_loops outer;            /* kept axes */
    tk_loops inner;            /* reduced axes */
    int32_t count;             /* inputs per output */
    int32_t input_zero_point;
    int32_t output_zero_point;
    tk_quant_params quant;     /* MEAN: 1/count folded in */
} tk_reduce_params;

/* ARG_MAX / ARG_MIN: input viewed as [before, axis, after]; first index wins a tie (as TFLM). */
typedef struct {
    int32_t before;
    int32_t axis;
    int32_t after;
} tk_arg_params;

/* CUMSUM int8: inputs rescaled as ADD's (left shift 20, per-byte table), accumulated along the axis,
 * requantized; `base` is TFLM's starting accumulator (the rescaled byte 0, not real zero). */
typedef struct {
    int32_t before;
    int32_t axis;
    int32_t after;
    int32_t exclusive;
    int32_t reverse;
    const int32_t *table;
    int32_t base;
    int32_t output_offset;
    tk_quant_params output_q;
} tk_cumsum_params;

tk_status tk_mean_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output);
tk_status tk_mean_s16(const tk_reduce_params *params, const int16_t *input, int16_t *output);
tk_status tk_sum_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output);
tk_status tk_sum_s16(const tk_reduce_params *params, const int16_t *input, int16_t *output);
tk_status tk_reduce_max_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output);
tk_status tk_reduce_min_s8(const tk_reduce_params *params, const int8_t *input, int8_t *output);
tk_status tk_reduce_all_b8(const tk_reduce_params *params, const uint8_t *input, uint8_t *output);
tk_status tk_arg_max_s8(const tk_arg_params *params, const int8_t *input, int32_t *output);
tk_status tk_arg_min_s8(const tk_arg_params *params, const int8_t *input, int32_t *output);
tk_status tk_cumsum_s8(const tk_cumsum_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_REDUCE_H */
