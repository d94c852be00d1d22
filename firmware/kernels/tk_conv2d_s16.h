/* CONV_2D 16x8: int16 activations, int8 weights (per-channel or per-tensor), int64 or int32 bias. */
#ifndef TK_CONV2D_S16_H
#define TK_CONV2D_S16_H

#include "tk_mac_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* n, h, w, c */
    tk_dims filter; /* out_c (n), kh (h), kw (w), in_c (c) */
    tk_dims output; /* n, h, w, c */
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h; /* top padding (ComputePaddingHeightWidth) */
    int32_t pad_w; /* left padding */
    /* OHWI weights rearranged at generation time: output channels in pairs (an odd last one paired
     * with a zero row), K = kh*kw*in_c padded with zeros to a multiple of 4, stored
     * [pair][k / 4][2 channels][4 values permuted (w0, w2, w1, w3)] (see tk_mac_s16.h). */
    const int8_t *filter_data;
    tk_s16_requant rq; /* biases, requantization and clamp per output channel */
} tk_conv2d_s16_params;

/* Scratch bytes tk_conv2d_s16 needs: the int16 im2col columns of two output pixels,
 * 2 * 2 * ceil4(kh * kw * in_c). */
size_t tk_conv2d_s16_buffer_size(const tk_conv2d_s16_params *params);

tk_status tk_conv2d_s16(const tk_conv2d_s16_params *params, const int16_t *input, int16_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_CONV2D_S16_H */
