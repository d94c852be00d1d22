/* TRANSPOSE_CONV, bit-exact with TFLite's reference TransposeConv (int8, and 16x8 with its int64
 * accumulator).
 *
 * TFLite scatters every input pixel's products into an accumulator image. The same sums are
 * gathered here per output pixel: output (y, x) receives the taps fy = y + pad_h - iy * stride_h,
 * i.e. exactly the taps of its phase ((y + pad_h) % stride_h, ...), each from one input pixel. So
 * each phase is an ordinary convolution with its own slice of the filter (rearranged per phase
 * at generation time), computed two same-phase output pixels at a time with the 16x8 building
 * blocks: int16 columns (int8 inputs widened as input - zero point, taps outside the input 0),
 * tk_s16_pair per channel pair. Integer sums in another order are the same integers (int32 wraps
 * the same way), so no scratch image of the output is needed.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_transpose_conv.h"

static int32_t taps_in_phase(int32_t r, int32_t filter, int32_t stride)
{
    return r < filter ? (filter - 1 - r) / stride + 1 : 0;
}

static int32_t phase_depth(const tk_transpose_conv_params *p, int32_t ry, int32_t rx)
{
    const int32_t k = taps_in_phase(ry, p->filter_h, p->stride_h) * taps_in_phase(rx, p->filter_w, p->stride_w);
    return (k * p->input.c + 3) & ~3;
}

size_t tk_transpose_conv_buffer_size(const tk_transpose_conv_params *params)
{
    return (size_t)2 * 2u * (size_t)phase_depth(params, 0, 0); /* phase (0, 0) has the most taps */
}

/* The taps a0 <= a < a1 (filter rows fy = ry + a * stride_h) of output pixel (oy, ox), phase
 * (ry, rx), into its column slot; taps outside the input are 0. The rows outside [a0, a1) are
 * left alone (the caller does not read them) unless a1 is the phase's last row, where the zero
 * padding of K is written. */
static void gather(const tk_transpose_conv_params *p, const void *in, int32_t s8, int32_t oy, int32_t ox,
                   int32_t ry, int32_t rx, int32_t a0, int32_t a1, int16_t *col)
{
    const int32_t in_c = p->input.c;
    const int32_t nfy = taps_in_phase(ry, p->filter_h, p->stride_h);
    const int32_t nfx = taps_in_phase(rx, p->filter_w, p->stride_w);
    int32_t k = a0 * nfx * in_c;
    for (int32_t a = a0; a < a1; ++a) {
        const int32_t dy = oy + p->pad_h - ry - a * p->stride_h;
        const int32_t iy = dy / p->stride_h; /* an exact division */
        const int32_t row_ok = dy >= 0 && iy < p->input.h;
        for (int32_t b = 0; b < nfx; ++b, k += in_c) {
            const int32_t dx = ox + p->pad_w - rx - b * p->stride_w;
            const int32_t ix = dx / p->stride_w;
            const int32_t ok = row_ok && dx >= 0 && ix < p->input.w;
            const size_t at = ((size_t)iy * (size_t)p->input.w + (size_t)ix) * (size_t)in_c;
            if (s8) {
                tk_s16_put_s8(ok ? (const int8_t *)in + at : NULL, in_c, p->input_offset, k, col);
            } else {
                tk_s16_put(ok ? (const int16_t *)in + at : NULL, in_c, k, col);
            }
        }
    }
    if (a1 == nfy) {
        tk_s16_put_zeros(k, phase_depth(p, ry, rx), col);
    }
}

/* The filter rows [a0, a1) of phase ry whose input row exists for output row oy (a contiguous
 * range: iy = (oy + pad_h - ry) / stride_h - a). */
static void valid_rows(const tk_transpose_conv_params *p, int32_t oy, int32_t ry, int32_t *a0, int32_t *a1)
{
    const int32_t nfy = taps_in_phase(ry, p->filter_h, p->stride_h);
    const int32_t top = (oy + p->pad_h - ry) / p->stride_h; /* iy of a = 0 (exact when >= 0) */
    int32_t lo = top - (p->input.h - 1), hi = oy + p->pad_h - ry >= 0 ? top + 1 : 0;
    lo = lo < 0 ? 0 : lo;
    hi = hi > nfy ? nfy : hi;
    *a0 = lo;
    *a1 = hi > lo ? hi : lo;
}

/* Every output channel of two output pixels of one phase: the pair's weights are `groups` groups
 * long, of which groups g0 .. g0 + n - 1 are multiplied (the others meet only zero columns). */
static void phase_pixels(const tk_transpose_conv_params *p, int32_t mode, const int8_t *w, int32_t groups,
                         int32_t g0, int32_t n, const int16_t *col, int32_t s8, void *out, size_t at0, size_t at1)
{
    const int32_t out_c = p->output.c;
    for (int32_t o = 0; o < out_c; o += 2, w += 8 * groups) {
        const int32_t o1 = o + 1 < out_c ? o + 1 : o;
        int16_t r[4];
        tk_s16_pair(&p->rq, mode, w + 8 * g0, col + 8 * g0, n, o, o1, r);
        if (s8) {
            int8_t *y = (int8_t *)out;
            y[at0 + (size_t)o1] = (int8_t)r[2];
            y[at1 + (size_t)o1] = (int8_t)r[3];
            y[at0 + (size_t)o] = (int8_t)r[0];
            y[at1 + (size_t)o] = (int8_t)r[1];
        } else {
            int16_t *y = (int16_t *)out;
            y[at0 + (size_t)o1] = r[2];
            y[at1 + (size_t)o1] = r[3];
            y[at0 + (size_t)o] = r[0];
            y[at1 + (size_t)o] = r[1];
        }
    }
}

/* One output row: the pixels of each horizontal phase, two at a time. When a filter row's taps
 * span whole groups of 4, only the filter rows with an input row are gathered and multiplied. */
static void transpose_row(const tk_transpose_conv_params *p, int32_t mode, const void *in, int32_t s8, int32_t oy,
                          void *out, int16_t *col)
{
    const int32_t ow = p->output.w, sw = p->stride_w;
    const int32_t ry = (oy + p->pad_h) % p->stride_h;
    const size_t row = (size_t)oy * (size_t)ow;
    int32_t a0, a1;
    valid_rows(p, oy, ry, &a0, &a1);
    for (int32_t x0 = 0; x0 < sw && x0 < ow; ++x0) {
        const int32_t rx = (x0 + p->pad_w) % sw;
        const int8_t *w = p->filter_data + p->phase_offsets[ry * sw + rx];
        const int32_t groups = phase_depth(p, ry, rx) >> 2;
        const int32_t row_k = taps_in_phase(rx, p->filter_w, sw) * p->input.c; /* values per filter row */
        const int32_t aligned = (row_k & 3) == 0;
        const int32_t b0 = aligned ? a0 : 0, b1 = aligned ? a1 : taps_in_phase(ry, p->filter_h, p->stride_h);
        const int32_t g0 = b0 * row_k / 4, n = aligned ? (b1 - b0) * row_k / 4 : groups;
        for (int32_t ox = x0; ox < ow; ox += 2 * sw) {
            const int32_t ox1 = ox + sw < ow ? ox + sw : ox;
            gather(p, in, s8, oy, ox, ry, rx, b0, b1, col);
            gather(p, in, s8, oy, ox1, ry, rx, b0, b1, col + 4);
            phase_pixels(p, mode, w, groups, g0, n, col, s8, out, (row + (size_t)ox) * (size_t)p->output.c,
                         (row + (size_t)ox1) * (size_t)p->output.c);
        }
    }
}

static tk_status transpose_conv(const tk_transpose_conv_params *params, const void *input, void *output,
                                void *scratch, int32_t s8)
{
    /* A local copy: stores through the output pointer could alias *params, forcing reloads. */
    const tk_transpose_conv_params local = *params;
    const tk_transpose_conv_params *p = &local;
    const size_t elem = s8 ? 1u : 2u;
    const size_t in_image = (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c * elem;
    const size_t out_image = (size_t)p->output.h * (size_t)p->output.w * (size_t)p->output.c * elem;
    const int32_t mode = tk_s16_mode_of(&p->rq);
    if (scratch == NULL || p->stride_h < 1 || p->stride_w < 1 || p->input.n != p->output.n) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        const void *in = (const int8_t *)input + (size_t)b * in_image;
        void *out = (int8_t *)output + (size_t)b * out_image;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            transpose_row(p, mode, in, s8, oy, out, (int16_t *)scratch);
        }
    }
    return TK_OK;
}

tk_status tk_transpose_conv_s8(const tk_transpose_conv_params *params, const int8_t *input, int8_t *output,
                               void *scratch)
{
    return transpose_conv(params, input, output, scratch, 1);
}

tk_status tk_transpose_conv_s16(const tk_transpose_conv_params *params, const int16_t *input, int16_t *output,
                                void *scratch)
{
    return transpose_conv(params, input, output, scratch, 0);
}
