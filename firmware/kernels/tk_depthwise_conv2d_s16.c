/* DEPTHWISE_CONV_2D 16x8, bit-exact with TFLite's reference DepthwiseConvPerChannel for int16
 * input (int64 accumulator, zero points ignored as TFLite does).
 *
 * Per output pixel, only the taps inside the image are visited (TFLite skips the others). With a
 * depth multiplier of 1 four adjacent channels go together: two int16 words of input, one word of
 * weights unpacked by SXTB16, SMLABB / SMLATT into four int32 accumulators (the generator proved
 * the int32 sums exact); other channels, other multipliers and layers that need int64 sums take
 * the per-channel loop with an int64 accumulator.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_depthwise_conv2d_s16.h"

/* Filter taps [lo, hi) whose input coordinate origin + tap * dilation lies in [0, size). */
static void tap_range(int32_t origin, int32_t dilation, int32_t size, int32_t taps, int32_t *lo, int32_t *hi)
{
    const int32_t first = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    const int32_t end = size - origin > 0 ? (size - origin + dilation - 1) / dilation : 0;
    *lo = first;
    *hi = end < taps ? end : taps;
}

typedef struct {
    const int16_t *in; /* the batch's input image */
    int32_t y0, x0;    /* input coordinates of tap (0, 0) */
    int32_t fy0, fy1, fx0, fx1;
} tk_dw_window;

/* Four channels oc .. oc + 3 (multiplier 1, int32 sums), bias included. */
static void dw_quad(const tk_depthwise_conv2d_s16_params *p, const tk_dw_window *win, int32_t oc, int32_t acc[4])
{
    const int32_t in_c = p->input.c, cp = (p->filter.c + 3) & ~3;
    int32_t a0 = p->rq.bias32[oc], a1 = p->rq.bias32[oc + 1], a2 = p->rq.bias32[oc + 2], a3 = p->rq.bias32[oc + 3];
    for (int32_t fy = win->fy0; fy < win->fy1; ++fy) {
        const int32_t y = win->y0 + fy * p->dilation_h;
        const int16_t *row = win->in + (size_t)y * (size_t)p->input.w * (size_t)in_c + oc;
        const int8_t *wrow = p->filter_data + (size_t)fy * (size_t)p->filter.w * (size_t)cp + oc;
        for (int32_t fx = win->fx0; fx < win->fx1; ++fx) {
            const int16_t *x = row + (size_t)(win->x0 + fx * p->dilation_w) * (size_t)in_c;
            const int8_t *w = wrow + (size_t)fx * (size_t)cp;
#ifdef TK_USE_DSP
            const int32_t wv = tk_read_s32(w), x01 = tk_read_s32(x), x23 = tk_read_s32(x + 2);
            const int32_t lo = tk_sxtb16(wv), hi = tk_sxtb16_ror8(wv);
            a0 = tk_smlabb(x01, lo, a0);
            a1 = tk_smlatt(x01, lo, a1);
            a2 = tk_smlabb(x23, hi, a2);
            a3 = tk_smlatt(x23, hi, a3);
#else
            a0 += x[0] * w[0];
            a1 += x[1] * w[2];
            a2 += x[2] * w[1];
            a3 += x[3] * w[3];
#endif
        }
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* One output channel, int64 sum, bias included. */
static int64_t dw_single(const tk_depthwise_conv2d_s16_params *p, const tk_dw_window *win, int32_t oc)
{
    static const int8_t at[4] = {0, 2, 1, 3}; /* byte of channel j in a permuted group */
    const int32_t in_c = p->input.c, cp = (p->filter.c + 3) & ~3;
    const int32_t ic = oc / p->depth_multiplier, wc = (oc & ~3) + at[oc & 3];
    int64_t acc = tk_s16_bias64(&p->rq, oc);
    for (int32_t fy = win->fy0; fy < win->fy1; ++fy) {
        const int32_t y = win->y0 + fy * p->dilation_h;
        const int16_t *row = win->in + (size_t)y * (size_t)p->input.w * (size_t)in_c + ic;
        const int8_t *wrow = p->filter_data + (size_t)fy * (size_t)p->filter.w * (size_t)cp + wc;
        for (int32_t fx = win->fx0; fx < win->fx1; ++fx) {
            acc += (int32_t)row[(size_t)(win->x0 + fx * p->dilation_w) * (size_t)in_c] * wrow[(size_t)fx * (size_t)cp];
        }
    }
    return acc;
}

/* Every output channel of one output pixel. */
static void dw_pixel(const tk_depthwise_conv2d_s16_params *p, int32_t mode, const tk_dw_window *win, int16_t *out)
{
    const int32_t out_c = p->output.c;
    int32_t oc = 0;
    if (mode != TK_S16_ACC64 && p->depth_multiplier == 1) {
        for (; oc + 4 <= out_c; oc += 4) {
            int32_t acc[4];
            dw_quad(p, win, oc, acc);
            for (int32_t j = 0; j < 4; ++j) {
                out[oc + j] = tk_s16_output(&p->rq, mode, oc + j, acc[j]);
            }
        }
    }
    for (; oc < out_c; ++oc) {
        out[oc] = tk_s16_output(&p->rq, mode, oc, dw_single(p, win, oc));
    }
}

tk_status tk_depthwise_conv2d_s16(const tk_depthwise_conv2d_s16_params *params, const int16_t *input,
                                  int16_t *output)
{
    /* A local copy: stores through int16_t pointers could alias *params, forcing reloads. */
    const tk_depthwise_conv2d_s16_params local = *params;
    const tk_depthwise_conv2d_s16_params *p = &local;
    const int32_t mode = tk_s16_mode_of(&p->rq);
    const size_t image = (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
    int16_t *out = output;
    if (p->depth_multiplier < 1 || p->output.c != p->input.c * p->depth_multiplier) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        tk_dw_window win;
        win.in = input + (size_t)b * image;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            win.y0 = oy * p->stride_h - p->pad_h;
            tap_range(win.y0, p->dilation_h, p->input.h, p->filter.h, &win.fy0, &win.fy1);
            for (int32_t ox = 0; ox < p->output.w; ++ox, out += p->output.c) {
                win.x0 = ox * p->stride_w - p->pad_w;
                tap_range(win.x0, p->dilation_w, p->input.w, p->filter.w, &win.fx0, &win.fx1);
                dw_pixel(p, mode, &win, out);
            }
        }
    }
    return TK_OK;
}
