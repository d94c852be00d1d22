/* Binary arithmetic with TFLite broadcasting (any rank up to 6): ADD, SUB, MUL, SQUARED_DIFFERENCE,
 * MAXIMUM, MINIMUM, DIV, PRELU, ADD_N; int8, 16x8 (int16) and int32, TFLite Micro reference
 * semantics bit for bit.
 *
 * ADD/SUB int8: TFLM shifts each input left by 20 and rescales it to a common scale with its own
 * multiplier; that rescaled value depends on one input byte only, so the generator precomputes it
 * for all 256 bytes of each input (two int32 tables; SUB's second table is negated). The kernel
 * adds two table entries and requantizes the sum to the output.
 * SQUARED_DIFFERENCE int8 takes the same tables (left shift 7) and squares their difference.
 * ADD/SUB int16 and SQUARED_DIFFERENCE int16 (tk_rescaled_params): the rescaling computed per
 * element (left shift 15, resp. 0).
 * MUL: (a + off1) * (b + off2) requantized to the output. MAXIMUM/MINIMUM compare raw values (TFLM
 * ignores the quantization). int32 ops wrap on overflow like the x86 oracle. All clamp to the fused
 * activation range computed at generation time.
 * Broadcasting walks a tk_broadcast loop nest (tk_loops.h); the output may alias an input of the
 * output's shape.
 */
#ifndef TK_BINARY_H
#define TK_BINARY_H

#include "tk_loops.h"
#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_broadcast shape;
    const int32_t *table1; /* 256 entries by input-1 byte: input rescaled to the common scale */
    const int32_t *table2; /* same for input 2 (negated for SUB) */
    int32_t output_offset; /* +zero point */
    tk_quant_params output_q;
    tk_activation act;
} tk_add_params;

/* Both inputs rescaled per element: ((x + offset) << left_shift) * input_q, then combined. */
typedef struct {
    tk_broadcast shape;
    int32_t input1_offset; /* -zero point */
    int32_t input2_offset;
    int32_t left_shift;
    tk_quant_params input1_q; /* shift <= 0 */
    tk_quant_params input2_q;
    int32_t output_offset;
    tk_quant_params output_q;
    tk_activation act;
} tk_rescaled_params;

typedef struct {
    tk_broadcast shape;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    tk_quant_params output_q;
    tk_activation act;
} tk_mul_params;

/* int32 arithmetic (shape computations): wrapping, then the fused activation clamp. */
typedef struct {
    tk_broadcast shape;
    tk_activation act;
} tk_arith_s32_params;

typedef struct {
    tk_broadcast shape;
} tk_minmax_params;

/* DIV int8 as TFLM's DivElementwise: the dividend shifted to full headroom times the divisor's
 * reciprocal (gemmlowp Newton-Raphson, Q0.31), requantized with a per-pair right shift. Everything
 * that depends on one byte is tabulated by the generator; the shift keeps the x86 oracle's
 * behaviour where TFLM's exceeds 31 (see tk_div_s8 in tk_binary.c). */
typedef struct {
    tk_broadcast shape;
    const int32_t *dividend;      /* 512: (x - zp1) << headroom, then for -(x - zp1), by input-1 byte */
    const int8_t *dividend_shift; /* 512: that headroom */
    const int32_t *reciprocal;    /* 256 by input-2 byte: reciprocal of |y - zp2| */
    const int8_t *divisor_shift;  /* 256: its bits over unit minus the output shift */
    const int16_t *divisor_sign;  /* 256: 256 where y - zp2 < 0 (selects the negated dividend), else 0 */
    int32_t output_multiplier;
    int32_t output_offset;
    tk_activation act;
} tk_div_params;

/* PRELU: x >= 0 scales x by pos_q, x < 0 scales x * alpha by neg_q (both MultiplyByQuantizedMultiplier). */
typedef struct {
    tk_broadcast shape;
    int32_t input_offset;
    int32_t alpha_offset;
    int32_t output_offset;
    tk_quant_params pos_q;
    tk_quant_params neg_q;
} tk_prelu_params;

/* ADD_N int8: the inputs are listed here (address constants of the arena), `count` of them, each
 * of `size` elements and one quantization; `table` holds an input byte rescaled (left shift 20),
 * `base` TFLM's starting accumulator (the rescaled value of byte 0, not of real zero). */
#define TK_ADD_N_MAX_INPUTS 16
typedef struct {
    int32_t size;
    int32_t count;
    const int8_t *inputs[TK_ADD_N_MAX_INPUTS];
    const int32_t *table;
    int32_t base;
    int32_t output_offset;
    tk_quant_params output_q;
    tk_activation act;
} tk_add_n_params;

tk_status tk_add_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_sub_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_add_s16(const tk_rescaled_params *params, const int16_t *input, const int16_t *input2,
                     int16_t *output);
tk_status tk_sub_s16(const tk_rescaled_params *params, const int16_t *input, const int16_t *input2,
                     int16_t *output);
tk_status tk_squared_difference_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2,
                                   int8_t *output);
tk_status tk_squared_difference_s16(const tk_rescaled_params *params, const int16_t *input,
                                    const int16_t *input2, int16_t *output);
tk_status tk_mul_s8(const tk_mul_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_mul_s16(const tk_mul_params *params, const int16_t *input, const int16_t *input2, int16_t *output);

tk_status tk_add_s32(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,
                     int32_t *output);
tk_status tk_sub_s32(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,
                     int32_t *output);
tk_status tk_mul_s32(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,
                     int32_t *output);
tk_status tk_squared_difference_s32(const tk_arith_s32_params *params, const int32_t *input,
                                    const int32_t *input2, int32_t *output);

tk_status tk_maximum_s8(const tk_minmax_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_minimum_s8(const tk_minmax_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_maximum_s16(const tk_minmax_params *params, const int16_t *input, const int16_t *input2,
                         int16_t *output);
tk_status tk_minimum_s16(const tk_minmax_params *params, const int16_t *input, const int16_t *input2,
                         int16_t *output);
tk_status tk_maximum_s32(const tk_minmax_params *params, const int32_t *input, const int32_t *input2,
                         int32_t *output);
tk_status tk_minimum_s32(const tk_minmax_params *params, const int32_t *input, const int32_t *input2,
                         int32_t *output);

tk_status tk_div_s8(const tk_div_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_div_s32(const tk_arith_s32_params *params, const int32_t *input, const int32_t *input2,
                     int32_t *output);
tk_status tk_prelu_s8(const tk_prelu_params *params, const int8_t *input, const int8_t *alpha, int8_t *output);
tk_status tk_prelu_s16(const tk_prelu_params *params, const int16_t *input, const int8_t *alpha, int16_t *output);
tk_status tk_add_n_s8(const tk_add_n_params *params, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_BINARY_H */
