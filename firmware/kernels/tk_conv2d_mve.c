/* CONV_2D int8 on Helium (MVE): im2col of two output pixels, then VMLADAVA dot products of both
 * columns with blocks of four output channels, requantized four lanes at a time.
 *
 * Bit-exact with TFLite's reference ConvPerChannel for the same reasons as tk_conv2d.c: padded taps
 * hold the input zero point, input_offset * sum(w) is folded into the bias at generation time, so
 * acc = bias' + sum(in * w) in any order. The layer is one Helium stream (params->filter_data,
 * tinykit/codegen/mve_weights.py): per block of four output channels, per chunk of 16 values of
 * K = kh * kw * in_c, the four channels' 16 weights (K padded with zero weights to a multiple of
 * 16), then the block's bias, multiplier and shift vectors. Zero weights make whatever the column
 * holds past K add nothing, so 1x1 and 1xN layers read their input in place (but for the last
 * pixels, whose padded depth would run past the image).
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_conv2d_mve.h"

#ifdef TK_USE_MVE

static int32_t mve_depth(const tk_conv2d_params *p)
{
    const int32_t k = p->filter.h * p->filter.w * p->filter.c;
    return (k + TK_MVE_CHUNK - 1) & ~(TK_MVE_CHUNK - 1);
}

/* n >= 1 bytes from src to dst (a filter row or one tap), 16 per vector move; nothing past src + n
 * is read. With `spill` the last vector is stored whole, up to 15 bytes past dst + n: the runs of a
 * column are written in increasing order, so the next run, the next column or the 16 bytes of slack
 * after the last one (tk_conv2d_s8_mve) take them. */
static void mve_copy(int8_t *dst, const int8_t *src, int32_t n, int32_t spill)
{
    for (; n > TK_MVE_CHUNK; n -= TK_MVE_CHUNK, dst += TK_MVE_CHUNK, src += TK_MVE_CHUNK) {
        vstrbq_s8(dst, vldrbq_s8(src));
    }
    {
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        const int8x16_t v = vldrbq_z_s8(src, pr);
        if (spill) {
            vstrbq_s8(dst, v);
        } else {
            vstrbq_p_s8(dst, v, pr);
        }
    }
}

static void mve_fill(int8_t *dst, int8x16_t v, int32_t n, int32_t spill)
{
    for (; n > TK_MVE_CHUNK; n -= TK_MVE_CHUNK, dst += TK_MVE_CHUNK) {
        vstrbq_s8(dst, v);
    }
    if (spill) {
        vstrbq_s8(dst, v);
    } else {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    }
}

/* The K values of output pixel `pixel`'s receptive field: the input itself when they are one run
 * of it (1x1 and 1xN layers, dilation_w 1, not in the padding) with the kp bytes the dot product
 * reads inside the image, else gathered into dst with the input zero point in the padding (dst's
 * bytes past K may hold anything: zero weights ignore them). */
static const int8_t *mve_column(const tk_conv2d_params *p, const int8_t *in, int32_t pixel, int8_t *dst,
                                int32_t spill)
{
    const int32_t in_c = p->input.c, row_bytes = p->filter.w * in_c;
    const int32_t y0 = (pixel / p->output.w) * p->stride_h - p->pad_h;
    const int32_t x0 = (pixel % p->output.w) * p->stride_w - p->pad_w;
    const int32_t row_inside = p->dilation_w == 1 && x0 >= 0 && x0 + p->filter.w <= p->input.w;
    const int8x16_t pad = vdupq_n_s8((int8_t)(-p->input_offset));
    int8_t *out = dst;
    if (p->filter.h == 1 && row_inside && y0 >= 0 && y0 < p->input.h) {
        const int32_t at = (y0 * p->input.w + x0) * in_c;
        if (at + mve_depth(p) <= p->input.h * p->input.w * in_c) {
            return in + at;
        }
    }
    for (int32_t fy = 0; fy < p->filter.h; ++fy, out += row_bytes) {
        const int32_t y = y0 + fy * p->dilation_h;
        const int8_t *row = in + (size_t)y * (size_t)p->input.w * (size_t)in_c;
        if (y < 0 || y >= p->input.h) {
            mve_fill(out, pad, row_bytes, spill);
        } else if (row_inside) {
            mve_copy(out, row + (size_t)x0 * (size_t)in_c, row_bytes, spill);
        } else {
            for (int32_t fx = 0; fx < p->filter.w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                if (x < 0 || x >= p->input.w) {
                    mve_fill(out + fx * in_c, pad, in_c, spill);
                } else {
                    mve_copy(out + fx * in_c, row + (size_t)x * (size_t)in_c, in_c, spill);
                }
            }
        }
    }
    return dst;
}

/* Every output channel of two pixels (columns ca, cb; cb may repeat ca for an odd last pixel:
 * its bytes are then stored twice at the same place). `general` selects the requantization
 * (tk_mve_requant) and is a constant in each of the two callers below. */
TK_INLINE void mve_conv_pair(const tk_conv2d_params *p, const int8_t *ca, const int8_t *cb, int8_t *oa,
                             int8_t *ob, const tk_mve_out *out, int general)
{
    const int32_t chunks = mve_depth(p) / TK_MVE_CHUNK;
    const int8_t *s = p->filter_data;
    const tk_mve_out o = *out;
    int32_t left = p->output.c;
    for (; left > 0; left -= TK_MVE_BLOCK, oa += TK_MVE_BLOCK, ob += TK_MVE_BLOCK) {
        int32x4_t va, vb;
        tk_mve_rq q;
        tk_mve_dot2x4(ca, cb, &s, chunks, &va, &vb);
        q = tk_mve_rq_load(&s);
        if (left >= TK_MVE_BLOCK) {
            tk_mve_store(ob, vb, q, o, general);
            tk_mve_store(oa, va, q, o, general);
        } else { /* the last 1-3 channels */
            tk_mve_store_n(ob, vb, q, o, general, left);
            tk_mve_store_n(oa, va, q, o, general, left);
        }
    }
}

/* The fast requantization: the whole blocks in one assembly loop (tk_mve.h), then a partial one. */
static void mve_conv_pair_fast(const tk_conv2d_params *p, const int8_t *ca, const int8_t *cb, int8_t *oa,
                               int8_t *ob, const tk_mve_out *o)
{
    const int32_t chunks = mve_depth(p) / TK_MVE_CHUNK, blocks = p->output.c / TK_MVE_BLOCK;
    const int8_t *s = p->filter_data;
    const int32_t left = p->output.c - TK_MVE_BLOCK * blocks;
    if (blocks > 0) {
        tk_mve_blocks2_fast(ca, cb, &s, chunks, blocks, oa, ob, *o);
    }
    if (left > 0) {
        int32x4_t va, vb;
        tk_mve_rq q;
        const int32_t done = TK_MVE_BLOCK * blocks;
        tk_mve_dot2x4(ca, cb, &s, chunks, &va, &vb);
        q = tk_mve_rq_load(&s);
        tk_mve_store_n(ob + done, vb, q, *o, 0, left);
        tk_mve_store_n(oa + done, va, q, *o, 0, left);
    }
}

static void mve_conv_pair_general(const tk_conv2d_params *p, const int8_t *ca, const int8_t *cb, int8_t *oa,
                                  int8_t *ob, const tk_mve_out *o)
{
    mve_conv_pair(p, ca, cb, oa, ob, o, 1);
}

tk_status tk_conv2d_s8_mve(const tk_conv2d_params *params, const int8_t *input, int8_t *output, void *scratch)
{
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_conv2d_params local = *params;
    const tk_conv2d_params *p = &local;
    const int32_t kp = mve_depth(p), pixels = p->output.h * p->output.w;
    const size_t out_c = (size_t)p->output.c, room = tk_conv2d_s8_buffer_size(p);
    const int32_t spill = (size_t)(2 * kp + TK_MVE_CHUNK) <= room; /* 16 bytes of slack after col_b */
    const int32_t in_c = p->input.c;
    /* 1x1 layers of stride 1 without padding: output pixel i's column is input pixel i, read in place
     * while its kp bytes lie inside the image (this many bytes: 0 for the other layers) */
    const int32_t direct = p->filter.h == 1 && p->filter.w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                                   p->pad_h == 0 && p->pad_w == 0 && p->output.w == p->input.w
                               ? p->input.h * p->input.w * in_c
                               : 0;
    int8_t *col_a = (int8_t *)scratch, *col_b = col_a + kp;
    const tk_mve_out o = tk_mve_out_make(p->output_offset, p->act);
    void (*const pair)(const tk_conv2d_params *, const int8_t *, const int8_t *, int8_t *, int8_t *,
                       const tk_mve_out *) = TK_FAST_REQUANT(p) ? mve_conv_pair_fast : mve_conv_pair_general;
    if (p->filter.c != p->input.c || p->filter.n != p->output.c || scratch == NULL || p->filter_data == NULL ||
        (size_t)(2 * kp) > room) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
        int8_t *out = output + (size_t)b * (size_t)pixels * out_c;
        for (int32_t i = 0; i < pixels; i += 2) {
            const int32_t j = i + 1 < pixels ? i + 1 : i;
            const int8_t *ca = i * in_c + kp <= direct ? in + i * in_c : mve_column(p, in, i, col_a, spill);
            const int8_t *cb = j * in_c + kp <= direct ? in + j * in_c : mve_column(p, in, j, col_b, spill);
            pair(p, ca, cb, out + (size_t)i * out_c, out + (size_t)j * out_c, &o);
        }
    }
    return TK_OK;
}

#else
typedef int tk_conv2d_mve_unused; /* ISO C: a translation unit declares something */
#endif /* TK_USE_MVE */
