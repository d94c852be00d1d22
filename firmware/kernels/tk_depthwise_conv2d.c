/* DEPTHWISE_CONV_2D int8, bit-exact with TFLite's reference DepthwiseConvPerChannel.
 *
 * For each output row the kh input rows it reads are copied into scratch, padded left and right
 * (and above/below the image) with the input zero point. A padded tap then contributes
 * (zero_point + input_offset) * w = 0, exactly like a tap TFLite skips, so every output pixel sees
 * a full window and input_offset * sum(w) can be folded into the bias at generation time:
 * acc = bias' + sum(in * w), the same integer as TFLite's sum(in + input_offset) * w + bias.
 * Channels run in groups of four with the accumulators in registers; with the DSP extension one
 * 32-bit load gives four channels and SMLABB/SMLATT multiply them pairwise.
 */
#include "tk_depthwise_conv2d.h"

#include <string.h>

#include "tk_dsp.h"

/* -DTK_NO_FAST_REQUANT forces the general requantization (the host tests check both paths). */
#ifdef TK_NO_FAST_REQUANT
#define TK_FAST_REQUANT(p) 0
#else
#define TK_FAST_REQUANT(p) ((p)->fast_requant)
#endif

/* Width of a padded row: every input column any output pixel of the row reads. */
static int32_t padded_width(const tk_depthwise_conv2d_params *p)
{
    return (p->output.w - 1) * p->stride_w + (p->filter.w - 1) * p->dilation_w + 1;
}

size_t tk_depthwise_conv2d_s8_buffer_size(const tk_depthwise_conv2d_params *params)
{
    return (size_t)params->filter.h * (size_t)padded_width(params) * (size_t)params->input.c;
}

/* The kh input rows output row oy reads, zero-point padded, as kh rows of padded_width pixels. */
static void fill_rows(const tk_depthwise_conv2d_params *p, const int8_t *in, int32_t oy, int8_t *rows)
{
    const size_t c = (size_t)p->input.c;
    const int32_t wp = padded_width(p);
    const int8_t pad = (int8_t)(-p->input_offset);
    /* columns [x_lo, x_hi) of the padded row are inside the image */
    const int32_t x_lo = p->pad_w < wp ? p->pad_w : wp;
    int32_t x_hi = p->pad_w + p->input.w;
    x_hi = x_hi < wp ? x_hi : wp;
    for (int32_t fy = 0; fy < p->filter.h; ++fy) {
        const int32_t y = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
        int8_t *dst = rows + (size_t)fy * (size_t)wp * c;
        if (y < 0 || y >= p->input.h || x_hi <= x_lo) {
            memset(dst, pad, (size_t)wp * c);
            continue;
        }
        memset(dst, pad, (size_t)x_lo * c);
        memcpy(dst + (size_t)x_lo * c, in + ((size_t)y * (size_t)p->input.w + (size_t)(x_lo - p->pad_w)) * c,
               (size_t)(x_hi - x_lo) * c);
        memset(dst + (size_t)x_hi * c, pad, (size_t)(wp - x_hi) * c);
    }
}

/* One tap of four channels: x holds 4 input bytes, w 4 weight bytes, accumulated pairwise. */
#ifdef TK_USE_DSP
#define TK_DW_TAP(xp, wp)                                                     \
    do {                                                                      \
        const int32_t xv_ = tk_read_s32(xp), wv_ = tk_read_s32(wp);           \
        const int32_t x02_ = tk_sxtb16(xv_), x13_ = tk_sxtb16_ror8(xv_);      \
        const int32_t w02_ = tk_sxtb16(wv_), w13_ = tk_sxtb16_ror8(wv_);      \
        a0 = tk_smlabb(x02_, w02_, a0);                                       \
        a2 = tk_smlatt(x02_, w02_, a2);                                       \
        a1 = tk_smlabb(x13_, w13_, a1);                                       \
        a3 = tk_smlatt(x13_, w13_, a3);                                       \
    } while (0)
#else
#define TK_DW_TAP(xp, wp)                                                     \
    do {                                                                      \
        const int8_t *x_ = (xp), *w_ = (wp);                                  \
        a0 += x_[0] * w_[0];                                                  \
        a1 += x_[1] * w_[1];                                                  \
        a2 += x_[2] * w_[2];                                                  \
        a3 += x_[3] * w_[3];                                                  \
    } while (0)
#endif

/* Channels [c, c + 4) of the output pixel whose window starts at `src` (padded rows). */
static void dw_quad(const tk_depthwise_conv2d_params *p, const int8_t *src, size_t row_stride, int32_t c,
                    int8_t *out)
{
    const size_t channels = (size_t)p->input.c;
    const size_t x_step = (size_t)p->dilation_w * channels;
    const int8_t *w = p->filter_data + c;
    int32_t a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3];
    if (p->filter.h == 3 && p->filter.w == 3) { /* the common case, unrolled */
        const size_t w_row = 3 * channels;
        for (int32_t fy = 0; fy < 3; ++fy) {
            TK_DW_TAP(src, w);
            TK_DW_TAP(src + x_step, w + channels);
            TK_DW_TAP(src + 2 * x_step, w + 2 * channels);
            src += row_stride;
            w += w_row;
        }
    } else {
        for (int32_t fy = 0; fy < p->filter.h; ++fy) {
            const int8_t *s = src + (size_t)fy * row_stride;
            for (int32_t fx = 0; fx < p->filter.w; ++fx) {
                TK_DW_TAP(s, w);
                s += x_step;
                w += channels;
            }
        }
    }
    {
        const int32_t *mult = p->multipliers + c;
        const int8_t *shift = p->shifts + c;
        const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
        int8_t r0, r1, r2, r3;
        if (TK_FAST_REQUANT(p)) {
            r0 = tk_requantize_s8_fast(a0, mult[0], -shift[0], 1 << (-shift[0] - 1), off, lo, hi);
            r1 = tk_requantize_s8_fast(a1, mult[1], -shift[1], 1 << (-shift[1] - 1), off, lo, hi);
            r2 = tk_requantize_s8_fast(a2, mult[2], -shift[2], 1 << (-shift[2] - 1), off, lo, hi);
            r3 = tk_requantize_s8_fast(a3, mult[3], -shift[3], 1 << (-shift[3] - 1), off, lo, hi);
        } else {
            r0 = tk_requantize_s8_pos(a0, mult[0], shift[0], off, lo, hi);
            r1 = tk_requantize_s8_pos(a1, mult[1], shift[1], off, lo, hi);
            r2 = tk_requantize_s8_pos(a2, mult[2], shift[2], off, lo, hi);
            r3 = tk_requantize_s8_pos(a3, mult[3], shift[3], off, lo, hi);
        }
        out[c] = r0;
        out[c + 1] = r1;
        out[c + 2] = r2;
        out[c + 3] = r3;
    }
}

/* Output channel oc (reading input channel oc / depth_multiplier) of one output pixel. */
static void dw_single(const tk_depthwise_conv2d_params *p, const int8_t *src, size_t row_stride, int32_t oc,
                      int8_t *out)
{
    const size_t channels = (size_t)p->input.c;
    const size_t out_c = (size_t)p->output.c;
    const int8_t *w = p->filter_data + oc;
    int32_t acc = p->bias[oc];
    src += oc / p->depth_multiplier;
    for (int32_t fy = 0; fy < p->filter.h; ++fy) {
        const int8_t *s = src + (size_t)fy * row_stride;
        for (int32_t fx = 0; fx < p->filter.w; ++fx) {
            acc += *s * *w;
            s += (size_t)p->dilation_w * channels;
            w += out_c;
        }
    }
    out[oc] = tk_requantize_s8_pos(acc, p->multipliers[oc], p->shifts[oc], p->output_offset, p->act.min,
                                   p->act.max);
}

tk_status tk_depthwise_conv2d_s8(const tk_depthwise_conv2d_params *params, const int8_t *input, int8_t *output,
                                 void *scratch)
{
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_depthwise_conv2d_params local = *params;
    const tk_depthwise_conv2d_params *p = &local;
    const size_t channels = (size_t)p->input.c;
    const size_t row_stride = (size_t)padded_width(p) * channels;
    int8_t *rows = (int8_t *)scratch;
    if (p->output.c != p->input.c * p->depth_multiplier || p->filter.c != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * channels;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            fill_rows(p, in, oy, rows);
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                const int8_t *src = rows + (size_t)ox * (size_t)p->stride_w * channels;
                int8_t *out = output + (((size_t)b * (size_t)p->output.h + (size_t)oy) * (size_t)p->output.w +
                                        (size_t)ox) * (size_t)p->output.c;
                int32_t c = 0;
                if (p->depth_multiplier == 1) {
                    for (; c + 4 <= p->output.c; c += 4) {
                        dw_quad(p, src + c, row_stride, c, out);
                    }
                }
                for (; c < p->output.c; ++c) {
                    dw_single(p, src, row_stride, c, out);
                }
            }
        }
    }
    return TK_OK;
}
