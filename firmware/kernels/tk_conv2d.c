/* CONV_2D int8: im2col of two output pixels at a time, then all output channels in pairs.
 *
 * Bit-exact with TFLite's reference ConvPerChannel: TFLite sums (in + input_offset) * w over the
 * taps inside the image. Here padded taps hold the input zero point (so in + input_offset = 0 and
 * they add nothing), and input_offset * sum(w) is folded into the bias at generation time, so
 * acc = bias' + sum(in * w): the same integer, in any order, without the add per MAC. Padding K
 * to a multiple of 4 adds products with zero weights, which change nothing either.
 *
 * Columns (both paths): [group g of 4 values of K][pixel][x0, x2, x1, x3] as int16.
 * Plain C: int8 weights [pair p][group g][channel 2p + r][4 values], requantization from the
 * multiplier / shift arrays.
 * DSP extension: one int32 stream per layer, pre-widened at generation time (see tk_conv2d.h and
 * tinykit/codegen/dsp_weights.py): a 2x2 block (two channels x two pixels) takes one LDM of the
 * four column words, two LDRD of the int16 weight pairs and eight SMLAD per 16 multiply-
 * accumulates; each value is then requantized by tk_requant_mm (SMMLAR + shift) and SSAT.
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_conv2d.h"

#include <string.h>

#include "tk_conv2d_mve.h"

#include "tk_dsp.h"

#define TK_CONV_PIXELS 2 /* output pixels per im2col batch */

static int32_t padded_depth(const tk_conv2d_params *p)
{
    return (p->filter.h * p->filter.w * p->filter.c + 3) & ~3;
}

size_t tk_conv2d_s8_buffer_size(const tk_conv2d_params *params)
{
    return (size_t)TK_CONV_PIXELS * 3u * (size_t)padded_depth(params) +
           (size_t)TK_CONV_PIXELS * ((size_t)params->output.c + 1u) * sizeof(int32_t);
}

#if defined(__GNUC__) && !defined(__clang__)
#define TK_NO_LIBCALL __attribute__((optimize("O2", "no-tree-loop-distribute-patterns")))
#else
#define TK_NO_LIBCALL
#endif

/* n bytes (a filter row: a few to a few hundred); a memcpy call costs more than a short loop. */
static TK_NO_LIBCALL void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        int32_t v;
        memcpy(&v, src + i, 4);
        memcpy(dst + i, &v, 4);
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

static TK_NO_LIBCALL void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        dst[i] = value;
    }
}

/* One filter row of the receptive field for dilation_w 1: the taps left of the image, those
 * inside (one contiguous copy) and those right of it. */
static void gather_row(const tk_conv2d_params *p, const int8_t *row, int32_t x0, int8_t pad, int8_t *out)
{
    const int32_t in_c = p->input.c, kw = p->filter.w;
    int32_t left = x0 < 0 ? -x0 : 0, right = x0 + kw - p->input.w;
    left = left < kw ? left : kw;
    right = right < 0 ? 0 : (right > kw - left ? kw - left : right);
    fill_bytes(out, pad, left * in_c);
    copy_bytes(out + left * in_c, row + (x0 + left) * in_c, (kw - left - right) * in_c);
    fill_bytes(out + (kw - right) * in_c, pad, right * in_c);
}

/* The receptive field of output pixel (oy, ox) as K int8 values (zero point in the padding, zeros
 * up to the padded depth). 1x1 filters with a depth multiple of 4 read the input in place. */
static const int8_t *gather(const tk_conv2d_params *p, const int8_t *in, int32_t oy, int32_t ox, int8_t *dst)
{
    const int32_t in_c = p->input.c;
    const int32_t row_bytes = p->filter.w * in_c;
    const int8_t pad_value = (int8_t)(-p->input_offset);
    const int32_t y0 = oy * p->stride_h - p->pad_h;
    const int32_t x0 = ox * p->stride_w - p->pad_w;
    const int32_t row_inside = p->dilation_w == 1 && x0 >= 0 && x0 + p->filter.w <= p->input.w;
    int8_t *out = dst;
    if (p->filter.h == 1 && p->filter.w == 1 && (in_c & 3) == 0 && y0 >= 0 && y0 < p->input.h && x0 >= 0 &&
        x0 < p->input.w) {
        return in + ((size_t)y0 * (size_t)p->input.w + (size_t)x0) * (size_t)in_c;
    }
    for (int32_t fy = 0; fy < p->filter.h; ++fy, out += row_bytes) {
        const int32_t y = y0 + fy * p->dilation_h;
        const int8_t *row = in + (size_t)y * (size_t)p->input.w * (size_t)in_c;
        if (y < 0 || y >= p->input.h) {
            fill_bytes(out, pad_value, row_bytes);
        } else if (row_inside) { /* the common case: one copy, no edge arithmetic */
            copy_bytes(out, row + (size_t)x0 * (size_t)in_c, row_bytes);
        } else if (p->dilation_w == 1) {
            gather_row(p, row, x0, pad_value, out);
        } else {
            for (int32_t fx = 0; fx < p->filter.w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                if (x < 0 || x >= p->input.w) {
                    fill_bytes(out + fx * in_c, pad_value, in_c);
                } else {
                    copy_bytes(out + fx * in_c, row + (size_t)x * (size_t)in_c, in_c);
                }
            }
        }
    }
    fill_bytes(out, 0, (int32_t)(dst + padded_depth(p) - out));
    return dst;
}

#ifdef TK_USE_DSP
typedef int32_t tk_col_t; /* one word = two int16 column values */

/* Two gathered pixels -> [group][pixel][(x0,x2),(x1,x3)] words. */
static void pack(const int8_t *a, const int8_t *b, int32_t groups, tk_col_t *col)
{
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t va = tk_read_s32(a + 4 * g), vb = tk_read_s32(b + 4 * g);
        col[0] = tk_sxtb16(va);
        col[1] = tk_sxtb16_ror8(va);
        col[2] = tk_sxtb16(vb);
        col[3] = tk_sxtb16_ror8(vb);
        col += 4;
    }
}

/* im2col of output pixels ia and ib straight from the input into the packed words, for layers
 * with in_c % 4 == 0 and dilation_w == 1 (every group of 4 values then lies inside one tap):
 * the same words as gather + pack, without the staging copy. Taps outside the image read `pad`
 * (in_c bytes of the input zero point). */
#define TK_CONV_DIRECT 1
static void pack_direct(const tk_conv2d_params *p, const int8_t *in, int32_t ia, int32_t ib, const int8_t *pad,
                        tk_col_t *col)
{
    const int32_t in_c = p->input.c, groups = in_c >> 2;
    const int32_t ya0 = (ia / p->output.w) * p->stride_h - p->pad_h;
    const int32_t xa0 = (ia % p->output.w) * p->stride_w - p->pad_w;
    const int32_t yb0 = (ib / p->output.w) * p->stride_h - p->pad_h;
    const int32_t xb0 = (ib % p->output.w) * p->stride_w - p->pad_w;
    for (int32_t fy = 0; fy < p->filter.h; ++fy) {
        const int32_t ya = ya0 + fy * p->dilation_h, yb = yb0 + fy * p->dilation_h;
        const int32_t in_a = ya >= 0 && ya < p->input.h, in_b = yb >= 0 && yb < p->input.h;
        for (int32_t fx = 0; fx < p->filter.w; ++fx) {
            const int32_t xa = xa0 + fx, xb = xb0 + fx;
            const int8_t *pa = in_a && xa >= 0 && xa < p->input.w
                                   ? in + ((size_t)ya * (size_t)p->input.w + (size_t)xa) * (size_t)in_c
                                   : pad;
            const int8_t *pb = in_b && xb >= 0 && xb < p->input.w
                                   ? in + ((size_t)yb * (size_t)p->input.w + (size_t)xb) * (size_t)in_c
                                   : pad;
            pack(pa, pb, groups, col);
            col += 4 * groups;
        }
    }
}

/* int32 words of the stream per channel pair (see tk_conv2d.h) */
static int32_t pair_words(const tk_conv2d_params *p)
{
    return 4 + padded_depth(p) + (p->stream_rq ? 6 : 0);
}

/* The four accumulators {ch0 px0, ch0 px1, ch1 px0, ch1 px1} of the channel pair whose stream
 * starts at s, over the packed columns of two pixels; returns the stream past the weights. */
TK_INLINE const int32_t *stream_dot(const int32_t *s, const tk_col_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = s[0], a01 = s[1], a10 = s[2], a11 = s[3];
    s += 4;
    for (int32_t g = 0; g < groups; ++g, col += 4, s += 4) {
        a00 = tk_smlad(s[0], col[0], a00);
        a00 = tk_smlad(s[1], col[1], a00);
        a01 = tk_smlad(s[0], col[2], a01);
        a01 = tk_smlad(s[1], col[3], a01);
        a10 = tk_smlad(s[2], col[0], a10);
        a10 = tk_smlad(s[3], col[1], a10);
        a11 = tk_smlad(s[2], col[2], a11);
        a11 = tk_smlad(s[3], col[3], a11);
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
    return s;
}

#ifdef TK_DSP_ASM
/* `pairs` channel pairs of a stream_rq layer for the two pixels packed at col: out0[2i], out0[2i+1]
 * and out1[2i], out1[2i+1] receive channel pair i of pixel 0 and pixel 1, clamped to int8.
 * Registers: r0 stream, r1 column pointer, r2 loop counter, r3-r6 the four column words (one
 * LDM), r7-r8 a channel's two weight words, r9-r12 the accumulators, lr the pair counter; the
 * column base, the count of 4-group passes, the output pointers and the loop's entry point (a
 * pass runs 4 groups; the first enters part-way for groups % 4) live in a 20-byte frame.
 * Per 16 MACs: 1 LDM, 2 LDRD, 8 SMLAD; per value: ADD, SMMLAR, ASR, SSAT, STRB. */
#define TK_CONV_GROUP                                       \
    "ldm r1!, {r3, r4, r5, r6}\n\t"                         \
    "ldrd r7, r8, [r0], #8\n\t"                             \
    "smlad r9, r7, r3, r9\n\t"                              \
    "smlad r9, r8, r4, r9\n\t"                              \
    "smlad r10, r7, r5, r10\n\t"                            \
    "smlad r10, r8, r6, r10\n\t"                            \
    "ldrd r7, r8, [r0], #8\n\t"                             \
    "smlad r11, r7, r3, r11\n\t"                            \
    "smlad r11, r8, r4, r11\n\t"                            \
    "smlad r12, r7, r5, r12\n\t"                            \
    "smlad r12, r8, r6, r12\n\t"
/* tk_requant_mm of accumulators A and B with {m, H, r} in r3-r5, then SSAT. */
#define TK_CONV_RQ(A, B)                                    \
    "add r6, r4, " A ", asr #31\n\t"                        \
    "smmlar " A ", " A ", r3, r6\n\t"                       \
    "add r6, r4, " B ", asr #31\n\t"                        \
    "smmlar " B ", " B ", r3, r6\n\t"                       \
    "asr " A ", " A ", r5\n\t"                              \
    "asr " B ", " B ", r5\n\t"                              \
    "ssat " A ", #8, " A "\n\t"                             \
    "ssat " B ", #8, " B "\n\t"
/* (naked: the body is the whole function, arguments in r0-r3 and on the stack; parameters are
 * named for the reader and marked unused for the compiler) */
static TK_NOINLINE __attribute__((naked)) void conv_rq_pairs(
    TK_UNUSED const int32_t *stream, TK_UNUSED const tk_col_t *col, TK_UNUSED int8_t *out0,
    TK_UNUSED int8_t *out1, TK_UNUSED int32_t groups, TK_UNUSED int32_t pairs)
{
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        "ldr r4, [sp, #36]\n\t"          /* groups */
        "ldr lr, [sp, #40]\n\t"          /* pairs */
        "sub sp, sp, #20\n\t"
        "strd r2, r3, [sp, #8]\n\t"
        "and r5, r4, #3\n\t"
        "adr r6, 9f\n\t"
        "ldr r5, [r6, r5, lsl #2]\n\t"   /* entry point for groups % 4 */
        "add r4, r4, #3\n\t"
        "lsr r4, r4, #2\n\t"             /* passes */
        "strd r1, r4, [sp]\n\t"
        "str r5, [sp, #16]\n\t"
        "1:\n\t"
        "ldm r0!, {r9, r10, r11, r12}\n\t"
        "ldrd r1, r2, [sp]\n\t"
        "ldr pc, [sp, #16]\n\t"
        "10:\n\t" TK_CONV_GROUP
        "11:\n\t" TK_CONV_GROUP
        "12:\n\t" TK_CONV_GROUP
        "13:\n\t" TK_CONV_GROUP
        "subs r2, r2, #1\n\t"
        "bne 10b\n\t"
        "ldm r0!, {r3, r4, r5}\n\t"
        TK_CONV_RQ("r9", "r10")
        "ldm r0!, {r3, r4, r5}\n\t"
        TK_CONV_RQ("r11", "r12")
        "ldrd r1, r2, [sp, #8]\n\t"
        "strb r9, [r1], #1\n\t"
        "strb r11, [r1], #1\n\t"
        "strb r10, [r2], #1\n\t"
        "strb r12, [r2], #1\n\t"
        "strd r1, r2, [sp, #8]\n\t"
        "subs lr, lr, #1\n\t"
        "bne 1b\n\t"
        "add sp, sp, #20\n\t"
        "pop {r4-r11, pc}\n\t"
        ".p2align 2\n\t"
        "9:\n\t"                          /* Thumb addresses (bit 0 set) of the entries */
        ".word 10b + 1, 13b + 1, 12b + 1, 11b + 1\n\t");
}
#else
/* The same arithmetic in C (the host's TK_DSP_EMULATE build, and builds without the assembly). */
static void conv_rq_pairs(const int32_t *s, const tk_col_t *col, int8_t *out0, int8_t *out1, int32_t groups,
                          int32_t pairs)
{
    for (int32_t i = 0; i < pairs; ++i, s += 6, out0 += 2, out1 += 2) {
        int32_t acc[4];
        s = stream_dot(s, col, groups, acc);
        out0[0] = tk_sat_s8(tk_requant_mm(acc[0], s[0], s[1], s[2]));
        out1[0] = tk_sat_s8(tk_requant_mm(acc[1], s[0], s[1], s[2]));
        out0[1] = tk_sat_s8(tk_requant_mm(acc[2], s[3], s[4], s[5]));
        out1[1] = tk_sat_s8(tk_requant_mm(acc[3], s[3], s[4], s[5]));
    }
}
#endif

/* Clamp n int8 values to [lo, hi] (a fused activation narrower than int8), in place. */
static void clamp_bytes(int8_t *v, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        v[i] = (int8_t)tk_clamp_s32(v[i], lo, hi);
    }
}

/* All output channels of two packed pixels from a stream_rq stream; out1 == out0 when the second
 * pixel is a duplicate of the first (the same bytes are written twice). */
static void conv_pixels_rq(const tk_conv2d_params *p, const tk_col_t *col, int8_t *out0, int8_t *out1)
{
    const int32_t out_c = p->output.c, groups = padded_depth(p) >> 2;
    if (out_c >> 1) {
        conv_rq_pairs(p->stream, col, out0, out1, groups, out_c >> 1);
    }
    if (out_c & 1) { /* the last channel, paired with a zero channel */
        int8_t t[4];
        conv_rq_pairs(p->stream + (out_c >> 1) * pair_words(p), col, t, t + 2, groups, 1);
        out0[out_c - 1] = t[0];
        out1[out_c - 1] = t[2];
    }
    if (p->act.min != TK_INT8_MIN || p->act.max != TK_INT8_MAX) {
        clamp_bytes(out0, out_c, p->act.min, p->act.max);
        clamp_bytes(out1, out_c, p->act.min, p->act.max);
    }
}

/* All output channels of two packed pixels from a stream without requantization words (a layer
 * whose constants the generator could not prove for tk_requant_mm): raw accumulators to scratch,
 * then the general requantization from multipliers / shifts. */
static void conv_pixels_raw(const tk_conv2d_params *p, const tk_col_t *col, int8_t *out0, int8_t *out1,
                            int32_t *accs)
{
    const int32_t out_c = p->output.c, groups = padded_depth(p) >> 2;
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int32_t *s = p->stream;
    int32_t *acc1 = accs + out_c + 1; /* +1: room for the odd channel's partner */
    for (int32_t o = 0; o < out_c; o += 2) {
        int32_t acc[4];
        s = stream_dot(s, col, groups, acc);
        accs[o] = acc[0];
        acc1[o] = acc[1];
        accs[o + 1] = acc[2];
        acc1[o + 1] = acc[3];
    }
    for (int32_t o = 0; o < out_c; ++o) {
        const tk_requant_ch q = tk_requant_prepare(p->multipliers[o], p->shifts[o]);
        const int8_t r0 = tk_requant_apply(&q, accs[o], off, lo, hi);
        const int8_t r1 = tk_requant_apply(&q, acc1[o], off, lo, hi);
        out0[o] = r0;
        out1[o] = r1;
    }
}
#else
typedef int16_t tk_col_t;

static void pack(const int8_t *a, const int8_t *b, int32_t groups, tk_col_t *col)
{
    for (int32_t g = 0; g < groups; ++g) {
        col[0] = a[0]; col[1] = a[2]; col[2] = a[1]; col[3] = a[3];
        col[4] = b[0]; col[5] = b[2]; col[6] = b[1]; col[7] = b[3];
        a += 4;
        b += 4;
        col += 8;
    }
}

TK_INLINE void dot_pair(const int8_t *w, const tk_col_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t g = 0; g < groups; ++g) {
        a00 += w[0] * col[0] + w[2] * col[1] + w[1] * col[2] + w[3] * col[3];
        a01 += w[0] * col[4] + w[2] * col[5] + w[1] * col[6] + w[3] * col[7];
        a10 += w[4] * col[0] + w[6] * col[1] + w[5] * col[2] + w[7] * col[3];
        a11 += w[4] * col[4] + w[6] * col[5] + w[5] * col[6] + w[7] * col[7];
        col += 8;
        w += 8;
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}

/* All output channels of two packed pixels for a layer with a proved tk_requant_hi and the whole
 * int8 range as clamp: each pair of channels is requantized straight from the dot product
 * (one SMLAL per value on Thumb-2). When the second pixel is a duplicate of the first
 * (out1 == out0) its results are the same bytes. An odd last channel is paired with itself over
 * the pair's zero weights: its partner's results are stored first and then overwritten. */
static void conv_pixels_hi(const tk_conv2d_params *p, const tk_col_t *col, int8_t *out0, int8_t *out1)
{
    const int32_t kp = padded_depth(p);
    const int32_t out_c = p->output.c;
    const int32_t rq_off = p->requant_hi == 2 ? p->output_offset : 0;
    const int32_t fold = p->requant_hi == 1 ? p->output_offset : 0;
    const int32_t *const mult = p->multipliers;
    const int8_t *const shifts = p->shifts;
    const int8_t *w = p->filter_data;
    for (int32_t o = 0; o < out_c; o += 2, w += 2 * kp) {
        const int32_t o1 = o + 1 < out_c ? o + 1 : o;
        const int32_t b0 = p->bias[o], b1 = p->bias[o1];
        const int32_t h0 = tk_requant_hi_c(shifts[o], fold), h1 = tk_requant_hi_c(shifts[o1], fold);
        int32_t acc[4] = {b0, b0, b1, b1};
        dot_pair(w, col, kp >> 2, acc);
        {
            const int8_t r2 = (int8_t)tk_clamp_s8(tk_requant_hi(acc[2], mult[o1], h1, shifts[o1]) + rq_off, 0, 0, 1);
            const int8_t r3 = (int8_t)tk_clamp_s8(tk_requant_hi(acc[3], mult[o1], h1, shifts[o1]) + rq_off, 0, 0, 1);
            out0[o1] = r2;
            out1[o1] = r3;
        }
        {
            const int8_t r0 = (int8_t)tk_clamp_s8(tk_requant_hi(acc[0], mult[o], h0, shifts[o]) + rq_off, 0, 0, 1);
            const int8_t r1 = (int8_t)tk_clamp_s8(tk_requant_hi(acc[1], mult[o], h0, shifts[o]) + rq_off, 0, 0, 1);
            out0[o] = r0;
            out1[o] = r1;
        }
    }
}

/* All output channels of two packed pixels; `two` is 0 when the second pixel is a duplicate.
 * Accumulators go to scratch first and are requantized in a second, register-light loop (doing
 * both in one loop spills the requantization constants around the MAC loop). */
static void conv_pixels(const tk_conv2d_params *p, const tk_col_t *col, int32_t two, int8_t *out0, int8_t *out1,
                        int32_t *accs)
{
    const int32_t kp = padded_depth(p);
    const int32_t out_c = p->output.c;
    const int32_t off = p->output_offset, lo = p->act.min, hi = p->act.max;
    const int32_t *bias = p->bias;
    const int8_t *w = p->filter_data;
    int32_t *acc1 = accs + out_c + 1; /* +1: room for the odd channel's partner */
    for (int32_t o = 0; o < out_c; o += 2, w += 2 * kp) {
        const int32_t b1 = o + 1 < out_c ? bias[o + 1] : 0;
        int32_t acc[4] = {bias[o], bias[o], b1, b1};
        dot_pair(w, col, kp >> 2, acc);
        accs[o] = acc[0];
        acc1[o] = acc[1];
        accs[o + 1] = acc[2];
        acc1[o + 1] = acc[3];
    }
    for (int32_t o = 0; o < out_c; ++o) {
        int8_t r0, r1;
        if (TK_FAST_REQUANT(p)) {
            const int32_t m = p->multipliers[o], right = -p->shifts[o];
            r0 = tk_requantize_s8_fast(accs[o], m, right, 1 << (right - 1), off, lo, hi);
            r1 = tk_requantize_s8_fast(acc1[o], m, right, 1 << (right - 1), off, lo, hi);
        } else {
            const tk_requant_ch q = tk_requant_prepare(p->multipliers[o], p->shifts[o]);
            r0 = tk_requant_apply(&q, accs[o], off, lo, hi);
            r1 = tk_requant_apply(&q, acc1[o], off, lo, hi);
        }
        out0[o] = r0;
        if (two) {
            out1[o] = r1;
        }
    }
}
#endif

/* All output channels of output pixels i and j (j == i when i is the last of an odd count). */
static void conv_pixel_pair(const tk_conv2d_params *p, const int8_t *in, int32_t i, int32_t j, int8_t *out0,
                            int8_t *out1, void *scratch)
{
    const int32_t kp = padded_depth(p);
    tk_col_t *col = (tk_col_t *)scratch;                 /* 2 * kp int16 */
    int8_t *stage0 = (int8_t *)scratch + 4 * (size_t)kp; /* kp int8 per pixel */
    int8_t *stage1 = stage0 + kp;
    int32_t *accs = (int32_t *)(void *)(stage1 + kp);   /* 2 * (out_c + 1) int32, 8-byte aligned */
#ifdef TK_CONV_DIRECT
    if ((p->input.c & 3) == 0 && p->dilation_w == 1) {
        pack_direct(p, in, i, j, stage0, col); /* stage0 holds in_c bytes of the zero point */
    } else
#endif
    {
        const int8_t *a = gather(p, in, i / p->output.w, i % p->output.w, stage0);
        const int8_t *c = gather(p, in, j / p->output.w, j % p->output.w, stage1);
        pack(a, c, kp >> 2, col);
    }
#ifdef TK_USE_DSP
    if (p->stream_rq) {
        conv_pixels_rq(p, col, out0, out1);
    } else {
        conv_pixels_raw(p, col, out0, out1, accs);
    }
#else
    if (TK_RQ_HI(p) && p->act.min == TK_INT8_MIN && p->act.max == TK_INT8_MAX) {
        conv_pixels_hi(p, col, out0, out1);
    } else {
        conv_pixels(p, col, i != j, out0, out1, accs);
    }
#endif
}

tk_status tk_conv2d_s8(const tk_conv2d_params *params, const int8_t *input, int8_t *output, void *scratch)
{
#ifdef TK_USE_MVE
    return tk_conv2d_s8_mve(params, input, output, scratch); /* the code below is dead: dropped */
#endif
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_conv2d_params local = *params;
    const tk_conv2d_params *p = &local;
    const int32_t pixels = p->output.h * p->output.w;
    const size_t out_c = (size_t)p->output.c;
    if (p->filter.c != p->input.c || p->filter.n != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
#ifdef TK_CONV_DIRECT
    if ((p->input.c & 3) == 0 && p->dilation_w == 1) {
        fill_bytes((int8_t *)scratch + 4 * (size_t)padded_depth(p), (int8_t)(-p->input_offset), p->input.c);
    }
#endif
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
        int8_t *out = output + (size_t)b * (size_t)pixels * out_c;
        for (int32_t i = 0; i < pixels; i += 2) {
            const int32_t j = i + 1 < pixels ? i + 1 : i;
            conv_pixel_pair(p, in, i, j, out + (size_t)i * out_c, out + (size_t)j * out_c, scratch);
        }
    }
    return TK_OK;
}
