/* CONV_2D 16x8, bit-exact with TFLite's reference ConvPerChannel for int16 input (whose zero
 * points it ignores: int16 tensors are symmetric) with an int64 or an int32 accumulator.
 *
 * Two output pixels at a time: their receptive fields are copied (im2col, zeros for taps outside
 * the image, which TFLite skips) into columns [k / 4][pixel][4 int16], then every pair of output
 * channels takes one pass of tk_mac_s16_2x2 (16 multiply-accumulates per 16 instructions on M4)
 * and is requantized per tk_s16_requant. Columns and accumulators of an odd last pixel or channel
 * are computed twice and the duplicate is overwritten by the real one.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_conv2d_s16.h"

#include <string.h>

static int32_t padded_depth(const tk_conv2d_s16_params *p)
{
    return (p->filter.h * p->filter.w * p->filter.c + 3) & ~3;
}

size_t tk_conv2d_s16_buffer_size(const tk_conv2d_s16_params *params)
{
    return (size_t)2 * 2u * (size_t)padded_depth(params);
}

/* n groups of 4 int16 from src (contiguous) into one pixel's column slots (col at the group). */
static void copy_groups(const int16_t *src, int32_t n, int16_t *col)
{
    for (int32_t g = 0; g < n; ++g, src += 4, col += 8) {
        memcpy(col, src, 8);
    }
}

/* The receptive field of output pixel `pix` into its column slot (col points at the slot). A
 * filter row that lies inside the image, with dilation_w 1 and in_c % 4 == 0, is kw * in_c
 * contiguous input values: copied a group at a time. */
static void gather(const tk_conv2d_s16_params *p, const int16_t *in, int32_t pix, int16_t *col)
{
    const int32_t in_c = p->input.c, row_k = p->filter.w * in_c;
    const int32_t y0 = (pix / p->output.w) * p->stride_h - p->pad_h;
    const int32_t x0 = (pix % p->output.w) * p->stride_w - p->pad_w;
    const int32_t rows_contiguous = (in_c & 3) == 0 && p->dilation_w == 1 && x0 >= 0 && x0 + p->filter.w <= p->input.w;
    int32_t k = 0;
    for (int32_t fy = 0; fy < p->filter.h; ++fy) {
        const int32_t y = y0 + fy * p->dilation_h;
        const int32_t row_ok = y >= 0 && y < p->input.h;
        if (rows_contiguous && row_ok) {
            copy_groups(in + ((size_t)y * (size_t)p->input.w + (size_t)x0) * (size_t)in_c, row_k >> 2, col + 2 * k);
            k += row_k;
            continue;
        }
        for (int32_t fx = 0; fx < p->filter.w; ++fx, k += in_c) {
            const int32_t x = x0 + fx * p->dilation_w;
            const int16_t *src = row_ok && x >= 0 && x < p->input.w
                                     ? in + ((size_t)y * (size_t)p->input.w + (size_t)x) * (size_t)in_c
                                     : NULL;
            tk_s16_put(src, in_c, k, col);
        }
    }
    tk_s16_put_zeros(k, padded_depth(p), col);
}

/* Every output channel of the two pixels whose columns are in col. */
static void conv_pixels(const tk_conv2d_s16_params *p, int32_t mode, const int16_t *col, int16_t *out0,
                        int16_t *out1)
{
    const int32_t groups = padded_depth(p) >> 2;
    const int32_t out_c = p->output.c;
    const int8_t *w = p->filter_data;
    for (int32_t o = 0; o < out_c; o += 2, w += 8 * groups) {
        const int32_t o1 = o + 1 < out_c ? o + 1 : o;
        int16_t r[4];
        tk_s16_pair(&p->rq, mode, w, col, groups, o, o1, r);
        out0[o1] = r[2];
        out1[o1] = r[3];
        out0[o] = r[0];
        out1[o] = r[1];
    }
}

tk_status tk_conv2d_s16(const tk_conv2d_s16_params *params, const int16_t *input, int16_t *output, void *scratch)
{
    /* A local copy: stores through int16_t pointers could alias *params, forcing reloads. */
    const tk_conv2d_s16_params local = *params;
    const tk_conv2d_s16_params *p = &local;
    const int32_t pixels = p->output.h * p->output.w;
    const size_t out_c = (size_t)p->output.c;
    const int32_t mode = tk_s16_mode_of(&p->rq);
    int16_t *col = (int16_t *)scratch;
    if (p->filter.c != p->input.c || p->filter.n != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int16_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
        int16_t *out = output + (size_t)b * (size_t)pixels * out_c;
        for (int32_t i = 0; i < pixels; i += 2) {
            const int32_t j = i + 1 < pixels ? i + 1 : i;
            gather(p, in, i, col);
            gather(p, in, j, col + 4);
            conv_pixels(p, mode, col, out + (size_t)i * out_c, out + (size_t)j * out_c);
        }
    }
    return TK_OK;
}
