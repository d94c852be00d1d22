/* ADD and MUL of two int8 tensors with TFLite broadcasting (up to 4-D), reference semantics.
 *
 * ADD: TFLite's general quantized add shifts each input left by 20 and rescales it to a common
 * scale with its own multiplier; that rescaled value depends on one input byte only, so tinykit
 * precomputes it for all 256 bytes of each input (two int32 tables). The kernel adds two table
 * entries and requantizes the sum to the output.
 * MUL: (x1 - zp1) * (x2 - zp2) requantized to the output. Both clamp to the fused activation.
 * Broadcasting: the output is walked as 4-D; each input advances by its own per-dimension element
 * stride, which is 0 along a broadcast dimension. Output may alias an input of the output's shape.
 */
#ifndef TK_ELEMENTWISE_H
#define TK_ELEMENTWISE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t size;        /* output elements */
    int32_t broadcast;   /* 0: both inputs have the output's shape (flat loop) */
    tk_dims output;      /* 4-D output shape */
    tk_dims stride1;     /* element strides of input 1 per output dimension (0 = broadcast) */
    tk_dims stride2;
} tk_broadcast;

typedef struct {
    tk_broadcast shape;
    const int32_t *table1; /* 256 entries by input-1 byte: input rescaled to the common scale */
    const int32_t *table2; /* same for input 2 */
    int32_t output_offset; /* +zero point */
    tk_quant_params output_q;
    tk_activation act;
} tk_add_params;

typedef struct {
    tk_broadcast shape;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    tk_quant_params output_q;
    tk_activation act;
} tk_mul_params;

tk_status tk_add_s8(const tk_add_params *params, const int8_t *input, const int8_t *input2, int8_t *output);
tk_status tk_mul_s8(const tk_mul_params *params, const int8_t *input, const int8_t *input2, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_ELEMENTWISE_H */
