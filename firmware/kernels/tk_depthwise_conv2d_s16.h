/* DEPTHWISE_CONV_2D 16x8: int16 activations, int8 weights (per-channel or per-tensor), int64 bias. */
#ifndef TK_DEPTHWISE_CONV2D_S16_H
#define TK_DEPTHWISE_CONV2D_S16_H

#include "tk_mac_s16.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* n, h, w, in_c */
    tk_dims filter; /* 1, kh, kw, out_c */
    tk_dims output; /* n, h, w, out_c */
    int32_t depth_multiplier;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h;
    int32_t pad_w;
    /* [tap][out_c padded to 4] int8, each group of 4 channels stored permuted (c0, c2, c1, c3) so
     * that SXTB16 / SXTB16 ROR 8 give the int16 pairs (c0, c1), (c2, c3) */
    const int8_t *filter_data;
    tk_s16_requant rq; /* TFLM's int64 accumulator (proved to fit int32 or summed in int64) */
} tk_depthwise_conv2d_s16_params;

tk_status tk_depthwise_conv2d_s16(const tk_depthwise_conv2d_s16_params *params, const int16_t *input,
                                  int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_DEPTHWISE_CONV2D_S16_H */
