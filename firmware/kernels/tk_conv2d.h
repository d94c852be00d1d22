/* CONV_2D, int8 activations, int8 weights (per-channel or per-tensor), int32 bias: TFLite semantics. */
#ifndef TK_CONV2D_H
#define TK_CONV2D_H

#include "tk_dsp.h"
#include "tk_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    tk_dims input;   /* n, h, w, c */
    tk_dims filter;  /* out_c (n), kh (h), kw (w), in_c (c) */
    tk_dims output;  /* n, h, w, c */
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_h; /* top padding (ComputePaddingHeightWidth) */
    int32_t pad_w; /* left padding */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    tk_activation act;
    /* OHWI weights rearranged at generation time for the pairwise dot product: output channels in
     * pairs (an odd last one paired with zeros), K = kh*kw*in_c padded with zeros to a multiple of
     * 4, stored [pair][k / 4][2 channels][4 values] (see tk_conv2d.c). Helium (MVE) builds: the
     * layer's Helium stream instead (tk_conv2d_mve.c), and NULL bias, multipliers and shifts. */
    const int8_t *filter_data;
    const int32_t *bias;       /* out_c entries: model bias + input_offset * sum(filter[o]); never NULL */
    const int32_t *multipliers; /* out_c entries */
    const int8_t *shifts;       /* out_c entries, in [-31, 30] */
    /* 1 when the generator proved every shift <= -1 and |accumulator| < 2^30 for any input:
     * the kernel may use tk_requantize_s8_fast (same result, fewer instructions) */
    int32_t fast_requant;
    /* 1 when the generator proved tk_requant_hi exact for this layer with hi_c =
     * tk_requant_hi_c(shift, output_offset); 2 when proved with hi_c = tk_requant_hi_c(shift, 0)
     * and the output offset added after (a channel's huge shift makes the folded hi_c overflow);
     * 0 otherwise. Non-zero takes precedence over fast_requant. */
    int32_t requant_hi;
    /* DSP builds: the layer's weights, biases and requantization as one int32 stream read in
     * order (tinykit/codegen/dsp_weights.py, conv_stream); per channel pair {b0, b0, b1, b1},
     * per group of 4 values of K the int16 pairs (w0, w2), (w1, w3) of both channels, then
     * {m, H, r} of both when stream_rq. Builds without DSP get NULL here (TK_DSP_ONLY) and NULL
     * in filter_data / bias (and multipliers / shifts when stream_rq) on DSP builds. */
    const int32_t *stream;
    /* 1: biases and weights are doubled and each value is requantized by tk_requant_mm from the
     * stream; 0: raw accumulators, requantized from multipliers / shifts. */
    int32_t stream_rq;
} tk_conv2d_params;

/* Scratch bytes tk_conv2d_s8 needs: im2col of two output pixels, int8 staging + int16 packed rows,
 * K padded to a multiple of 4, and their int32 accumulators: 2 * 3 * ceil4(kh * kw * in_c) + 2 * 4 * (out_c + 1). */
size_t tk_conv2d_s8_buffer_size(const tk_conv2d_params *params);

tk_status tk_conv2d_s8(const tk_conv2d_params *params, const int8_t *input, int8_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TK_CONV2D_H */
