/* DEPTHWISE_CONV_2D int8 (any depth multiplier), per-channel or per-tensor weights: TFLite semantics. */
#ifndef TK_DEPTHWISE_CONV2D_H
#define TK_DEPTHWISE_CONV2D_H

#include "tk_dsp.h"
#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;  /* n, h, w, c */
    tk_dims filter; /* 1, kh, kw, out_c */
    tk_dims output; /* n, h, w, out_c = c * depth_multiplier */
    int32_t depth_multiplier;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h;
    int32_t pad_w;
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    tk_activation act;
    /* 1 x kh x kw x out_c; Helium (MVE) builds: the layer's Helium stream instead
     * (tk_depthwise_conv2d_mve.c), and NULL bias, multipliers and shifts. */
    const int8_t *filter_data;
    const int32_t *bias;        /* out_c entries: model bias + input_offset * sum(w[.., oc]); never NULL */
    const int32_t *multipliers; /* out_c entries */
    const int8_t *shifts;       /* out_c entries, in [-31, 30] */
    /* 1 when the generator proved every shift <= -1 and |accumulator| < 2^30 for any input:
     * the kernel may use tk_requantize_s8_fast (same result, fewer instructions) */
    int32_t fast_requant;
    /* 1 when the generator proved tk_requant_hi exact for this layer with hi_c =
     * tk_requant_hi_c(shift, output_offset), else 0. Non-zero takes precedence over fast_requant. */
    int32_t requant_hi;
    /* DSP builds without Helium, 3x3 layers computed in planes (tinykit/ir/ops/conv.py,
     * depthwise_plane): per channel {b, m, H, r, A0, D0, A1, D1, A2, D2} (tinykit/codegen/dsp_weights.py,
     * depthwise_stream); NULL on other builds and layers (TK_DSP_ONLY). filter_data / bias (and
     * multipliers / shifts when stream_rq) are NULL on DSP builds of such layers. */
    const int32_t *stream;
    /* 1: stream values are doubled and carry {m, H, r} for tk_requant_mm; 0: requantized from
     * multipliers / shifts */
    int32_t stream_rq;
} tk_depthwise_conv2d_params;

/* Scratch bytes: kh zero-point padded input rows, kh * ((out_w - 1) * stride_w + (kw - 1) * dil_w + 1) * c;
 * for 3x3 layers with dilation 1, depth multiplier 1 and equal strides of 1 or 2 the larger of
 * those and the int16 plane of one channel. */
size_t tk_depthwise_conv2d_s8_buffer_size(const tk_depthwise_conv2d_params *params);

tk_status tk_depthwise_conv2d_s8(const tk_depthwise_conv2d_params *params, const int8_t *input,
                                 int8_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_DEPTHWISE_CONV2D_H */
