/* CONV_2D int8: im2col of two output pixels at a time, then a dot product per pair of channels.
 *
 * Bit-exact with TFLite's reference ConvPerChannel: TFLite sums (in + input_offset) * w over the
 * taps inside the image. Here padded taps hold the input zero point (so in + input_offset = 0 and
 * they add nothing), and input_offset * sum(w) is folded into the bias at generation time, so
 * acc = bias' + sum(in * w): the same integer, in any order, without the add per MAC. Padding K
 * to a multiple of 4 adds products with zero weights, which change nothing either.
 *
 * Layouts (shared by the plain C and the DSP path, so one generated weights file serves both):
 *   weights  [pair p][group g][channel 2p + r][4 values k = 4g .. 4g + 3]        (int8)
 *   columns  [group g][pixel][x0, x2, x1, x3]                                    (int16)
 * With the DSP extension one 32-bit load of 4 weights and SXTB16 / SXTB16 ROR 8 give the int16
 * pairs (w0, w2) and (w1, w3), which SMLAD multiplies with the column words (x0, x2), (x1, x3):
 * two loads, four SXTB16 and eight SMLAD for 16 multiply-accumulates.
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

/* The receptive field of output pixel (oy, ox) as K int8 values (zero point in the padding, zeros
 * up to the padded depth). 1x1 filters with a depth multiple of 4 read the input in place; filter
 * rows entirely inside the image are one contiguous copy when the dilation is 1. */
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
        if (y < 0 || y >= p->input.h) {
            fill_bytes(out, pad_value, row_bytes);
        } else if (row_inside) {
            copy_bytes(out, in + ((size_t)y * (size_t)p->input.w + (size_t)x0) * (size_t)in_c, row_bytes);
        } else {
            for (int32_t fx = 0; fx < p->filter.w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                if (x < 0 || x >= p->input.w) {
                    fill_bytes(out + fx * in_c, pad_value, in_c);
                } else {
                    copy_bytes(out + fx * in_c, in + ((size_t)y * (size_t)p->input.w + (size_t)x) * (size_t)in_c,
                               in_c);
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
            for (int32_t g = 0; g < groups; ++g) {
                const int32_t va = tk_read_s32(pa + 4 * g), vb = tk_read_s32(pb + 4 * g);
                col[0] = tk_sxtb16(va);
                col[1] = tk_sxtb16_ror8(va);
                col[2] = tk_sxtb16(vb);
                col[3] = tk_sxtb16_ror8(vb);
                col += 4;
            }
        }
    }
}

/* acc = {ch0 px0, ch0 px1, ch1 px0, ch1 px1} += the pair's weights . the two columns. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM)
/* The same loop scheduled by hand: two LDRD of the four column words, two weight loads, four
 * SXTB16 and eight SMLAD per 16 multiply-accumulates (GCC's version needs 22 instructions),
 * unrolled twice: 34 instructions per 32 multiply-accumulates. */
TK_INLINE void dot_pair(const int8_t *w, const tk_col_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t x02, x13, y02, y13, wv, t;
#define TK_DOT_GROUP                                 \
        "ldrd %[x02], %[x13], [%[col]], #8\n\t"         \
        "ldrd %[y02], %[y13], [%[col]], #8\n\t"         \
        "ldr %[wv], [%[w]], #4\n\t"                     \
        "sxtb16 %[t], %[wv]\n\t"                        \
        "smlad %[a00], %[t], %[x02], %[a00]\n\t"        \
        "smlad %[a01], %[t], %[y02], %[a01]\n\t"        \
        "sxtb16 %[t], %[wv], ror #8\n\t"                \
        "smlad %[a00], %[t], %[x13], %[a00]\n\t"        \
        "smlad %[a01], %[t], %[y13], %[a01]\n\t"        \
        "ldr %[wv], [%[w]], #4\n\t"                     \
        "sxtb16 %[t], %[wv]\n\t"                        \
        "smlad %[a10], %[t], %[x02], %[a10]\n\t"        \
        "smlad %[a11], %[t], %[y02], %[a11]\n\t"        \
        "sxtb16 %[t], %[wv], ror #8\n\t"                \
        "smlad %[a10], %[t], %[x13], %[a10]\n\t"        \
        "smlad %[a11], %[t], %[y13], %[a11]\n\t"
    /* An odd group first, then two groups per iteration (groups >= 1). */
    __asm__ volatile(
        "tst %[n], #1\n\t"
        "beq 2f\n\t"
        TK_DOT_GROUP
        "2:\n\t"
        "lsrs %[n], %[n], #1\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        TK_DOT_GROUP
        TK_DOT_GROUP
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+r"(col), [w] "+r"(w),
          [n] "+r"(groups), [x02] "=&r"(x02), [x13] "=&r"(x13), [y02] "=&r"(y02), [y13] "=&r"(y13),
          [wv] "=&r"(wv), [t] "=&r"(t)
        :
        : "cc", "memory");
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#else
TK_INLINE void dot_pair(const int8_t *w, const tk_col_t *col, int32_t groups, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t x02 = col[0], x13 = col[1], y02 = col[2], y13 = col[3];
        const int32_t wa = tk_read_s32(w), wb = tk_read_s32(w + 4);
        int32_t lo = tk_sxtb16(wa), hi = tk_sxtb16_ror8(wa);
        a00 = tk_smlad(lo, x02, a00);
        a00 = tk_smlad(hi, x13, a00);
        a01 = tk_smlad(lo, y02, a01);
        a01 = tk_smlad(hi, y13, a01);
        lo = tk_sxtb16(wb);
        hi = tk_sxtb16_ror8(wb);
        a10 = tk_smlad(lo, x02, a10);
        a10 = tk_smlad(hi, x13, a10);
        a11 = tk_smlad(lo, y02, a11);
        a11 = tk_smlad(hi, y13, a11);
        col += 4;
        w += 8;
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#endif
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
#endif

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM)
#define TK_CONV_RQ_TABLE 1
/* {multiplier, hi_c} of every output channel, plus a copy of the last one (the odd channel's
 * partner), in the scratch the general path uses for its accumulators: 2 * (out_c + 1) int32. */
static void conv_build_table(const tk_conv2d_params *p, int32_t *t)
{
    const int32_t out_c = p->output.c;
    const int32_t fold = p->requant_hi == 1 ? p->output_offset : 0;
    for (int32_t o = 0; o < out_c; ++o) {
        t[2 * o] = p->multipliers[o];
        t[2 * o + 1] = tk_requant_hi_c(p->shifts[o], fold);
    }
    t[2 * out_c] = t[2 * out_c - 2];
    t[2 * out_c + 1] = t[2 * out_c - 1];
}

/* tk_requant_hi of the four accumulators of a channel pair, {m, hi_c} from the table at *tp.
 * hi_c = 2^(r-2) * (1 + 2 * output_offset) with an odd second factor, so r - 2 is its count of
 * trailing zeros (RBIT + CLZ) and >> (r - 1) is >> (r - 2) then >> 1. */
#define TK_CONV_ASM_RQ(A)                             \
    "and %[l], " A ", #0x80000000\n\t"                \
    "orr %[l], %[l], #0x40000000\n\t"                 \
    "add %[hh], %[h], " A ", asr #31\n\t"             \
    "smlal %[l], %[hh], " A ", %[m]\n\t"              \
    "asr %[hh], %[hh], %[e]\n\t"                      \
    "add " A ", %[off], %[hh], asr #1\n\t"
TK_INLINE void rq_pair(const int32_t **tp, int32_t acc[4], int32_t off)
{
    const int32_t *t = *tp;
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3], m, h, e, l, hh;
    __asm__("ldrd %[m], %[h], [%[t]], #8\n\t"
            "rbit %[e], %[h]\n\t"
            "clz %[e], %[e]\n\t"
            TK_CONV_ASM_RQ("%[a00]") TK_CONV_ASM_RQ("%[a01]")
            "ldrd %[m], %[h], [%[t]], #8\n\t"
            "rbit %[e], %[h]\n\t"
            "clz %[e], %[e]\n\t"
            TK_CONV_ASM_RQ("%[a10]") TK_CONV_ASM_RQ("%[a11]")
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [t] "+r"(t), [m] "=&r"(m),
              [h] "=&r"(h), [e] "=&r"(e), [l] "=&r"(l), [hh] "=&r"(hh)
            : [off] "r"(off)
            : "memory");
    *tp = t;
    acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11;
}
#endif

/* All output channels of two packed pixels for a layer with a proved tk_requant_hi: each pair of
 * channels is requantized straight from the dot product's registers (one SMLAL per value and
 * no scratch round trip). When the second pixel is a duplicate of the first (out1 == out0) its
 * results are the same bytes. An odd last channel is paired with itself over the pair's zero
 * weights: its partner's results are stored first and then overwritten by the real ones. `full`
 * (constant per call) selects the int8-range clamp. */
TK_INLINE void conv_pixels_hi_body(const tk_conv2d_params *p, const tk_col_t *col, const int32_t *table,
                                   int8_t *out0, int8_t *out1, int full)
{
    const int32_t kp = padded_depth(p);
    const int32_t out_c = p->output.c;
    const int32_t lo = p->act.min, hi = p->act.max;
    const int32_t rq_off = p->requant_hi == 2 ? p->output_offset : 0;
    const int32_t *const bias = p->bias;
    const int8_t *w = p->filter_data;
#ifndef TK_CONV_RQ_TABLE
    const int32_t *const mult = p->multipliers;
    const int32_t fold = p->requant_hi == 1 ? p->output_offset : 0;
    const int8_t *const shifts = p->shifts;
    (void)table;
#endif
    for (int32_t o = 0; o < out_c; o += 2, w += 2 * kp) {
        const int32_t o1 = o + 1 < out_c ? o + 1 : o;
        const int32_t b0 = bias[o], b1 = bias[o1];
        int32_t acc[4] = {b0, b0, b1, b1};
        dot_pair(w, col, kp >> 2, acc);
#ifdef TK_CONV_RQ_TABLE
        rq_pair(&table, acc, rq_off);
#else
        {
            const int32_t h0 = tk_requant_hi_c(shifts[o], fold), h1 = tk_requant_hi_c(shifts[o1], fold);
            acc[0] = tk_requant_hi(acc[0], mult[o], h0, shifts[o]) + rq_off;
            acc[1] = tk_requant_hi(acc[1], mult[o], h0, shifts[o]) + rq_off;
            acc[2] = tk_requant_hi(acc[2], mult[o1], h1, shifts[o1]) + rq_off;
            acc[3] = tk_requant_hi(acc[3], mult[o1], h1, shifts[o1]) + rq_off;
        }
#endif
        {
            const int8_t r2 = (int8_t)tk_clamp_s8(acc[2], lo, hi, full);
            const int8_t r3 = (int8_t)tk_clamp_s8(acc[3], lo, hi, full);
            out0[o1] = r2;
            out1[o1] = r3;
        }
        {
            const int8_t r0 = (int8_t)tk_clamp_s8(acc[0], lo, hi, full);
            const int8_t r1 = (int8_t)tk_clamp_s8(acc[1], lo, hi, full);
            out0[o] = r0;
            out1[o] = r1;
        }
    }
}

/* Layers with the whole int8 range as clamp (every activation TFLite fuses into an int8 conv
 * with a zero point at -128 gives that); the others take conv_pixels. */
static void conv_pixels_hi(const tk_conv2d_params *p, const tk_col_t *col, const int32_t *table, int8_t *out0,
                           int8_t *out1)
{
    conv_pixels_hi_body(p, col, table, out0, out1, 1);
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
    if (TK_FAST_REQUANT(p)) {
        for (int32_t o = 0; o < out_c; ++o) {
            const int32_t m = p->multipliers[o], right = -p->shifts[o];
            const int32_t half = 1 << (right - 1);
            const int8_t r0 = tk_requantize_s8_fast(accs[o], m, right, half, off, lo, hi);
            const int8_t r1 = tk_requantize_s8_fast(acc1[o], m, right, half, off, lo, hi);
            out0[o] = r0;
            if (two) {
                out1[o] = r1;
            }
        }
        return;
    }
    for (int32_t o = 0; o < out_c; ++o) {
        const tk_requant_ch q = tk_requant_prepare(p->multipliers[o], p->shifts[o]);
        const int8_t r0 = tk_requant_apply(&q, accs[o], off, lo, hi);
        const int8_t r1 = tk_requant_apply(&q, acc1[o], off, lo, hi);
        out0[o] = r0;
        if (two) {
            out1[o] = r1;
        }
    }
}

tk_status tk_conv2d_s8(const tk_conv2d_params *params, const int8_t *input, int8_t *output, void *scratch)
{
#ifdef TK_USE_MVE
    return tk_conv2d_s8_mve(params, input, output, scratch); /* the code below is dead: dropped */
#endif
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_conv2d_params local = *params;
    const tk_conv2d_params *p = &local;
    const int32_t kp = padded_depth(p);
    const int32_t pixels = p->output.h * p->output.w;
    const size_t out_c = (size_t)p->output.c;
    tk_col_t *col = (tk_col_t *)scratch;                 /* 2 * kp int16 */
    int8_t *stage0 = (int8_t *)scratch + 4 * (size_t)kp; /* kp int8 per pixel */
    int8_t *stage1 = stage0 + kp;
    int32_t *accs = (int32_t *)(void *)(stage1 + kp);   /* 2 * (out_c + 1) int32, 8-byte aligned */
    const int32_t hi_path = TK_RQ_HI(p) && p->act.min == TK_INT8_MIN && p->act.max == TK_INT8_MAX;
#ifdef TK_CONV_DIRECT
    const int32_t direct = (p->input.c & 3) == 0 && p->dilation_w == 1;
#endif
    if (p->filter.c != p->input.c || p->filter.n != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
#ifdef TK_CONV_DIRECT
    if (direct) {
        fill_bytes(stage0, (int8_t)(-p->input_offset), p->input.c); /* kp >= in_c */
    }
#endif
#ifdef TK_CONV_RQ_TABLE
    if (hi_path) {
        conv_build_table(p, accs);
    }
#endif
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
        int8_t *out = output + (size_t)b * (size_t)pixels * out_c;
        for (int32_t i = 0; i < pixels; i += 2) {
            const int32_t two = i + 1 < pixels;
            const int32_t j = two ? i + 1 : i;
#ifdef TK_CONV_DIRECT
            if (direct) {
                pack_direct(p, in, i, j, stage0, col);
            } else
#endif
            {
                const int8_t *a = gather(p, in, i / p->output.w, i % p->output.w, stage0);
                const int8_t *c = gather(p, in, j / p->output.w, j % p->output.w, stage1);
                pack(a, c, kp >> 2, col);
            }
            if (hi_path) {
                conv_pixels_hi(p, col, accs, out + (size_t)i * out_c, out + (size_t)j * out_c);
                continue;
            }
            conv_pixels(p, col, two, out + (size_t)i * out_c, out + (size_t)j * out_c, accs);
        }
    }
    return TK_OK;
}
