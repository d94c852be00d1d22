/* TRANSPOSE_CONV int8 and 16x8 (int16 activations, int8 weights): TFLite semantics. */
#ifndef TK_TRANSPOSE_CONV_H
#define TK_TRANSPOSE_CONV_H

#include "tk_mac_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* n, h, w, in_c */
    tk_dims output; /* n, h, w, out_c */
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h; /* top padding, as TFLite computes it from the output size */
    int32_t pad_w;
    int32_t input_offset; /* -input zero point (int8); 0 for 16x8 */
    /* The filter split by output phase (ry, rx) = ((y + pad_h) % stride_h, (x + pad_w) % stride_w):
     * phase (ry, rx) holds the taps fy = ry + a * stride_h, fx = rx + b * stride_w as a convolution
     * matrix [pair][k / 4][2][4 permuted] with k = (a, b, input channel), K padded to 4. */
    const int8_t *filter_data;
    const int32_t *phase_offsets; /* stride_h * stride_w byte offsets of the phases in filter_data */
    tk_s16_requant rq;            /* int8: int32 accumulator with the output offset; 16x8: int64 */
} tk_transpose_conv_params;

/* Scratch bytes: int16 columns of two output pixels of the widest phase,
 * 2 * 2 * ceil4(ceil(filter_h / stride_h) * ceil(filter_w / stride_w) * in_c). */
size_t tk_transpose_conv_buffer_size(const tk_transpose_conv_params *params);

tk_status tk_transpose_conv_s8(const tk_transpose_conv_params *params, const int8_t *input, int8_t *output,
                               void *scratch);
tk_status tk_transpose_conv_s16(const tk_transpose_conv_params *params, const int16_t *input, int16_t *output,
                                void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_TRANSPOSE_CONV_H */
