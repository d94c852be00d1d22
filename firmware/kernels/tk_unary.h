/* Unary ops that are not plain table lookups: ABS (int16), RSQRT (int8 and int16, refusing
 * negative inputs as TFLite Micro does), L2_NORMALIZATION (int8). TFLM's arithmetic, bit for bit;
 * in place safe.
 *
 * ABS and ELU on int8 are 256-entry tables (tk_lut.c). RSQRT on int8 is one too, but TFLM fails
 * the whole invoke when an input is below the zero point (a negative real value), so its kernel
 * checks each input; on int16 it runs TFLM's fixed-point 1/sqrt per element. L2_NORMALIZATION takes each row's sum of squares to 1/sqrt with gemmlowp's
 * Newton iteration (GetInvSqrtQuantizedMultiplierExp) and rescales the row onto the 1/128 grid.
 */
#ifndef TK_UNARY_H
#define TK_UNARY_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t size;
    int32_t mode;            /* 0: plain abs (unquantized), 1: same scales, 2: requantize */
    tk_quant_params requant; /* input scale / output scale, mode 2 */
} tk_abs16_params;

typedef struct {
    int32_t size;
    int32_t input_zero_point; /* inputs below it make the op fail, as in TFLM */
    const int8_t *table;      /* 256 entries, indexed by the input byte as uint8_t */
} tk_rsqrt_params;

typedef struct {
    int32_t size;
    tk_quant_params requant; /* 1 / (sqrtf(input scale) * output scale); zero points are 0 */
} tk_rsqrt16_params;

typedef struct {
    int32_t outer;
    int32_t depth;
    int32_t input_zero_point;
} tk_l2norm_params;

tk_status tk_abs_s16(const tk_abs16_params *params, const int16_t *input, int16_t *output);
tk_status tk_rsqrt_s8(const tk_rsqrt_params *params, const int8_t *input, int8_t *output);
tk_status tk_rsqrt_s16(const tk_rsqrt16_params *params, const int16_t *input, int16_t *output);
tk_status tk_l2norm_s8(const tk_l2norm_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_UNARY_H */
