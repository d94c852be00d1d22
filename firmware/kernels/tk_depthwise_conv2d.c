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
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_depthwise_conv2d.h"

#include <string.h>

#include "tk_depthwise_conv2d_mve.h"

#include "tk_dsp.h"

#define TK_DW_TABLE_WORDS 34 /* per four channels: see dw_build_table */

/* Width of a padded row: every input column any output pixel of the row reads. */
static int32_t padded_width(const tk_depthwise_conv2d_params *p)
{
    return (p->output.w - 1) * p->stride_w + (p->filter.w - 1) * p->dilation_w + 1;
}

/* Bytes of the kh padded input rows. */
static size_t dw_rows_bytes(const tk_depthwise_conv2d_params *params)
{
    return (size_t)params->filter.h * (size_t)padded_width(params) * (size_t)params->input.c;
}

static int32_t dw_table_shape(const tk_depthwise_conv2d_params *p);

/* Bytes of the fast path's table (see dw_build_table): 34 words per four channels. */
static size_t dw_table_bytes(const tk_depthwise_conv2d_params *p)
{
    return (size_t)TK_DW_TABLE_WORDS * sizeof(int32_t) * (size_t)(p->input.c / 4);
}

size_t tk_depthwise_conv2d_s8_buffer_size(const tk_depthwise_conv2d_params *params)
{
    return dw_rows_bytes(params) + (dw_table_shape(params) ? dw_table_bytes(params) : 0);
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

/* ---- 3x3 fast path: depth multiplier 1, dilation 1, channels % 4 == 0, proved tk_requant_hi ----
 * With the DSP extension the kernel first writes, at the start of its scratch, one table of 34
 * words per four channels c .. c + 3, in the order the loop reads them:
 *   bias[c .. c + 3], then per tap (fy, fx) the weights as SXTB16 pairs (w0, w2), (w1, w3), then
 *   per channel {multiplier, hi_c, ~shift (= r - 1)}.
 * One pointer walking the table replaces five arrays and the weights' unpacking in the loop. */
/* Shape part of the fast path's condition; the scratch reserves the table for these layers. */
static int32_t dw_table_shape(const tk_depthwise_conv2d_params *p)
{
    return p->filter.h == 3 && p->filter.w == 3 && p->dilation_w == 1 && (p->input.c & 3) == 0 &&
           p->output.c == p->input.c;
}

#ifdef TK_USE_DSP
static void dw_build_table(const tk_depthwise_conv2d_params *p, int32_t *t)
{
    const int32_t ch = p->input.c;
    for (int32_t c = 0; c < ch; c += 4) {
        for (int32_t i = 0; i < 4; ++i) {
            *t++ = p->bias[c + i];
        }
        for (int32_t k = 0; k < 9; ++k) {
            const int32_t v = tk_read_s32(p->filter_data + k * ch + c);
            *t++ = tk_sxtb16(v);
            *t++ = tk_sxtb16_ror8(v);
        }
        for (int32_t i = 0; i < 4; ++i) {
            *t++ = p->multipliers[c + i];
            *t++ = tk_requant_hi_c(p->shifts[c + i], p->output_offset);
            *t++ = ~(int32_t)p->shifts[c + i];
        }
    }
}

/* Four channels of one output pixel from the table at *tp (advanced past them): v[i] receives
 * tk_requant_hi of channel c + i, before the clamp. `s` is the window's first byte. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(TK_DSP_EMULATE) && !defined(TK_NO_ASM)
#define TK_DW_ASM_TAP(XADDR)                          \
    "ldr %[x], " XADDR "\n\t"                         \
    "ldrd %[w], %[wh], [%[t]], #8\n\t"                \
    "sxtb16 %[xh], %[x], ror #8\n\t"                  \
    "sxtb16 %[x], %[x]\n\t"                           \
    "smlabb %[a0], %[x], %[w], %[a0]\n\t"             \
    "smlatt %[a2], %[x], %[w], %[a2]\n\t"             \
    "smlabb %[a1], %[xh], %[wh], %[a1]\n\t"           \
    "smlatt %[a3], %[xh], %[wh], %[a3]\n\t"
#define TK_DW_ASM_ROW                                 \
    TK_DW_ASM_TAP("[%[s]]")                           \
    TK_DW_ASM_TAP("[%[s], %[ch]]")                    \
    TK_DW_ASM_TAP("[%[s], %[ch], lsl #1]")            \
    "add %[s], %[s], %[rs]\n\t"
/* tk_requant_hi of accumulator A with {m, hi_c, r - 1} from the table, into A. */
#define TK_DW_ASM_RQ(A)                               \
    "ldrd %[x], %[xh], [%[t]], #8\n\t"                \
    "ldr %[w], [%[t]], #4\n\t"                        \
    "and %[wh], " A ", #0x80000000\n\t"               \
    "orr %[wh], %[wh], #0x40000000\n\t"               \
    "add %[xh], %[xh], " A ", asr #31\n\t"            \
    "smlal %[wh], %[xh], " A ", %[x]\n\t"             \
    "asr " A ", %[xh], %[w]\n\t"
TK_INLINE void dw_quad_table(const int32_t **tp, const int8_t *s, int32_t ch, int32_t rs, int32_t v[4])
{
    const int32_t *t = *tp;
    int32_t a0, a1, a2, a3, x, xh, w, wh;
    __asm__("ldrd %[a0], %[a1], [%[t]], #8\n\t"
            "ldrd %[a2], %[a3], [%[t]], #8\n\t"
            TK_DW_ASM_ROW TK_DW_ASM_ROW TK_DW_ASM_ROW
            TK_DW_ASM_RQ("%[a0]") TK_DW_ASM_RQ("%[a1]") TK_DW_ASM_RQ("%[a2]") TK_DW_ASM_RQ("%[a3]")
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [s] "+r"(s), [t] "+r"(t),
              [x] "=&r"(x), [xh] "=&r"(xh), [w] "=&r"(w), [wh] "=&r"(wh)
            : [ch] "r"(ch), [rs] "r"(rs)
            : "memory");
    *tp = t;
    v[0] = a0; v[1] = a1; v[2] = a2; v[3] = a3;
}
#else
TK_INLINE void dw_quad_table(const int32_t **tp, const int8_t *s, int32_t ch, int32_t rs, int32_t v[4])
{
    const int32_t *t = *tp;
    int32_t a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3];
    t += 4;
    for (int32_t fy = 0; fy < 3; ++fy, s += rs) {
        for (int32_t fx = 0; fx < 3; ++fx, t += 2) {
            const int32_t xv = tk_read_s32(s + fx * ch);
            const int32_t x02 = tk_sxtb16(xv), x13 = tk_sxtb16_ror8(xv);
            a0 = tk_smlabb(x02, t[0], a0);
            a2 = tk_smlatt(x02, t[0], a2);
            a1 = tk_smlabb(x13, t[1], a1);
            a3 = tk_smlatt(x13, t[1], a3);
        }
    }
    v[0] = tk_requant_hi(a0, t[0], t[1], ~t[2]);
    v[1] = tk_requant_hi(a1, t[3], t[4], ~t[5]);
    v[2] = tk_requant_hi(a2, t[6], t[7], ~t[8]);
    v[3] = tk_requant_hi(a3, t[9], t[10], ~t[11]);
    *tp = t + 12;
}
#endif

/* One output row from the table; `full` (constant per call) selects the int8-range clamp. */
TK_INLINE void dw_row_fast_body(const tk_depthwise_conv2d_params *p, const int32_t *table, const int8_t *rows,
                                int8_t *out, int full)
{
    const int32_t ch = p->input.c;
    const int32_t rs = padded_width(p) * ch;
    const int32_t px_step = p->stride_w * ch;
    const int32_t lo = p->act.min, hi = p->act.max;
    for (int32_t ox = 0; ox < p->output.w; ++ox, rows += px_step, out += ch) {
        const int32_t *t = table;
        for (int32_t c = 0; c < ch; c += 4) {
            int32_t v[4];
            dw_quad_table(&t, rows + c, ch, rs, v);
            out[c] = (int8_t)tk_clamp_s8(v[0], lo, hi, full);
            out[c + 1] = (int8_t)tk_clamp_s8(v[1], lo, hi, full);
            out[c + 2] = (int8_t)tk_clamp_s8(v[2], lo, hi, full);
            out[c + 3] = (int8_t)tk_clamp_s8(v[3], lo, hi, full);
        }
    }
}

/* Layers with the whole int8 range as clamp only (see fast_3x3); the others take dw_quad. */
static void dw_row_fast(const tk_depthwise_conv2d_params *p, const int32_t *table, const int8_t *rows, int8_t *out)
{
    dw_row_fast_body(p, table, rows, out, 1);
}
#else
/* Cores without DSP: the same arithmetic from the 1HWO weights and the five arrays. */
static void dw_row_fast(const tk_depthwise_conv2d_params *p, const int32_t *table, const int8_t *rows, int8_t *out)
{
    const int32_t ch = p->input.c;
    const int32_t rs = padded_width(p) * ch;
    const int32_t lo = p->act.min, hi = p->act.max;
    (void)table;
    for (int32_t ox = 0; ox < p->output.w; ++ox, rows += p->stride_w * ch, out += ch) {
        for (int32_t c = 0; c < ch; c += 4) {
            const int8_t *src = rows + c, *w = p->filter_data + c;
            int32_t a0 = p->bias[c], a1 = p->bias[c + 1], a2 = p->bias[c + 2], a3 = p->bias[c + 3];
            for (int32_t k = 0; k < 9; ++k) {
                TK_DW_TAP(src + (k / 3) * rs + (k % 3) * ch, w + k * ch);
            }
            const int32_t *m = p->multipliers + c;
            const int8_t *sh = p->shifts + c;
            const int32_t off = p->output_offset;
            out[c] = (int8_t)tk_clamp_s32(tk_requant_hi(a0, m[0], tk_requant_hi_c(sh[0], off), sh[0]), lo, hi);
            out[c + 1] = (int8_t)tk_clamp_s32(tk_requant_hi(a1, m[1], tk_requant_hi_c(sh[1], off), sh[1]), lo, hi);
            out[c + 2] = (int8_t)tk_clamp_s32(tk_requant_hi(a2, m[2], tk_requant_hi_c(sh[2], off), sh[2]), lo, hi);
            out[c + 3] = (int8_t)tk_clamp_s32(tk_requant_hi(a3, m[3], tk_requant_hi_c(sh[3], off), sh[3]), lo, hi);
        }
    }
}
#endif

tk_status tk_depthwise_conv2d_s8(const tk_depthwise_conv2d_params *params, const int8_t *input, int8_t *output,
                                 void *scratch)
{
#ifdef TK_USE_MVE
    return tk_depthwise_conv2d_s8_mve(params, input, output, scratch); /* the code below is dead: dropped */
#endif
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_depthwise_conv2d_params local = *params;
    const tk_depthwise_conv2d_params *p = &local;
    const size_t channels = (size_t)p->input.c;
    const size_t row_stride = (size_t)padded_width(p) * channels;
    const int32_t table_shape = dw_table_shape(p);
    int32_t *table = (int32_t *)scratch;
    int8_t *rows = (int8_t *)scratch + (table_shape ? dw_table_bytes(p) : 0);
    const int32_t fast_3x3 =
        table_shape && TK_RQ_HI(p) && p->act.min == TK_INT8_MIN && p->act.max == TK_INT8_MAX;
    if (p->output.c != p->input.c * p->depth_multiplier || p->filter.c != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
#ifdef TK_USE_DSP
    if (fast_3x3) {
        dw_build_table(p, table);
    }
#endif
    for (int32_t b = 0; b < p->input.n; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * channels;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            fill_rows(p, in, oy, rows);
            if (fast_3x3) {
                const size_t row = (size_t)b * (size_t)p->output.h + (size_t)oy;
                dw_row_fast(p, table, rows, output + row * (size_t)p->output.w * (size_t)p->output.c);
                continue;
            }
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
