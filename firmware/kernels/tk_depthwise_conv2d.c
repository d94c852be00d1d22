/* DEPTHWISE_CONV_2D int8, bit-exact with TFLite's reference DepthwiseConvPerChannel.
 *
 * Padded taps hold the input zero point, so they contribute (zero_point + input_offset) * w = 0,
 * exactly like a tap TFLite skips; every output then sees a full window and input_offset * sum(w)
 * is folded into the bias at generation time: acc = bias' + sum(in * w), the same integer as
 * TFLite's sum(in + input_offset) * w + bias.
 *
 * 3x3 layers with dilation 1, depth multiplier 1 and equal strides of 1 or 2 (every depthwise
 * layer of the reference models) are computed one channel at a time in an int16 plane (see
 * dw_plane below); with the DSP extension from a pre-widened weight stream, SMLAD pairing two
 * taps of a line. Other layers copy the kh input rows of each output row into zero-point padded
 * rows and take four channels at a time (SMLABB/SMLATT with the DSP extension).
 */
/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_depthwise_conv2d.h"

#include <string.h>

#include "tk_depthwise_conv2d_mve.h"

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

/* ---- 3x3 layers in planes: dilation 1, depth multiplier 1, equal strides of 1 or 2 ----------
 * One channel at a time is widened to int16 into a plane of pv lines of pu values (pads and the
 * slack past the last block hold the input zero point), then each output line is computed from
 * three consecutive plane lines in blocks of 4 outputs. Lines run along the longer output side
 * (vertical: along the height), so that few outputs of a block are wasted. Channel c's outputs
 * only ever land on channel c's input bytes, which are in the plane by then, so this kernel could
 * run in place; the planner does not alias them, as one generated library also serves the Helium
 * kernel, which reads rows of every channel. Geometry = depthwise_plane in tinykit/ir/ops/conv.py. */
typedef struct {
    int32_t vertical;
    int32_t pu, pv;         /* plane: pv lines of pu int16 values */
    int32_t along, across;  /* outputs along a line, output lines */
    int32_t pad_u, pad_v;   /* plane position of input (0, 0) */
    int32_t in_u, in_v;     /* input extent along / across lines */
    int32_t step_u, step_v; /* input bytes between neighbours along / across lines */
    int32_t out_u, out_v;   /* output bytes between neighbours along / across lines */
} dw_plane;

static int32_t dw_plane_geometry(const tk_depthwise_conv2d_params *p, dw_plane *g)
{
    const int32_t s = p->stride_h, c = p->output.c;
    if (p->filter.h != 3 || p->filter.w != 3 || p->dilation_h != 1 || p->dilation_w != 1 ||
        p->depth_multiplier != 1 || p->stride_w != s || s > 2) {
        return 0;
    }
    g->vertical = p->output.h > p->output.w;
    g->along = g->vertical ? p->output.h : p->output.w;
    g->across = g->vertical ? p->output.w : p->output.h;
    g->pu = 4 * ((g->along + 3) / 4) * s + 2;
    g->pv = (g->across - 1) * s + 3;
    g->pad_u = g->vertical ? p->pad_h : p->pad_w;
    g->pad_v = g->vertical ? p->pad_w : p->pad_h;
    g->in_u = g->vertical ? p->input.h : p->input.w;
    g->in_v = g->vertical ? p->input.w : p->input.h;
    g->step_u = g->vertical ? p->input.w * p->input.c : p->input.c;
    g->step_v = g->vertical ? p->input.c : p->input.w * p->input.c;
    g->out_u = g->vertical ? p->output.w * c : c;
    g->out_v = g->vertical ? c : p->output.w * c;
    return 1;
}

/* Channel c of the input into the plane's interior (the pads were filled once per layer). */
static void dw_plane_fill(const dw_plane *g, const int8_t *in, int16_t *plane)
{
    int32_t nv = g->pv - g->pad_v, nu = g->pu - g->pad_u;
    nv = nv < g->in_v ? nv : g->in_v;
    nu = nu < g->in_u ? nu : g->in_u;
    for (int32_t v = 0; v < nv; ++v) {
        const int8_t *src = in + (size_t)v * (size_t)g->step_v;
        int16_t *dst = plane + (size_t)(g->pad_v + v) * (size_t)g->pu + g->pad_u;
        for (int32_t u = 0; u < nu; ++u, src += g->step_u) {
            dst[u] = *src;
        }
    }
}

/* One output line: three plane lines from `row` (line_bytes apart), the channel's weights `w`,
 * `n` >= 1 outputs `step` bytes apart from `out`. */
typedef struct {
    const int16_t *row;
    int32_t line_bytes;
    const int32_t *w;
    int8_t *out;
    int32_t step;
    int32_t n;
} dw_line;

#ifdef TK_USE_DSP
/* Output o of a line from the stream words w (A = (w0, w1), D = (w1, w2) per input line), as the
 * assembly computes it: SMLAD over the first two taps, the third from D's top half. */
static int32_t dw_acc(const dw_line *a, int32_t stride, int32_t o)
{
    int32_t acc = a->w[0];
    for (int32_t j = 0; j < 3; ++j) {
        const int16_t *x = (const int16_t *)(const void *)((const int8_t *)a->row + j * a->line_bytes) + o * stride;
        acc = tk_smlad(tk_read_s32(x), a->w[4 + 2 * j], acc);
        acc = (int32_t)((uint32_t)acc + (uint32_t)(x[2] * (a->w[5 + 2 * j] >> 16)));
    }
    return acc;
}

/* A line of a layer without proved stream requantization (and every line on the host). */
static void dw_line_c(const tk_depthwise_conv2d_params *p, const dw_line *a, int32_t c)
{
    for (int32_t o = 0; o < a->n; ++o) {
        const int32_t acc = dw_acc(a, p->stride_w, o);
        int8_t v;
        if (p->stream_rq) {
            v = (int8_t)tk_clamp_s32(tk_requant_mm(acc, a->w[1], a->w[2], a->w[3]), p->act.min, p->act.max);
        } else {
            v = tk_requantize_s8_pos(acc, p->multipliers[c], p->shifts[c], p->output_offset, p->act.min, p->act.max);
        }
        a->out[(size_t)o * (size_t)a->step] = v;
    }
}

#ifdef TK_DSP_ASM
/* Blocks of 4 outputs of a line, naked assembly over a dw_line (r0): r0-r2 the three plane lines,
 * r3 the channel's stream words, r4-r7 the accumulators, r8-r10 data words, r11-r12 the weight
 * pairs A, D of the current line, lr the doubled bias (the first line's SMLADs start from it);
 * the output pointer, step and the outputs left live in a 12-byte frame. Per 36 MACs: 9 data
 * loads, 3 LDRD of weights, 24 multiply instructions; per value ADD, SMMLAR, ASR, SSAT, STRB. */
#define TK_DW_PROLOGUE                                      \
    "push {r4-r11, lr}\n\t"                                 \
    "sub sp, sp, #12\n\t"                                   \
    "mov r12, r0\n\t"                                       \
    "ldm r12, {r0, r1, r3, r4, r5, r6}\n\t"                 \
    "strd r4, r5, [sp]\n\t"                                 \
    "str r6, [sp, #8]\n\t"                                  \
    "add r2, r0, r1, lsl #1\n\t"                            \
    "add r1, r0, r1\n\t"                                    \
    "ldr lr, [r3]\n\t"                                      \
    "1:\n\t"
/* stride 1: outputs x0..x3 from W0 = (x0, x1), W1 = (x2, x3), W2 = (x4, x5) */
#define TK_DW_ROW_S1(P, OFF, C0, C1, C2, C3)                 \
    "ldrd r8, r9, [" P "], #8\n\t"                          \
    "ldr r10, [" P "]\n\t"                                  \
    "ldrd r11, r12, [r3, #" OFF "]\n\t"                     \
    "smlad r4, r8, r11, " C0 "\n\t"                         \
    "smlabt r4, r9, r12, r4\n\t"                            \
    "smlad r5, r9, r12, " C1 "\n\t"                         \
    "smlatb r5, r8, r11, r5\n\t"                            \
    "smlad r6, r9, r11, " C2 "\n\t"                         \
    "smlabt r6, r10, r12, r6\n\t"                           \
    "smlad r7, r10, r12, " C3 "\n\t"                        \
    "smlatb r7, r9, r11, r7\n\t"
/* stride 2: outputs at x0, x2, x4, x6 from W0..W4 = (x0, x1) .. (x8, x9) */
#define TK_DW_ROW_S2(P, OFF, C0, C1, C2, C3)                 \
    "ldrd r8, r9, [" P "], #8\n\t"                          \
    "ldrd r11, r12, [r3, #" OFF "]\n\t"                     \
    "smlad r4, r8, r11, " C0 "\n\t"                         \
    "smlabt r4, r9, r12, r4\n\t"                            \
    "ldrd r8, r10, [" P "], #8\n\t"                         \
    "smlad r5, r9, r11, " C1 "\n\t"                         \
    "smlabt r5, r8, r12, r5\n\t"                            \
    "smlad r6, r8, r11, " C2 "\n\t"                         \
    "smlabt r6, r10, r12, r6\n\t"                           \
    "ldr r9, [" P "]\n\t"                                   \
    "smlad r7, r10, r11, " C3 "\n\t"                        \
    "smlabt r7, r9, r12, r7\n\t"
#define TK_DW_RQ1(X)                                        \
    "add r11, r9, " X ", asr #31\n\t"                       \
    "smmlar " X ", " X ", r8, r11\n\t"                      \
    "asr " X ", " X ", r10\n\t"                             \
    "ssat " X ", #8, " X "\n\t"
/* requantize the block, store 4 outputs (or the 1-3 left) and loop */
#define TK_DW_EPILOGUE                                      \
    "ldrd r8, r9, [r3, #4]\n\t"                             \
    "ldr r10, [r3, #12]\n\t"                                \
    TK_DW_RQ1("r4") TK_DW_RQ1("r5") TK_DW_RQ1("r6") TK_DW_RQ1("r7") \
    "ldm sp, {r8, r9, r10}\n\t"                             \
    "subs r10, r10, #4\n\t"                                 \
    "blt 3f\n\t"                                            \
    "strb r4, [r8]\n\t"                                     \
    "strb r5, [r8, r9]\n\t"                                 \
    "add r8, r8, r9, lsl #1\n\t"                            \
    "strb r6, [r8]\n\t"                                     \
    "strb r7, [r8, r9]\n\t"                                 \
    "add r8, r8, r9, lsl #1\n\t"                            \
    "str r8, [sp]\n\t"                                      \
    "str r10, [sp, #8]\n\t"                                 \
    "bgt 1b\n\t"                                            \
    "b 4f\n\t"                                              \
    "3:\n\t"                                                \
    "strb r4, [r8]\n\t"                                     \
    "cmn r10, #2\n\t"                                       \
    "it ge\n\t"                                             \
    "strbge r5, [r8, r9]\n\t"                               \
    "cmn r10, #1\n\t"                                       \
    "itt ge\n\t"                                            \
    "addge r8, r8, r9, lsl #1\n\t"                          \
    "strbge r6, [r8]\n\t"                                   \
    "4:\n\t"                                                \
    "add sp, sp, #12\n\t"                                   \
    "pop {r4-r11, pc}\n\t"

/* (naked: the body is the whole function, the dw_line pointer in r0) */
#define TK_DW_LINE_FN(NAME, ROW)                                             \
    static TK_NOINLINE __attribute__((naked)) void NAME(TK_UNUSED const dw_line *a) \
    {                                                                        \
        __asm__ volatile(TK_DW_PROLOGUE ROW("r0", "16", "lr", "lr", "lr", "lr") \
                         ROW("r1", "24", "r4", "r5", "r6", "r7")             \
                         ROW("r2", "32", "r4", "r5", "r6", "r7") TK_DW_EPILOGUE); \
    }
TK_DW_LINE_FN(dw_line_s1, TK_DW_ROW_S1)
TK_DW_LINE_FN(dw_line_s2, TK_DW_ROW_S2)
#endif

/* Every output line of channel c (the plane holds its input). */
static void dw_plane_lines(const tk_depthwise_conv2d_params *p, const dw_plane *g, const int16_t *plane,
                           int32_t c, int8_t *out)
{
    const int32_t s = p->stride_w;
    const int32_t full = p->act.min == TK_INT8_MIN && p->act.max == TK_INT8_MAX;
    dw_line a;
    a.line_bytes = g->pu * 2;
    a.w = p->stream + 10 * c;
    a.step = g->out_u;
    a.n = g->along;
    for (int32_t ov = 0; ov < g->across; ++ov) {
        a.row = plane + (size_t)ov * (size_t)s * (size_t)g->pu;
        a.out = out + (size_t)ov * (size_t)g->out_v + c;
#ifdef TK_DSP_ASM
        if (p->stream_rq) {
            (s == 1 ? dw_line_s1 : dw_line_s2)(&a);
            for (int32_t o = 0; !full && o < a.n; ++o) {
                a.out[o * a.step] = (int8_t)tk_clamp_s32(a.out[o * a.step], p->act.min, p->act.max);
            }
            continue;
        }
#else
        (void)full;
#endif
        dw_line_c(p, &a, c);
    }
}
#else
/* Cores without DSP: the same planes and lines, int8 weights from filter_data. */
static void dw_plane_lines(const tk_depthwise_conv2d_params *p, const dw_plane *g, const int16_t *plane,
                           int32_t c, int8_t *out)
{
    const int32_t s = p->stride_w, ch = p->output.c;
    const int32_t m = p->multipliers[c], sh = p->shifts[c], off = p->output_offset;
    const int32_t hi_c = TK_RQ_HI(p) ? tk_requant_hi_c(sh, off) : 0;
    int32_t w[9]; /* [line][tap] */
    for (int32_t j = 0; j < 3; ++j) {
        for (int32_t t = 0; t < 3; ++t) {
            w[3 * j + t] = p->filter_data[(g->vertical ? 3 * t + j : 3 * j + t) * ch + c];
        }
    }
    for (int32_t ov = 0; ov < g->across; ++ov) {
        const int16_t *r0 = plane + (size_t)ov * (size_t)s * (size_t)g->pu;
        const int16_t *r1 = r0 + g->pu, *r2 = r1 + g->pu;
        int8_t *o8 = out + (size_t)ov * (size_t)g->out_v + c;
        for (int32_t o = 0; o < g->along; ++o, r0 += s, r1 += s, r2 += s, o8 += g->out_u) {
            int32_t acc = p->bias[c];
            acc += r0[0] * w[0] + r0[1] * w[1] + r0[2] * w[2];
            acc += r1[0] * w[3] + r1[1] * w[4] + r1[2] * w[5];
            acc += r2[0] * w[6] + r2[1] * w[7] + r2[2] * w[8];
            *o8 = TK_RQ_HI(p) ? (int8_t)tk_clamp_s32(tk_requant_hi(acc, m, hi_c, sh), p->act.min, p->act.max)
                              : tk_requantize_s8_pos(acc, m, sh, off, p->act.min, p->act.max);
        }
    }
}
#endif

/* The whole layer, channel by channel. */
static void dw_planes(const tk_depthwise_conv2d_params *p, const dw_plane *g, const int8_t *in, int8_t *out,
                      int16_t *plane)
{
    const int16_t pad = (int16_t)(-p->input_offset);
    for (int32_t i = 0; i < g->pu * g->pv; ++i) {
        plane[i] = pad;
    }
    for (int32_t c = 0; c < p->input.c; ++c) {
        dw_plane_fill(g, in + c, plane);
        dw_plane_lines(p, g, plane, c, out);
    }
}

size_t tk_depthwise_conv2d_s8_buffer_size(const tk_depthwise_conv2d_params *params)
{
    /* plane layers: the larger of the plane and the rows, which the Helium kernel's planes take */
    const size_t rows = dw_rows_bytes(params);
    dw_plane g;
    if (dw_plane_geometry(params, &g)) {
        const size_t plane = (size_t)g.pu * (size_t)g.pv * sizeof(int16_t);
        return plane > rows ? plane : rows;
    }
    return rows;
}

/* Other layers: the kh padded input rows of each output row, four channels at a time. */
static void dw_rows(const tk_depthwise_conv2d_params *p, const int8_t *in, int8_t *output, int8_t *rows, int32_t b)
{
    const size_t channels = (size_t)p->input.c;
    const size_t row_stride = (size_t)padded_width(p) * channels;
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

tk_status tk_depthwise_conv2d_s8(const tk_depthwise_conv2d_params *params, const int8_t *input, int8_t *output,
                                 void *scratch)
{
#ifdef TK_USE_MVE
    return tk_depthwise_conv2d_s8_mve(params, input, output, scratch); /* the code below is dead: dropped */
#endif
    /* A local copy: stores through int8_t pointers could alias *params, forcing reloads. */
    const tk_depthwise_conv2d_params local = *params;
    const tk_depthwise_conv2d_params *p = &local;
    const size_t in_batch = (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
    const size_t out_batch = (size_t)p->output.h * (size_t)p->output.w * (size_t)p->output.c;
    dw_plane g;
    if (p->output.c != p->input.c * p->depth_multiplier || p->filter.c != p->output.c || scratch == NULL) {
        return TK_ERROR;
    }
    for (int32_t b = 0; b < p->input.n; ++b) {
        if (dw_plane_geometry(p, &g)) {
            dw_planes(p, &g, input + (size_t)b * in_batch, output + (size_t)b * out_batch, (int16_t *)scratch);
        } else {
            dw_rows(p, input + (size_t)b * in_batch, output, (int8_t *)scratch, b);
        }
    }
    return TK_OK;
}
